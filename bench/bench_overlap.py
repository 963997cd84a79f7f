"""Jobs side by side in one process (`unbrand run --jobs N`, a `--pool threads` worker): images/s
against one job at a time, measured in one run with the rounds interleaved.

    .venv/bin/python bench/bench_overlap.py --images 24 --jobs 1 2 3 --rounds 3

Each round runs the same set of photos (the demo's Kodak photos upscaled to `--size`, one or
two logos each) through `run_embedded` with every `--jobs` value, in rotating order, into
fresh output folders; it prints images/s per setting (median over rounds), the ratio to
`--jobs 1` and the CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image  # noqa: E402

from worker.runner import run_embedded  # noqa: E402


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines()
                     if line.startswith("Model name"))
        flags = next(line for line in out.splitlines() if line.startswith("Flags"))
        isa = "AMX" if "amx_tile" in flags else "AVX512-BF16" if "avx512_bf16" in flags else \
            "AVX512" if "avx512f" in flags else "AVX2"
        return f"{model} ({isa}), {os.cpu_count()} cores"
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown CPU"


def make_dataset(folder: Path, count: int, size: int) -> Path:
    """A manifest of `count` photos (demo photos upscaled to `size` px wide, boxes scaled)."""
    from inpaint_core.masks.voc import read_voc

    demo = sorted((REPO / "demo" / "JPEGImages").glob("*.jpg"))
    rows = ["image,boxes"]
    for index in range(count):
        source = demo[index % len(demo)]
        annotation = read_voc(REPO / "demo" / "Annotations" / f"{source.stem}.xml")
        with Image.open(source) as image:
            scale = size / image.width
            big = image.convert("RGB").resize((size, round(image.height * scale)), Image.BICUBIC)
        name = f"p{index:03d}.jpg"
        big.save(folder / name, quality=90)
        boxes = [[round(v * scale) for v in obj.box] for obj in annotation.objects]
        rows.append(f'{name},"{boxes}"')
    (folder / "list.csv").write_text("\n".join(rows) + "\n")
    return folder / "list.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--size", type=int, default=1600, help="photo width in pixels")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from inpaint_core.inference.inpainter import Inpainter

    inpainter = Inpainter.load()  # the shipped weights, as `unbrand run` uses them
    rates: dict[int, list[float]] = {jobs: [] for jobs in args.jobs}
    with tempfile.TemporaryDirectory(prefix="bench-overlap-") as folder:
        root = Path(folder)
        (root / "data").mkdir()
        manifest = make_dataset(root / "data", args.images, args.size)
        for round_ in range(args.rounds):
            order = args.jobs[round_ % len(args.jobs):] + args.jobs[:round_ % len(args.jobs)]
            for jobs in order:
                out = root / f"out-{round_}-{jobs}"
                started = time.perf_counter()
                summary = run_embedded(str(manifest), out_dir=out, inpainter=inpainter,
                                       jobs=jobs)
                elapsed = time.perf_counter() - started
                assert summary.ok and summary.processed == args.images, summary.failures
                rates[jobs].append(args.images / elapsed)
                print(f"round {round_ + 1} --jobs {jobs}: {args.images / elapsed:.2f} images/s",
                      flush=True)
    base = args.jobs[0]
    print(f"\n{cpu_name()}; {args.images} photos {args.size} px wide, {args.rounds} rounds; "
          f"load average now {os.getloadavg()[0]:.1f}")
    print(f"| --jobs | images/s (median) | vs --jobs {base}, median of the rounds' ratios |")
    print("|---|---|---|")
    for jobs in args.jobs:
        ratios = [a / b for a, b in zip(rates[jobs], rates[base], strict=True)]
        print(f"| {jobs} | {statistics.median(rates[jobs]):.2f} | "
              f"x{statistics.median(ratios):.2f} (rounds: "
              f"{', '.join(f'{r:.2f}' for r in ratios)}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

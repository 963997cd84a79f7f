"""Benchmark: peak memory of one job on an 8K photo with three logos (target < 3 GB, issue #17).

A 7680x4320 photo (a training photo scaled up, Lanczos) with three built-in logos pasted on it
is processed by `run_embedded` (the path of `unbrand run`: read, remove with the shipped
weights, critic and seam metrics, encode, write) in a child process per checkout; the child
reports its peak resident set size (VmHWM) after loading the model and during the job (VmHWM
reset after loading), so the job's own peak shows too. (Not ru_maxrss: Linux keeps it across
exec, so a child would report the parent's peak.) `--compare` measures other checkouts in the
same run.

    nice -n 10 .venv/bin/python bench/bench_memory.py [--photo PATH] [--compare ../base]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from bench_throughput import cpu_line  # noqa: E402

SIZE = (7680, 4320)
DEFAULT_PHOTO = REPO.parent / "shared" / "data" / "train-photos" / "shard-3"


def make_photo(source: Path, folder: Path) -> Path:
    """An 8K make-benchmark-style dataset of one image with three logos under `folder`."""
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(REPO))
    from inpaint_core.evaluation.synth import _write_item, composite_logos
    from inpaint_core.training.logos import builtin_logo

    if source.is_dir():
        source = sorted(source.glob("*.jpg"))[0]
    with Image.open(source) as image:
        rgb = image.convert("RGB")
    scale = max(SIZE[0] / rgb.width, SIZE[1] / rgb.height)
    big = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.LANCZOS)
    left, top = (big.width - SIZE[0]) // 2, (big.height - SIZE[1]) // 2
    photo = np.asarray(big.crop((left, top, left + SIZE[0], top + SIZE[1])))
    rng = np.random.default_rng(0)
    comp = composite_logos(photo, [builtin_logo(rng) for _ in range(3)], rng,
                           min_ratio=0.03, max_ratio=0.06)
    for sub in ("JPEGImages", "Annotations", "GroundTruth", "Masks", "ImageSets/Main"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    _write_item(folder, "photo8k", photo, comp)
    (folder / "ImageSets" / "Main" / "test.txt").write_text("photo8k\n")
    return folder


def peak_mb() -> float:
    """Peak RSS of this process so far (MB): VmHWM, which `reset_peak` resets, else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: "5" > /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(dataset: Path, out: Path) -> dict[str, Any]:
    """(child process) peak RSS after loading the model and after the job."""
    from inpaint_core.inference.inpainter import Inpainter
    from worker.runner import run_embedded

    inpainter = Inpainter.load(None, device="cpu")
    loaded = peak_mb()
    reset = reset_peak()  # from here VmHWM is the job's own peak (with the model resident)
    started = time.perf_counter()
    summary = run_embedded(str(dataset), out_dir=out, inpainter=inpainter)
    job = peak_mb()
    return {"loaded_mb": loaded, "job_mb": job if reset else None,
            "peak_mb": max(loaded, job), "seconds": time.perf_counter() - started,
            "done": summary.counts.get("done", 0)}


def run_checkout(checkout: Path, dataset: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(checkout),
                   "--dataset", str(dataset), "--out", tmp]
        done = subprocess.run(command, cwd=checkout, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{checkout}: failed\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO,
                        help="photo (or folder: its first .jpg) to scale up to 8K")
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another checkout measured in the same run (repeatable)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dataset", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(args.child))
        print(json.dumps(measure(args.dataset, args.out)))
        return
    print(cpu_line())
    with tempfile.TemporaryDirectory() as tmp:
        dataset = make_photo(args.photo, Path(tmp) / "photo8k")
        print(f"one {SIZE[0]}x{SIZE[1]} JPEG with three logos")
        for checkout in [REPO, *[c.resolve() for c in args.compare]]:
            result = run_checkout(checkout, dataset)
            print(f"{checkout.name:>16}: peak RSS {result['peak_mb']:7.0f} MB "
                  f"({result['peak_mb'] / 1024:.2f} GB; target < 3 GB); loading the model "
                  f"peaked at {result['loaded_mb']:.0f} MB, the job at "
                  f"{result['job_mb'] or 0:.0f} MB "
                  f"(model resident), {result['seconds']:.1f} s, done {result['done']}")
    print(cpu_line())


if __name__ == "__main__":
    main()

"""Benchmark: `unbrand run` on hi-res photos against their decode + encode floor (issue #17 item 5).

Target: `unbrand run` (shipped weights, default mask mode) within 5x of the time it takes to
decode and re-encode the same photos, at the same PSNR. In one run, per round and interleaved:
  1. the floor: every input JPEG decoded and re-encoded as the pipeline does it
     (masks/imageio.read_image + worker/job_io.encode_output, i.e. Pillow), in this process;
  2. `unbrand run` of this checkout: `run_embedded` in a child process, the model loaded
     before the clock starts (as a long-running worker has it), then the outputs scored
     against the benchmark's ground truth (PSNR and texture inside the boxes);
  3. the same for `--compare` checkouts (e.g. the commit before a change), same data.
The benchmark folder is a `make-benchmark` set; `--photos` makes one first: photos scaled to
`--side` px on their long side (Lanczos), 1-2 logos each, under `--bench` (never committed).

    nice -n 10 .venv/bin/python bench/bench_throughput.py --bench /work/bench-data/scale/bench4096 \
        [--photos DIR --count 30 --side 4096] [--limit 12] [--compare ../base] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def cpu_line() -> str:
    """The CPU model, its vector extensions and the load average, for every printed figure."""
    model, flags = "unknown", set()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "Flags":
                flags = set(value.split())
    except OSError:
        pass
    vector = [f for f in sorted(flags) if f == "avx2" or f.startswith(("avx512f", "amx"))]
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (f"CPU: {model}, {os.cpu_count()} cores, {'/'.join(vector) or 'no AVX2'}; "
            f"load average {load}")


def make_set(photos: Path, bench: Path, count: int, side: int) -> None:
    """A make-benchmark set from `photos` scaled to `side` px on their long side."""
    from PIL import Image

    sys.path.insert(0, str(REPO))
    from inpaint_core.evaluation.synth import make_benchmark
    from inpaint_core.training.data import list_photos

    scaled = bench.parent / f"{bench.name}-photos"
    scaled.mkdir(parents=True, exist_ok=True)
    for path in list_photos([photos])[:count]:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
        factor = side / max(rgb.size)
        size = (round(rgb.width * factor), round(rgb.height * factor))
        rgb.resize(size, Image.LANCZOS).save(scaled / f"{path.stem}.jpg", quality=92)
    make_benchmark(scaled, bench, count=count, seed=0)


def image_ids(bench: Path, limit: int | None) -> list[str]:
    ids = (bench / "ImageSets" / "Main" / "test.txt").read_text().split()
    return ids[:limit] if limit else ids


def floor_seconds(bench: Path, ids: list[str]) -> float:
    """Seconds to decode and re-encode every input as the pipeline does (Pillow)."""
    sys.path.insert(0, str(REPO))
    from inpaint_core.masks.imageio import read_image
    from worker.job_io import encode_output

    started = time.perf_counter()
    for image_id in ids:
        loaded = read_image((bench / "JPEGImages" / f"{image_id}.jpg").read_bytes())
        encode_output(loaded.rgb, loaded)
    return time.perf_counter() - started


def measure_run(bench: Path, split: str, out: Path) -> dict[str, Any]:
    """(child process) `run_embedded` on the split with the model already loaded; then the
    outputs' PSNR and texture inside the boxes."""
    from inpaint_core.evaluation.evaluate import evaluate
    from inpaint_core.inference.inpainter import Inpainter
    from worker.runner import run_embedded

    inpainter = Inpainter.load(None, device="cpu")
    started, cpu = time.perf_counter(), time.process_time()
    summary = run_embedded(str(bench), out_dir=out, split=split, inpainter=inpainter)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    report = evaluate(Path(summary.output_dir) / summary.batch_name / "JPEGImages", bench,
                      baseline=None)  # outputs keep the dataset's layout
    scores = report["methods"]["ours"]["all"]
    return {"seconds": seconds, "cpu_s": cpu, "processing_s": summary.processing_s,
            "done": summary.counts.get("done", 0), "psnr_box": scores["psnr_box"],
            "texture_box": scores["texture_box"], "psnr": scores["psnr"]}


def run_checkout(checkout: Path, bench: Path, split: str) -> dict[str, Any]:
    """`measure_run` of `checkout` in a child process started in that checkout."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(checkout),
                   "--bench", str(bench), "--split", split, "--out", tmp]
        done = subprocess.run(command, cwd=checkout, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{checkout}: run failed\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, required=True, help="make-benchmark folder")
    parser.add_argument("--photos", type=Path, help="make the set from these photos if missing")
    parser.add_argument("--count", type=int, default=30, help="images when making the set")
    parser.add_argument("--side", type=int, default=4096, help="long side when making the set")
    parser.add_argument("--limit", type=int, help="use the first N images only")
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another checkout measured in the same run (repeatable)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--split", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # a measuring child: import the checkout it runs in
        sys.path.insert(0, str(args.child))
        print(json.dumps(measure_run(args.bench, args.split, args.out)))
        return
    if not (args.bench / "ImageSets" / "Main" / "test.txt").is_file():
        if args.photos is None:
            raise SystemExit(f"{args.bench} is no benchmark; give --photos to make one")
        make_set(args.photos, args.bench, args.count, args.side)
    ids = image_ids(args.bench, args.limit)
    split = f"first{len(ids)}"
    (args.bench / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    checkouts = [REPO, *[c.resolve() for c in args.compare]]
    print(cpu_line())
    print(f"{len(ids)} images of {args.bench}; checkouts: {', '.join(map(str, checkouts))}")
    floors: list[float] = []
    runs: dict[Path, list[dict[str, Any]]] = {c: [] for c in checkouts}
    for round_no in range(args.rounds):
        floors.append(floor_seconds(args.bench, ids))
        print(f"round {round_no + 1}: floor {len(ids) / floors[-1]:.2f} images/s  "
              f"({cpu_line().split('; ')[-1]})")
        order = checkouts if round_no % 2 == 0 else checkouts[::-1]  # who goes first alternates
        for checkout in order:
            result = run_checkout(checkout, args.bench, split)
            runs[checkout].append(result)
            print(f"  {checkout.name}: {len(ids) / result['seconds']:.3f} images/s "
                  f"({result['cpu_s'] / len(ids):.2f} CPU s per image), "
                  f"PSNR box {result['psnr_box']:.2f} dB, texture {result['texture_box']:.3f}")
            floors.append(floor_seconds(args.bench, ids))  # the floor between runs too
    floor_rate = len(ids) / statistics.median(floors)
    print(f"\nfloor (decode + encode, Pillow): {floor_rate:.2f} images/s (median of {len(floors)})")
    for checkout, results in runs.items():
        rate = len(ids) / statistics.median(r["seconds"] for r in results)
        cpu = statistics.median(r["cpu_s"] for r in results) / len(ids)
        print(f"{checkout.name:>16}: {rate:.3f} images/s ({cpu:.2f} CPU s per image), "
              f"{floor_rate / rate:.1f}x the floor "
              f"(target <= 5x), PSNR box {results[0]['psnr_box']:.2f} dB, PSNR "
              f"{results[0]['psnr']:.2f} dB, texture {results[0]['texture_box']:.3f}")
    print(cpu_line())


if __name__ == "__main__":
    main()

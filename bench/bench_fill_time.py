"""Time per 1-MP photo with one logo: the smooth path (#16's baseline) against texture fusions.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_fill_time.py --benchmark BADGES [--limit 20]
        [--variant NAME=mix,amount,sigma,pixels,context,inner,ramp,grain ...] [--rounds 2]

The first logo of each of the first --limit images, the photo upscaled bicubically to 1 MP and
the box scaled with it. Every method removes it in mask modes box and whole (`remove`, as
`unbrand run`), the methods taking turns image by image so that a shared machine's load falls on
all of them alike; each time is the best of --rounds calls. Methods: `smooth`
(TextureConfig(method="none"), the path before the grain fusion: the x1 of #16's "at most 2x"),
`default` (the shipped TextureConfig) and every --variant. Prints per method and mode the mean
and median seconds, and the ratios to smooth: of the means, and the median and worst of the
per-image ratios.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_fill import parse_variants  # noqa: E402
from bench_throughput import cpu_line  # noqa: E402

from inpaint_core.evaluation.evaluate import list_benchmark, read_rgb  # noqa: E402
from inpaint_core.inference.inpainter import Inpainter  # noqa: E402
from inpaint_core.inference.planner import PlannerConfig  # noqa: E402
from inpaint_core.inference.remove import remove  # noqa: E402
from inpaint_core.inference.texture import TextureConfig  # noqa: E402

MEGAPIXEL = 1_000_000


def upscaled(image: np.ndarray, box: list[int]) -> tuple[np.ndarray, list[int]]:
    """`image` scaled bicubically to about 1 MP, and `box` scaled with it."""
    height, width = image.shape[:2]
    factor = float(np.sqrt(MEGAPIXEL / (height * width)))
    size = (round(width * factor), round(height * factor))
    big = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    return big, [round(v * factor) for v in box]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME=mix,amount,sigma,pixels,context,inner,ramp,grain")
    args = parser.parse_args()
    textures = {"smooth": TextureConfig(method="none"), "default": TextureConfig(),
                **parse_variants(args.variant)}
    models = {name: Inpainter.load(planner=PlannerConfig(texture=texture), critic=None)
              for name, texture in textures.items()}
    modes = ("box", "whole")
    seconds: dict[tuple[str, str], list[float]] = {(m, k): [] for m in models for k in modes}
    items = list_benchmark(args.benchmark)[: args.limit]
    for item in items:
        image, box = upscaled(read_rgb(item.image_path), list(item.boxes[0]))
        for mode in modes:
            for name, model in models.items():
                best = float("inf")
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    remove(model, image, boxes=[box], mode=mode)
                    best = min(best, time.perf_counter() - start)
                seconds[name, mode].append(best)
    precision = next(iter(models.values())).precision
    print(f"{len(items)} images of {args.benchmark} at 1 MP, one logo each; {cpu_line()}; "
          f"{torch.get_num_threads()} torch thread(s), model {precision}, best of {args.rounds}")
    print("| method | mode | mean s | median s | x smooth (means) | x smooth median / worst |")
    print("|---|---|---|---|---|---|")
    for mode in modes:
        base = np.asarray(seconds["smooth", mode])
        for name in models:
            times = np.asarray(seconds[name, mode])
            ratios = times / base
            print(f"| {name} | {mode} | {times.mean():.3f} | {np.median(times):.3f} | "
                  f"x{times.mean() / base.mean():.2f} | x{np.median(ratios):.2f} / "
                  f"x{ratios.max():.2f} |")


if __name__ == "__main__":
    main()

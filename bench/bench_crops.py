"""Square crops or crops shaped like the logo: what each costs in model work and in quality.

    .venv/bin/python bench/bench_crops.py --benchmark B [--aspects 1 0.5 0.25 0] [--limit N]

B is a make-benchmark set (`unbrand make-benchmark --photos P --out B`). For each value of
`PlannerConfig.min_aspect` (1 = square crops, the old default; 0 = the crop follows the region's
shape, with `context` x each side on each edge) every image goes through `Inpainter.inpaint`
with the shipped weights, its annotated boxes filled exactly, as `unbrand run` does. Printed per
variant: PSNR against the ground truth inside the boxes and on the whole image (mean over
images), the model pixels the crops hold (sum of padded width x height, which the forward time
follows) for the shipped config and for the reference config (work size 512), and the wall
time of the whole set. The images and masks are identical between variants.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inpaint_core.evaluation.evaluate import list_benchmark, read_rgb  # noqa: E402
from inpaint_core.evaluation.metrics import psnr  # noqa: E402
from inpaint_core.inference.inpainter import Inpainter  # noqa: E402
from inpaint_core.inference.planner import (  # noqa: E402
    PlannerConfig,  # noqa: E402
    grow,
    plan_crops,
)
from inpaint_core.masks.modes import BOX_MARGIN  # noqa: E402
from inpaint_core.model.config import AOTConfig  # noqa: E402


def model_pixels(masks: list[np.ndarray], config: AOTConfig, planner: PlannerConfig) -> int:
    total = 0
    for mask in masks:
        for plan in plan_crops(grow(mask, planner.margin), config, planner):
            total += plan.padded[0] * plan.padded[1]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", required=True, help="a make-benchmark folder")
    parser.add_argument("--aspects", type=float, nargs="+", default=[1.0, 0.5, 0.25, 0.0],
                        help="PlannerConfig.min_aspect values to compare (1 = square)")
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    args = parser.parse_args()
    items = list_benchmark(args.benchmark)
    items = items[: args.limit] if args.limit else items
    photos = [(read_rgb(i.image_path), read_rgb(i.truth_path), i.box_mask()) for i in items]
    masks = [mask for _, _, mask in photos]
    print(f"{len(photos)} images of {args.benchmark}, shipped weights, fp32, boxes filled exactly")
    header = "min_aspect  PSNR box  PSNR whole  model px (shipped)  model px (reference)  seconds"
    print(header)
    base: tuple[int, int] | None = None
    for aspect in args.aspects:
        planner = PlannerConfig(margin=BOX_MARGIN, min_aspect=aspect)
        inpainter = Inpainter.load(device="cpu", precision="fp32", planner=planner, critic=None)
        start = time.perf_counter()
        box_db, whole_db = [], []
        for image, truth, mask in photos:
            out = inpainter.inpaint(image, mask)
            box_db.append(psnr(truth, out, mask))
            whole_db.append(psnr(truth, out))
        seconds = time.perf_counter() - start
        shipped = model_pixels(masks, inpainter.config, planner)
        reference = model_pixels(masks, AOTConfig.reference(), planner)
        base = base or (shipped, reference)
        print(
            f"{aspect:10.2f}  {np.mean(box_db):8.2f}  {np.mean(whole_db):10.2f}  "
            f"{shipped / 1e6:8.2f} M ({shipped / base[0]:4.2f})  "
            f"{reference / 1e6:9.2f} M ({reference / base[1]:4.2f})  {seconds:7.1f}"
        )


if __name__ == "__main__":
    main()

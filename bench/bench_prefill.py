"""The source-resolution Telea prefill of large logos: what making it at a lower scale costs.

    .venv/bin/python bench/bench_prefill.py --benchmark B [--factors 0 4 2] [--upscale 1 4]

For each `PlannerConfig.prefill_scale` (0 = Telea at source resolution, the old behaviour;
k = at k times the crop's model scale, capped at 1) every image of the make-benchmark set B
goes through `Inpainter.inpaint` with the shipped weights (fp32, boxes filled exactly, as
`unbrand run` does). `--upscale 4` also runs the set with every photo, truth and box scaled up
4x (bicubic): the same scenes as a 2K photo holds them, where crops are downscaled more and
the prefill's cost matters. Printed: PSNR in the boxes and on the whole image against the
truth (mean over images) and the seconds for the set (all variants in one run).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inpaint_core.evaluation.evaluate import list_benchmark, read_rgb  # noqa: E402
from inpaint_core.evaluation.metrics import psnr  # noqa: E402
from inpaint_core.inference.inpainter import Inpainter  # noqa: E402
from inpaint_core.inference.planner import PlannerConfig  # noqa: E402
from inpaint_core.masks.boxes import boxes_to_mask  # noqa: E402
from inpaint_core.masks.modes import BOX_MARGIN  # noqa: E402


def scaled_set(items: list, factor: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(image, truth, box mask) per item, everything scaled up by `factor`."""
    out = []
    for item in items:
        image, truth = read_rgb(item.image_path), read_rgb(item.truth_path)
        boxes = [[v * factor for v in box] for box in item.boxes]
        if factor != 1:
            size = (image.shape[1] * factor, image.shape[0] * factor)
            image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
            truth = cv2.resize(truth, size, interpolation=cv2.INTER_CUBIC)
        height, width = image.shape[:2]
        out.append((image, truth, boxes_to_mask(boxes, height=height, width=width)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", required=True, help="a make-benchmark folder")
    parser.add_argument("--factors", type=float, nargs="+", default=[0.0, 4.0, 2.0],
                        help="PlannerConfig.prefill_scale values (0 = source resolution)")
    parser.add_argument("--upscale", type=int, nargs="+", default=[1, 4],
                        help="also run the set scaled up by these factors")
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    args = parser.parse_args()
    items = list_benchmark(args.benchmark)
    items = items[: args.limit] if args.limit else items
    print(f"{len(items)} images of {args.benchmark}, shipped weights, fp32, boxes filled exactly")
    print("photos  prefill_scale  PSNR box  PSNR whole  seconds")
    for upscale in args.upscale:
        photos = scaled_set(items, upscale)
        for factor in args.factors:
            planner = PlannerConfig(margin=BOX_MARGIN, prefill_scale=factor)
            inpainter = Inpainter.load(device="cpu", precision="fp32", planner=planner,
                                       critic=None)
            box_db, whole_db = [], []
            start = time.perf_counter()
            for image, truth, mask in photos:
                out = inpainter.inpaint(image, mask)
                box_db.append(psnr(truth, out, mask))
                whole_db.append(psnr(truth, out))
            seconds = time.perf_counter() - start
            label = "source" if factor <= 0 else f"{factor:g} x model"
            print(f"x{upscale:<6d} {label:13s}  {np.mean(box_db):8.2f}  {np.mean(whole_db):10.2f}"
                  f"  {seconds:7.1f}")


if __name__ == "__main__":
    main()

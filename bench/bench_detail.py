"""Which upscaling keeps a downscaled fill sharp? A small measurement with ground truth.

For each photo a centred square crop (side S <= 512) gets a hole of side S/3 (the planner's
default context makes a logo about a third of its crop). The crop is brought to model scale
(S/2 or S/4), filled there, brought back and compared with the truth inside the hole:

- PSNR_hole: fidelity (dB, higher is better);
- grad: mean gradient magnitude in the hole / the truth's (1.0 = as sharp as the photo,
  below 1 = blurry, above 1 = invented edges).

Fills at model scale: "oracle" = the truth itself downscaled (a perfect model; isolates the
upscaling step) and, with --weights, a trained generator. Methods: bicubic, bicubic +
unsharp mask, contextual residual aggregation (detail.py) with match tolerance 0.02, 0.04
(the default) and 0.08.

    nice -n 10 python bench/bench_detail.py [--weights CKPT] [--photos 12]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from inpaint_core.evaluation.metrics import psnr
from inpaint_core.inference.detail import aggregate_residual, context_residual, upscale
from inpaint_core.masks.imageio import read_image

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def photos(count: int) -> list[np.ndarray]:
    paths = sorted((DATA / "aot-examples" / "image").glob("*.jpg"))[:3]
    paths += sorted((DATA / "train-photos" / "shard-3").glob("*.jpg"))[: max(0, count - len(paths))]
    crops = []
    for path in paths:
        rgb = read_image(path).rgb
        side = min(512, *rgb.shape[:2]) // 16 * 16  # model sides stay multiples of 4
        y, x = (rgb.shape[0] - side) // 2, (rgb.shape[1] - side) // 2
        crops.append(np.ascontiguousarray(rgb[y : y + side, x : x + side]))
    return crops


def gradient(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(
        np.float32
    )
    return np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))


def model_fill(generator: torch.nn.Module, small: np.ndarray, hole: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        image = torch.from_numpy(small).permute(2, 0, 1)[None].float() / 127.5 - 1
        mask = torch.from_numpy(hole)[None, None].float()
        pred = generator(image * (1 - mask) + mask, mask)
        pred = ((pred[0].permute(1, 2, 0) + 1) * 127.5).clamp(0, 255).numpy()
    return np.where(hole[..., None], pred, small.astype(np.float32))


def methods(filled: np.ndarray, crop: np.ndarray, hole_small: np.ndarray) -> dict[str, np.ndarray]:
    side = crop.shape[0]
    up = upscale(filled, (side, side))
    blurred = cv2.GaussianBlur(up, (0, 0), 1.5)
    residual = context_residual(crop, hole_small.shape[::-1])
    out = {"bicubic": up, "unsharp": up + 0.6 * (up - blurred)}
    for name, tol in (("cra-.02", 0.02), ("cra-.04", 0.04), ("cra-.08", 0.08)):
        start = time.perf_counter()
        out[name] = up + aggregate_residual(filled, hole_small, residual, tolerance=tol)
        out[name + "_s"] = np.array(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", type=Path, help="a trained generator checkpoint (optional)")
    parser.add_argument("--photos", type=int, default=12)
    args = parser.parse_args()
    generator = None
    if args.weights:
        from inpaint_core.model.checkpoint import load_generator

        generator = load_generator(args.weights)[0]
    rows: dict[tuple[str, int, str], list[tuple[float, float]]] = {}
    timings: list[float] = []
    for crop in photos(args.photos):
        side = crop.shape[0]
        hole = np.zeros((side, side), dtype=bool)
        hole[side // 3 : 2 * side // 3, side // 3 : 2 * side // 3] = True
        inner = cv2.erode(hole.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        truth_grad = float(gradient(crop)[inner].mean())
        for factor in (2, 4):
            small_side = side // factor
            small = cv2.resize(crop, (small_side, small_side), interpolation=cv2.INTER_AREA)
            hole_small = (
                cv2.resize(
                    hole.astype(np.uint8) * 255,
                    (small_side, small_side),
                    interpolation=cv2.INTER_AREA,
                )
                > 0
            )
            fills = {"oracle": small.astype(np.float32)}
            if generator is not None:
                fills["model"] = model_fill(generator, small, hole_small)
            for source, filled in fills.items():
                for name, out in methods(filled, crop, hole_small).items():
                    if name.endswith("_s"):
                        timings.append(float(out))
                        continue
                    out8 = np.clip(np.rint(out), 0, 255).astype(np.uint8)
                    score = (
                        psnr(crop, out8, hole),
                        float(gradient(out8)[inner].mean()) / truth_grad,
                    )
                    rows.setdefault((source, factor, name), []).append(score)
    print(f"{'fill':8s} {'scale':>6s} {'method':10s} {'PSNR_hole':>10s} {'grad':>6s}  (n photos)")
    for (source, factor, name), scores in rows.items():
        values = np.array(scores)
        row = f"{source:8s} {'1/' + str(factor):>6s} {name:9s}"
        print(f"{row} {values[:, 0].mean():10.2f} {values[:, 1].mean():6.3f} ({len(values)})")
    print(f"residual aggregation: {1000 * np.mean(timings):.1f} ms per crop on average")


if __name__ == "__main__":
    main()

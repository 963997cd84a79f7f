"""Pure inpainting against PatchMatch: every method on the same boxes, in one run.

    .venv/bin/python bench/bench_fill.py --benchmark BADGES [--methods ...] [--limit N] [--json F]

Methods (names for --methods):
- `telea`, `patchmatch`: the classical fills of the whole boxes (evaluate's baselines);
- `model:box`, `model:whole`: the shipped removal path (inference/remove.py, as `unbrand run`
  with --mask-mode box / whole), with PlannerConfig's defaults (Telea prefill, the network's
  fill fused with PatchMatch's grain: inference/texture.py);
- `smooth:box|whole`: the network's fill alone (`TextureConfig(method="none")`: the path before
  texture fusion);
- `model-pm:box|whole`: a PatchMatch prefill instead of Telea's, the network's fill alone
  (`PlannerConfig(prefill_fill="patchmatch")`).
`--texture mix,amount,sigma,pixels,context,inner,ramp,grain` overrides the fusion's parameters
(TextureConfig) of the `model` rows; `--variant NAME=mix,...,grain` (repeatable) adds a family
`NAME` with those parameters, so that `NAME:box` / `NAME:whole` run beside the others.
`--weights` replaces the shipped weights for the model rows; `--generator NAME=WEIGHTS`
(repeatable) adds a family `NAME` run with those weights and the default fusion, so that two
generators are compared in one run. Figures: PSNR and SSIM inside the boxes, the texture ratio
there (metrics.texture_ratio), PSNR on the whole image, and seconds per image (the whole call).
Run single-threaded for comparable times: OMP_NUM_THREADS=1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inpaint_core.evaluation.evaluate import list_benchmark, read_rgb  # noqa: E402
from inpaint_core.evaluation.metrics import psnr, ssim, texture_ratio  # noqa: E402
from inpaint_core.inference.inpainter import Inpainter  # noqa: E402
from inpaint_core.inference.patchmatch import patchmatch  # noqa: E402
from inpaint_core.inference.planner import PlannerConfig  # noqa: E402
from inpaint_core.inference.prefill import telea  # noqa: E402
from inpaint_core.inference.remove import remove  # noqa: E402
from inpaint_core.inference.texture import TextureConfig  # noqa: E402

DEFAULT_METHODS = ("telea", "patchmatch", "model:box", "model:whole")
Method = Callable[[np.ndarray, list[list[int]], np.ndarray], np.ndarray]


def parse_texture(spec: str) -> TextureConfig:
    """`mix,amount,sigma,pixels,context,inner,ramp,grain` -> TextureConfig."""
    *values, grain = spec.split(",")
    mix, amount, sigma, pixels, context, inner, ramp = (float(v) for v in values)
    return TextureConfig(mix=mix, amount=amount, sigma=sigma, max_pixels=int(pixels),
                         context=context, grain=grain, inner=inner, ramp=ramp)


def parse_variants(variants: list[str]) -> dict[str, TextureConfig]:
    """`NAME=mix,amount,sigma,pixels,context,inner,ramp,grain` arguments -> {NAME: config}."""
    return {name: parse_texture(spec)
            for name, _, spec in (variant.partition("=") for variant in variants)}


def make_method(name: str, weights: dict[str, str | None], models: dict[str, Inpainter],
                planners: dict[str, PlannerConfig]) -> Method:
    if name == "telea":
        return lambda image, boxes, box: telea(image, box)
    if name == "patchmatch":
        return lambda image, boxes, box: patchmatch(image, box)
    family, _, mode = name.partition(":")
    if family not in planners or mode not in ("box", "whole", "refine"):
        raise SystemExit(f"unknown method {name!r}")
    if family not in models:
        models[family] = Inpainter.load(weights.get(family), device="cpu", precision="auto",
                                        planner=planners[family], critic=None)
    model = models[family]
    return lambda image, boxes, box: remove(model, image, boxes=boxes, mode=mode).output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    parser.add_argument("--weights", default=None, help="generator for the model rows")
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    parser.add_argument("--json", default=None, help="write the per-image figures here")
    parser.add_argument("--texture", default=None,
                        help="mix,amount,sigma,pixels,context,inner,ramp,grain of the model rows")
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME=mix,amount,sigma,pixels,context,inner,ramp,grain: a family of "
                             "rows NAME:box / NAME:whole with that fusion")
    parser.add_argument("--generator", action="append", default=[],
                        help="NAME=WEIGHTS: a family of rows NAME:box / NAME:whole run with "
                             "these weights")
    args = parser.parse_args()
    items = list_benchmark(args.benchmark)[: args.limit]
    texture = parse_texture(args.texture) if args.texture else TextureConfig()
    planners = {
        "model": PlannerConfig(texture=texture),
        **{name: PlannerConfig(texture=texture)
           for name, texture in parse_variants(args.variant).items()},
        "smooth": PlannerConfig(texture=TextureConfig(method="none")),
        "model-pm": PlannerConfig(prefill_fill="patchmatch", texture=TextureConfig(method="none")),
    }
    generators = dict(spec.partition("=")[::2] for spec in args.generator)
    planners.update({name: PlannerConfig(texture=texture) for name in generators})
    weights = {family: generators.get(family, args.weights) for family in planners}
    models: dict[str, Inpainter] = {}
    methods = {name: make_method(name, weights, models, planners) for name in args.methods}
    keys = ("psnr_box", "ssim_box", "texture_box", "psnr", "seconds")
    scores: dict[str, dict[str, list[float]]] = {m: {k: [] for k in keys} for m in methods}
    for item in items:
        image, truth, box = read_rgb(item.image_path), read_rgb(item.truth_path), item.box_mask()
        for name, method in methods.items():
            start = time.perf_counter()
            out = np.asarray(method(image, item.boxes, box))
            row = scores[name]
            row["seconds"].append(time.perf_counter() - start)
            row["psnr_box"].append(psnr(truth, out, box))
            row["ssim_box"].append(ssim(truth, out, box))
            row["texture_box"].append(texture_ratio(truth, out, box))
            row["psnr"].append(psnr(truth, out))
    precision = next(iter(models.values())).precision if models else "-"
    print(f"{len(items)} images of {args.benchmark}; model precision {precision}")
    print("| method | PSNR box (dB) | SSIM box | texture box | PSNR image (dB) "
          "| vs PatchMatch box (mean / median) | s per image |")
    print("|---|---|---|---|---|---|---|")
    base = np.asarray(scores["patchmatch"]["psnr_box"]) if "patchmatch" in scores else None
    for name, row in scores.items():
        box_db = np.asarray(row["psnr_box"])
        versus = "-" if base is None else (
            f"{(box_db - base).mean():+.2f} / {np.median(box_db - base):+.2f}")
        print(f"| {name} | {box_db.mean():.2f} | {np.mean(row['ssim_box']):.4f} | "
              f"{np.mean(row['texture_box']):.2f} | {np.mean(row['psnr']):.2f} | {versus} | "
              f"{np.mean(row['seconds']):.3f} |")
    if args.json:
        ids = [item.image_id for item in items]
        Path(args.json).write_text(json.dumps({"ids": ids, "scores": scores}, indent=1))


if __name__ == "__main__":
    main()

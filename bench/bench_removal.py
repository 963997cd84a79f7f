"""Logo removal on a make-benchmark set, method by method, in one run: where the dBs come from.

    .venv/bin/python bench/bench_removal.py --benchmark B [--weights W ...] [--limit N]
        [--logos-only]

Every method gets the same boxes (the union of the annotated boxes of each image) and is scored
inside them and on the whole image against the ground truth (PSNR, mean over images):
- `telea (boxes)`: OpenCV's Telea fill of the whole boxes, the baseline of the acceptance gate;
- `telea (refined)`: Telea fill of only the pixels `refine_mask` takes for logo (3 px margin):
  what a model with prefill "refine" starts from, with no network at all;
- one row per `--weights` file (default: the shipped weights) through `Inpainter.inpaint` with
  box masks filled exactly, as `unbrand run` does.
`--logos-only` keeps the images whose logos are all user files (`make-benchmark --logos`), e.g.
held-out styles from `bench/heldout_logos.py` that no training run pasted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inpaint_core.evaluation.evaluate import list_benchmark, read_rgb  # noqa: E402
from inpaint_core.evaluation.metrics import psnr  # noqa: E402
from inpaint_core.inference.inpainter import Inpainter  # noqa: E402
from inpaint_core.inference.planner import PlannerConfig  # noqa: E402
from inpaint_core.inference.prefill import prefill_pixels, telea  # noqa: E402
from inpaint_core.masks.modes import BOX_MARGIN  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", required=True)
    parser.add_argument("--weights", nargs="*", default=[None],
                        help="generator files to score (default: the shipped weights)")
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    parser.add_argument("--logos-only", action="store_true",
                        help="only images whose pasted logos are all user files")
    parser.add_argument("--json", default=None, help="write the per-image figures here")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    items = list_benchmark(args.benchmark)
    if args.logos_only:
        manifest = json.loads((Path(args.benchmark) / "benchmark.json").read_text())
        keep = {i["id"] for i in manifest["images"] if all(g["kind"] == "file" for g in i["logos"])}
        items = [item for item in items if item.image_id in keep]
    items = items[: args.limit] if args.limit else items
    planner = PlannerConfig(margin=BOX_MARGIN)
    models = {
        (w or "shipped"): Inpainter.load(w, device="cpu", precision="fp32", planner=planner,
                                         critic=None)
        for w in args.weights
    }
    methods = {
        "telea (boxes)": lambda img, box: telea(img, box),
        "telea (refined)": lambda img, box: prefill_pixels(img, box, "refine"),
        **{name: model.inpaint for name, model in models.items()},
    }
    scores: dict[str, dict[str, list[float]]] = {m: {"box": [], "image": []} for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    for item in items:
        image, truth, box = read_rgb(item.image_path), read_rgb(item.truth_path), item.box_mask()
        for name, method in methods.items():
            start = time.perf_counter()
            out = np.asarray(method(image, box))
            seconds[name] += time.perf_counter() - start
            scores[name]["box"].append(psnr(truth, out, box))
            scores[name]["image"].append(psnr(truth, out))
    base = np.asarray(scores["telea (boxes)"]["box"])
    print(f"{len(items)} images of {args.benchmark}"
          + (" (user logos only)" if args.logos_only else ""))
    print("| method | PSNR box (dB) | PSNR image (dB) | vs Telea box (mean / median / worst) "
          "| s per image |")
    print("|---|---|---|---|---|")
    for name in methods:
        box_db, image_db = np.asarray(scores[name]["box"]), np.asarray(scores[name]["image"])
        gain = box_db - base
        print(f"| {name} | {box_db.mean():.2f} | {image_db.mean():.2f} | "
              f"{gain.mean():+.2f} / {np.median(gain):+.2f} / {gain.min():+.2f} | "
              f"{seconds[name] / max(1, len(items)):.3f} |")
    if args.json:
        ids = [item.image_id for item in items]
        Path(args.json).write_text(json.dumps({"ids": ids, "scores": scores}, indent=1))


if __name__ == "__main__":
    main()

"""Better masks, measured: box refinement (IoU, PSNR gain over whole boxes).

    .venv/bin/python bench/bench_masks.py refine --benchmark B [--limit N] [--write]

(find-logo is measured by bench/bench_findlogo.py.)

refine: on a `unbrand make-benchmark` folder B (exact logo masks in Masks/), every image's boxes
are refined with `inpaint_core.masks.refine.refine_mask`; printed are the IoU with the exact mask
of the box union and of the refined mask, the share of the logo's pixels each leaves out, the
share of boxes that fell back to the whole box, and the PSNR inside the boxes of the shipped
model's output with the box mask and with the refined mask (gain per image: mean, median,
worst, how many images lose more than 0.5 dB).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inpaint_core.evaluation.evaluate import list_benchmark, read_rgb  # noqa: E402
from inpaint_core.evaluation.metrics import psnr  # noqa: E402
from inpaint_core.masks.refine import refine_mask  # noqa: E402

MATCH_IOU = 0.5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    refine = sub.add_parser("refine", help="refined masks vs whole boxes")
    refine.add_argument("--benchmark", required=True)
    refine.add_argument("--limit", type=int, default=None)
    refine.add_argument("--write", action="store_true", help="write bench/RESULTS-masks-refine.md")
    return parser.parse_args()


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def missed(mask: np.ndarray, exact: np.ndarray) -> float:
    """The share of the logo's pixels (`exact`) that `mask` leaves out: what stays as a ghost."""
    total = exact.sum()
    return float((exact & ~mask).sum() / total) if total else 0.0


def bench_refine(args: argparse.Namespace) -> str:
    from inpaint_core.inference.inpainter import Inpainter

    inpainter = Inpainter.load(None, device="cpu", precision="auto", critic=None)
    rows = []
    started = time.perf_counter()
    for item in list_benchmark(args.benchmark)[: args.limit]:
        image, truth = read_rgb(item.image_path), read_rgb(item.truth_path)
        exact = np.asarray(Image.open(Path(args.benchmark) / "Masks" / f"{item.image_id}.png")) > 0
        boxes = item.box_mask()
        t0 = time.perf_counter()
        refined, infos = refine_mask(image, item.boxes)
        refine_s = time.perf_counter() - t0
        with_box, with_refined = inpainter.inpaint(image, boxes), inpainter.inpaint(image, refined)
        rows.append({
            "id": item.image_id, "iou_box": iou(boxes, exact), "iou_refined": iou(refined, exact),
            "missed_box": missed(boxes, exact), "missed_refined": missed(refined, exact),
            "fell_back": sum(info["fell_back"] for info in infos), "boxes": len(infos),
            "area_share": float(refined.sum() / max(boxes.sum(), 1)),
            "psnr_box": psnr(truth, with_box, boxes),
            "psnr_refined": psnr(truth, with_refined, boxes),
            "refine_s": refine_s,
        })
    seconds = time.perf_counter() - started
    gain = np.array([r["psnr_refined"] - r["psnr_box"] for r in rows])
    boxes_total = sum(r["boxes"] for r in rows)
    lines = [
        f"{len(rows)} images, {boxes_total} boxes of {args.benchmark} ({seconds:.0f} s in all)", "",
        "| figure | whole boxes | refined |", "|---|---|---|",
        f"| IoU with the exact logo mask (mean) | {np.mean([r['iou_box'] for r in rows]):.3f} | "
        f"{np.mean([r['iou_refined'] for r in rows]):.3f} |",
        "| share of the logo's pixels left out (mean) | "
        f"{np.mean([r['missed_box'] for r in rows]):.4f} | "
        f"{np.mean([r['missed_refined'] for r in rows]):.4f} |",
        "| share of the box filled (mean) | 1.000 | "
        f"{np.mean([r['area_share'] for r in rows]):.3f} |",
        f"| PSNR inside the boxes, dB (mean) | {np.mean([r['psnr_box'] for r in rows]):.2f} | "
        f"{np.mean([r['psnr_refined'] for r in rows]):.2f} |",
        "",
        f"boxes that fell back to the whole box: {sum(r['fell_back'] for r in rows)} of "
        f"{boxes_total}",
        f"PSNR gain of refine over box per image: mean {gain.mean():+.2f} dB, median "
        f"{np.median(gain):+.2f} dB, worst {gain.min():+.2f} dB, best {gain.max():+.2f} dB; "
        f"images worse by more than 0.5 dB: {(gain < -0.5).sum()} of {len(rows)}",
        f"refinement time: {np.mean([r['refine_s'] for r in rows]) * 1000:.0f} ms per image (mean)",
    ]
    text = "\n".join(lines)
    if args.write:
        _write("RESULTS-masks-refine", "Box refinement vs whole boxes", text, rows)
    return text


def _write(stem: str, title: str, text: str, raw: object) -> None:
    command = "python bench/bench_masks.py " + " ".join(sys.argv[1:])
    body = f"# {title}\n\n`{command}`\n\n```\n{text}\n```\n"
    (REPO / "bench" / f"{stem}.md").write_text(body)
    (REPO / "bench" / f"{stem}.json").write_text(json.dumps(raw, indent=1) + "\n")


def main() -> None:
    args = parse_args()
    print(bench_refine(args))


if __name__ == "__main__":
    main()

"""Tight boxes and JPEG colour bleed: does growing boxes over the bleed (bleed.py) help?

    .venv/bin/python bench/bench_bleed.py --benchmark B [--limit N] [--jpeg 90 75]

B is a make-benchmark set (JPEG quality 95, half the logos semi-transparent), whose boxes are the
logos' tight boxes grown by 2 px. Box sets scored:
- "annotated": B as it is;
- "tight": B's boxes shrunk by those 2 px (the logo's own extent, like OpenLogo's annotations);
- "q90 tight", "q75 tight" (--jpeg): B's clean photos with new logos pasted (same generator as
  make-benchmark, seeded), pixel-tight boxes, saved as JPEG at that quality (4:2:0 chroma, as
  Pillow and most cameras write), so the colour bleed lies outside the boxes.
Each set goes through the shipped weights (fp32, boxes filled exactly, as `unbrand run` does)
once with the boxes as given and once grown by `grow_for_bleed`. Scored against the clean
photo: PSNR in the boxes grown by 4 px (where a fringe would be; the same pixels for both rows
of a set) and on the whole image, mean over images; "logo left": of the colour the logo (and its
bleed) added to the pixels of that region, the share still in the output (per pixel the
projection of output - clean onto input - clean, clipped to 0..1, over the pixels the logo
changed by more than 20 RGB levels; 0 = all gone, 1 = untouched), mean over images; and how many
box sides grew.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inpaint_core.evaluation.evaluate import list_benchmark, read_rgb  # noqa: E402
from inpaint_core.evaluation.metrics import psnr  # noqa: E402
from inpaint_core.evaluation.synth import BOX_MARGIN as SYNTH_MARGIN  # noqa: E402
from inpaint_core.evaluation.synth import composite_logos  # noqa: E402
from inpaint_core.inference.inpainter import Inpainter  # noqa: E402
from inpaint_core.inference.planner import PlannerConfig  # noqa: E402
from inpaint_core.masks.bleed import grow_for_bleed  # noqa: E402
from inpaint_core.masks.boxes import boxes_to_mask  # noqa: E402
from inpaint_core.masks.modes import BOX_MARGIN  # noqa: E402
from inpaint_core.training.logos import builtin_logo  # noqa: E402

RING = 4  # the scored region: annotated boxes grown by this many pixels
CHANGED = 20.0  # RGB distance from the clean photo that counts a pixel as changed by the logo


def logo_left(image: np.ndarray, out: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """Share of the logo's colour (input - clean) still in the output, over changed pixels."""
    added = image.astype(np.float32) - truth
    left = out.astype(np.float32) - truth
    size = np.sum(added * added, axis=2)
    changed = region & (size > CHANGED * CHANGED)
    if not changed.any():
        return 0.0
    share = np.sum(left * added, axis=2)[changed] / size[changed]
    return float(np.clip(share, 0.0, 1.0).mean())


def _shrink(box: list[int], by: int) -> list[int]:
    x1, y1, x2, y2 = box
    if x2 - x1 <= 2 * by + 1 or y2 - y1 <= 2 * by + 1:
        return list(box)
    return [x1 + by, y1 + by, x2 - by, y2 - by]


def _grow(box: list[int], by: int) -> list[int]:
    x1, y1, x2, y2 = box
    return [x1 - by, y1 - by, x2 + by, y2 + by]


def jpeg_copy(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def box_sets(item, jpeg: list[int], seed: int) -> dict[str, tuple[np.ndarray, list[list[int]]]]:
    """name -> (input image, boxes) for one benchmark item."""
    image = read_rgb(item.image_path)
    sets = {
        "annotated": (image, [list(b) for b in item.boxes]),
        "tight": (image, [_shrink(list(b), SYNTH_MARGIN) for b in item.boxes]),
    }
    truth = read_rgb(item.truth_path)
    for quality in jpeg:
        rng = np.random.default_rng(seed)
        logos = [builtin_logo(rng) for _ in range(1 if rng.random() < 0.75 else 2)]
        comp = composite_logos(truth, logos, rng, box_margin=0)
        boxes = [list(p.box) for p in comp.placements]
        sets[f"q{quality} tight"] = (jpeg_copy(comp.image, quality), boxes)
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", required=True, help="a make-benchmark folder")
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    parser.add_argument("--jpeg", type=int, nargs="*", default=[90, 75],
                        help="JPEG qualities of the pixel-tight synthetic sets")
    args = parser.parse_args()
    items = list_benchmark(args.benchmark)
    items = items[: args.limit] if args.limit else items
    planner = PlannerConfig(margin=BOX_MARGIN)
    inpainter = Inpainter.load(device="cpu", precision="fp32", planner=planner, critic=None)
    print(f"{len(items)} images of {args.benchmark}, shipped weights, fp32, boxes filled exactly")
    print("boxes        grown  PSNR box+4px  PSNR whole  logo left  sides grown")
    rows: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    grown_sides: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        truth = read_rgb(item.truth_path)
        height, width = truth.shape[:2]
        for name, (image, boxes) in box_sets(item, args.jpeg, seed=index).items():
            region = boxes_to_mask([_grow(b, RING) for b in boxes], height=height, width=width)
            grown = [list(g) for g in grow_for_bleed(image, boxes)]
            changed = sum(int(a != b) for box, g in zip(boxes, grown, strict=True)
                          for a, b in zip(box, g, strict=True))
            counts = grown_sides.setdefault(name, [0, 0])
            counts[0] += changed
            counts[1] += 4 * len(boxes)
            for label, used in (("no", boxes), ("yes", grown)):
                out = inpainter.inpaint(image, boxes_to_mask(used, height=height, width=width))
                rows.setdefault((name, label), []).append(
                    (psnr(truth, out, region), psnr(truth, out),
                     logo_left(image, out, truth, region))
                )
    for (name, label), scores in rows.items():
        box_db, whole_db, left = np.mean(scores, axis=0)
        sides = grown_sides[name]
        grew = f"{sides[0]} of {sides[1]}" if label == "yes" else ""
        print(f"{name:11s}  {label:5s}  {box_db:12.2f}  {whole_db:10.2f}  {left:9.3f}  {grew}")


if __name__ == "__main__":
    main()

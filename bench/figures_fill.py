"""Before / after crops around logos for the model card: the removal path without texture
fusion (the previous default) and with it, on the bundled demo and on FlickrLogos photos.

    .venv/bin/python bench/figures_fill.py --dataset demo --out demo.jpg [--mode whole]
    .venv/bin/python bench/figures_fill.py --dataset ../shared/data/flickrlogos27-openlogo \\
        --ids fl27_... --out flickr.jpg

One row per logo box (at most --per-image boxes per photo): the input with the box outlined,
the smooth fill (TextureConfig(method="none"); with --before SPEC another fusion), the fill with
grain (the shipped default).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_fill import parse_texture  # noqa: E402

from inpaint_core.evaluation.evaluate import read_rgb  # noqa: E402
from inpaint_core.inference.inpainter import Inpainter  # noqa: E402
from inpaint_core.inference.planner import PlannerConfig  # noqa: E402
from inpaint_core.inference.remove import remove  # noqa: E402
from inpaint_core.inference.texture import TextureConfig  # noqa: E402
from inpaint_core.masks.voc import read_split, read_voc  # noqa: E402

COLUMNS = ("input", "before (smooth)", "after (grain)")


def view(box: list[int], width: int, height: int, context: float = 0.6) -> tuple[int, ...]:
    """The box with `context` x its larger side around it, clipped to the image."""
    x1, y1, x2, y2 = box
    pad = int(max(x2 - x1, y2 - y1) * context) + 8
    return max(0, x1 - pad), max(0, y1 - pad), min(width, x2 + pad), min(height, y2 + pad)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True, help="OpenLogo-layout folder")
    parser.add_argument("--ids", nargs="*", default=None, help="image ids (default: the split)")
    parser.add_argument("--mode", default="box", help="mask mode: box, whole or refine")
    parser.add_argument("--per-image", type=int, default=2, help="boxes shown per photo")
    parser.add_argument("--cell", type=int, default=220, help="width of a picture in px")
    parser.add_argument("--out", required=True)
    parser.add_argument("--before", default=None, metavar="SPEC",
                        help="the middle column's fusion instead of the smooth path: "
                             "mix,amount,sigma,pixels,context,inner,ramp,grain (bench_fill.py)")
    args = parser.parse_args()
    root = Path(args.dataset)
    ids = args.ids or read_split(root, "test")
    before_texture = parse_texture(args.before) if args.before else TextureConfig(method="none")
    smooth = Inpainter.load(None, device="cpu", critic=None,
                            planner=PlannerConfig(texture=before_texture))
    sharp = Inpainter.load(None, device="cpu", critic=None)
    rows = []
    for image_id in ids:
        image = read_rgb(root / "JPEGImages" / f"{image_id}.jpg")
        boxes = [obj.box for obj in read_voc(root / "Annotations" / f"{image_id}.xml").objects]
        before = remove(smooth, image, boxes=boxes, mode=args.mode).output
        after = remove(sharp, image, boxes=boxes, mode=args.mode).output
        height, width = image.shape[:2]
        for box in sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))[: args.per_image]:
            window = view(box, width, height)
            tiles = []
            for index, picture in enumerate((image, before, after)):
                tile = Image.fromarray(picture).crop(window)
                if index == 0:
                    ImageDraw.Draw(tile).rectangle(
                        (box[0] - window[0] - 1, box[1] - window[1] - 1,
                         box[2] - window[0], box[3] - window[1]), outline=(255, 40, 40))
                scale = args.cell / tile.width
                tiles.append(tile.resize((args.cell, max(1, round(tile.height * scale))),
                                         Image.Resampling.LANCZOS))
            rows.append((image_id, tiles))
    header = 24
    total = header + sum(tiles[0].height + 16 for _, tiles in rows)
    canvas = Image.new("RGB", (args.cell * 3, total), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    titles = COLUMNS if args.before is None else ("input", f"before ({args.before})", "after")
    for col, title in enumerate(titles):
        draw.text((col * args.cell + 6, 4), title, fill=(0, 0, 0), font=font)
    y = header
    for image_id, tiles in rows:
        draw.text((6, y), image_id, fill=(90, 90, 90), font=ImageFont.load_default(size=12))
        y += 16
        for col, tile in enumerate(tiles):
            canvas.paste(tile, (col * args.cell, y))
        y += tiles[0].height
    canvas.save(args.out, quality=88)
    print(f"wrote {args.out}: {len(rows)} crops of {len(ids)} photos, mode {args.mode}")


if __name__ == "__main__":
    main()

"""Regenerate demo/: Kodak photos with synthetic logos, in the QMUL-OpenLogo layout.

Only the Kodak24 crops of the shared training photos are used (their licence is unrestricted).
Each photo gets one to three made-up logos drawn with Pillow (a text badge, an emblem of shapes,
a translucent text watermark) and a Pascal VOC annotation with 1-based inclusive boxes, so
`unbrand run demo/ --out unbrand-out` has something to remove.

    /work/venv/bin/python scripts/make_demo.py [--data ../shared/data] [--out demo]
"""

from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
# Kodak files picked for variety (portrait, boats, parrots, house, window, lighthouse).
PICKS = ("kodim04", "kodim05", "kodim13", "kodim15", "kodim21", "kodim23")
BRANDS = ("acme", "zenith", "nordwave", "solace", "kestrel", "orbit")
JPEG_QUALITY = 90


@dataclass(frozen=True)
class Box:
    """A logo's box: 0-based, end exclusive, in pixels."""

    name: str
    x1: int
    y1: int
    x2: int
    y2: int


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font, so the sample is the same on every machine."""
    return ImageFont.load_default(size=size)


def _badge(rgba: Image.Image, rng: random.Random, name: str) -> Box:
    """A filled rounded rectangle with the brand name in it."""
    font = _font(rng.randint(26, 38))
    draw = ImageDraw.Draw(rgba)
    left, top, right, bottom = draw.textbbox((0, 0), name.upper(), font=font)
    pad = 10
    w, h = right - left + 2 * pad, bottom - top + 2 * pad
    x = rng.randint(10, rgba.width - w - 10)
    y = rng.randint(10, rgba.height - h - 10)
    colour = tuple(rng.randint(20, 230) for _ in range(3))
    draw.rounded_rectangle((x, y, x + w, y + h), radius=8, fill=(*colour, 235))
    draw.text((x + pad - left, y + pad - top), name.upper(), font=font, fill=(255, 255, 255, 255))
    return Box(name, x, y, x + w + 1, y + h + 1)


def _emblem(rgba: Image.Image, rng: random.Random, name: str) -> Box:
    """A ring with a triangle inside: a shape-only logo."""
    size = rng.randint(50, 80)
    x = rng.randint(10, rgba.width - size - 10)
    y = rng.randint(10, rgba.height - size - 10)
    draw = ImageDraw.Draw(rgba)
    colour = tuple(rng.randint(20, 230) for _ in range(3))
    draw.ellipse((x, y, x + size, y + size), outline=(*colour, 255), width=max(4, size // 10))
    m = size // 4
    draw.polygon([(x + size // 2, y + m), (x + m, y + size - m), (x + size - m, y + size - m)],
                 fill=(*colour, 255))
    return Box(f"{name}_symbol", x, y, x + size + 1, y + size + 1)


def _watermark(rgba: Image.Image, rng: random.Random, name: str) -> Box:
    """Translucent white text, like a photo-agency watermark."""
    font = _font(rng.randint(30, 44))
    layer = Image.new("RGBA", rgba.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    text = f"{name}.com"
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = rng.randint(10, rgba.width - (right - left) - 10) - left
    y = rng.randint(10, rgba.height - (bottom - top) - 10) - top
    draw.text((x, y), text, font=font, fill=(255, 255, 255, 150))
    rgba.alpha_composite(layer)
    return Box(f"{name}_text", x + left, y + top, x + right + 1, y + bottom + 1)


def _overlaps(box: Box, others: list[Box], gap: int = 12) -> bool:
    return any(
        box.x1 < o.x2 + gap and o.x1 < box.x2 + gap and box.y1 < o.y2 + gap and o.y1 < box.y2 + gap
        for o in others
    )


def add_logos(photo: Image.Image, rng: random.Random, brand: str) -> tuple[Image.Image, list[Box]]:
    """Draw one to three non-overlapping logos on a copy of the photo."""
    drawers = [_badge, _emblem, _watermark]
    rng.shuffle(drawers)
    canvas = photo.convert("RGBA")
    boxes: list[Box] = []
    for draw in drawers[: rng.randint(1, 3)]:
        for _ in range(20):
            trial = canvas.copy()
            box = draw(trial, rng, brand)
            if not _overlaps(box, boxes):
                canvas, boxes = trial, [*boxes, box]
                break
    return canvas.convert("RGB"), boxes


def voc_xml(filename: str, width: int, height: int, boxes: list[Box]) -> str:
    """A Pascal VOC annotation; boxes written 1-based inclusive like OpenLogo."""
    objects = "".join(
        f"\t<object>\n\t\t<name>{escape(b.name)}</name>\n\t\t<pose>Unspecified</pose>\n"
        f"\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n\t\t<bndbox>\n"
        f"\t\t\t<xmin>{b.x1 + 1}</xmin>\n\t\t\t<ymin>{b.y1 + 1}</ymin>\n"
        f"\t\t\t<xmax>{b.x2}</xmax>\n\t\t\t<ymax>{b.y2}</ymax>\n\t\t</bndbox>\n\t</object>\n"
        for b in boxes
    )
    return (
        f"<annotation>\n\t<folder>demo</folder>\n\t<filename>{escape(filename)}</filename>\n"
        f"\t<source>\n\t\t<database>unbrand demo (Kodak photos, synthetic logos)</database>\n"
        f"\t</source>\n\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n"
        f"\t\t<depth>3</depth>\n\t</size>\n\t<segmented>0</segmented>\n{objects}</annotation>\n"
    )


def kodak_files(data: Path) -> dict[str, Path]:
    """kodimNN -> path of the Kodak crops listed as such in MANIFEST.csv."""
    root = data / "train-photos"
    found: dict[str, Path] = {}
    with (root / "MANIFEST.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if "Kodak" not in row["source_license"]:
                continue
            stem = row["file"].rsplit("_", 1)[-1].removesuffix(".jpg")
            found[stem] = root / f"shard-{row['shard']}" / row["file"]
    return found


def make_demo(data: Path, out: Path, seed: int = 7) -> list[str]:
    """Write the sample into `out`; returns the image ids."""
    kodak = kodak_files(data)
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    ids = []
    for index, (pick, brand) in enumerate(zip(PICKS, BRANDS, strict=True)):
        image_id = f"demo_{index:02d}_{pick}"
        photo = Image.open(kodak[pick]).convert("RGB")
        logo_photo, boxes = add_logos(photo, rng, brand)
        logo_photo.save(out / "JPEGImages" / f"{image_id}.jpg", quality=JPEG_QUALITY)
        xml = voc_xml(f"{image_id}.jpg", photo.width, photo.height, boxes)
        (out / "Annotations" / f"{image_id}.xml").write_text(xml)
        ids.append(image_id)
    (out / "ImageSets" / "Main" / "test.txt").write_text("".join(f"{i}\n" for i in ids))
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=REPO / "demo", help="where to write the sample")
    args = parser.parse_args()
    ids = make_demo(args.data, args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {len(ids)} images to {args.out} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()

"""Logos in styles the training never pasted, to check that a model trained on built-in logos
generalises: DejaVu fonts (the built-in logos use Pillow's default font), gradient and
two-colour fills, outline-only marks, and opaque "sticker" patches cut from the real FlickrLogos
photos (the box's whole content is the logo there).

    .venv/bin/python bench/heldout_logos.py --out L [--count 24]
        [--stickers ../shared/data/flickrlogos27-openlogo]
    unbrand make-benchmark --photos ../shared/data/train-photos/shard-3 --logos L --out B2
        --count 120 --seed 1

Half of the logos a benchmark pastes are then these files (the other half built-in ones);
`bench/bench_removal.py --logos-only` scores only the images whose logos are all files.
"""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONTS = "/usr/share/fonts/truetype/dejavu/*.ttf"
WORDS = ["Norvik", "QUANTA", "bellhop", "ZEPHYR", "Orla&Co", "MAXIMA", "tecton", "Vireo 9"]


def _text(rng: np.random.Generator, font_path: str) -> Image.Image:
    font = ImageFont.truetype(font_path, int(rng.integers(60, 110)))
    word = WORDS[int(rng.integers(len(WORDS)))]
    left, top, right, bottom = font.getbbox(word)
    size = (right - left + 12, bottom - top + 12)
    alpha = Image.new("L", size, 0)
    ImageDraw.Draw(alpha).text((6 - left, 6 - top), word, font=font, fill=255)
    style = rng.integers(0, 3)
    if style == 0:  # horizontal two-colour gradient
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        ramp = np.linspace(0, 1, size[0])[None, :, None]
        rgb = (a * (1 - ramp) + b * ramp) * np.ones((size[1], 1, 1))
    elif style == 1:  # outline only
        outline = Image.new("L", size, 0)
        ImageDraw.Draw(outline).text((6 - left, 6 - top), word, font=font, fill=0,
                                     stroke_width=3, stroke_fill=255)
        alpha = Image.fromarray(np.asarray(outline) & ~np.asarray(alpha))
        rgb = np.ones((size[1], size[0], 3)) * rng.integers(0, 256, 3)
    else:  # top half one colour, bottom half another
        rgb = np.ones((size[1], size[0], 3)) * rng.integers(0, 256, 3)
        rgb[size[1] // 2 :] = rng.integers(0, 256, 3)
    rgba = np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), np.asarray(alpha)])
    return Image.fromarray(rgba, "RGBA")


def _ring_mark(rng: np.random.Generator) -> Image.Image:
    """Concentric rings and a diagonal bar: a shape family the built-in emblems lack."""
    side = 120
    img = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    colours = [tuple(int(v) for v in rng.integers(0, 256, 3)) + (255,) for _ in range(2)]
    for i, r in enumerate(range(58, 10, -16)):
        draw.ellipse((60 - r, 60 - r, 60 + r, 60 + r), outline=colours[i % 2], width=7)
    draw.line((20, 100, 100, 20), fill=colours[0], width=9)
    return img


def _stickers(folder: Path, rng: np.random.Generator, count: int) -> list[Image.Image]:
    """Opaque crops of annotated logos from real photos (OpenLogo layout)."""
    from inpaint_core.masks.voc import read_voc

    notes = sorted((folder / "Annotations").glob("*.xml"))
    picked = rng.choice(len(notes), size=min(count, len(notes)), replace=False)
    out = []
    for index in picked:
        note = read_voc(notes[int(index)])
        x1, y1, x2, y2 = note.objects[0].box
        with Image.open(folder / "JPEGImages" / note.filename) as photo:
            patch = photo.convert("RGB").crop((x1, y1, x2, y2))
        if min(patch.size) >= 12:
            out.append(patch.convert("RGBA"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=24, help="rendered logos")
    parser.add_argument("--stickers", default=None,
                        help="OpenLogo folder to cut sticker logos from")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fonts = sorted(glob.glob(FONTS))
    if not fonts:
        raise SystemExit(f"no fonts at {FONTS} (Debian's fonts-dejavu-core)")
    logos = [_ring_mark(rng) if i % 4 == 3 else _text(rng, fonts[int(rng.integers(len(fonts)))])
             for i in range(args.count)]
    if args.stickers:
        logos += _stickers(Path(args.stickers), rng, max(1, args.count // 4))
    for i, logo in enumerate(logos):
        logo.save(out / f"heldout_{i:02d}.png")
    print(f"wrote {len(logos)} logos to {out}")


if __name__ == "__main__":
    main()

"""Draw the marks that find-logo's benchmarks and its learned verifier's training paste.

    # simple-icons marks in their brand colour (npm pack simple-icons@16.37.0; tar xzf)
    .venv/bin/python scripts/findlogo_marks.py icons --package package --out targets \\
        --names github,spotify,apple,nike
    .venv/bin/python scripts/findlogo_marks.py icons --package package --out train-icons \\
        --random 80 --seed 5 --exclude github,spotify,apple,nike,x,mcdonalds,adidas,...
    # synthetic wide logos: a DejaVu word, an icon beside a word, a word on a plate
    .venv/bin/python scripts/findlogo_marks.py wide --icons train-icons --out wide \\
        --count 240 --seed 7

Icons are rendered by `rsvg-convert -w 256` (librsvg2-bin; `--rsvg` names the binary). Their
path data is CC0 (simple-icons), the DejaVu fonts are free: marks drawn here may train weights
that users may use. A name in `--exclude` also excludes every icon whose slug contains it, so the
evaluation's marks and their variants (githubactions, ...) never reach training.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# DejaVu faces, found by Pillow in the system's font folders (Debian: fonts-dejavu-core)
FACES = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "DejaVuSerif-Bold.ttf",
         "DejaVuSansCondensed-Bold.ttf", "DejaVuSans-BoldOblique.ttf", "DejaVuSerif.ttf")
SYLLABLES = ("ka", "lo", "ri", "ve", "no", "ta", "zen", "mar", "tek", "sol", "bri", "om",
             "ex", "qu", "ly", "dor", "fin", "gra", "po", "sta", "vi", "ax", "ne", "ro")
TEXT_SIZE = 72  # px of the font; marks are rescaled when pasted, so only the aspect matters


def render_icon(svg: Path, hex_colour: str, out: Path, rsvg: str, width: int) -> None:
    """One icon in its brand colour, on transparency, `width` px wide."""
    text = svg.read_text()
    text = re.sub(r"<path ", f'<path fill="#{hex_colour}" ', text)
    tinted = out.with_suffix(".svg")
    tinted.write_text(text)
    subprocess.run([rsvg, "-w", str(width), "-o", str(out), str(tinted)], check=True)
    tinted.unlink()


def pick_icons(catalogue: list[dict], names: list[str], count: int, seed: int,
               exclude: list[str]) -> list[dict]:
    by_slug = {icon["slug"]: icon for icon in catalogue}
    if names:
        return [by_slug[name] for name in names]
    allowed = [icon for icon in catalogue
               if not any(word in icon["slug"] for word in exclude)]
    return random.Random(seed).sample(allowed, count)


def icons(args: argparse.Namespace) -> None:
    catalogue = json.loads((args.package / "data" / "simple-icons.json").read_text())
    names = [n for n in args.names.split(",") if n]
    exclude = [n for n in args.exclude.split(",") if n]
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = pick_icons(catalogue, names, args.random, args.seed, exclude)
    for icon in chosen:
        render_icon(args.package / "icons" / f"{icon['slug']}.svg", icon["hex"],
                    args.out / f"{icon['slug']}.png", args.rsvg, args.width)
    print(f"{len(chosen)} icons -> {args.out}")


def _word(rng: random.Random) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
    return word.upper() if rng.random() < 0.5 else word.capitalize()


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return tuple(rng.randint(0, 255) for _ in range(3))  # type: ignore[return-value]


def _text(word: str, font: ImageFont.FreeTypeFont, colour: tuple[int, int, int]) -> Image.Image:
    left, top, right, bottom = font.getbbox(word)
    canvas = Image.new("RGBA", (right - left + 4, bottom - top + 4), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((2 - left, 2 - top), word, font=font, fill=colour + (255,))
    return canvas


def wide_logo(rng: random.Random, icon_files: list[Path]) -> Image.Image:
    """A word alone, an icon beside a word, or a word on a rounded plate."""
    font = ImageFont.truetype(rng.choice(FACES), TEXT_SIZE)
    colour = _colour(rng)
    kind = rng.choice(("word", "icon", "plate"))
    word = _text(_word(rng), font, colour)
    if kind == "word":
        return word
    if kind == "icon":
        icon = Image.open(rng.choice(icon_files)).convert("RGBA")
        side = word.height + 8
        icon = icon.resize((max(1, round(icon.width * side / icon.height)), side))
        gap = rng.randint(6, 24)
        canvas = Image.new("RGBA", (icon.width + gap + word.width, side), (0, 0, 0, 0))
        canvas.alpha_composite(icon, (0, 0))
        canvas.alpha_composite(word, (icon.width + gap, (side - word.height) // 2))
        return canvas
    pad = rng.randint(10, 24)
    plate = Image.new("RGBA", (word.width + 2 * pad, word.height + 2 * pad), (0, 0, 0, 0))
    ImageDraw.Draw(plate).rounded_rectangle(
        (0, 0, plate.width - 1, plate.height - 1), radius=rng.randint(0, pad),
        fill=tuple(255 - c for c in colour) + (255,))
    plate.alpha_composite(word, (pad, pad))
    return plate


def wide(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    icon_files = sorted(args.icons.glob("*.png"))
    if not icon_files:
        raise SystemExit(f"no icon PNGs in {args.icons}")
    args.out.mkdir(parents=True, exist_ok=True)
    for k in range(args.count):
        wide_logo(rng, icon_files).save(args.out / f"wide_{k:03d}.png")
    print(f"{args.count} wide logos -> {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    icon = sub.add_parser("icons", help="simple-icons marks in their brand colour")
    icon.add_argument("--package", required=True, type=Path, help="unpacked simple-icons npm")
    icon.add_argument("--out", required=True, type=Path)
    icon.add_argument("--names", default="", help="comma-separated slugs (else --random)")
    icon.add_argument("--random", type=int, default=0, help="this many icons drawn at random")
    icon.add_argument("--seed", type=int, default=0)
    icon.add_argument("--exclude", default="", help="slugs (and their variants) never drawn")
    icon.add_argument("--rsvg", default="rsvg-convert", help="the rsvg-convert binary")
    icon.add_argument("--width", type=int, default=256)
    words = sub.add_parser("wide", help="synthetic wide logos from DejaVu words")
    words.add_argument("--icons", required=True, type=Path, help="icon PNGs to set beside words")
    words.add_argument("--out", required=True, type=Path)
    words.add_argument("--count", type=int, default=240)
    words.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.command == "icons":
        icons(args)
    else:
        wide(args)


if __name__ == "__main__":
    main()

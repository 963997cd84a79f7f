"""A review sheet of find-logo's detections: every find as a crop with its logo and confidence.

Before a batch repaints what find-logo found, a person can look at every detection at once:
`write_sheet` writes, into one folder,
    index.html        every crop with logo name, confidence, image id and box, least sure first
    crops/<n>.jpg     the crops the page shows
    sheet-<k>.png     the same as PNG grids (COLUMNS x ROWS crops per page), for a quick look
Each crop is the detection's box grown by half its size on every side (the context tells a logo
from an edge of the photo), scaled to the tile, with the box drawn in cyan on black.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

TILE = 176  # px: side of a crop's square in the PNG grid
CAPTION = 30  # px under each crop for its text
COLUMNS, ROWS = 8, 8
CONTEXT = 0.5  # the crop shows this share of the box's size around it


@dataclass(frozen=True)
class SheetEntry:
    """One detection to show."""

    image_id: str
    logo: str
    confidence: float
    box: tuple[int, int, int, int]
    crop: np.ndarray  # (h, w, 3) uint8 with the box drawn


def make_crop(rgb: np.ndarray, box: Sequence[int], side: int = TILE) -> np.ndarray:
    """(<= side, <= side, 3) uint8: the box with context, scaled so its long side is `side`
    (small finds are enlarged), the box outlined in cyan on black (visible on any colour)."""
    height, width = rgb.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in box)
    grow_x, grow_y = round((x2 - x1) * CONTEXT), round((y2 - y1) * CONTEXT)
    left, top = max(0, x1 - grow_x), max(0, y1 - grow_y)
    right, bottom = min(width, x2 + grow_x), min(height, y2 + grow_y)
    crop = Image.fromarray(np.ascontiguousarray(rgb[top:bottom, left:right]))
    factor = side / max(crop.size)
    size = (max(1, round(crop.width * factor)), max(1, round(crop.height * factor)))
    crop = crop.resize(size, Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC)
    outline = [round(v * factor) for v in (x1 - left, y1 - top, x2 - left, y2 - top)]
    draw = ImageDraw.Draw(crop)
    draw.rectangle((outline[0] - 1, outline[1] - 1, outline[2], outline[3]), outline=(0, 0, 0),
                   width=3)
    draw.rectangle((outline[0], outline[1], outline[2] - 1, outline[3] - 1),
                   outline=(0, 255, 255), width=1)
    return np.asarray(crop)


def _page(entries: Sequence[SheetEntry]) -> Image.Image:
    rows = -(-len(entries) // COLUMNS)
    page = Image.new("RGB", (COLUMNS * TILE, rows * (TILE + CAPTION)), (40, 40, 40))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=12)
    for index, entry in enumerate(entries):
        x, y = index % COLUMNS * TILE, index // COLUMNS * (TILE + CAPTION)
        crop = Image.fromarray(entry.crop)
        page.paste(crop, (x + (TILE - crop.width) // 2, y + (TILE - crop.height) // 2))
        draw.text((x + 4, y + TILE + 1), f"{entry.logo} {entry.confidence:.2f}", fill="white",
                  font=font)
        draw.text((x + 4, y + TILE + 15), entry.image_id[-26:], fill=(180, 180, 180), font=font)
    return page


def _html(entries: Sequence[SheetEntry], names: Sequence[str]) -> str:
    cells = []
    for entry, name in zip(entries, names, strict=True):
        caption = (f"<b>{html.escape(entry.logo)}</b> {entry.confidence:.2f}<br>"
                   f"{html.escape(entry.image_id)}<br>{list(entry.box)}")
        cells.append(f'<figure><img src="crops/{name}" alt=""><figcaption>{caption}'
                     "</figcaption></figure>")
    return ("<!doctype html><meta charset=utf-8><title>find-logo review</title><style>"
            "body{font:13px sans-serif;background:#222;color:#eee}figure{display:inline-block;"
            f"width:{TILE}px;margin:4px;vertical-align:top}}img{{max-width:{TILE}px;"
            f"max-height:{TILE}px}}</style><h1>find-logo: {len(entries)} detections, least "
            "confident first</h1>\n" + "\n".join(cells) + "\n")


def write_sheet(entries: Sequence[SheetEntry], folder: str | Path) -> list[Path]:
    """Write index.html, crops/ and sheet-<k>.png into `folder`; the written paths."""
    folder = Path(folder)
    (folder / "crops").mkdir(parents=True, exist_ok=True)
    ordered = sorted(entries, key=lambda e: (e.confidence, e.image_id))
    names = [f"{index:05d}.jpg" for index in range(len(ordered))]
    for entry, name in zip(ordered, names, strict=True):
        Image.fromarray(entry.crop).save(folder / "crops" / name, quality=90)
    written = [folder / "index.html"]
    written[0].write_text(_html(ordered, names), encoding="utf-8")
    per_page = COLUMNS * ROWS
    for start in range(0, len(ordered), per_page):
        path = folder / f"sheet-{start // per_page + 1}.png"
        _page(ordered[start : start + per_page]).save(path)
        written.append(path)
    return written

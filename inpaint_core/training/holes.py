"""Training masks: free-form strokes, boxes and logo-shaped masks (rendered glyphs and emblems).

Every generator returns an (H, W) bool array with True = hole; `random_mask` picks a kind and keeps
the hole between `min_ratio` and `max_ratio` of the area (1-30 % by default, as for logos).
"""

from __future__ import annotations

import string

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

MASK_KINDS = ("strokes", "boxes", "logo")


def stroke_mask(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Irregular brush strokes: random walks drawn with a thick round brush."""
    canvas = np.zeros((height, width), np.uint8)
    side = min(height, width)
    for _ in range(rng.integers(1, 5)):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        brush = int(rng.integers(max(2, side // 40), max(3, side // 12)))
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(rng.integers(3, 10)):
            angle += rng.normal(0, 0.8)
            length = rng.uniform(side * 0.05, side * 0.25)
            nx = int(np.clip(x + length * np.cos(angle), 0, width - 1))
            ny = int(np.clip(y + length * np.sin(angle), 0, height - 1))
            cv2.line(canvas, (int(x), int(y)), (nx, ny), 1, brush, lineType=cv2.LINE_AA)
            x, y = nx, ny
    return canvas > 0


def box_mask(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """One to three axis-aligned rectangles, like OpenLogo bounding boxes."""
    mask = np.zeros((height, width), bool)
    for _ in range(rng.integers(1, 4)):
        bw = int(rng.uniform(0.08, 0.45) * width)
        bh = int(np.clip(bw * rng.uniform(0.25, 1.2), 4, height * 0.45))
        x = int(rng.integers(0, max(1, width - bw)))
        y = int(rng.integers(0, max(1, height - bh)))
        mask[y : y + bh, x : x + bw] = True
    return mask


def random_word(rng: np.random.Generator) -> str:
    """A made-up brand name of 2-7 letters and digits."""
    letters = string.ascii_uppercase + string.ascii_lowercase + string.digits
    return "".join(rng.choice(list(letters), size=int(rng.integers(2, 8))))


def logo_mask(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A logo-like shape: rendered text, optionally beside an emblem (circle, star or shield)."""
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    size = int(rng.uniform(0.06, 0.2) * min(height, width)) + 6
    font = ImageFont.load_default(size=size)
    text = random_word(rng)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = int(rng.integers(0, max(1, int(width - (right - left) - size))))
    y = int(rng.integers(0, max(1, int(height - (bottom - top)))))
    if rng.random() < 0.6:
        draw_emblem(draw, x, y, size, rng)
        x += int(size * 1.2)
    draw.text((x, y - top), text, fill=255, font=font, stroke_width=int(rng.integers(0, 3)))
    mask = np.asarray(img) > 0
    if rng.random() < 0.5:  # annotators' masks are never pixel-tight: grow a little
        grow = int(rng.integers(1, max(2, size // 6)))
        mask = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=grow) > 0
    return mask


def draw_emblem(
    draw: ImageDraw.ImageDraw,
    x: int,
    y: int,
    size: int,
    rng: np.random.Generator,
    fill: int | tuple[int, ...] = 255,
) -> None:
    """A filled circle, five-pointed star or shield of `size` px, top-left corner at (x, y)."""
    kind = rng.integers(0, 3)
    if kind == 0:
        draw.ellipse((x, y, x + size, y + size), fill=fill)
    elif kind == 1:
        points = []
        for i in range(10):
            radius = size / 2 if i % 2 == 0 else size / 4.5
            angle = np.pi / 5 * i - np.pi / 2
            points.append(
                (x + size / 2 + radius * np.cos(angle), y + size / 2 + radius * np.sin(angle))
            )
        draw.polygon(points, fill=fill)
    else:
        shield = [
            (x, y),
            (x + size, y),
            (x + size, y + size * 0.6),
            (x + size / 2, y + size),
            (x, y + size * 0.6),
        ]
        draw.polygon(shield, fill=fill)


_MAKERS = {"strokes": stroke_mask, "boxes": box_mask, "logo": logo_mask}


def random_mask(
    height: int,
    width: int,
    rng: np.random.Generator,
    *,
    kinds: tuple[str, ...] = MASK_KINDS,
    min_ratio: float = 0.01,
    max_ratio: float = 0.30,
    tries: int = 20,
) -> np.ndarray:
    """A hole of one of `kinds` covering min_ratio..max_ratio of the area (bool, True = hole)."""
    mask = np.zeros((height, width), bool)
    for _ in range(tries):
        kind = kinds[int(rng.integers(0, len(kinds)))]
        mask = _MAKERS[kind](height, width, rng)
        ratio = mask.mean()
        if min_ratio <= ratio <= max_ratio:
            return mask
    return fallback_box(height, width, rng, min_ratio=min_ratio, max_ratio=max_ratio)


def fallback_box(
    height: int, width: int, rng: np.random.Generator, *, min_ratio: float, max_ratio: float
) -> np.ndarray:
    """A centred rectangle with an area ratio in [min_ratio, max_ratio]: never empty or huge."""
    area = rng.uniform(min_ratio, (min_ratio + max_ratio) / 2) * height * width
    box_h = int(np.clip(round(np.sqrt(area)), 1, height))
    box_w = int(np.clip(np.ceil(area / box_h), 1, width))  # ceil: never below the target area
    y, x = (height - box_h) // 2, (width - box_w) // 2
    mask = np.zeros((height, width), bool)
    mask[y : y + box_h, x : x + box_w] = True
    return mask

"""Logo shapes for the find-logo benchmark, drawn here, and a reader for logo files.

The hard cases for a logo finder are the plain ones: a thin curve (a swoosh-like tick), a ring,
a single letter and a one-colour wordmark carry few edges, and photos are full of curves, circles
and strokes. `target_shapes()` draws four such marks; `distractor_shapes()` draws others of the
same families (a star, a triangle, another word, concentric arcs, a bar) to paste beside them
as marks that must NOT be found. Every shape is RGBA uint8, 256 px wide (height by its aspect),
one colour on a transparent ground, cropped to its alpha.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inpaint_core.errors import ImageInputError

WIDTH = 256
SUPERSAMPLE = 4  # shapes are drawn 4x larger and shrunk: smooth anti-aliased edges


def _finish(alpha: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """(H, W) supersampled 0-255 alpha -> (h, WIDTH-wide, 4) RGBA cropped to the shape."""
    rows, cols = np.nonzero(alpha)
    alpha = alpha[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    height = max(4, round(alpha.shape[0] * WIDTH / alpha.shape[1]))
    small = cv2.resize(alpha, (WIDTH, height), interpolation=cv2.INTER_AREA)
    rgba = np.zeros((height, WIDTH, 4), np.uint8)
    rgba[:, :, :3] = colour
    rgba[:, :, 3] = small
    return rgba


def swoosh(colour: tuple[int, int, int] = (20, 20, 20)) -> np.ndarray:
    """A tick-like crescent: a rounded heel low on the left, its widest part just after the
    lowest point, tapering to a sharp tip high on the right."""
    size = WIDTH * SUPERSAMPLE
    t = np.linspace(0.0, 1.0, 240)
    steep = np.where(t < 0.2, 6.0, 1.1)  # the heel curves up fast, the tail slowly
    lower = 0.85 - steep * (t - 0.2) ** 2
    upper = lower - 0.2 * np.sin(np.pi * t**0.55)  # thickness 0 at both ends
    outline = np.concatenate([np.c_[t, lower], np.c_[t, upper][::-1]]) * size
    canvas = np.zeros((size, size), np.uint8)
    cv2.fillPoly(canvas, [np.round(outline).astype(np.int32)], 255, lineType=cv2.LINE_AA)
    return _finish(canvas, colour)


def ring(colour: tuple[int, int, int] = (200, 30, 40), inner: float = 0.72) -> np.ndarray:
    """A plain annulus; `inner` is the hole's radius relative to the outer one."""
    size = WIDTH * SUPERSAMPLE
    canvas = np.zeros((size, size), np.uint8)
    centre, radius = size // 2, size // 2 - 2
    cv2.circle(canvas, (centre, centre), radius, 255, -1, lineType=cv2.LINE_AA)
    cv2.circle(canvas, (centre, centre), round(radius * inner), 0, -1, lineType=cv2.LINE_AA)
    return _finish(canvas, colour)


def _text(text: str, colour: tuple[int, int, int], stroke: int) -> np.ndarray:
    font = ImageFont.load_default(size=64 * SUPERSAMPLE)  # Pillow's bundled scalable font
    canvas = Image.new("L", (len(text) * 80 * SUPERSAMPLE, 120 * SUPERSAMPLE), 0)
    ImageDraw.Draw(canvas).text((20 * SUPERSAMPLE, 10 * SUPERSAMPLE), text, font=font, fill=255,
                                stroke_width=stroke * SUPERSAMPLE, stroke_fill=255)
    return _finish(np.asarray(canvas), colour)


def letter(colour: tuple[int, int, int] = (30, 70, 200)) -> np.ndarray:
    """A single bold capital."""
    return _text("K", colour, stroke=3)


def wordmark(colour: tuple[int, int, int] = (10, 110, 60)) -> np.ndarray:
    """A one-colour word in a bold sans face."""
    return _text("Velmora", colour, stroke=2)


def target_shapes() -> dict[str, np.ndarray]:
    """The four drawn marks the benchmark looks for, by name."""
    return {"swoosh": swoosh(), "ring": ring(), "letter": letter(), "wordmark": wordmark()}


def _polygon(points: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    size = WIDTH * SUPERSAMPLE
    canvas = np.zeros((size, size), np.uint8)
    cv2.fillPoly(canvas, [np.round(points * size).astype(np.int32)], 255, lineType=cv2.LINE_AA)
    return _finish(canvas, colour)


def distractor_shapes() -> dict[str, np.ndarray]:
    """Marks of the same families that are not targets."""
    angles = np.pi / 5 * np.arange(10) - np.pi / 2
    radii = np.where(np.arange(10) % 2 == 0, 0.48, 0.2)
    star = np.c_[0.5 + radii * np.cos(angles), 0.5 + radii * np.sin(angles)]
    size = WIDTH * SUPERSAMPLE
    arcs = np.zeros((size, size), np.uint8)
    for radius in (0.45, 0.32, 0.19):
        cv2.ellipse(arcs, (size // 2, size), (round(radius * size),) * 2, 0, 180, 360, 255,
                    thickness=round(0.06 * size), lineType=cv2.LINE_AA)
    return {
        "star": _polygon(star, (230, 160, 20)),
        "triangle": _polygon(np.array([[0.5, 0.05], [0.95, 0.9], [0.05, 0.9]]), (120, 40, 160)),
        "word": _text("Quintar", (90, 90, 90), stroke=1),
        "arcs": _finish(arcs, (30, 140, 200)),
        "bar": _polygon(np.array([[0.05, 0.45], [0.95, 0.4], [0.95, 0.5], [0.05, 0.55]]),
                        (200, 80, 30)),
    }


def load_logo_rgba(path: str | Path, *, width: int = WIDTH) -> np.ndarray:
    """A logo file as (h, w, 4) RGBA uint8 cropped to its alpha: PNG/WebP/JPEG through Pillow,
    SVG rendered `width` px wide with cairosvg (a path without a fill colour renders black)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".svg":
            import cairosvg

            png = cairosvg.svg2png(url=str(path), output_width=width)
            import io

            image = Image.open(io.BytesIO(png))
        else:
            image = Image.open(path)
        rgba = np.asarray(image.convert("RGBA"))
    except (OSError, ValueError) as exc:
        raise ImageInputError(f"cannot read logo {path}: {exc}") from exc
    rows, cols = np.nonzero(rgba[:, :, 3])
    if len(rows) == 0:
        raise ImageInputError(f"logo {path} is fully transparent")
    return np.ascontiguousarray(rgba[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1])


def load_logo_dir(folder: str | Path) -> dict[str, np.ndarray]:
    """Every .png/.webp/.svg/.jpg logo of a folder (not recursive), by file stem, sorted."""
    suffixes = {".png", ".webp", ".svg", ".jpg", ".jpeg"}
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in suffixes)
    if not paths:
        raise ImageInputError(f"no logo files (.png/.webp/.svg/.jpg) in {folder}")
    return {path.stem: load_logo_rgba(path) for path in paths}

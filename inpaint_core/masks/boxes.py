"""Boxes: the one place that parses, checks, clips and converts them.

Inside the project a box is 0-based [x1, y1, x2, y2) with the end excluded, in pixels of the
image as displayed, i.e. after its EXIF orientation is applied (`upright_boxes` moves boxes
drawn on the stored pixels there). Pascal VOC files hold 1-based inclusive
corners: xmin = x1 + 1, xmax = x2 (`from_voc` / `to_voc`). Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from inpaint_core.errors import ImageInputError
from inpaint_core.masks.formats import split_list_field

Box = list[int]  # [x1, y1, x2, y2), 0-based, end exclusive


class BoxError(ImageInputError):
    """A box that cannot be used (inverted, empty, not four finite numbers)."""


def to_box(values: Any) -> Box:
    """Four numbers -> a 0-based [x1, y1, x2, y2) box; fractional edges are rounded outward."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or len(values) != 4:
        raise BoxError(f"a box needs four numbers [x1, y1, x2, y2], got {values!r}")
    if any(isinstance(v, bool) for v in values):
        raise BoxError(f"box {list(values)!r} holds something that is not a number")
    try:
        x1, y1, x2, y2 = (float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise BoxError(f"box {list(values)!r} holds something that is not a number") from exc
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise BoxError(f"box {list(values)!r} is not finite")
    box = [math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2)]
    if box[2] <= box[0] or box[3] <= box[1]:
        raise BoxError(f"box {box} is empty or inverted (need x2 > x1 and y2 > y1)")
    return box


def parse_boxes(value: Any) -> list[Box]:
    """Boxes from JSON (`[[x1,y1,x2,y2], ...]` or one `[x1,y1,x2,y2]`), a list, or text
    "x1 y1 x2 y2; x1,y1,x2,y2" (spaces or commas inside a box, ';' between boxes)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise BoxError("empty boxes field")
        try:
            value = split_list_field(text)
        except ValueError as exc:
            raise BoxError(f"boxes are {exc}") from exc
        if not text.startswith("["):  # "x1 y1 x2 y2; ...": spaces or commas inside a box
            value = [part.replace(",", " ").split() for part in value]
    if not isinstance(value, list | tuple) or not value:
        raise BoxError(f"boxes must be a non-empty list, got {value!r}")
    if all(not isinstance(v, list | tuple) for v in value):
        value = [value]  # a single flat box
    return [to_box(box) for box in value]


def check_boxes(raw: Any) -> list[Box]:
    """A stored box list ([[x1, y1, x2, y2], ...]; may be empty) as integer boxes."""
    if not isinstance(raw, list | tuple):
        raise BoxError(f"boxes must be a list of [x1, y1, x2, y2], got {type(raw).__name__}")
    return [to_box(box) for box in raw]


def clamp_box(box: Sequence[float], *, width: int, height: int) -> tuple[int, int, int, int]:
    """The box rounded and clamped to the image; may come out empty (x2 == x1)."""
    if len(box) != 4:
        raise BoxError(f"a box is [x1, y1, x2, y2], got {list(box)}")
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    x1, x2 = max(0, min(x1, width)), max(0, min(x2, width))
    y1, y2 = max(0, min(y1, height)), max(0, min(y2, height))
    return x1, y1, max(x1, x2), max(y1, y2)


def clip_box(box: Box, *, width: int | None, height: int | None) -> Box | None:
    """The box clipped to [0, width) x [0, height) (at 0 only where the size is unknown);
    None when nothing of it is left inside."""
    x1, y1 = max(box[0], 0), max(box[1], 0)
    x2 = box[2] if width is None else min(box[2], width)
    y2 = box[3] if height is None else min(box[3], height)
    if x2 <= x1 or y2 <= y1:
        return None
    return [x1, y1, x2, y2]


def clip_boxes(
    boxes: Sequence[Box], *, width: int | None, height: int | None, warnings: list[str]
) -> list[Box]:
    """Clip every box, noting each change (and each box dropped as wholly outside)."""
    kept: list[Box] = []
    for box in boxes:
        clipped = clip_box(box, width=width, height=height)
        if clipped is None:
            warnings.append(f"box {box} lies outside the image and was dropped")
        elif clipped != list(box):
            warnings.append(f"box {box} clipped to the image: {clipped}")
            kept.append(clipped)
        else:
            kept.append(list(box))
    return kept


def from_voc(xmin: float, ymin: float, xmax: float, ymax: float) -> Box:
    """A VOC <bndbox> (1-based, both ends included) as a 0-based end-exclusive box."""
    return [round(xmin) - 1, round(ymin) - 1, round(xmax), round(ymax)]


def to_voc(box: Sequence[int]) -> tuple[int, int, int, int]:
    """A 0-based end-exclusive box as VOC (xmin, ymin, xmax, ymax), 1-based inclusive."""
    x1, y1, x2, y2 = (int(v) for v in box)
    return x1 + 1, y1 + 1, x2, y2


# EXIF orientation -> where a point (x, y) of the stored pixels (W x H) lands on the image as
# displayed, the frame read_image returns (ImageOps.exif_transpose's transposes; 5-8 swap W, H).
_UPRIGHT = {
    1: lambda x, y, w, h: (x, y),
    2: lambda x, y, w, h: (w - x, y),  # mirrored left-right
    3: lambda x, y, w, h: (w - x, h - y),  # turned 180 degrees
    4: lambda x, y, w, h: (x, h - y),  # mirrored top-bottom
    5: lambda x, y, w, h: (y, x),  # transposed
    6: lambda x, y, w, h: (h - y, x),  # stored turned 90 degrees counter-clockwise
    7: lambda x, y, w, h: (h - y, w - x),  # transversed
    8: lambda x, y, w, h: (y, w - x),  # stored turned 90 degrees clockwise
}


def upright_size(stored_size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """(width, height) of the displayed image for one stored as `stored_size`."""
    width, height = stored_size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def upright_boxes(
    boxes: Sequence[Sequence[int]], *, orientation: int, stored_size: tuple[int, int]
) -> list[Box]:
    """Boxes drawn on an image's pixels as stored (`stored_size` = (W, H)) moved onto the image
    as displayed once its EXIF `orientation` (1-8) is applied. Box edges are pixel edges, so
    a box maps exactly: [x1, y1, x2, y2) of a W x H image with orientation 6 becomes
    [H - y2, x1, H - y1, x2)."""
    turn = _UPRIGHT.get(orientation)
    if turn is None:
        raise BoxError(f"EXIF orientation must be 1-8, got {orientation!r}")
    width, height = stored_size
    moved: list[Box] = []
    for box in boxes:
        x1, y1, x2, y2 = to_box(box)
        (ax, ay), (bx, by) = turn(x1, y1, width, height), turn(x2, y2, width, height)
        moved.append([min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)])
    return moved


def boxes_to_mask(boxes: Sequence[Sequence[int]], *, height: int, width: int) -> np.ndarray:
    """Bool (H, W) mask of 0-based [x1, y1, x2, y2) boxes, clipped to the image; an inverted or
    empty box is a BoxError."""
    mask = np.zeros((height, width), dtype=bool)
    for box in boxes:
        x1, y1, x2, y2 = to_box(box)
        x1, x2 = max(0, x1), min(width, x2)
        y1, y2 = max(0, y1), min(height, y2)
        if x2 > x1 and y2 > y1:
            mask[y1:y2, x1:x2] = True
    return mask


def box_text(box: Sequence[int]) -> str:
    """"x1,y1,x2,y2", the command line's spelling of a box."""
    return ",".join(str(int(v)) for v in box)


def parse_box_text(text: str) -> Box:
    """One command-line box "x1,y1,x2,y2" (integers); BoxError with the reason otherwise."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise BoxError(f"--box {text!r}: expected four integers x1,y1,x2,y2")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise BoxError(f"--box {text!r}: expected four integers x1,y1,x2,y2") from None
    if values[2] <= values[0] or values[3] <= values[1]:
        raise BoxError(f"--box {text!r} is empty or inverted (need x2 > x1 and y2 > y1)")
    return values

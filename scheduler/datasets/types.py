"""What every dataset reader yields, and the box rules they share.

Boxes in a DatasetItem are 0-based pixel boxes [x1, y1, x2, y2) with the end excluded
(the `inpaint_core.masks.imageio.boxes_to_mask` convention). Readers that know the image size
(VOC `<size>`) clip boxes to it with a warning; the others can only clip at 0, and
the worker clips the far edges when it has decoded the image. An inverted or empty box
makes that one item an error, never the whole dataset.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"})


class BoxError(ValueError):
    """A box that cannot be used (inverted, empty, not four numbers)."""


@dataclass
class DatasetItem:
    """One image of a dataset, ready to become a job (or a failed job when `error` is set)."""

    input_uri: str
    rel_path: str  # POSIX path relative to the dataset root, e.g. "JPEGImages/123.jpg"
    boxes: list[list[int]] | None = None
    mask_uri: str | None = None
    truth_uri: str | None = None
    labels: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def mask_spec(self) -> dict[str, Any]:
        """The `jobs.mask_spec` JSON for this item."""
        return {
            "boxes": self.boxes,
            "mask_uri": self.mask_uri,
            "truth_uri": self.truth_uri,
            "labels": list(self.labels),
        }


def has_image_extension(name: str) -> bool:
    """Whether a file name ends in one of IMAGE_EXTENSIONS (any case)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def split_stem(rel: str) -> str:
    """A relative path without its extension: "sub/a.b.jpg" -> "sub/a.b"."""
    folder, _, name = rel.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return f"{folder}/{stem}" if folder else stem


def to_box(values: Any) -> list[int]:
    """Four numbers -> a 0-based [x1, y1, x2, y2) box; fractional edges are rounded outward."""
    if isinstance(values, str) or not hasattr(values, "__len__") or len(values) != 4:
        raise BoxError(f"a box needs four numbers, got {values!r}")
    try:
        x1, y1, x2, y2 = (float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise BoxError(f"box {values!r} holds something that is not a number") from exc
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise BoxError(f"box {values!r} is not finite")
    box = [math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2)]
    if box[2] <= box[0] or box[3] <= box[1]:
        raise BoxError(f"box {box} is empty or inverted (need x2 > x1 and y2 > y1)")
    return box


def parse_boxes(value: Any) -> list[list[int]]:
    """Boxes from JSON (`[[x1,y1,x2,y2], ...]` or one `[x1,y1,x2,y2]`), a list, or text
    "x1 y1 x2 y2; x1,y1,x2,y2" (spaces or commas inside a box, ';' between boxes)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise BoxError("empty boxes field")
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BoxError(f"boxes are not valid JSON: {exc.msg}") from exc
        else:
            value = [part.replace(",", " ").split() for part in text.split(";") if part.strip()]
    if not isinstance(value, list) or not value:
        raise BoxError(f"boxes must be a non-empty list, got {value!r}")
    if all(not isinstance(v, list | tuple) for v in value):
        value = [value]  # a single flat box
    return [to_box(box) for box in value]


def clip_box(box: list[int], *, width: int | None, height: int | None) -> list[int] | None:
    """The box clipped to [0, width) x [0, height) (0 only when the size is unknown);
    None when nothing of it is left inside."""
    x1, y1 = max(box[0], 0), max(box[1], 0)
    x2 = box[2] if width is None else min(box[2], width)
    y2 = box[3] if height is None else min(box[3], height)
    if x2 <= x1 or y2 <= y1:
        return None
    return [x1, y1, x2, y2]


def clip_boxes(
    boxes: list[list[int]], *, width: int | None, height: int | None, warnings: list[str]
) -> list[list[int]]:
    """Clip every box, noting each change (and each box dropped as wholly outside)."""
    kept: list[list[int]] = []
    for box in boxes:
        clipped = clip_box(box, width=width, height=height)
        if clipped is None:
            warnings.append(f"box {box} lies outside the image and was dropped")
        elif clipped != box:
            warnings.append(f"box {box} clipped to the image: {clipped}")
            kept.append(clipped)
        else:
            kept.append(box)
    return kept

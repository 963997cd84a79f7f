"""Fixed-position watermarks: one box list or mask, given once, placed on every image of a dataset.

A spec is a plain JSON-able dict (it travels in batch options and job mask specs):

    {
      "boxes": [[x1, y1, x2, y2], ...],  # pixels (0-based, end exclusive) or fractions of w / h
      "units": "px" | "fraction",         # default "px"
      "reference_size": [w, h] | None,    # the image size the px boxes / mask were drawn on
      "scale_with_image": false,          # px boxes follow the image size (needs reference_size)
      "keep_aspect": false,               # scale both axes by min(w / ref_w, h / ref_h)
      "anchor": "top-left"                # the point the box keeps its offset from: top-left,
    }                                     # top-right, bottom-left, bottom-right or center

Placement of a coordinate x on an image of width w (y likewise), with the anchor at fraction `a`
(0 left, 0.5 centre, 1 right) and scale s (1 when not scaling, w / ref_w when scaling, the smaller
ratio of both axes with keep_aspect):   x' = a * w + (x - a * ref_w) * s.
So unscaled boxes keep their distance to the anchor corner (a bottom-right watermark stays at the
bottom-right of larger images), and scaled boxes keep their relative position. Fractions are
multiplied by the image size. Box starts round down and ends round up (the box always covers the
watermark), then boxes are clipped to the image; boxes left empty are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import numpy as np

from inpaint_core.errors import ImageInputError


class Anchor(StrEnum):
    """The corner (or centre) fixed boxes and masks keep their distance to."""

    top_left = "top-left"
    top_right = "top-right"
    bottom_left = "bottom-left"
    bottom_right = "bottom-right"
    center = "center"


ANCHORS = {  # anchor -> its place as fractions of (width, height)
    "top-left": (0.0, 0.0),
    "top-right": (1.0, 0.0),
    "bottom-left": (0.0, 1.0),
    "bottom-right": (1.0, 1.0),
    "center": (0.5, 0.5),
}
UNITS = ("px", "fraction")


def make_fixed_spec(
    boxes: Sequence[Sequence[float]] = (),
    *,
    units: str = "px",
    reference_size: Sequence[int] | None = None,
    scale_with_image: bool = False,
    keep_aspect: bool = False,
    anchor: str = "top-left",
) -> dict[str, Any]:
    """A validated spec dict (see the module docstring)."""
    spec = {
        "boxes": [[float(v) for v in box] for box in boxes],
        "units": units,
        "reference_size": None if reference_size is None else [int(v) for v in reference_size],
        "scale_with_image": bool(scale_with_image),
        "keep_aspect": bool(keep_aspect),
        "anchor": anchor,
    }
    return validate_fixed_spec(spec)


def validate_fixed_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec with defaults filled in; raises ImageInputError on anything inconsistent."""
    full = {
        "boxes": [list(box) for box in spec.get("boxes") or []],
        "units": spec.get("units", "px"),
        "reference_size": spec.get("reference_size"),
        "scale_with_image": bool(spec.get("scale_with_image", False)),
        "keep_aspect": bool(spec.get("keep_aspect", False)),
        "anchor": spec.get("anchor", "top-left"),
    }
    if full["units"] not in UNITS:
        raise ImageInputError(
            f"fixed box units must be one of {', '.join(UNITS)}, got {full['units']!r}"
        )
    if full["anchor"] not in ANCHORS:
        raise ImageInputError(f"anchor must be one of {', '.join(ANCHORS)}, got {full['anchor']!r}")
    for box in full["boxes"]:
        _check_box(box, full["units"])
    reference = full["reference_size"]
    if reference is not None:
        if len(reference) != 2 or min(int(v) for v in reference) <= 0:
            raise ImageInputError(f"reference_size must be [width, height] > 0, got {reference}")
        full["reference_size"] = [int(v) for v in reference]
    elif full["units"] == "px" and full["scale_with_image"] and full["boxes"]:
        raise ImageInputError(
            "scaling pixel boxes with the image needs the reference size they were drawn on "
            "(or give the boxes as fractions of the image, e.g. 0.8,0.9,1.0,1.0)"
        )
    return full


def _check_box(box: Sequence[float], units: str) -> None:
    if len(box) != 4 or not all(math.isfinite(float(v)) for v in box):
        raise ImageInputError(f"a box is four numbers x1,y1,x2,y2, got {list(box)}")
    x1, y1, x2, y2 = (float(v) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise ImageInputError(f"box {list(box)} is empty: x2 must exceed x1 and y2 exceed y1")
    if units == "fraction" and (min(x1, y1) < 0 or max(x2, y2) > 1):
        raise ImageInputError(f"fraction box {list(box)} must lie within 0..1")


def parse_box(text: str) -> tuple[list[float], str]:
    """'x1,y1,x2,y2' -> (numbers, units): all values in 0..1 with a decimal point mean fractions."""
    parts = [part.strip() for part in text.split(",")]
    try:
        values = [float(part) for part in parts]
    except ValueError as exc:
        raise ImageInputError(f"box {text!r} is not four numbers x1,y1,x2,y2") from exc
    fraction = all("." in part for part in parts) and all(0.0 <= v <= 1.0 for v in values)
    units = "fraction" if fraction else "px"
    _check_box(values, units)
    return values, units


def parse_size(text: str) -> tuple[int, int]:
    """'1920x1080' -> (1920, 1080)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError as exc:
        raise ImageInputError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1920x1080") from exc
    if width <= 0 or height <= 0:
        raise ImageInputError(f"size {text!r} must be positive")
    return width, height


def spec_from_args(
    box_texts: Sequence[str] = (),
    *,
    reference_size: str | None = None,
    mask_size: tuple[int, int] | None = None,
    scale_with_image: bool = False,
    keep_aspect: bool = False,
    anchor: str = "top-left",
) -> dict[str, Any]:
    """The spec for command-line values: box texts ('x1,y1,x2,y2', all pixels or all fractions),
    an optional 'WxH' reference size, and the (width, height) of the fixed mask file when there is
    one. Pixel boxes are measured on the reference size, else on the mask's size."""
    parsed = [parse_box(text) for text in box_texts]
    for text, (box, unit) in zip(box_texts, parsed, strict=True):
        if unit == "px" and min(box[2] - box[0], box[3] - box[1]) < 1:
            raise ImageInputError(
                f"box {text!r} is less than one pixel wide or high: fractions of the image must "
                "lie within 0..1, pixel boxes span at least one pixel"
            )
    units = sorted({unit for _, unit in parsed})
    if len(units) > 1:
        raise ImageInputError(
            "the boxes mix pixels and fractions; give every box in one unit "
            "(fractions are values in 0..1 written with a decimal point, e.g. 0.8,0.9,1.0,1.0)"
        )
    reference = parse_size(reference_size) if reference_size else mask_size
    if reference_size and mask_size is not None and tuple(reference) != tuple(mask_size):
        raise ImageInputError(
            f"the reference size {reference[0]}x{reference[1]} differs from the fixed mask's size "
            f"{mask_size[0]}x{mask_size[1]}; the mask is drawn on its own size, so give pixel "
            "boxes measured on the mask's size"
        )
    unit = units[0] if units else "px"
    if unit == "px" and parsed and anchor != "top-left" and reference is None:
        raise ImageInputError(
            f"anchor {anchor!r} with pixel boxes needs the reference size the boxes were "
            "measured on (e.g. 1920x1080)"
        )
    return make_fixed_spec(
        [box for box, _ in parsed],
        units=unit,
        reference_size=reference,
        scale_with_image=scale_with_image,
        keep_aspect=keep_aspect,
        anchor=anchor,
    )


def _scales(size: tuple[int, int], spec: Mapping[str, Any]) -> tuple[float, float]:
    width, height = size
    reference = spec["reference_size"]
    if not spec["scale_with_image"] or reference is None:
        return 1.0, 1.0
    sx, sy = width / reference[0], height / reference[1]
    if spec["keep_aspect"]:
        sx = sy = min(sx, sy)
    return sx, sy


def fixed_boxes_for(size: tuple[int, int], spec: Mapping[str, Any]) -> list[list[int]]:
    """The spec's boxes placed on an image of size (width, height): 0-based [x1, y1, x2, y2)."""
    full = validate_fixed_spec(spec)
    width, height = int(size[0]), int(size[1])
    if width <= 0 or height <= 0:
        raise ImageInputError(f"image size must be positive, got {size}")
    ax, ay = ANCHORS[full["anchor"]]
    ref_w, ref_h = full["reference_size"] or (width, height)
    sx, sy = _scales((width, height), full)
    placed = []
    for box in full["boxes"]:
        x1, y1, x2, y2 = (float(v) for v in box)
        if full["units"] == "fraction":
            coords = (x1 * width, y1 * height, x2 * width, y2 * height)
        else:
            coords = (
                ax * width + (x1 - ax * ref_w) * sx,
                ay * height + (y1 - ay * ref_h) * sy,
                ax * width + (x2 - ax * ref_w) * sx,
                ay * height + (y2 - ay * ref_h) * sy,
            )
        clipped = _round_clip(coords, width, height)
        if clipped is not None:
            placed.append(clipped)
    return placed


def _round_clip(coords: Sequence[float], width: int, height: int) -> list[int] | None:
    eps = 1e-9  # 0.1 * 1000 is 100.00000000000001 in floats: do not round that up to 101
    x1 = max(0, math.floor(coords[0] + eps))
    y1 = max(0, math.floor(coords[1] + eps))
    x2 = min(width, math.ceil(coords[2] - eps))
    y2 = min(height, math.ceil(coords[3] - eps))
    if x2 <= x1 or y2 <= y1:
        return None
    return [x1, y1, x2, y2]


def fixed_mask_for(
    size: tuple[int, int],
    spec: Mapping[str, Any],
    *,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """(height, width) bool mask: the spec's boxes plus `mask` (drawn at reference_size, or at its
    own size when the spec has none) placed with the same anchor / scaling rules as the boxes."""
    full = validate_fixed_spec(spec)
    width, height = int(size[0]), int(size[1])
    out = np.zeros((height, width), bool)
    for x1, y1, x2, y2 in fixed_boxes_for((width, height), full):
        out[y1:y2, x1:x2] = True
    if mask is not None:
        out |= _place_mask(np.asarray(mask) > 0, (width, height), full)
    return out


def _place_mask(reference: np.ndarray, size: tuple[int, int], spec: dict[str, Any]) -> np.ndarray:
    """The reference mask scaled (nearest) and shifted onto an image of `size`."""
    if reference.ndim != 2 or reference.size == 0:
        raise ImageInputError(f"a fixed mask must be a 2-D array, got shape {reference.shape}")
    width, height = size
    ref_h, ref_w = reference.shape
    if spec["reference_size"] is not None and list(spec["reference_size"]) != [ref_w, ref_h]:
        raise ImageInputError(
            f"the fixed mask is {ref_w}x{ref_h} but reference_size is "
            f"{spec['reference_size'][0]}x{spec['reference_size'][1]}"
        )
    spec = dict(spec, reference_size=[ref_w, ref_h])
    sx, sy = _scales(size, spec)
    ax, ay = ANCHORS[spec["anchor"]]
    src_x = _source_index(width, ref_w, sx, ax * width - ax * ref_w * sx)
    src_y = _source_index(height, ref_h, sy, ay * height - ay * ref_h * sy)
    out = np.zeros((height, width), bool)
    cols, rows = np.nonzero(src_x >= 0)[0], np.nonzero(src_y >= 0)[0]
    out[np.ix_(rows, cols)] = reference[np.ix_(src_y[rows], src_x[cols])]
    return out


def _source_index(length: int, ref_length: int, scale: float, offset: float) -> np.ndarray:
    """For each output pixel the reference pixel under its centre (nearest), -1 where none."""
    centres = (np.arange(length) + 0.5 - offset) / scale
    index = np.floor(centres).astype(np.int64)
    index[(index < 0) | (index >= ref_length)] = -1
    return index

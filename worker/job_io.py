"""Inputs and outputs of one job: decode image + mask from storage, encode and place the output,
and the quality figures stored with the job.

The mask of a job is the union of
    its boxes (mask_spec["boxes"]), as whole boxes or refined to the logo's pixels
        (batch option "mask_mode": "box" or "refine", inpaint_core.refine.mask_for_mode),
    its mask file (mask_spec["mask_uri"]), used as it is,
    the batch's fixed-position watermark (batch option "fixed", inpaint_core.fixedmask): its
        boxes are placed on the image and join the job's boxes (so "refine" refines them too),
        its mask file ("fixed"]["mask_uri"]) is placed and used as it is.

Pure functions over numpy arrays and the storage interface; the pipeline strings them
together and owns the database side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from inpaint_core.errors import ImageInputError
from inpaint_core.fixedmask import fixed_boxes_for, fixed_mask_for, validate_fixed_spec
from inpaint_core.imageio import (
    DEFAULT_MAX_PIXELS,
    LoadedImage,
    boxes_to_mask,
    decode_mask,
    encode_image,
    read_image,
    read_mask,
)
from inpaint_core.metrics import reference_metrics, seam_score
from inpaint_core.refine import MASK_MODES, mask_for_mode
from scheduler.errors import DatasetError
from scheduler.storage import Storage, join_key, output_key

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "JobInputs",
    "check_boxes",
    "compute_metrics",
    "encode_output",
    "load_inputs",
    "output_location",
    "parse_boxes",
]

StorageResolver = Callable[[str], tuple[Storage, str]]

# Decoded format -> (Pillow format to write, extension, content type).
_FORMATS = {
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
    "PNG": ("PNG", "png", "image/png"),
    "WEBP": ("WEBP", "webp", "image/webp"),
}
_ALIASES = {"JPG": "JPEG", "MPO": "JPEG"}
JPEG_QUALITY = 95


@dataclass(frozen=True)
class JobInputs:
    """Everything read for one job: the image, the bool mask (True = remove), an optional truth."""

    image: LoadedImage
    mask: np.ndarray  # (H, W) bool
    truth: np.ndarray | None  # (H, W, 3) uint8 when mask_spec has truth_uri
    rel_path: str  # path of the input inside its dataset, for the output key
    mask_mode: str = "box"  # how the boxes became mask: "box" or "refine"
    refined_boxes: int = 0  # "refine": boxes narrowed to the logo's pixels
    fallback_boxes: int = 0  # "refine": boxes used whole because the refinement was unsure
    box_only: bool = False  # the mask is whole boxes alone (filled exactly: BOX_MARGIN)


def read_object(uri: str, resolver: StorageResolver) -> bytes:
    """The bytes at `uri` through the storage layer."""
    storage, key = resolver(uri)
    return storage.read_bytes(key)


def check_boxes(raw: Any) -> list[list[int]]:
    """`raw` boxes ([[x1, y1, x2, y2], ...], 0-based, end exclusive) as integer boxes."""
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise DatasetError(f"boxes must be a list of [x1, y1, x2, y2], got {type(raw).__name__}")
    boxes: list[list[int]] = []
    for box in raw:
        valid = isinstance(box, Sequence) and not isinstance(box, str) and len(box) == 4
        numbers = valid and all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)
        if not numbers:
            raise DatasetError(f"invalid box {box!r}: expected four numbers [x1, y1, x2, y2]")
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        if x2 <= x1 or y2 <= y1:
            raise DatasetError(f"empty or inverted box {list(box)!r}")
        boxes.append([x1, y1, x2, y2])
    return boxes


def parse_boxes(raw: Any, *, height: int, width: int) -> np.ndarray:
    """The mask of `raw` boxes ([[x1, y1, x2, y2], ...], 0-based, end exclusive), clipped."""
    return boxes_to_mask(check_boxes(raw), height=height, width=width)


def load_inputs(
    input_uri: str,
    mask_spec: dict[str, Any],
    resolver: StorageResolver,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    mask_mode: str = "box",
    fixed: dict[str, Any] | None = None,
) -> JobInputs:
    """Read and decode the image, its mask (boxes, mask file and the batch's fixed watermark,
    see the module docstring) and the optional truth."""
    if mask_mode not in MASK_MODES:
        raise DatasetError(f"unknown mask mode {mask_mode!r} (one of {', '.join(MASK_MODES)})")
    spec = _fixed_spec(fixed)
    raw_boxes, mask_uri = mask_spec.get("boxes"), mask_spec.get("mask_uri")
    if raw_boxes is None and not mask_uri and spec is None:
        raise DatasetError("the job has neither boxes nor a mask file")
    boxes = check_boxes(raw_boxes) if raw_boxes is not None else []
    image = read_image(read_object(input_uri, resolver), max_pixels=max_pixels)
    height, width = image.rgb.shape[:2]
    if spec is not None:
        boxes += fixed_boxes_for((width, height), spec)
    mask, infos = mask_for_mode(image.rgb, boxes, mode=mask_mode)
    if mask_uri:
        mask |= read_mask(read_object(mask_uri, resolver), size=(width, height))
    if fixed and fixed.get("mask_uri"):
        mask |= _fixed_mask(fixed["mask_uri"], spec, resolver, size=(width, height),
                            max_pixels=max_pixels)
    truth = None
    if mask_spec.get("truth_uri"):
        truth = read_image(read_object(mask_spec["truth_uri"], resolver), max_pixels=max_pixels).rgb
    rel_path = mask_spec.get("rel_path") or _basename(input_uri)
    box_only = mask_mode in ("box", "whole") and not mask_uri and not (fixed and fixed.get("mask_uri"))
    return JobInputs(image=image, mask=mask, truth=truth, rel_path=rel_path, mask_mode=mask_mode,
                     refined_boxes=sum(_refined(info) for info in infos),
                     fallback_boxes=sum(bool(info["fell_back"]) for info in infos),
                     box_only=box_only)


def _fixed_spec(fixed: dict[str, Any] | None) -> dict[str, Any] | None:
    """The batch's fixed spec, validated (without its mask_uri); None when there is none."""
    if not fixed:
        return None
    if not isinstance(fixed, dict):
        raise DatasetError(f"the batch's fixed watermark spec is not an object: {fixed!r}")
    try:
        return validate_fixed_spec({k: v for k, v in fixed.items() if k != "mask_uri"})
    except ImageInputError as exc:
        raise DatasetError(f"the batch's fixed watermark spec is unusable: {exc}") from exc


def _fixed_mask(uri: str, spec: Any, resolver: StorageResolver, *, size: tuple[int, int],
                max_pixels: int) -> np.ndarray:
    """The fixed mask file placed on an image of `size` (its boxes are handled with the job's)."""
    reference = decode_mask(read_object(uri, resolver), max_pixels=max_pixels)
    return fixed_mask_for(size, {**spec, "boxes": []}, mask=reference)


def _refined(info: dict[str, Any]) -> bool:
    """Whether a box of mask_for_mode's infos was narrowed (not used whole, not empty)."""
    return info["method"] != "box"


def _basename(uri: str) -> str:
    path = urlsplit(uri).path if "://" in uri else uri
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "image"


def output_format_for(image: LoadedImage, requested: str = "auto") -> tuple[str, str, str]:
    """(Pillow format, extension, content type) of the output.

    "auto" keeps the input's format when it is JPEG, PNG or WEBP, else PNG; an image with
    alpha never becomes JPEG.
    """
    name = (requested or "auto").upper()
    if name == "AUTO":
        name = image.format.upper() if image.format else "PNG"
    name = _ALIASES.get(name, name)
    if name not in _FORMATS:
        if requested and requested.lower() != "auto":
            raise DatasetError(f"unsupported output format {requested!r} (png, jpeg, webp)")
        name = "PNG"
    if name == "JPEG" and image.alpha is not None:
        name = "PNG"
    return _FORMATS[name]


def encode_output(
    output: np.ndarray, image: LoadedImage, *, output_format: str = "auto"
) -> tuple[bytes, str, str]:
    """(bytes, extension, content type) of the output image, alpha kept."""
    fmt, ext, content_type = output_format_for(image, output_format)
    data = encode_image(output, alpha=image.alpha, format=fmt, quality=JPEG_QUALITY)
    return data, ext, content_type


def output_location(
    output_root: str, batch_name: str, rel_path: str, ext: str, resolver: StorageResolver
) -> tuple[Storage, str]:
    """Storage and key of a job's output: `<output_root>/<batch>/<rel path>.<ext>`."""
    storage, prefix = resolver(output_root)
    return storage, join_key(prefix, output_key(batch_name, rel_path, ext))


SEAM_BAND = 2  # inpaint_core.metrics.seam_score's default band
# seam_score looks at most 6 * band pixels beyond the fill (its ring) plus 1 for the Sobel
# kernel; a crop this much larger than the fill's bounding box gives the same number.
SEAM_PAD = 6 * SEAM_BAND + 4


def local_seam_score(output: np.ndarray, fill: np.ndarray) -> float:
    """seam_score computed on a crop around the fill region: identical value, and the cost
    follows the logo's size instead of the photo's (a 1-megapixel photo: ~20 ms -> ~1 ms)."""
    fill = np.asarray(fill, dtype=bool)
    rows, cols = np.flatnonzero(fill.any(axis=1)), np.flatnonzero(fill.any(axis=0))
    if rows.size == 0:
        return seam_score(output, fill, band=SEAM_BAND)
    y1, y2 = max(rows[0] - SEAM_PAD, 0), min(rows[-1] + 1 + SEAM_PAD, fill.shape[0])
    x1, x2 = max(cols[0] - SEAM_PAD, 0), min(cols[-1] + 1 + SEAM_PAD, fill.shape[1])
    return seam_score(output[y1:y2, x1:x2], fill[y1:y2, x1:x2], band=SEAM_BAND)


def compute_metrics(inputs: JobInputs, output: np.ndarray, fill: np.ndarray) -> dict[str, Any]:
    """mask_ratio, fill_ratio, mask_mode and seam_score always (refined_boxes and fallback_boxes
    in "refine" mode); reference figures when a truth image exists."""
    metrics: dict[str, Any] = {
        "mask_ratio": float(inputs.mask.mean()),
        "fill_ratio": float(np.asarray(fill, dtype=bool).mean()),
        "mask_mode": inputs.mask_mode,
    }
    if inputs.mask_mode == "refine":
        metrics["refined_boxes"] = inputs.refined_boxes
        metrics["fallback_boxes"] = inputs.fallback_boxes
    metrics["seam_score"] = local_seam_score(output, fill)  # 1.0 when nothing was filled
    if inputs.truth is not None:
        if inputs.truth.shape != output.shape:
            metrics["truth_error"] = (
                f"truth image is {inputs.truth.shape[1]}x{inputs.truth.shape[0]}, "
                f"output is {output.shape[1]}x{output.shape[0]}"
            )
        else:
            metrics.update(reference_metrics(inputs.truth, output, np.asarray(fill, dtype=bool)))
    return metrics

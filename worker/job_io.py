"""Inputs and outputs of one job: decode image + mask from storage, encode and place the output,
and the quality figures stored with the job.

What a job removes is
    its boxes (mask_spec["boxes"]), turned into a mask under the batch option "mask_mode"
        by inpaint_core.masks.modes (through inpaint_core.inference.remove); boxes drawn on
        the stored pixels of an EXIF-rotated image are moved onto it upright first, as the
        annotation's size says (`annotated_boxes`),
    its mask file (mask_spec["mask_uri"]), used as it is (turned likewise when it fits only
        the stored pixels),
    the batch's fixed-position watermark (batch option "fixed", inpaint_core.masks.fixed): its
        boxes are placed on the image and join the job's boxes (so "refine" refines them too),
        its mask file ("fixed"]["mask_uri"]) is placed and used as it is.

Pure functions over numpy arrays and the storage interface; the pipeline strings them
together and owns the database side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from inpaint_core.evaluation.metrics import reference_metrics, seam_score
from inpaint_core.masks.boxes import upright_boxes
from inpaint_core.masks.fixed import fixed_boxes_for, fixed_mask_for
from inpaint_core.masks.imageio import (
    DEFAULT_MAX_PIXELS,
    LoadedImage,
    decode_mask,
    encode_image,
    read_image,
    read_mask,
)
from inpaint_core.masks.modes import MaskMode, RemovalMask, removal_mask
from scheduler.errors import DatasetError
from scheduler.options import BatchOptions, MaskSpec
from scheduler.storage import Storage, UriResolver, join_key, output_key
from worker.watchdog import call_with_timeout

if TYPE_CHECKING:
    from inpaint_core.inference.remove import Removal

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "JobInputs",
    "compute_metrics",
    "encode_output",
    "load_inputs",
    "output_location",
]


# Decoded format -> (Pillow format to write, extension, content type).
_FORMATS = {
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
    "PNG": ("PNG", "png", "image/png"),
    "WEBP": ("WEBP", "webp", "image/webp"),
}
_ALIASES = {"JPG": "JPEG", "MPO": "JPEG"}


@dataclass(frozen=True)
class JobInputs:
    """Everything read for one job: the image, what to remove from it, an optional truth."""

    image: LoadedImage
    boxes: list[list[int]]  # the job's boxes plus the batch's fixed boxes, 0-based end exclusive
    pixel_mask: np.ndarray | None  # (H, W) bool from mask files (used as they are), or None
    mode: MaskMode  # how the boxes become the region to remove (masks/modes.py)
    truth: np.ndarray | None  # (H, W, 3) uint8 when mask_spec has truth_uri
    rel_path: str  # path of the input inside its dataset, for the output key
    distinct_output: bool = False  # the output key carries a digest of rel_path (MaskSpec)
    annotation_frame: str | None = None  # see annotated_boxes; None without EXIF orientation

    def plan(self) -> RemovalMask:
        """The region to remove and how (the same call `remove` makes)."""
        return removal_mask(self.image.rgb, boxes=self.boxes, pixel_mask=self.pixel_mask,
                            mode=self.mode)


def read_object(uri: str, resolver: UriResolver, timeout: float | None = None) -> bytes:
    """The bytes at `uri` through the storage layer; StorageTimeout after `timeout` seconds."""
    storage, key = resolver(uri)
    if timeout is None:
        return storage.read_bytes(key)
    return call_with_timeout(lambda: storage.read_bytes(key), timeout=timeout, what=uri)


def load_inputs(
    input_uri: str,
    spec: MaskSpec,
    resolver: UriResolver,
    *,
    options: BatchOptions | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    read_timeout: float | None = None,
) -> JobInputs:
    """Read and decode the image, what to remove (boxes, mask file and the batch's fixed
    watermark, see the module docstring) and the optional truth; each read may take at most
    `read_timeout` seconds."""
    options = options or BatchOptions()

    def read(uri: str) -> bytes:
        return read_object(uri, resolver, read_timeout)

    fixed = options.fixed
    if spec.boxes is None and not spec.mask_uri and not fixed:
        raise DatasetError("the job has neither boxes nor a mask file")
    image = read_image(read(input_uri), max_pixels=max_pixels)
    height, width = image.rgb.shape[:2]
    boxes, frame = annotated_boxes(spec, image)
    if fixed:
        boxes += fixed_boxes_for((width, height), fixed)
    pixel_mask = None
    if spec.mask_uri:
        pixel_mask = read_mask(read(spec.mask_uri), size=(width, height),
                               orientation=image.orientation)
    if fixed and fixed.get("mask_uri"):
        placed = _fixed_mask(fixed, read, size=(width, height), max_pixels=max_pixels)
        pixel_mask = placed if pixel_mask is None else pixel_mask | placed
    truth = None
    if spec.truth_uri:
        truth = read_image(read(spec.truth_uri), max_pixels=max_pixels).rgb
    rel_path = spec.rel_path or _basename(input_uri)
    return JobInputs(image=image, boxes=boxes, pixel_mask=pixel_mask, mode=options.mask_mode,
                     truth=truth, rel_path=rel_path, distinct_output=spec.distinct_output,
                     annotation_frame=frame)


def annotated_boxes(spec: MaskSpec, image: LoadedImage) -> tuple[list[list[int]], str | None]:
    """The job's boxes on the image as displayed (read_image applies the EXIF orientation), and
    which frame the annotation was found to be drawn on ("upright", "stored", "either": both
    frames have its size and the boxes are taken as drawn upright; None: nothing to compare).

    The annotation's size (VOC <size>) says the frame: the displayed image's size -> the
    boxes as they are; the stored pixels' size only (orientations 5-8 swap width and height)
    -> the boxes move with the orientation (masks/boxes.py upright_boxes); neither ->
    DatasetError naming the sizes, as the boxes belong to some other picture.
    """
    boxes = list(spec.boxes or [])
    upright = image.size
    stored = image.stored_size or upright
    if spec.annotated_size is None:
        return boxes, None
    annotated = (spec.annotated_size[0], spec.annotated_size[1])
    if annotated == upright:
        if image.orientation == 1:
            return boxes, None
        return boxes, "either" if annotated == stored else "upright"
    if annotated == stored:
        return upright_boxes(boxes, orientation=image.orientation, stored_size=stored), "stored"
    sizes = f"{upright[0]}x{upright[1]}"
    if stored != upright:
        sizes += f" as displayed (EXIF orientation {image.orientation}), " \
                 f"{stored[0]}x{stored[1]} as stored"
    raise DatasetError(f"the annotation is for a {annotated[0]}x{annotated[1]} image but the "
                       f"image is {sizes}: its boxes cannot be placed")


def _fixed_mask(fixed: dict[str, Any], read: Callable[[str], bytes], *, size: tuple[int, int],
                max_pixels: int) -> np.ndarray:
    """The fixed mask file placed on an image of `size` (its boxes are handled with the job's)."""
    reference = decode_mask(read(fixed["mask_uri"]), max_pixels=max_pixels)
    spec = {key: value for key, value in fixed.items() if key != "mask_uri"}
    return fixed_mask_for(size, {**spec, "boxes": []}, mask=reference)


def _basename(uri: str) -> str:
    path = urlsplit(uri).path if "://" in uri else uri
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "image"


def output_format_for(image: LoadedImage) -> tuple[str, str, str]:
    """(Pillow format, extension, content type) of the output: the input's format when it is
    JPEG, PNG or WEBP, else PNG; an image with alpha never becomes JPEG."""
    name = image.format.upper() if image.format else "PNG"
    name = _ALIASES.get(name, name)
    if name not in _FORMATS:
        name = "PNG"
    if name == "JPEG" and image.alpha is not None:
        name = "PNG"
    return _FORMATS[name]


def encode_output(output: np.ndarray, image: LoadedImage, *,
                  quality: int | None = None) -> tuple[bytes, str, str]:
    """(bytes, extension, content type) of the output image: alpha and the source's metadata
    kept (EXIF, ICC profile, DPI, XMP); a JPEG compressed like its source, or at `quality`
    (the batch's --quality) when given."""
    fmt, ext, content_type = output_format_for(image)
    data = encode_image(output, alpha=image.alpha, format=fmt, quality=quality, meta=image.meta)
    return data, ext, content_type


def output_location(
    output_root: str, batch_name: str, rel_path: str, ext: str, resolver: UriResolver, *,
    distinct: bool = False,
) -> tuple[Storage, str]:
    """Storage and key of a job's output: `<output_root>/<batch>/<rel path>`, plus `.<ext>`
    when the format changed (scheduler/storage/uri.py output_name)."""
    storage, prefix = resolver(output_root)
    return storage, join_key(prefix, output_key(batch_name, rel_path, ext, distinct=distinct))


SEAM_BAND = 2  # inpaint_core.evaluation.metrics.seam_score's default band
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


def fill_change(image: np.ndarray, output: np.ndarray, fill: np.ndarray) -> float:
    """Mean absolute change inside the fill, in [0, 1] (0 when nothing was filled): a result
    that barely differs from its input where a logo was to go is a do-nothing result."""
    rows, cols = np.flatnonzero(fill.any(axis=1)), np.flatnonzero(fill.any(axis=0))
    if rows.size == 0:
        return 0.0
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    inside = fill[window]
    before = image[window][inside].astype(np.int16)
    after = output[window][inside].astype(np.int16)
    return float(np.abs(after - before).mean() / 255.0)


def compute_metrics(inputs: JobInputs, removal: Removal) -> dict[str, Any]:
    """mask_ratio, fill_ratio, fill_change, mask_mode and seam_score always (refined_boxes and
    fallback_boxes in "refine" mode); reference figures when a truth image exists."""
    output, fill = removal.output, removal.fill
    metrics: dict[str, Any] = {
        "mask_ratio": float(removal.plan.mask.mean()),
        "fill_ratio": float(fill.mean()),
        "mask_mode": inputs.mode.value,
    }
    if inputs.mode is MaskMode.refine:
        metrics["refined_boxes"] = removal.plan.refined_boxes
        metrics["fallback_boxes"] = removal.plan.fallback_boxes
    metrics["seam_score"] = local_seam_score(output, fill)  # 1.0 when nothing was filled
    metrics["fill_change"] = fill_change(inputs.image.rgb, output, fill)
    if inputs.image.orientation != 1:
        metrics["exif_orientation"] = inputs.image.orientation
        if inputs.annotation_frame:
            metrics["annotation_frame"] = inputs.annotation_frame
    if inputs.truth is not None:
        if inputs.truth.shape != output.shape:
            metrics["truth_error"] = (
                f"truth image is {inputs.truth.shape[1]}x{inputs.truth.shape[0]}, "
                f"output is {output.shape[1]}x{output.shape[0]}"
            )
        else:
            metrics.update(reference_metrics(inputs.truth, output, fill))
    return metrics

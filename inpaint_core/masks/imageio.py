"""Reading images and masks into plain arrays, and encoding results; no torch.

Every Pillow mode comes back as RGB uint8 (+ an alpha plane when the image has one), with
the EXIF orientation applied (LoadedImage keeps the orientation and the stored size, so boxes
drawn on the stored pixels can be moved: masks/boxes.py upright_boxes). The pixel limit is
checked from the header, before any pixel is decoded, so a decompression bomb costs nothing;
a text or ICC chunk that would inflate past Pillow's limit is a bad image too. Images with
several frames (animated GIF, WebP or PNG, multi-page TIFF) are refused, not cut to their
first frame; MPO (a camera JPEG with preview images after the photo) reads as its photo.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from inpaint_core.errors import ImageInputError, ImageTooLargeError
from inpaint_core.masks.formats import DEFAULT_MAX_PIXELS
from inpaint_core.masks.imagemeta import ImageMeta, read_meta, save_options

ASPECT_TOLERANCE = (
    0.01  # relative aspect-ratio difference under which a mask is rescaled to the image
)

_ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}
_HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}
_FORMAT_ALIASES = {"JPG": "JPEG", "TIF": "TIFF"}
# formats whose extra frames are not part of the picture (MPO: a JPEG photo + its previews)
_FIRST_FRAME_FORMATS = {"MPO"}
# EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose)
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

ImageSource = str | Path | bytes


@dataclass
class LoadedImage:
    """An image as arrays: rgb (H, W, 3) uint8, alpha (H, W) uint8 or None, upright, and the
    metadata an output of it keeps (masks/imagemeta.py).

    `orientation`: the file's EXIF orientation (1-8, 1 without one), already applied;
    `stored_size`: (width, height) of the pixels as stored, before it was (None: as `size`).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    format: str
    mode: str
    orientation: int = 1
    stored_size: tuple[int, int] | None = None
    meta: ImageMeta | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), like Pillow."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


def _describe(source: ImageSource) -> str:
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    return str(source)


def _open(source: ImageSource, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and check the pixel count before decoding anything."""
    name = _describe(source)
    if isinstance(source, bytes):
        if not source:
            raise ImageInputError(f"{name}: empty input (zero bytes)")
        fp: io.BytesIO | Path = io.BytesIO(source)
    else:
        fp = Path(source)
        if not fp.is_file():
            raise ImageInputError(f"{name}: no such file")
        if fp.stat().st_size == 0:
            raise ImageInputError(f"{name}: empty file (zero bytes)")
    try:
        with warnings.catch_warnings():
            # our limit replaces Pillow's warning; its hard error (2x its limit) is caught below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(fp)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{name}: too many pixels to decode safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageInputError(f"{name}: not an image file Pillow can identify") from exc
    except OSError as exc:
        raise ImageInputError(f"{name}: cannot read image header: {exc}") from exc
    except (ValueError, EOFError, SyntaxError) as exc:  # e.g. a zTXt / iCCP chunk bomb
        raise ImageInputError(f"{name}: cannot read image header: {exc}") from exc
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise ImageTooLargeError(
            f"{name}: {width}x{height} = {width * height:,} pixels exceeds "
            f"the limit of {max_pixels:,}"
        )
    if width < 1 or height < 1:
        image.close()
        raise ImageInputError(f"{name}: image has no pixels ({width}x{height})")
    _refuse_frames(image, name)
    return image


def _refuse_frames(image: Image.Image, name: str) -> None:
    """ImageInputError for an animation or a multi-page file: one output per input image
    cannot hold several frames, and keeping only the first would drop the others silently."""
    try:
        several = bool(getattr(image, "is_animated", False))
    except (OSError, EOFError, SyntaxError, ValueError) as exc:
        image.close()
        raise ImageInputError(f"{name}: cannot read the image's frames: {exc}") from exc
    if several and image.format not in _FIRST_FRAME_FORMATS:
        fmt = image.format or "image"
        image.close()
        raise ImageInputError(
            f"{name}: {fmt} with several frames (animated or multi-page); only single-frame "
            "images are processed: extract the frames into separate files first"
        )


def _decode(image: Image.Image, name: str) -> tuple[Image.Image, int]:
    """Decode the pixels (fails on truncated data) and apply the EXIF orientation;
    returns the upright image and the orientation that was applied (1: none)."""
    try:
        image.load()
        orientation = _orientation(image)
        rotated = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageInputError(
            f"{name}: cannot decode image data (truncated or corrupt): {exc}"
        ) from exc
    return (rotated if rotated is not None else image), orientation


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation exif_transpose applies (XMP's when EXIF has none); 1 otherwise."""
    value = image.getexif().get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and value in _ORIENTATION_TRANSPOSE else 1


def orient_array(values: np.ndarray, orientation: int) -> np.ndarray:
    """A 2-D array of the stored pixels shown upright for `orientation` (as read_image does)."""
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    if method is None:
        return values
    image = Image.fromarray(np.ascontiguousarray(values.astype(np.uint8)))
    turned = np.asarray(image.transpose(method))
    return turned.astype(values.dtype)


def _high_depth_to_uint8(image: Image.Image) -> np.ndarray:
    """I;16 / I / F grey -> uint8: 16-bit data is scaled by 1/257, floats in [0, 1] by 255."""
    values = np.asarray(image).astype(np.float64)
    if image.mode == "F":
        top = float(np.nanmax(values)) if values.size else 0.0
        scale = 255.0 if top <= 1.0 else 1.0
    elif image.mode.startswith("I;16"):
        scale = 1.0 / 257.0
    else:  # "I": 32-bit ints; 16-bit PNGs often open in this mode
        top = float(values.max()) if values.size else 0.0
        scale = 1.0 if top <= 255 else (1.0 / 257.0 if top <= 65535 else 255.0 / top)
    grey = np.clip(np.nan_to_num(values * scale), 0, 255).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def image_to_arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """A decoded PIL image of any mode -> (RGB uint8, alpha uint8 or None)."""
    mode = image.mode
    if mode in _HIGH_DEPTH_MODES:
        return _high_depth_to_uint8(image), None
    has_alpha = mode in _ALPHA_MODES or (mode in {"P", "L", "RGB"} and "transparency" in image.info)
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"))
        return np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
    rgb = image if mode == "RGB" else image.convert("RGB")
    return np.array(rgb), None  # one copy of the pixels, writable


def read_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read any Pillow image as RGB uint8 (+ alpha when present), EXIF orientation applied.

    Raises ImageTooLargeError (checked from the header, before decoding) and ImageInputError.
    """
    name = _describe(source)
    image = _open(source, max_pixels)
    with image:
        fmt = image.format or "PNG"
        mode = image.mode
        stored_size = (int(image.size[0]), int(image.size[1]))
        decoded, orientation = _decode(image, name)
        try:
            rgb, alpha = image_to_arrays(decoded)
        except (OSError, ValueError) as exc:
            raise ImageInputError(f"{name}: cannot convert mode {mode} to RGB: {exc}") from exc
        meta = read_meta(image)
    return LoadedImage(rgb=rgb, alpha=alpha, format=fmt, mode=mode, orientation=orientation,
                       stored_size=stored_size, meta=meta)


def _same_aspect(mask_size: tuple[int, int], size: tuple[int, int]) -> bool:
    (mw, mh), (w, h) = mask_size, size
    return abs(mw * h - mh * w) <= ASPECT_TOLERANCE * max(mw * h, mh * w)


def decode_mask(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A mask file as bool (H, W) at its own size; nonzero = remove.

    Alpha-only masks (transparent background) count their visible pixels.
    """
    name = _describe(source)
    image = _open(source, max_pixels)
    with image:
        decoded, _ = _decode(image, name)
        if decoded.mode in _HIGH_DEPTH_MODES:
            return np.asarray(decoded) != 0
        if decoded.mode in _ALPHA_MODES:
            rgba = np.asarray(decoded.convert("RGBA"))
            return (rgba[..., :3].max(axis=2) > 0) & (rgba[..., 3] > 0)
        return np.asarray(decoded.convert("L")) > 0


def read_mask(
    source: ImageSource, *, size: tuple[int, int], max_pixels: int = DEFAULT_MAX_PIXELS,
    orientation: int = 1,
) -> np.ndarray:
    """Read a mask as bool (H, W) for an image of `size` = (width, height); nonzero = remove.

    A mask of another size with the same aspect ratio is rescaled (nearest); otherwise
    ImageInputError. Alpha-only masks (transparent background) count their visible pixels.
    `orientation`: the image's EXIF orientation (applied to `size` already); a mask that fits
    the image as stored and not as displayed (orientations 5-8 swap width and height) was drawn
    on the stored pixels and is turned the same way. (Under 2-4 both frames have one shape:
    the mask is taken as drawn on the displayed image.)
    """
    values = decode_mask(source, max_pixels=max_pixels)
    mask_size = (values.shape[1], values.shape[0])
    stored = (size[1], size[0])
    if orientation in (5, 6, 7, 8) and _same_aspect(mask_size, stored) \
            and not _same_aspect(mask_size, size):
        values = orient_array(values, orientation)
        mask_size = (values.shape[1], values.shape[0])
    if mask_size == tuple(size):
        return values
    if not _same_aspect(mask_size, size):
        raise ImageInputError(
            f"{_describe(source)}: mask is {mask_size[0]}x{mask_size[1]} but the image is "
            f"{size[0]}x{size[1]} (different aspect ratio, cannot rescale)"
        )
    resized = cv2.resize(values.astype(np.uint8), tuple(size), interpolation=cv2.INTER_NEAREST)
    return resized > 0


def normalise_format(fmt: str) -> str:
    """'jpg' -> 'JPEG', 'png' -> 'PNG', ...; ImageInputError for formats Pillow cannot write."""
    name = fmt.upper().lstrip(".")
    name = _FORMAT_ALIASES.get(name, name)
    Image.init()
    if name not in Image.SAVE:
        raise ImageInputError(f"cannot write image format {fmt!r}")
    return name


def encode_image(
    rgb: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    format: str = "PNG",
    quality: int | None = None,
    meta: ImageMeta | None = None,
) -> bytes:
    """Encode RGB uint8 (+ alpha) as bytes; alpha forces PNG when the format cannot hold it.

    `meta` (a source's LoadedImage.meta) is written into the file: EXIF, ICC profile, DPI, XMP;
    a JPEG of a JPEG source keeps its quantisation tables and chroma subsampling unless
    `quality` (1-100) is given. Without either, JPEG/WebP use quality 95.
    """
    fmt = normalise_format(format)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageInputError(f"expected an (H, W, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    if alpha is not None:
        if fmt not in _ALPHA_FORMATS:
            fmt = "PNG"
        image = Image.fromarray(np.ascontiguousarray(np.dstack([rgb, alpha.astype(np.uint8)])))
    else:
        image = Image.fromarray(np.ascontiguousarray(rgb))
    options = save_options(meta, fmt, quality)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()

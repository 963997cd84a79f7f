"""What a photographer expects to find again in an output file: EXIF, the ICC profile, DPI, XMP,
and for JPEG the source's own compression (quantisation tables and chroma subsampling).

`read_meta` takes it from a decoded source image; `save_options` turns it into Pillow `save`
arguments for the output's format. read_image turns the pixels upright from the EXIF
orientation, so the orientation written back (EXIF and XMP) is 1 and viewers do not rotate
the output a second time. EXIF is carried byte for byte (maker notes and GPS included), with
two in-place edits: the orientation value, and the embedded thumbnail (IFD1), which still
shows the logo, is blanked and unlinked.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any

from PIL import Image, JpegImagePlugin, PngImagePlugin

ORIENTATION_TAG = 0x0112
EXIF_PREFIX = b"Exif\x00\x00"
DEFAULT_QUALITY = 95  # JPEG/WebP quality when the source's own is unknown
# IJG's luminance table (natural order), which libjpeg scales for `quality`.
_IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_XMP_ORIENTATION = re.compile(
    rb"(tiff:Orientation\s*=\s*[\"']|<tiff:Orientation>)\s*[2-8]\s*([\"']|</tiff:Orientation>)"
)


@dataclass(frozen=True)
class ImageMeta:
    """Metadata of a source image to write into its output (None: the source had none)."""

    exif: bytes | None = None  # raw EXIF, orientation set to 1 when the pixels were rotated
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None
    xmp: bytes | None = None
    qtables: tuple[tuple[int, ...], ...] | None = None  # JPEG quantisation tables, natural order
    subsampling: int | None = None  # Pillow's code: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0
    progressive: bool = False

    @property
    def jpeg_quality(self) -> int | None:
        """The IJG quality (1-100) whose luminance table is nearest the source's, if JPEG."""
        return estimate_quality(self.qtables[0]) if self.qtables else None


def read_meta(image: Image.Image) -> ImageMeta:
    """The metadata of a loaded source image (the original, not its upright copy)."""
    info = image.info
    exif = drop_thumbnail(bytes(info["exif"])) if info.get("exif") else None
    xmp = _xmp_bytes(info)
    if image.getexif().get(ORIENTATION_TAG, 1) != 1:  # read_image turned the pixels upright
        exif = _upright_exif(image, exif) if exif else exif
        xmp = _XMP_ORIENTATION.sub(rb"\g<1>1\g<2>", xmp) if xmp else xmp
    qtables = subsampling = None
    if image.format == "JPEG":
        tables = getattr(image, "quantization", None) or {}
        qtables = tuple(tuple(int(v) for v in tables[key]) for key in sorted(tables)) or None
        code = JpegImagePlugin.get_sampling(image)
        subsampling = code if code >= 0 else None
    dpi = info.get("dpi")
    return ImageMeta(
        exif=exif or None,
        icc_profile=info.get("icc_profile") or None,
        dpi=(float(dpi[0]), float(dpi[1])) if dpi and min(dpi) > 0 else None,
        xmp=xmp or None,
        qtables=qtables,
        subsampling=subsampling,
        progressive=bool(info.get("progressive") or info.get("progression")),
    )


def _xmp_bytes(info: dict[str, Any]) -> bytes | None:
    """XMP as bytes: JPEG/WebP keep it under "xmp", PNG under its iTXt key."""
    value = info.get("xmp") or info.get("XML:com.adobe.xmp")
    if not value:
        return None
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _upright_exif(image: Image.Image, exif: bytes) -> bytes:
    """`exif` with orientation 1: patched in place, else rewritten by Pillow."""
    patched = reset_orientation(exif)
    if patched != exif:
        return patched
    rewritten = image.getexif()
    rewritten[ORIENTATION_TAG] = 1
    return drop_thumbnail(bytes(rewritten.tobytes()))


def _tiff(exif: bytes) -> tuple[int, str] | None:
    """(offset of the TIFF header in `exif`, struct byte order) or None when it is not EXIF."""
    body_at = len(EXIF_PREFIX) if exif.startswith(EXIF_PREFIX) else 0
    header = exif[body_at:body_at + 4]
    if header == b"II*\x00":
        return body_at, "<"
    if header == b"MM\x00*":
        return body_at, ">"
    return None


def _entries(exif: bytes, base: int, order: str, ifd: int) -> list[tuple[int, int, int]]:
    """(tag, type, offset of the entry in `exif`) of the IFD at TIFF offset `ifd`."""
    (count,) = struct.unpack_from(order + "H", exif, base + ifd)
    found = []
    for index in range(count):
        entry = base + ifd + 2 + 12 * index
        tag, kind = struct.unpack_from(order + "HH", exif, entry)
        found.append((tag, kind, entry))
    return found


def drop_thumbnail(exif: bytes) -> bytes:
    """`exif` without its thumbnail image: the thumbnail's bytes zeroed and IFD1 unlinked
    from IFD0 (every other offset stays valid); unchanged when there is none or on a parse
    error."""
    where = _tiff(exif)
    if where is None:
        return exif
    base, order = where
    try:
        (ifd0,) = struct.unpack_from(order + "I", exif, base + 4)
        (count,) = struct.unpack_from(order + "H", exif, base + ifd0)
        link = base + ifd0 + 2 + 12 * count  # offset of "next IFD" after IFD0
        (ifd1,) = struct.unpack_from(order + "I", exif, link)
        if ifd1 == 0:
            return exif
        fields = {tag: entry for tag, _, entry in _entries(exif, base, order, ifd1)}
        patched = bytearray(exif)
        if 0x0201 in fields and 0x0202 in fields:  # JPEGInterchangeFormat (+ length)
            (start,) = struct.unpack_from(order + "I", exif, fields[0x0201] + 8)
            (length,) = struct.unpack_from(order + "I", exif, fields[0x0202] + 8)
            end = min(base + start + length, len(patched))
            patched[base + start:end] = bytes(max(0, end - base - start))
        struct.pack_into(order + "I", patched, link, 0)
        return bytes(patched)
    except struct.error:
        return exif


def reset_orientation(exif: bytes) -> bytes:
    """`exif` with IFD0's orientation value set to 1 (in place, every other byte kept); the
    bytes unchanged when they hold no orientation or cannot be parsed."""
    where = _tiff(exif)
    if where is None:
        return exif
    base, order = where
    try:
        (ifd0,) = struct.unpack_from(order + "I", exif, base + 4)
        for tag, kind, entry in _entries(exif, base, order, ifd0):
            if tag == ORIENTATION_TAG and kind == 3:  # SHORT, value inline
                patched = bytearray(exif)
                struct.pack_into(order + "H", patched, entry + 8, 1)
                return bytes(patched)
    except struct.error:
        return exif
    return exif


def estimate_quality(luma: tuple[int, ...] | list[int]) -> int:
    """The IJG quality whose scaled luminance table is nearest `luma` (64 values)."""
    best, best_error = DEFAULT_QUALITY, float("inf")
    for quality in range(1, 101):
        scale = 5000 // quality if quality < 50 else 200 - 2 * quality
        error = sum(abs(min(max((base * scale + 50) // 100, 1), 255) - value)
                    for base, value in zip(_IJG_LUMA, luma, strict=False))
        if error < best_error:
            best, best_error = quality, error
    return best


def save_options(meta: ImageMeta | None, format: str, quality: int | None) -> dict[str, Any]:
    """Pillow `save` arguments for `format` (JPEG, PNG, WEBP...) that carry `meta` and
    compress near the source: a JPEG from a JPEG reuses its quantisation tables and chroma
    subsampling unless `quality` is given; otherwise `quality` or DEFAULT_QUALITY."""
    meta = meta or ImageMeta()
    options: dict[str, Any] = {}
    if format in ("JPEG", "WEBP"):
        options.update(_compression(meta, format, quality))
    if meta.icc_profile:
        options["icc_profile"] = meta.icc_profile
    if meta.exif and format in ("JPEG", "PNG", "WEBP", "TIFF"):
        options["exif"] = meta.exif
    if meta.dpi and format in ("JPEG", "PNG", "TIFF"):
        options["dpi"] = meta.dpi
    if meta.xmp:
        if format == "PNG":
            text = PngImagePlugin.PngInfo()
            text.add_itxt("XML:com.adobe.xmp", meta.xmp.decode("utf-8", "replace"))
            options["pnginfo"] = text
        elif format in ("JPEG", "WEBP", "TIFF"):
            options["xmp"] = meta.xmp
    return options


def _compression(meta: ImageMeta, format: str, quality: int | None) -> dict[str, Any]:
    if format == "WEBP":
        return {"quality": quality or DEFAULT_QUALITY}
    options: dict[str, Any] = {"progressive": meta.progressive}
    if meta.subsampling is not None:
        options["subsampling"] = meta.subsampling
    if quality is not None:
        options["quality"] = quality
    elif meta.qtables and len(meta.qtables) >= 2:  # colour tables: reuse them as they are
        options["qtables"] = [list(table) for table in meta.qtables]
    else:  # a greyscale source has one table: match its quality instead
        options["quality"] = meta.jpeg_quality or DEFAULT_QUALITY
    return options

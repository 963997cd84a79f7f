"""Outputs keep what a photographer cares about (masks/imagemeta.py through imageio): EXIF with
the orientation reset after rotating the pixels and without the logo-bearing thumbnail, the
ICC profile, DPI, XMP, and a JPEG compressed like its source (size within 1.3x of it)."""

from __future__ import annotations

import functools
import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from inpaint_core.masks.imageio import encode_image, read_image
from inpaint_core.masks.imagemeta import drop_thumbnail, estimate_quality, reset_orientation

REPO = Path(__file__).resolve().parents[3]
KODAK = REPO / "demo" / "JPEGImages" / "demo_00_kodim04.jpg"  # 768 x 512 Kodak photo
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       b'22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/" tiff:Orientation="6" '
       b'dc:rights="(c) Jane Doe"/></rdf:RDF></x:xmpmeta>')
THUMBNAIL_MARK = b"THUMBNAIL-WITH-THE-LOGO"


@functools.cache
def _icc() -> bytes:
    """A real ICC profile (LAB: unlike sRGB, dropping it changes every colour). Made once: its
    header holds the time it was created, so two calls a second apart differ (the comparison of
    written and given profile failed whenever a test straddled a second, e.g. under load)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()


def _exif(orientation: int = 6, *, thumbnail: bool = True) -> bytes:
    """A camera-like EXIF block, big-endian like many cameras write it: Make, Model, Copyright,
    DateTime, Orientation in IFD0, then an IFD1 whose 'thumbnail' is a marked byte string."""
    texts = [(0x010F, b"Canon\0"), (0x0110, b"EOS R5\0"), (0x8298, b"(c) Jane Doe\0"),
             (0x0132, b"2024:05:01 10:20:30\0")]
    count = len(texts) + 1
    ifd0 = 8
    data_at = ifd0 + 2 + 12 * count + 4
    entries, blob = [], b""
    for tag, text in texts:
        entries.append(struct.pack(">HHII", tag, 2, len(text), data_at + len(blob)))
        blob += text
    entries.append(struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0))
    entries.sort()
    ifd1 = data_at + len(blob) if thumbnail else 0
    tiff = b"MM\0*" + struct.pack(">I", ifd0) + struct.pack(">H", count) + b"".join(entries)
    tiff += struct.pack(">I", ifd1) + blob
    if thumbnail:
        thumb_at = ifd1 + 2 + 2 * 12 + 4
        tiff += struct.pack(">H", 2)
        tiff += struct.pack(">HHII", 0x0201, 4, 1, thumb_at)
        tiff += struct.pack(">HHII", 0x0202, 4, 1, len(THUMBNAIL_MARK))
        tiff += struct.pack(">I", 0) + THUMBNAIL_MARK
    return b"Exif\0\0" + tiff


def _photo(width: int = 96, height: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 255 // width, y * 255 // height, (x + y) % 256]).astype(np.uint8)


def _jpeg(rgb: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def _reopen(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_rotated_jpeg_keeps_camera_copyright_dates_with_orientation_reset() -> None:
    source = _jpeg(_photo(), quality=85, exif=_exif(6), icc_profile=_icc(), dpi=(300, 300),
                   xmp=XMP)
    loaded = read_image(source)
    assert loaded.rgb.shape == (96, 64, 3)  # turned upright: orientation 6 is 90 degrees

    out = _reopen(encode_image(loaded.rgb, format="JPEG", meta=loaded.meta))

    exif = out.getexif()
    assert (exif[0x010F], exif[0x0110], exif[0x8298]) == ("Canon", "EOS R5", "(c) Jane Doe")
    assert exif[0x0132] == "2024:05:01 10:20:30"
    assert exif[0x0112] == 1  # pixels already upright: viewers must not turn them again
    assert out.size == (64, 96)
    assert out.info["icc_profile"] == _icc()
    assert out.info["dpi"] == pytest.approx((300, 300))
    assert b'dc:rights="(c) Jane Doe"' in out.info["xmp"]
    assert b'tiff:Orientation="1"' in out.info["xmp"]


def test_the_exif_thumbnail_that_still_shows_the_logo_is_not_carried() -> None:
    source = _jpeg(_photo(), quality=85, exif=_exif(1))
    assert THUMBNAIL_MARK in source
    loaded = read_image(source)

    written = encode_image(loaded.rgb, format="JPEG", meta=loaded.meta)

    assert THUMBNAIL_MARK not in written
    assert _reopen(written).getexif()[0x010F] == "Canon"  # the rest of the EXIF stays
    assert drop_thumbnail(b"not exif") == b"not exif"


def test_an_upright_photo_keeps_its_exif_byte_for_byte_but_the_thumbnail() -> None:
    exif = _exif(1, thumbnail=False)
    loaded = read_image(_jpeg(_photo(), exif=exif))
    assert loaded.meta is not None and loaded.meta.exif == exif
    assert reset_orientation(exif) == exif  # already 1


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_keep_icc_exif_and_xmp(fmt: str) -> None:
    buffer = io.BytesIO()
    image = Image.fromarray(_photo())
    if fmt == "PNG":
        from PIL import PngImagePlugin

        text = PngImagePlugin.PngInfo()
        text.add_itxt("XML:com.adobe.xmp", XMP.decode())
        image.save(buffer, fmt, icc_profile=_icc(), exif=_exif(1), dpi=(240, 240), pnginfo=text)
    else:
        image.save(buffer, fmt, icc_profile=_icc(), exif=_exif(1), xmp=XMP, quality=90)
    loaded = read_image(buffer.getvalue())

    out = _reopen(encode_image(loaded.rgb, format=fmt, meta=loaded.meta))

    assert out.info["icc_profile"] == _icc()
    assert out.getexif()[0x8298] == "(c) Jane Doe"
    xmp = out.info.get("xmp") or out.info.get("XML:com.adobe.xmp")
    assert xmp and b"Jane Doe" in (xmp.encode() if isinstance(xmp, str) else xmp)
    if fmt == "PNG":
        assert out.info["dpi"] == pytest.approx((240, 240), abs=0.01)


def _kodak_at(quality: int, subsampling: int = 2) -> bytes:
    return _jpeg(np.asarray(Image.open(KODAK).convert("RGB")), quality=quality,
                 subsampling=subsampling)


def _edited(rgb: np.ndarray) -> np.ndarray:
    """The photo with a 'logo' region repainted smooth, as a removal would leave it."""
    out = rgb.copy()
    out[100:180, 300:460] = out[100:180, 300:460].mean(axis=(0, 1)).astype(np.uint8)
    return out


@pytest.mark.parametrize("quality,subsampling", [(80, 2), (60, 0), (92, 1)])
def test_a_jpeg_is_re_encoded_like_its_source_not_at_quality_95(quality: int,
                                                                 subsampling: int) -> None:
    source = _kodak_at(quality, subsampling)
    loaded = read_image(source)
    assert loaded.meta is not None and loaded.meta.jpeg_quality == quality

    written = encode_image(_edited(loaded.rgb), format="JPEG", meta=loaded.meta)

    out = _reopen(written)
    assert JpegImagePlugin.get_sampling(out) == subsampling
    assert estimate_quality(list(out.quantization[0])) == quality
    assert len(written) <= 1.3 * len(source), (len(written), len(source))


def test_quality_given_wins_and_keeps_the_subsampling() -> None:
    loaded = read_image(_kodak_at(80, 0))

    written = encode_image(loaded.rgb, format="JPEG", quality=50, meta=loaded.meta)

    out = _reopen(written)
    assert estimate_quality(list(out.quantization[0])) == 50
    assert JpegImagePlugin.get_sampling(out) == 0


def test_a_greyscale_jpeg_is_written_at_its_estimated_quality() -> None:
    grey = _photo()[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, "JPEG", quality=70)
    loaded = read_image(buffer.getvalue())

    out = _reopen(encode_image(loaded.rgb, format="JPEG", meta=loaded.meta))

    assert estimate_quality(list(out.quantization[0])) == 70

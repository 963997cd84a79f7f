"""Reading every Pillow mode, EXIF orientation, broken files, the pixel limit, masks and boxes."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.errors import ImageInputError, ImageTooLargeError
from inpaint_core.masks.boxes import boxes_to_mask
from inpaint_core.masks.imageio import (
    decode_mask,
    encode_image,
    image_to_arrays,
    read_image,
    read_mask,
)


def _gradient(width: int = 24, height: int = 16) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs * 10 % 256, ys * 15 % 256, (xs + ys) * 5 % 256], axis=2).astype(np.uint8)


def _save(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB"])
def test_opaque_modes_become_rgb_matching_pillow(mode: str) -> None:
    source = Image.fromarray(_gradient()).convert(mode)
    loaded = read_image(_save(source))
    assert loaded.mode == mode and loaded.format == "PNG" and loaded.alpha is None
    assert loaded.rgb.shape == (16, 24, 3) and loaded.rgb.dtype == np.uint8
    np.testing.assert_array_equal(loaded.rgb, np.asarray(source.convert("RGB")))


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_alpha_modes_keep_alpha(mode: str) -> None:
    rgba = np.dstack([_gradient(), np.arange(16 * 24, dtype=np.uint8).reshape(16, 24)])
    source = Image.fromarray(rgba).convert(mode)
    loaded = read_image(_save(source))
    assert loaded.alpha is not None
    np.testing.assert_array_equal(loaded.alpha, rgba[..., 3])
    np.testing.assert_array_equal(loaded.rgb, np.asarray(source.convert("RGB")))


def test_palette_with_transparency_keeps_alpha() -> None:
    source = Image.fromarray(_gradient()).convert("P")
    source.info["transparency"] = int(np.asarray(source)[0, 0])
    loaded = read_image(_save(source, transparency=source.info["transparency"]))
    assert loaded.alpha is not None
    assert loaded.alpha[0, 0] == 0 and loaded.alpha.max() == 255


def test_pa_mode_keeps_alpha() -> None:
    base = Image.fromarray(_gradient()).convert("P")
    pa = base.convert("PA")
    rgb, alpha = image_to_arrays(pa)
    assert alpha is not None and (alpha == 255).all()
    np.testing.assert_array_equal(rgb, np.asarray(base.convert("RGB")))


def test_cmyk_tiff_becomes_rgb() -> None:
    source = Image.fromarray(_gradient()).convert("CMYK")
    loaded = read_image(_save(source, "TIFF"))
    assert loaded.mode == "CMYK" and loaded.format == "TIFF"
    np.testing.assert_array_equal(loaded.rgb, np.asarray(source.convert("RGB")))


def test_sixteen_bit_grey_is_scaled_to_eight_bits() -> None:
    grey = np.arange(16 * 24, dtype=np.uint16).reshape(16, 24) % 256
    source = Image.fromarray((grey * 257).astype(np.uint16))
    assert source.mode.startswith("I;16")
    loaded = read_image(_save(source))
    np.testing.assert_array_equal(loaded.rgb[..., 0], grey.astype(np.uint8))
    np.testing.assert_array_equal(loaded.rgb[..., 2], grey.astype(np.uint8))


def test_int32_and_float_modes() -> None:
    grey = (np.arange(16 * 24).reshape(16, 24) % 256).astype(np.int32)
    loaded_i = read_image(_save(Image.fromarray(grey * 257, mode=None), "TIFF"))
    assert loaded_i.mode == "I"
    np.testing.assert_array_equal(loaded_i.rgb[..., 1], grey.astype(np.uint8))
    unit = (grey / 255.0).astype(np.float32)
    loaded_f = read_image(_save(Image.fromarray(unit), "TIFF"))
    assert loaded_f.mode == "F"
    np.testing.assert_array_equal(loaded_f.rgb[..., 0], grey.astype(np.uint8))


def test_exif_orientation_is_applied() -> None:
    pixels = _gradient(30, 10)
    source = Image.fromarray(pixels)
    exif = source.getexif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    loaded = read_image(_save(source, "PNG", exif=exif))
    assert loaded.rgb.shape == (30, 10, 3)
    np.testing.assert_array_equal(loaded.rgb, np.rot90(pixels, k=-1))


def test_truncated_zero_byte_and_non_image_files(tmp_path: Path) -> None:
    jpeg = _save(Image.fromarray(_gradient(256, 256)), "JPEG", quality=90)
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(jpeg[: len(jpeg) // 2])
    with pytest.raises(ImageInputError, match="truncated"):
        read_image(truncated)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageInputError, match="zero bytes"):
        read_image(empty)
    text = tmp_path / "notes.png"
    text.write_text("hello, not a picture")
    with pytest.raises(ImageInputError, match="not an image"):
        read_image(text)
    with pytest.raises(ImageInputError, match="no such file"):
        read_image(tmp_path / "missing.png")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but whose data is a few garbage bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


def test_pixel_limit_is_checked_from_the_header() -> None:
    with pytest.raises(ImageTooLargeError, match="10001x10000 = 100,010,000 pixels"):
        read_image(_png_header_only(10_001, 10_000), max_pixels=100_000_000)
    with pytest.raises(ImageTooLargeError):
        read_image(_png_header_only(40_000, 40_000))  # beyond Pillow's own hard limit too
    with pytest.raises(ImageTooLargeError, match="exceeds the limit of 999"):
        read_image(_save(Image.fromarray(_gradient(100, 10))), max_pixels=999)


def test_large_header_within_limit_leaks_no_bomb_warning() -> None:
    # 100M pixels is above Pillow's warning threshold (89M): with filterwarnings=error
    # a leaked DecompressionBombWarning would fail this test
    with pytest.raises(ImageInputError, match="truncated or corrupt"):
        read_image(_png_header_only(10_000, 10_000))


def test_read_mask_nonzero_and_rescaled() -> None:
    mask = np.zeros((8, 12), dtype=np.uint8)
    mask[2:4, 3:9] = 1
    read = read_mask(_save(Image.fromarray(mask)), size=(12, 8))
    np.testing.assert_array_equal(read, mask > 0)
    doubled = read_mask(_save(Image.fromarray(mask * 255)), size=(24, 16))
    np.testing.assert_array_equal(doubled, np.kron(mask, np.ones((2, 2), np.uint8)) > 0)
    with pytest.raises(ImageInputError, match="different aspect ratio"):
        read_mask(_save(Image.fromarray(mask)), size=(12, 12))


def test_read_mask_with_transparent_background() -> None:
    rgba = np.zeros((6, 6, 4), dtype=np.uint8)
    rgba[1:3, 1:3] = 255
    read = read_mask(_save(Image.fromarray(rgba)), size=(6, 6))
    assert read.sum() == 4 and read[1:3, 1:3].all()


def test_decode_mask_keeps_the_files_own_size() -> None:
    mask = np.zeros((8, 12), dtype=np.uint16)
    mask[2:4, 3:9] = 40000
    decoded = decode_mask(_save(Image.fromarray(mask)))
    assert decoded.shape == (8, 12) and decoded.dtype == bool
    np.testing.assert_array_equal(decoded, mask > 0)


def test_boxes_to_mask_end_exclusive_and_clipped() -> None:
    mask = boxes_to_mask([[1, 2, 4, 3], [8, -5, 20, 1]], height=5, width=10)
    expected = np.zeros((5, 10), dtype=bool)
    expected[2, 1:4] = True
    expected[0, 8:10] = True
    np.testing.assert_array_equal(mask, expected)
    assert not boxes_to_mask([[20, 20, 30, 30]], height=5, width=10).any()
    with pytest.raises(ImageInputError, match="inverted"):
        boxes_to_mask([[5, 1, 2, 3]], height=5, width=10)


def test_encode_image_roundtrip_and_alpha_forces_png() -> None:
    rgb = _gradient()
    alpha = np.full((16, 24), 128, dtype=np.uint8)
    data = encode_image(rgb, alpha=alpha, format="jpg")
    assert data.startswith(b"\x89PNG")
    loaded = read_image(data)
    np.testing.assert_array_equal(loaded.rgb, rgb)
    np.testing.assert_array_equal(loaded.alpha, alpha)
    jpeg = encode_image(rgb, format="JPEG", quality=90)
    assert jpeg[:3] == b"\xff\xd8\xff"
    with pytest.raises(ImageInputError, match="cannot write"):
        encode_image(rgb, format="nope")


def _frames(fmt: str, count: int = 3, **options: object) -> bytes:
    images = [Image.fromarray(np.roll(_gradient(), 3 * i, axis=1)) for i in range(count)]
    return _save(images[0], fmt, save_all=True, append_images=images[1:], **options)


@pytest.mark.parametrize(("fmt", "options"), [
    ("GIF", {"duration": 50, "loop": 0}), ("WEBP", {"duration": 50}),
    ("PNG", {"duration": 50}), ("TIFF", {})])
def test_several_frames_are_refused_not_cut_to_the_first(fmt: str, options: dict) -> None:
    # issue #18 item 13: an animation or a multi-page TIFF became its first frame, silently
    data = _frames(fmt, **options)
    for read in (read_image, decode_mask):
        with pytest.raises(ImageInputError, match=f"{fmt} with several frames"):
            read(data)


def test_one_frame_files_and_mpo_photos_are_read() -> None:
    first = Image.fromarray(_gradient())
    for fmt in ("GIF", "WEBP", "PNG", "TIFF"):
        single = _save(first, fmt, save_all=True)  # the animation writers, one frame
        assert read_image(single).size == (24, 16)
    mpo = _save(first, "MPO", save_all=True, append_images=[first.resize((12, 8))])
    loaded = read_image(mpo)  # a camera photo with a preview: the photo
    assert loaded.format == "MPO" and loaded.size == (24, 16)
    np.testing.assert_allclose(loaded.rgb, _gradient(), atol=40)


def _png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    chunk = (struct.pack(">I", len(payload)) + kind + payload
             + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))
    png = _save(Image.fromarray(_gradient()))
    return png[:33] + chunk + png[33:]  # after the signature and IHDR


@pytest.mark.parametrize("kind", [b"zTXt", b"iCCP", b"iTXt"])
def test_a_chunk_that_inflates_too_far_is_a_bad_image(kind: bytes) -> None:
    # issue #18 item 13: Pillow's ValueError came out as "internal error: ValueError"
    body = zlib.compress(b"\0" * 50_000_000, 9)
    payload = b"key\0\0" + body if kind != b"iTXt" else b"key\0\1\0\0\0" + body
    data = _png_with_chunk(kind, payload)
    for read in (read_image, decode_mask):
        with pytest.raises(ImageInputError, match="Decompressed data too large"):
            read(data)


def test_exif_orientation_and_stored_size_are_kept() -> None:
    source = Image.fromarray(_gradient(24, 16))
    for orientation in range(1, 9):
        exif = source.getexif()
        exif[0x0112] = orientation
        loaded = read_image(_save(source, "JPEG", exif=exif.tobytes()))
        assert loaded.orientation == orientation and loaded.stored_size == (24, 16)
        assert loaded.size == ((16, 24) if orientation >= 5 else (24, 16))


@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_mask_drawn_on_the_stored_pixels_is_turned_with_the_image(orientation: int) -> None:
    from inpaint_core.masks.boxes import upright_boxes, upright_size

    stored = np.zeros((16, 24), np.uint8)
    stored[2:6, 15:21] = 255  # [15, 2, 21, 6) on the 24x16 stored pixels
    size = upright_size((24, 16), orientation)
    mask = read_mask(_save(Image.fromarray(stored)), size=size, orientation=orientation)
    if orientation < 5:  # both frames 24x16: taken as drawn on the displayed image
        assert np.array_equal(mask, stored > 0)
        return
    [box] = upright_boxes([[15, 2, 21, 6]], orientation=orientation, stored_size=(24, 16))
    assert np.array_equal(mask, boxes_to_mask([box], height=size[1], width=size[0]))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_boxes_land_where_read_image_shows_the_stored_pixels(orientation: int) -> None:
    from inpaint_core.masks.boxes import upright_boxes

    stored = np.zeros((16, 24, 3), np.uint8)
    stored[3:7, 14:22] = 255  # the box [14, 3, 22, 7) on the stored pixels
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = orientation
    loaded = read_image(_save(image, "PNG", exif=exif.tobytes()))

    [box] = upright_boxes([[14, 3, 22, 7]], orientation=orientation, stored_size=(24, 16))

    shown = loaded.rgb[..., 0] > 0
    assert np.array_equal(shown, boxes_to_mask([box], height=shown.shape[0],
                                                width=shown.shape[1]))

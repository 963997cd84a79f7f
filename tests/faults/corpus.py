"""A hostile-input corpus generated on the fly: broken, odd and malicious images, boxes,
paths and annotation files, each with the outcome the system must give it.

`manifest_corpus(root)` writes a manifest dataset, `voc_corpus(root)` an OpenLogo/VOC one;
both return {image name: expected} where expected is "done" or the start of the job's
error text ("bad image", "unsafe path", ...).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from tests.fixtures.images import photo

W, H = 96, 72
BOX = "[[8, 8, 40, 30]]"


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) \
        + chunk(b"IEND", b"")


def png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    """A small valid PNG with one extra chunk (zTXt, iCCP...) right after its header."""
    def chunk(name: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + name + data
                + struct.pack(">I", zlib.crc32(name + data) & 0xFFFFFFFF))
    png = _save(Image.fromarray(photo(W, H, 4)), "PNG")
    end_of_header = 8 + 25  # signature + IHDR chunk
    return png[:end_of_header] + chunk(kind, payload) + png[end_of_header:]


def text_bomb(kind: bytes) -> bytes:
    """A PNG whose zTXt / iCCP chunk inflates 1 KB of zlib into 100 MB."""
    return png_with_chunk(kind, b"key\0\0" + zlib.compress(b"\0" * 100_000_000, 9))


def frames(fmt: str, count: int = 3, **options: object) -> bytes:
    """An animation (GIF, WebP, APNG) or a multi-page TIFF of `count` different frames."""
    images = [Image.fromarray(photo(W, H, 10 + i)) for i in range(count)]
    return _save(images[0], fmt, save_all=True, append_images=images[1:], **options)


def image_files() -> dict[str, tuple[bytes, str, str]]:
    """{file name: (bytes, boxes, expected)} of the manifest corpus."""
    rgb = Image.fromarray(photo(W, H, 1))
    jpeg, png = _save(rgb, "JPEG", quality=90), _save(rgb, "PNG")
    corrupt = bytearray(png)
    corrupt[60:90] = b"\xff" * 30  # IDAT bytes damaged: CRC and zlib fail
    deep = Image.fromarray(photo(W, H, 2)[..., 0].astype(np.uint16) * 257)  # mode I;16
    return {
        "ok.png": (png, BOX, "done"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], BOX, "bad image"),
        "corrupt.png": (bytes(corrupt), BOX, "bad image"),
        "empty.jpg": (b"", BOX, "bad image"),
        "text.jpg": (b"this is not an image, just text\n" * 4, BOX, "bad image"),
        "deep16.png": (_save(deep, "PNG"), BOX, "done"),
        "cmyk.jpg": (_save(rgb.convert("CMYK"), "JPEG"), BOX, "done"),
        "palette.png": (_save(rgb.convert("P"), "PNG"), BOX, "done"),
        "bomb.png": (bomb_png(), BOX, "bad image"),
        "outside.png": (png, "[[500, 500, 600, 600]]", "done"),  # clipped away: a copy
        "inverted.png": (png, "[[40, 30, 8, 8]]", "bad"),
        "zero.png": (png, "[[8, 8, 8, 30]]", "bad"),
        "ünï_标志 name.png": (png, BOX, "done"),
        # several frames: refused per job, not cut to the first (issue #18 item 13)
        "animated.gif": (frames("GIF", duration=100, loop=0), BOX, "bad image"),
        "animated.webp": (frames("WEBP", duration=100), BOX, "bad image"),
        "animated.png": (frames("PNG", duration=100), BOX, "bad image"),  # APNG
        "pages.tif": (frames("TIFF"), BOX, "bad image"),
        "still.gif": (_save(rgb, "GIF"), BOX, "done"),
        "camera.jpg": (_save(rgb, "MPO", save_all=True, append_images=[rgb.resize((24, 18))]),
                       BOX, "done"),  # a photo with its preview (MPO): the photo
        # text / ICC chunks that inflate to 100 MB
        "bomb-ztxt.png": (text_bomb(b"zTXt"), BOX, "bad image"),
        "bomb-iccp.png": (text_bomb(b"iCCP"), BOX, "bad image"),
    }


def manifest_corpus(root: Path) -> dict[str, str]:
    """Write the images and `list.csv` (with two path-escape rows) under root."""
    root.mkdir(parents=True, exist_ok=True)
    rows, expected = ["image,boxes"], {}
    for name, (data, boxes, outcome) in image_files().items():
        (root / name).write_bytes(data)
        rows.append(f'"{name}","{boxes}"')
        expected[name] = outcome
    for escape in ("../outside/secret.png", "/etc/hostname"):
        rows.append(f'"{escape}","{BOX}"')
        expected[escape] = "bad"
    (root / "list.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return expected


VOC = """<annotation><filename>{name}.jpg</filename>
<size><width>{w}</width><height>{h}</height><depth>3</depth></size>
<object><name>brand</name><bndbox><xmin>9</xmin><ymin>9</ymin><xmax>40</xmax><ymax>30</ymax>
</bndbox></object></annotation>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<annotation><filename>&secret;</filename><object><name>&secret;</name><bndbox><xmin>1</xmin>
<ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<annotation><object><name>&lol9;</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax>
<ymax>5</ymax></bndbox></object></annotation>"""


def voc_corpus(root: Path) -> dict[str, str]:
    """An OpenLogo/VOC folder: one good annotation, XXE, billion laughs, malformed XML."""
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    (root / "Annotations").mkdir(exist_ok=True)
    jpeg = _save(Image.fromarray(photo(W, H, 3)), "JPEG", quality=90)
    xml = {
        "good": VOC.format(name="good", w=W, h=H),
        "xxe": XXE,
        "laughs": LAUGHS,
        "malformed": "<annotation><object><name>brand</name><bndbox><xmin>1",
    }
    for stem, text in xml.items():
        (root / "JPEGImages" / f"{stem}.jpg").write_bytes(jpeg)
        (root / "Annotations" / f"{stem}.xml").write_text(text)
    return {"good.jpg": "done", "xxe.jpg": "bad", "laughs.jpg": "bad", "malformed.jpg": "bad"}

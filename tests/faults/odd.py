"""Datasets whose inputs share a name but for case or format (issue #18 item 1), and odd
entries (item 11), in every dataset format, written through a `put(relative path, bytes)` so
the same dataset lands in a local folder or under an S3 prefix.

Each builder returns {input path relative to the dataset root: expected outcome}, where the
outcome is "done" or the start of the job's error text.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from tests.fixtures.images import photo

Put = Callable[[str, bytes], None]
W, H = 96, 72
BOX = [8, 8, 40, 30]  # 0-based, end exclusive
# the names of issue #18 (7 inputs gave 3 files), a.JPG's own-case twin, and a converted name
# that equals another input's own (x.bmp -> x.bmp.png beside x.bmp.png)
SAME_NAMES = {"a.jpg": "JPEG", "a.JPG": "JPEG", "a.png": "PNG", "b.jpeg": "JPEG",
              "b.jpg": "JPEG", "x.bmp": "BMP", "x.png": "PNG", "y.tif": "TIFF", "y.png": "PNG",
              "x.bmp.png": "PNG", "A.jpg": "JPEG"}


def image_bytes(fmt: str, seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo(W, H, seed)).save(buffer, format=fmt)
    return buffer.getvalue()


def mask_bytes() -> bytes:
    mask = np.zeros((H, W), np.uint8)
    x1, y1, x2, y2 = BOX
    mask[y1:y2, x1:x2] = 255
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    return buffer.getvalue()


def local_put(root: Path) -> Put:
    def put(rel: str, data: bytes) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return put


def images_dataset(put: Put) -> dict[str, str]:
    """A plain folder (format "images", with a fixed --box)."""
    for seed, (name, fmt) in enumerate(SAME_NAMES.items()):
        put(name, image_bytes(fmt, seed))
    return dict.fromkeys(SAME_NAMES, "done")


def masks_dataset(put: Put) -> dict[str, str]:
    """images/ + masks/ paired by stem: a.jpg, a.JPG and a.png share masks/a.png."""
    for seed, (name, fmt) in enumerate(SAME_NAMES.items()):
        put(f"images/{name}", image_bytes(fmt, seed))
        put(f"masks/{name.rsplit('.', 1)[0]}.png", mask_bytes())
    return {f"images/{name}": "done" for name in SAME_NAMES}


def manifest_dataset(put: Put) -> dict[str, str]:
    """list.csv naming every image, two of them in folders that differ only in case."""
    rows = ["image,boxes"]
    names = [*SAME_NAMES, "sub/q.png", "SUB/q.png"]
    for seed, name in enumerate(names):
        put(name, image_bytes(SAME_NAMES.get(name, "PNG"), seed))
        rows.append(f'{name},"[{BOX}]"')
    put("list.csv", ("\n".join(rows) + "\n").encode())
    return dict.fromkeys(names, "done")


def voc(filename: str, size: tuple[int, int] = (W, H), box: list[int] = BOX) -> bytes:
    x1, y1, x2, y2 = box
    return (f"<annotation><filename>{filename}</filename><size><width>{size[0]}</width>"
            f"<height>{size[1]}</height><depth>3</depth></size><object><name>brand</name>"
            f"<bndbox><xmin>{x1 + 1}</xmin><ymin>{y1 + 1}</ymin><xmax>{x2}</xmax>"
            f"<ymax>{y2}</ymax></bndbox></object></annotation>").encode()


def openlogo_dataset(put: Put, *, split: list[str] | None = None) -> dict[str, str]:
    """JPEGImages/ + Annotations/: ids `a` and `A` (a.jpg, A.JPG), `x` (x.bmp) and `x.bmp`
    (x.bmp.png); `split`: extra ImageSets/Main/test.txt lines after those ids."""
    files = {"a": "a.jpg", "A": "A.JPG", "x": "x.bmp", "x.bmp": "x.bmp.png"}
    for seed, (image_id, name) in enumerate(files.items()):
        put(f"JPEGImages/{name}", image_bytes(SAME_NAMES.get(name, "JPEG"), seed))
        put(f"Annotations/{image_id}.xml", voc(name))
    if split is not None:
        put("ImageSets/Main/test.txt", ("\n".join([*files, *split]) + "\n").encode())
    return {f"JPEGImages/{name}": "done" for name in files.values()}


def odd_local_openlogo(root: Path) -> dict[str, str]:
    """openlogo_dataset plus odd entries: an annotated image that is a link leaving the root,
    a file name with a backslash, and `../../../etc/passwd` as a line of the split file."""
    expected = openlogo_dataset(local_put(root), split=["link", "back\\slash",
                                                        "../../../etc/passwd"])
    outside = root.parent / "outside.jpg"
    outside.write_bytes(image_bytes("JPEG", 40))
    (root / "JPEGImages" / "link.jpg").symlink_to(outside)
    (root / "Annotations" / "link.xml").write_bytes(voc("link.jpg"))
    (root / "JPEGImages" / "back\\slash.jpg").write_bytes(image_bytes("JPEG", 41))
    (root / "Annotations" / "back\\slash.xml").write_bytes(voc("back\\slash.jpg"))
    # refused by the storage, so each fails its own job ("back\\slash" may instead be read,
    # should the storage learn to encode such names: it must then be done)
    expected.update({"JPEGImages/link.jpg": "bad dataset entry: unsafe path",
                     "JPEGImages/back\\slash.jpg": "bad dataset entry: unsafe path|done",
                     "JPEGImages/../../../etc/passwd.jpg": "bad dataset entry: unsafe path"})
    return expected


# S3 keys a folder cannot hold, below a dataset prefix: each must fail alone
ODD_S3_KEYS = ("imgs//d.png", "imgs/./e.png", "imgs/../f.png")


def odd_s3_images(put: Put) -> dict[str, str]:
    """A plain folder of images under imgs/ with `//`, `/./` and `/../` keys among them."""
    expected = {f"imgs/{name}": outcome
                for name, outcome in images_dataset(lambda rel, data: put(f"imgs/{rel}",
                                                                          data)).items()}
    for seed, key in enumerate(ODD_S3_KEYS):
        put(key, image_bytes("PNG", 50 + seed))
        expected[key] = "bad dataset entry: unsafe path"
    return expected

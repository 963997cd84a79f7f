"""OpenLogo/VOC reader: the shared FlickrLogos-27 set, hostile XML, splits, classes, S3."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scheduler.datasets import DatasetItem, read_dataset
from scheduler.errors import DatasetError
from scheduler.settings import get_settings
from scheduler.storage import LocalStorage

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "flickrlogos27-openlogo"


def _voc(filename: str, size: tuple[int, int] | None, objects: list[tuple[str, tuple]]) -> str:
    size_xml = f"<size><width>{size[0]}</width><height>{size[1]}</height></size>" if size else ""
    objs = "".join(
        f"<object><name>{name}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
        for name, b in objects
    )
    return f"<annotation><filename>{filename}</filename>{size_xml}{objs}</annotation>"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<annotation><filename>&lol3;</filename></annotation>"""


def _xxe(secret: Path) -> str:
    return (
        f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<annotation><filename>&xxe;</filename><object><name>x</name><bndbox><xmin>1</xmin>"
        "<ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>"
    )


def _write(root: Path, rel: str, data: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


@pytest.fixture
def small_openlogo(tmp_path: Path) -> Path:
    """A made-up OpenLogo folder with one example of every case the reader must handle."""
    root = tmp_path / "openlogo"
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    annotations = {
        "good": _voc(
            "good.jpg", (100, 80), [("adidas", (1, 1, 10, 20)), ("nike", (50, 40, 60, 45))]
        ),
        "clip": _voc(
            "clip.jpg", (100, 80), [("adidas", (90, 70, 120, 95)), ("nike", (0, 5, 10, 9))]
        ),
        "outside": _voc("outside.jpg", (100, 80), [("nike", (150, 10, 160, 20))]),
        "inverted": _voc("inverted.jpg", (100, 80), [("adidas", (30, 10, 20, 20))]),
        "lol": BILLION_LAUGHS,
        "xxe": _xxe(secret),
        "broken": "<annotation><object>",
        "noobj": _voc("noobj.jpg", (100, 80), []),
        "noimage": _voc("noimage.jpg", (100, 80), [("adidas", (1, 1, 5, 5))]),
        "twin": _voc("twin.png", None, [("adidas_text", (1, 1, 5, 5))]),
    }
    for image_id, xml in annotations.items():
        _write(root, f"Annotations/{image_id}.xml", xml)
        if image_id != "noimage":
            _write(root, f"JPEGImages/{image_id}.jpg", b"jpeg")
    _write(root, "JPEGImages/twin.png", b"png")  # same stem: <filename> decides
    _write(root, "ImageSets/Main/test.txt", "good\nclip\nmissing_ann\n")
    _write(root, "ImageSets/Main/train_test/test_all.txt", "twin\ngood  1\nclip -1\n")
    _write(root, "ImageSets/class_sep/adidas_test.txt", "good\n")
    return root


def _by_id(items: list[DatasetItem]) -> dict[str, DatasetItem]:
    return {Path(item.rel_path).stem: item for item in items}


def test_every_case_of_the_small_dataset(small_openlogo: Path) -> None:
    items = _by_id(list(read_dataset(str(small_openlogo), format="openlogo")))
    assert list(items) == ["good", "clip", "missing_ann"]  # default split: Main/test.txt
    good = items["good"]
    assert good.error is None and good.warnings == []
    assert good.boxes == [[0, 0, 10, 20], [49, 39, 60, 45]]  # 1-based inclusive -> [x1, x2)
    assert good.labels == ["adidas", "nike"]
    assert good.input_uri == (small_openlogo / "JPEGImages/good.jpg").as_uri()
    assert good.rel_path == "JPEGImages/good.jpg"
    clip = items["clip"]
    assert clip.error is None and clip.boxes == [[89, 69, 100, 80], [0, 4, 10, 9]]
    assert len(clip.warnings) == 2 and "clipped" in clip.warnings[0]
    assert items["missing_ann"].error == "no annotation Annotations/missing_ann.xml"


def test_all_annotations_without_a_split_file(small_openlogo: Path) -> None:
    (small_openlogo / "ImageSets/Main/test.txt").unlink()
    items = _by_id(list(read_dataset(str(small_openlogo))))
    assert sorted(items) == sorted(
        ["good", "clip", "outside", "inverted", "lol", "xxe", "broken", "noobj", "noimage", "twin"]
    )
    assert items["outside"].error == "every box lies outside the image"
    assert "dropped" in items["outside"].warnings[0]
    assert "inverted box" in (items["inverted"].error or "")
    assert "unsafe XML refused" in (items["lol"].error or "")
    assert "unsafe XML refused" in (items["xxe"].error or "")
    assert "TOP-SECRET" not in repr(items["xxe"])
    assert "malformed XML" in (items["broken"].error or "")
    assert "no <object>" in (items["noobj"].error or "")
    assert items["noimage"].error == "image JPEGImages/noimage.* not found"
    assert items["twin"].rel_path == "JPEGImages/twin.png" and items["twin"].error is None
    ok = [item for item in items.values() if item.error is None]
    assert sorted(Path(i.rel_path).stem for i in ok) == ["clip", "good", "twin"]


def test_split_names_and_paths(small_openlogo: Path) -> None:
    nested = list(read_dataset(str(small_openlogo), split="train_test/test_all"))
    assert [Path(i.rel_path).stem for i in nested] == ["twin", "good"]  # '-1' line skipped
    by_class = list(read_dataset(str(small_openlogo), split="ImageSets/class_sep/adidas_test"))
    assert [Path(i.rel_path).stem for i in by_class] == ["good"]
    named = list(read_dataset(str(small_openlogo), split="test.txt"))
    assert len(named) == 3
    with pytest.raises(DatasetError, match="does not exist"):
        list(read_dataset(str(small_openlogo), split="val"))
    with pytest.raises(DatasetError, match="invalid split"):
        list(read_dataset(str(small_openlogo), split="../../etc/passwd"))


def test_class_filter(small_openlogo: Path) -> None:
    items = _by_id(list(read_dataset(str(small_openlogo), split="test", classes=["NIKE"])))
    assert sorted(items) == ["clip", "good", "missing_ann"]  # errors are still reported
    assert items["good"].labels == ["nike"] and items["good"].boxes == [[49, 39, 60, 45]]
    items = _by_id(list(read_dataset(str(small_openlogo), split="test", classes=["pepsi"])))
    assert list(items) == ["missing_ann"]  # good and clip have no pepsi: skipped


def test_not_an_openlogo_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="Annotations"):
        list(read_dataset(str(tmp_path), format="openlogo"))


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared FlickrLogos-27 data not present")
def test_shared_flickrlogos_boxes_match_the_masks() -> None:
    items = list(read_dataset(str(SHARED)))
    ids = (SHARED / "ImageSets/Main/test.txt").read_text().split()
    assert [Path(i.rel_path).stem for i in items] == ids and len(items) == 135
    assert all(item.error is None and item.warnings == [] for item in items)
    assert len({label for item in items for label in item.labels}) == 27
    for item in items:
        stem = Path(item.rel_path).stem
        reference = np.asarray(Image.open(SHARED / "masks" / f"{stem}.png")) > 0
        drawn = np.zeros_like(reference)
        shifted = np.zeros_like(reference)
        for x1, y1, x2, y2 in item.boxes or []:
            drawn[y1:y2, x1:x2] = True
            shifted[y1 + 1 : y2, x1 + 1 : x2] = True
        # The shared masks were drawn as 0-based [xmin, xmax): one pixel short of the VOC
        # 1-based inclusive box on the left and top edge; the boxes cover them entirely.
        assert np.array_equal(shifted, reference), stem
        assert not np.any(reference & ~drawn), stem


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared FlickrLogos-27 data not present")
def test_shared_class_filter_counts() -> None:
    xml_with_adidas = sum(
        "<name>adidas</name>" in p.read_text() for p in (SHARED / "Annotations").glob("*.xml")
    )
    items = list(read_dataset(str(SHARED), classes=["adidas"]))
    assert len(items) == xml_with_adidas == 5
    assert all(set(item.labels) == {"adidas"} for item in items)


def test_s3_reads_the_same_as_local(small_openlogo: Path, s3_server: str) -> None:
    from scheduler.storage.s3 import S3Storage, make_s3_client

    client = make_s3_client(get_settings())
    bucket = f"ds-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    local = LocalStorage(small_openlogo)
    remote = S3Storage(bucket, "datasets/openlogo", client=client)
    for key in local.iter_keys():
        remote.write_bytes(key, local.read_bytes(key))
    for split in (None, "train_test/test_all"):
        here = list(read_dataset(str(small_openlogo), split=split))
        there = list(read_dataset(f"s3://{bucket}/datasets/openlogo", split=split))
        assert [(i.rel_path, i.boxes, i.labels, i.error) for i in there] == [
            (i.rel_path, i.boxes, i.labels, i.error) for i in here
        ]
        assert all(i.input_uri.startswith(f"s3://{bucket}/datasets/openlogo/") for i in there)

"""CSV / JSONL manifests: columns, box syntaxes, confinement, per-row errors, S3."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from inpaint_core.masks.boxes import BoxError, parse_boxes
from scheduler.datasets import read_dataset
from scheduler.errors import DatasetError
from scheduler.settings import get_settings

CSV = """image,mask,boxes,labels,truth
a.jpg,,"[[10, 20, 30, 40]]",adidas;nike,gt/a.png
sub/b.jpg,masks/b.png,,,
c.jpg,,"5 6 15 16; 1,2,3,4",,
d.jpg,,"[-5, 0, 10, 10]",,
e.jpg,,"[30, 10, 20, 20]",,
f.jpg,,,,
../escape.jpg,,1 1 2 2,,
/etc/passwd,,1 1 2 2,,
s3://other-bucket/x.jpg,,1 1 2 2,,
a.jpg,,1 1 2 2,,
g.jpg,,"[[1.2, 2.8, 9.5, 10]]",,
"""


def _lines(items: list) -> dict[str, object]:
    return {item.rel_path: item for item in items}


def test_csv_rows(tmp_path: Path) -> None:
    manifest = tmp_path / "set" / "manifest.csv"
    manifest.parent.mkdir()
    manifest.write_text(CSV)
    items = list(read_dataset(str(manifest)))
    assert len(items) == 11
    a, b, c, d, e, f, esc1, esc2, uri, dup, g = items
    assert a.input_uri == (tmp_path / "set" / "a.jpg").as_uri() and a.rel_path == "a.jpg"
    assert a.boxes == [[10, 20, 30, 40]] and a.labels == ["adidas", "nike"]
    assert a.truth_uri == (tmp_path / "set" / "gt" / "a.png").as_uri() and a.error is None
    assert b.mask_uri == (tmp_path / "set" / "masks" / "b.png").as_uri() and b.boxes is None
    assert c.boxes == [[5, 6, 15, 16], [1, 2, 3, 4]]
    assert d.boxes == [[0, 0, 10, 10]] and "clipped" in d.warnings[0]
    assert "empty or inverted" in (e.error or "")
    assert f.error == "line 7: the row has neither a mask nor boxes"
    for bad in (esc1, esc2, uri):
        assert bad.error is not None and bad.input_uri.startswith(manifest.as_uri() + "#line=")
    assert "'..'" in (esc1.error or "") and "relative" in (esc2.error or "")
    assert dup.error is not None and "duplicate of line 2" in dup.error
    assert g.boxes == [[1, 2, 10, 10]]  # fractional edges rounded outward
    assert len({item.input_uri for item in items}) == len(items)  # one job per row


def test_jsonl_rows(tmp_path: Path) -> None:
    rows = [
        json.dumps({"image": "x.png", "boxes": [[0, 0, 4, 4]], "labels": ["pepsi"]}),
        "",
        "{not json",
        json.dumps(["image", "y.png"]),
        json.dumps({"image": "./z.png", "mask": "z_mask.png", "extra": 1}),
        json.dumps({"image": "w.png", "boxes": "oops"}),
    ]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(rows) + "\n")
    items = list(read_dataset(manifest.as_uri()))
    assert [item.rel_path for item in items] == [
        "x.png",
        "m.jsonl:3",
        "m.jsonl:4",
        "z.png",
        "w.png",
    ]
    x, bad_json, not_object, z, w = items
    assert x.boxes == [[0, 0, 4, 4]] and x.labels == ["pepsi"] and x.error is None
    assert "not valid JSON" in (bad_json.error or "")
    assert "JSON object" in (not_object.error or "")
    assert z.mask_uri == (tmp_path / "z_mask.png").as_uri() and "extra" in z.warnings[0]
    assert w.error is not None and "four numbers" in w.error


def test_csv_without_image_column(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,boxes\na.jpg,1 1 2 2\n")
    with pytest.raises(DatasetError, match="'image' column"):
        list(read_dataset(str(manifest)))


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        list(read_dataset(str(tmp_path / "none.csv")))


@pytest.mark.parametrize(
    ("text", "boxes"),
    [
        ("[[1,2,3,4],[5,6,7,8]]", [[1, 2, 3, 4], [5, 6, 7, 8]]),
        ("[1,2,3,4]", [[1, 2, 3, 4]]),
        ("1 2 3 4", [[1, 2, 3, 4]]),
        ("1,2,3,4;5 6 7 8;", [[1, 2, 3, 4], [5, 6, 7, 8]]),
        ([[0, 0, 1, 1]], [[0, 0, 1, 1]]),
    ],
)
def test_parse_boxes(text: object, boxes: list[list[int]]) -> None:
    assert parse_boxes(text) == boxes


@pytest.mark.parametrize("text", ["", "1 2 3", "[[1,2,3]]", "a b c d", "[[5,5,5,9]]", "[1,2", "[]"])
def test_parse_boxes_errors(text: str) -> None:
    with pytest.raises(BoxError):
        parse_boxes(text)


def test_manifest_on_s3(s3_server: str) -> None:
    from scheduler.storage.s3 import make_s3_client

    client = make_s3_client(get_settings())
    bucket = f"m-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    body = "image,boxes\nimgs/a.jpg,1 1 5 5\n../../x.jpg,1 1 5 5\n"
    client.put_object(Bucket=bucket, Key="sets/one/list.csv", Body=body.encode())
    a, bad = read_dataset(f"s3://{bucket}/sets/one/list.csv")
    assert a.input_uri == f"s3://{bucket}/sets/one/imgs/a.jpg" and a.boxes == [[1, 1, 5, 5]]
    assert a.rel_path == "imgs/a.jpg"
    assert bad.error is not None and bad.input_uri == f"s3://{bucket}/sets/one/list.csv#line=3"


def test_csv_row_with_extra_cells(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("image,boxes\na.jpg,1 1 2 2,surplus\nb.jpg,1 1 2 2\n")
    bad, good = read_dataset(str(manifest))
    assert bad.error == "line 2: the row has more cells than the header"
    assert good.error is None and good.boxes == [[1, 1, 2, 2]]

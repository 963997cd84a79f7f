"""The one VOC parser: corners, sizes, hostile or broken files, and ImageSets lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from inpaint_core.masks.voc import (
    VocAnnotation,
    VocError,
    VocObject,
    parse_voc,
    read_split,
    read_voc,
    split_ids,
    write_voc,
)

XML = (b"<annotation><filename>a.jpg</filename><size><width>100</width><height>80</height>"
       b"</size><object><name>nike</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>10</xmax>"
       b"<ymax>20.4</ymax></bndbox></object></annotation>")


def test_parse_gives_zero_based_end_exclusive_boxes() -> None:
    annotation = parse_voc(XML)
    assert (annotation.filename, annotation.width, annotation.height) == ("a.jpg", 100, 80)
    assert [(o.label, o.box) for o in annotation.objects] == [("nike", [0, 1, 10, 20])]


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    written = VocAnnotation("b.jpg", 64, 48, [VocObject("x", [3, 4, 30, 40])])
    write_voc(tmp_path / "b.xml", written)
    assert read_voc(tmp_path / "b.xml") == written


@pytest.mark.parametrize(("data", "message"), [
    (b"<annotation><object><bndbox/></object></annotation>", "lacks <name>"),
    (b"<annotation><object><name>a</name><bndbox><xmin>x</xmin></bndbox></object>"
     b"</annotation>", "not numbers"),
    (b"<annotation><object><name>a</name><bndbox><xmin>9</xmin><ymin>1</ymin><xmax>2</xmax>"
     b"<ymax>5</ymax></bndbox></object></annotation>", "inverted box"),
    (b"<annotation><size><width>wide</width></size></annotation>", "not a number"),
    (b"<annotation>", "malformed XML"),
    (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "boom">]><annotation>&e;</annotation>',
     "unsafe XML refused"),
])
def test_broken_or_hostile_files_are_voc_errors(data: bytes, message: str) -> None:
    with pytest.raises(VocError, match=message):
        parse_voc(data, source="x.xml")


def test_image_lists_skip_negative_lines_and_repeats(tmp_path: Path) -> None:
    text = "a\nb -1\nc 1\n\na\n  d  \n"
    assert split_ids(text) == ["a", "c", "d"]
    (tmp_path / "ImageSets" / "Main").mkdir(parents=True)
    (tmp_path / "ImageSets" / "Main" / "test.txt").write_text("\ufeff" + text)
    assert read_split(tmp_path) == ["a", "c", "d"]
    with pytest.raises(VocError, match="no image list"):
        read_split(tmp_path, "train")

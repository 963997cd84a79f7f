"""The one box module: parsing, checking, clipping, VOC corners and masks."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_core.masks.boxes import (
    BoxError,
    boxes_to_mask,
    check_boxes,
    clamp_box,
    clip_boxes,
    from_voc,
    parse_box_text,
    parse_boxes,
    to_box,
    to_voc,
)
from inpaint_core.masks.formats import split_list_field


def test_fractional_edges_round_outward_and_bad_boxes_are_refused() -> None:
    assert to_box([1.2, 2.8, 3.1, 4.0]) == [1, 2, 4, 4]
    for bad in ([1, 2, 3], "1 2 3 4", [1, 2, float("nan"), 4], [5, 1, 5, 9], [1, 2, True, 4]):
        with pytest.raises(BoxError):
            to_box(bad)


@pytest.mark.parametrize(("text", "boxes"), [
    ("1 2 3 4", [[1, 2, 3, 4]]),
    ("1,2,3,4; 5 6 7 8", [[1, 2, 3, 4], [5, 6, 7, 8]]),
    ("[[1, 2, 3, 4]]", [[1, 2, 3, 4]]),
    ([1, 2, 3, 4], [[1, 2, 3, 4]]),
])
def test_parse_boxes_reads_every_spelling(text: object, boxes: list[list[int]]) -> None:
    assert parse_boxes(text) == boxes
    assert check_boxes(boxes) == boxes


def test_clipping_notes_every_change() -> None:
    warnings: list[str] = []
    kept = clip_boxes([[-5, 0, 10, 10], [20, 20, 30, 30], [1, 1, 5, 5]], width=15, height=15,
                      warnings=warnings)
    assert kept == [[0, 0, 10, 10], [1, 1, 5, 5]]
    assert len(warnings) == 2 and "dropped" in warnings[1]
    assert clamp_box([-3, 4, 99, 2], width=50, height=40) == (0, 4, 50, 4)  # empty, not None


def test_voc_corners_round_trip() -> None:
    assert from_voc(1, 1, 10, 5) == [0, 0, 10, 5]  # 1-based inclusive -> 0-based exclusive
    assert to_voc([0, 0, 10, 5]) == (1, 1, 10, 5)
    assert from_voc(*to_voc([7, 3, 9, 8])) == [7, 3, 9, 8]


def test_boxes_to_mask_is_end_exclusive_and_clipped() -> None:
    mask = boxes_to_mask([[1, 2, 4, 3], [8, -5, 20, 1]], height=5, width=10)
    assert mask.sum() == 3 * 1 + 2 * 1 and mask[2, 1:4].all() and mask[0, 8:].all()
    assert not boxes_to_mask([], height=3, width=3).any()


def test_command_line_boxes() -> None:
    assert parse_box_text(" 1, 2,3 ,4") == [1, 2, 3, 4]
    for bad, message in (("1,2,3", "four integers"), ("1,2,3.5,4", "four integers"),
                         ("5,5,1,9", "empty or inverted")):
        with pytest.raises(BoxError, match=message):
            parse_box_text(bad)
    assert np.array_equal(boxes_to_mask([parse_box_text("0,0,2,2")], height=2, width=2),
                          np.ones((2, 2), bool))


@pytest.mark.parametrize(("text", "expected"), [
    ('[[1, 2, 3, 4]]', [[1, 2, 3, 4]]),
    (' logo ; brand;; ', ["logo", "brand"]),
    ("  ", []),
])
def test_list_fields_are_json_or_semicolon_separated(text: str, expected: list) -> None:
    assert split_list_field(text) == expected


def test_a_list_field_with_bad_json_says_so() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        split_list_field("[[1, 2")

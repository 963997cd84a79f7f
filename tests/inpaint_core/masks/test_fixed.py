"""Fixed-position boxes and masks: exact placement numbers for every anchor / scaling rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inpaint_core.errors import ImageInputError
from inpaint_core.masks.fixed import (
    fixed_boxes_for,
    fixed_mask_for,
    make_fixed_spec,
    parse_box,
    parse_size,
    spec_from_args,
)


def test_pixel_boxes_apply_as_given_and_are_clipped() -> None:
    spec = make_fixed_spec([[10, 20, 50, 60], [90, 70, 120, 100], [200, 200, 210, 210]])
    assert fixed_boxes_for((100, 80), spec) == [[10, 20, 50, 60], [90, 70, 100, 80]]


def test_bottom_right_anchor_keeps_the_distance_to_the_corner() -> None:
    spec = make_fixed_spec([[150, 80, 190, 95]], reference_size=(200, 100), anchor="bottom-right")
    assert fixed_boxes_for((200, 100), spec) == [[150, 80, 190, 95]]
    assert fixed_boxes_for((400, 300), spec) == [[350, 280, 390, 295]]
    # a smaller image: the box moves left/up with the corner and is clipped at the top-left edge
    assert fixed_boxes_for((100, 50), spec) == [[50, 30, 90, 45]]


def test_centre_anchor() -> None:
    spec = make_fixed_spec([[90, 40, 110, 60]], reference_size=(200, 100), anchor="center")
    assert fixed_boxes_for((300, 200), spec) == [[140, 90, 160, 110]]


def test_scaled_pixel_boxes_follow_each_axis() -> None:
    spec = make_fixed_spec([[150, 80, 190, 95]], reference_size=(200, 100), scale_with_image=True)
    assert fixed_boxes_for((400, 300), spec) == [[300, 240, 380, 285]]
    # anchors do not matter when both axes scale: the relative position is kept
    other = dict(spec, anchor="bottom-right")
    assert fixed_boxes_for((400, 300), other) == [[300, 240, 380, 285]]


def test_keep_aspect_scales_by_the_smaller_ratio_from_the_anchor() -> None:
    spec = make_fixed_spec(
        [[150, 80, 190, 95]],
        reference_size=(200, 100),
        scale_with_image=True,
        keep_aspect=True,
        anchor="bottom-right",
    )
    assert fixed_boxes_for((400, 300), spec) == [[300, 260, 380, 290]]


def test_starts_round_down_and_ends_round_up() -> None:
    spec = make_fixed_spec([[1, 1, 2, 2]], reference_size=(3, 3), scale_with_image=True)
    # 4/3 scale: [1.33, 1.33, 2.67, 2.67] -> covering box
    assert fixed_boxes_for((4, 4), spec) == [[1, 1, 3, 3]]


def test_fraction_boxes() -> None:
    spec = make_fixed_spec([[0.8, 0.9, 1.0, 1.0]], units="fraction")
    assert fixed_boxes_for((1000, 500), spec) == [[800, 450, 1000, 500]]
    assert fixed_boxes_for((333, 333), spec) == [[266, 299, 333, 333]]
    # 0.1 * 1000 is 100.00000000000001 in floats: must not round up to 101
    tenth = make_fixed_spec([[0.1, 0.1, 0.3, 0.3]], units="fraction")
    assert fixed_boxes_for((1000, 1000), tenth) == [[100, 100, 300, 300]]


def test_spec_is_json_round_trippable() -> None:
    spec = make_fixed_spec([[0.1, 0.2, 0.3, 0.4]], units="fraction")
    again = json.loads(json.dumps(spec))
    expected = [[64, 96, 192, 192]]
    assert fixed_boxes_for((640, 480), again) == fixed_boxes_for((640, 480), spec) == expected


def test_bad_specs_are_refused_with_a_reason() -> None:
    with pytest.raises(ImageInputError, match="reference size"):
        make_fixed_spec([[1, 2, 3, 4]], scale_with_image=True)
    with pytest.raises(ImageInputError, match="empty"):
        make_fixed_spec([[10, 10, 5, 20]])
    with pytest.raises(ImageInputError, match="within 0..1"):
        make_fixed_spec([[0.5, 0.5, 1.5, 1.0]], units="fraction")
    with pytest.raises(ImageInputError, match="anchor"):
        make_fixed_spec([[1, 2, 3, 4]], anchor="middle")


def test_mask_scaled_with_the_image_exactly() -> None:
    reference = np.zeros((4, 4), bool)
    reference[1, 2] = True
    spec = make_fixed_spec(scale_with_image=True)
    placed = fixed_mask_for((8, 8), spec, mask=reference)
    assert placed.shape == (8, 8)
    assert np.argwhere(placed).tolist() == [[2, 4], [2, 5], [3, 4], [3, 5]]
    # non-uniform: 3x along x, 1x along y
    wide = fixed_mask_for((12, 4), spec, mask=reference)
    assert np.argwhere(wide).tolist() == [[1, 6], [1, 7], [1, 8]]


def test_mask_unscaled_keeps_its_offset_from_the_anchor() -> None:
    reference = np.zeros((4, 4), bool)
    reference[1, 2] = True
    top_left = fixed_mask_for((6, 5), make_fixed_spec(), mask=reference)
    assert np.argwhere(top_left).tolist() == [[1, 2]]
    corner = fixed_mask_for((6, 5), make_fixed_spec(anchor="bottom-right"), mask=reference)
    assert np.argwhere(corner).tolist() == [[2, 4]]
    # a smaller image crops the mask: (1, 2) falls off the top, (3, 2) lands at (1, 0)
    reference[3, 2] = True
    small = fixed_mask_for((2, 2), make_fixed_spec(anchor="bottom-right"), mask=reference)
    assert np.argwhere(small).tolist() == [[1, 0]]


def test_mask_and_boxes_are_united() -> None:
    reference = np.zeros((10, 10), bool)
    reference[0:2, 0:2] = True
    spec = make_fixed_spec([[5, 5, 8, 9]], reference_size=(10, 10))
    union = fixed_mask_for((10, 10), spec, mask=reference)
    assert int(union.sum()) == 4 + 12
    with pytest.raises(ImageInputError, match="reference_size"):
        fixed_mask_for((10, 10), spec, mask=np.ones((5, 5), bool))


def test_parse_box_and_size() -> None:
    assert parse_box("10,20,30,40") == ([10.0, 20.0, 30.0, 40.0], "px")
    assert parse_box("0.8, 0.9, 1.0, 1.0") == ([0.8, 0.9, 1.0, 1.0], "fraction")
    assert parse_box("0,0,1,1")[1] == "px"  # no decimal point: pixels
    assert parse_size("1920x1080") == (1920, 1080)
    with pytest.raises(ImageInputError):
        parse_box("1,2,3")
    with pytest.raises(ImageInputError):
        parse_size("wide")


def test_spec_from_command_line_values() -> None:
    spec = spec_from_args(["10,20,50,60"], reference_size="200x100", anchor="bottom-right")
    assert spec["units"] == "px" and spec["reference_size"] == [200, 100]
    assert fixed_boxes_for((400, 200), spec) == [[210, 120, 250, 160]]
    # without a reference size, pixel boxes are measured on the fixed mask's size
    assert spec_from_args(["1,1,5,5"], mask_size=(64, 48))["reference_size"] == [64, 48]
    fraction = spec_from_args(["0.8,0.9,1.0,1.0"], scale_with_image=True)
    assert fraction["units"] == "fraction" and fraction["reference_size"] is None


@pytest.mark.parametrize(("texts", "extra", "message"), [
    (["1,1,5,5", "0.1,0.1,0.2,0.2"], {}, "mix pixels and fractions"),
    (["0.8,0.9,1.2,1.0"], {}, "less than one pixel"),
    (["1,1,5,5"], {"anchor": "center"}, "needs the reference size"),
    (["1,1,5,5"], {"reference_size": "64x48", "mask_size": (32, 24)}, "differs from the fixed"),
])
def test_spec_from_bad_command_line_values(texts: list[str], extra: dict, message: str) -> None:
    with pytest.raises(ImageInputError, match=message):
        spec_from_args(texts, **extra)

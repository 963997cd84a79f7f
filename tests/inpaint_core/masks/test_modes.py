"""Mask modes: the one place deciding the region to remove, its margin and keep_background."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_core.errors import ImageInputError
from inpaint_core.masks.modes import (
    BOX_MARGIN,
    PIXEL_MARGIN,
    MaskMode,
    removal_mask,
)
from tests.fixtures.images import logo_scene


def _logo_scene() -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A red emblem (disc + two bars) in a box padded by 5 px: much of the box is background."""
    return logo_scene()


def test_box_and_whole_take_the_box_refine_takes_the_logo() -> None:
    image, shape, box = _logo_scene()
    box_area = (box[2] - box[0]) * (box[3] - box[1])
    plans = {mode: removal_mask(image, boxes=[box], mode=mode, bleed=False) for mode in MaskMode}
    assert plans[MaskMode.box].mask.sum() == plans[MaskMode.whole].mask.sum() == box_area
    refined = plans[MaskMode.refine]
    assert refined.mask[shape].all() and refined.mask.sum() < 0.7 * box_area
    assert (refined.refined_boxes, refined.fallback_boxes) == (1, 0)
    assert [plans[m].margin for m in MaskMode] == [BOX_MARGIN, PIXEL_MARGIN, BOX_MARGIN]
    assert [plans[m].keep_background for m in MaskMode] == [True, True, False]


def test_a_pixel_mask_is_used_as_it_is_and_grows_by_the_pixel_margin() -> None:
    image, _, box = _logo_scene()
    extra = np.zeros(image.shape[:2], bool)
    extra[5:9, 5:9] = True
    plan = removal_mask(image, boxes=[box], pixel_mask=extra, mode="box", bleed=False)
    assert plan.mask[5:9, 5:9].all() and plan.margin == PIXEL_MARGIN
    assert removal_mask(image, pixel_mask=extra).mask.sum() == 16
    assert removal_mask(image, boxes=[box], margin=7).margin == 7
    with pytest.raises(ImageInputError, match="mask is 3x3"):
        removal_mask(image, pixel_mask=np.ones((3, 3), bool))
    with pytest.raises(ImageInputError, match="unknown mask mode"):
        removal_mask(image, boxes=[box], mode="tight")


def test_bleed_growth_only_in_box_modes() -> None:
    image = np.full((60, 80, 3), 128, np.uint8)
    image[20:40, 20:60] = (230, 20, 200)
    image[19, 20:60] = image[40, 20:60] = (180, 70, 165)  # a JPEG-like fringe above and below
    box = [20, 20, 60, 40]
    grown = removal_mask(image, boxes=[box], mode="box").mask
    assert grown.sum() > 20 * 40 and grown[19, 30] and grown[40, 30]
    assert removal_mask(image, boxes=[box], mode="box", bleed=False).mask.sum() == 20 * 40

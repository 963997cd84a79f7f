"""Training holes: 1-30 % of the image, of every kind, reproducible with a seed."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_core.training.holes import (
    MASK_KINDS,
    box_mask,
    fallback_box,
    logo_mask,
    random_mask,
    stroke_mask,
)

SIZES = [(64, 64), (128, 128), (96, 160), (256, 256)]


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("size", SIZES)
def test_random_mask_ratio_is_within_1_to_30_percent(kind: str, size: tuple[int, int]) -> None:
    ratios = []
    for seed in range(25):
        mask = random_mask(*size, np.random.default_rng(seed), kinds=(kind,))
        assert mask.dtype == bool and mask.shape == size
        ratios.append(mask.mean())
    assert 0.01 <= min(ratios) and max(ratios) <= 0.30
    assert len(set(ratios)) > 10  # varied, not the same hole every time


@pytest.mark.parametrize("maker", [stroke_mask, box_mask, logo_mask])
def test_each_kind_produces_a_hole(maker) -> None:  # type: ignore[no-untyped-def]
    for seed in range(30):
        mask = maker(128, 128, np.random.default_rng(seed))
        assert mask.dtype == bool and mask.shape == (128, 128)
        assert 0 < mask.mean() < 1


def test_kinds_differ_in_shape() -> None:
    # boxes are solid rectangles (bounding box fully covered when there is one box); strokes are not
    boxes = box_mask(128, 128, np.random.default_rng(3))
    strokes = stroke_mask(128, 128, np.random.default_rng(3))
    ys, xs = np.nonzero(strokes)
    assert strokes[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].mean() < 0.9
    # one to three rectangles: their vertical and horizontal edges sit on at most 6 columns
    # and 6 rows; a free-form stroke has edges almost everywhere
    for mask, most in ((boxes, 6), (strokes, None)):
        columns = np.flatnonzero(np.diff(mask.astype(np.int8), axis=1).any(axis=0))
        rows = np.flatnonzero(np.diff(mask.astype(np.int8), axis=0).any(axis=1))
        if most is not None:
            assert mask.any() and len(columns) <= most and len(rows) <= most
        else:
            assert len(columns) > 12 and len(rows) > 12


def test_masks_reproducible_with_a_seed() -> None:
    for kind in MASK_KINDS:
        a = random_mask(128, 128, np.random.default_rng(42), kinds=(kind,))
        b = random_mask(128, 128, np.random.default_rng(42), kinds=(kind,))
        c = random_mask(128, 128, np.random.default_rng(43), kinds=(kind,))
        assert np.array_equal(a, b)
        assert not np.array_equal(a, c)


@pytest.mark.parametrize("size", SIZES)
def test_fallback_box_respects_the_ratio(size: tuple[int, int]) -> None:
    for seed in range(50):
        mask = random_mask(*size, np.random.default_rng(seed), tries=0)  # straight to the fallback
        assert 0.01 <= mask.mean() <= 0.30
    assert (
        fallback_box(64, 64, np.random.default_rng(0), min_ratio=0.2, max_ratio=0.25).mean() >= 0.2
    )

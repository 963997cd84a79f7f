"""Training masks (1-30 % holes of every kind, reproducible) and photo crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.training.data import PhotoCrops, list_photos
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


def _write_photos(folder: Path, count: int, size: tuple[int, int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"p{i}.png")


def test_photo_crops_shape_range_and_reproducibility(tmp_path: Path) -> None:
    _write_photos(tmp_path / "a", 2, (80, 60))  # short side below the crop: upscaled
    _write_photos(tmp_path / "b" / "nested", 1, (200, 150))
    assert len(list_photos([tmp_path / "a", tmp_path / "b"])) == 3
    crops = PhotoCrops([tmp_path / "a", tmp_path / "b"], 64, seed=5)
    batch = crops.batch(6)
    assert batch.shape == (6, 64, 64, 3) and batch.dtype == np.uint8
    again = PhotoCrops([tmp_path / "a", tmp_path / "b"], 64, seed=5).batch(6)
    assert np.array_equal(batch, again)
    other = PhotoCrops([tmp_path / "a", tmp_path / "b"], 64, seed=6).batch(6)
    assert not np.array_equal(batch, other)


def test_photo_crops_missing_folder_or_no_images(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        list_photos([tmp_path / "absent"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        list_photos([tmp_path / "empty"])

"""Photo crops for training: every folder searched, short photos upscaled, reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.training.data import PhotoCrops, list_photos


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

"""Plain image folders (format "images"): every image, recursively, only when asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.datasets import read_dataset
from scheduler.errors import DatasetError


def _touch(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rel.encode())


def test_every_image_under_the_folder_sorted_without_annotations(tmp_path: Path) -> None:
    _touch(tmp_path, "b.png", "a.JPG", "sub/deeper/c.webp", "notes.txt", ".cache/d.png",
           "sub/.hidden.png")
    items = list(read_dataset(str(tmp_path), format="images"))
    assert [item.rel_path for item in items] == ["a.JPG", "b.png", "sub/deeper/c.webp"]
    assert items[2].input_uri == (tmp_path / "sub" / "deeper" / "c.webp").as_uri()
    assert all(item.boxes is None and item.mask_uri is None and item.error is None
               for item in items)


def test_auto_reads_plain_images_only_when_told_to(tmp_path: Path) -> None:
    _touch(tmp_path, "x.jpg", "y/z.png")
    with pytest.raises(DatasetError, match="cannot tell the dataset format"):
        list(read_dataset(str(tmp_path)))
    found = [item.rel_path for item in read_dataset(str(tmp_path), images_fallback=True)]
    assert found == ["x.jpg", "y/z.png"]


def test_known_layouts_win_over_the_fallback(tmp_path: Path) -> None:
    _touch(tmp_path, "images/a.jpg", "masks/a.png", "stray.jpg")
    items = list(read_dataset(str(tmp_path), images_fallback=True))
    assert [item.rel_path for item in items] == ["images/a.jpg"]
    assert items[0].mask_uri == (tmp_path / "masks" / "a.png").as_uri()


def test_a_folder_without_images_is_an_error(tmp_path: Path) -> None:
    _touch(tmp_path, "readme.txt")
    with pytest.raises(DatasetError, match="no image files under"):
        list(read_dataset(str(tmp_path), format="images"))

"""Image + mask folders: pairing by stem, missing/ambiguous masks, truth images, layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.datasets import read_dataset
from scheduler.errors import DatasetError

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "flickrlogos27-openlogo"


def _touch(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rel.encode())


def test_pairs_by_stem_not_by_order(tmp_path: Path) -> None:
    # listing order of masks (a_mask, b, c) differs from a naive zip of the images
    _touch(
        tmp_path,
        "images/c.jpg",
        "images/a.jpg",
        "images/b.png",
        "images/sub/d.jpeg",
        "masks/b.png",
        "masks/a_mask.png",
        "masks/c.bmp",
        "masks/sub/d.png",
        "masks/orphan.png",
        "truth/a.png",
    )
    items = {item.rel_path: item for item in read_dataset(str(tmp_path))}
    assert list(items) == ["images/a.jpg", "images/b.png", "images/c.jpg", "images/sub/d.jpeg"]
    expected = {"a": "a_mask.png", "b": "b.png", "c": "c.bmp", "sub/d": "sub/d.png"}
    for rel, item in items.items():
        stem = rel.removeprefix("images/").rsplit(".", 1)[0]
        assert item.error is None and item.boxes is None
        assert item.mask_uri == (tmp_path / "masks" / expected[stem]).as_uri()
    assert items["images/a.jpg"].truth_uri == (tmp_path / "truth" / "a.png").as_uri()
    assert items["images/b.png"].truth_uri is None


def test_missing_and_ambiguous_masks_are_item_errors(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "images/x.jpg",
        "images/y.jpg",
        "images/z.jpg",
        "masks/x.png",
        "masks/y.png",
        "masks/y.bmp",
        "masks/notes.txt",
    )
    items = {item.rel_path: item for item in read_dataset(str(tmp_path), format="masks")}
    assert items["images/x.jpg"].error is None
    assert "several masks match" in (items["images/y.jpg"].error or "")
    assert items["images/z.jpg"].error == "no mask for images/z.jpg (looked for masks/z.*)"


def test_not_a_masks_folder(tmp_path: Path) -> None:
    _touch(tmp_path, "images/a.jpg")
    with pytest.raises(DatasetError, match="images/ \\+ masks/"):
        list(read_dataset(str(tmp_path), format="masks"))
    with pytest.raises(DatasetError, match="cannot tell the dataset format"):
        list(read_dataset(str(tmp_path)))


def test_split_only_for_openlogo(tmp_path: Path) -> None:
    _touch(tmp_path, "images/a.jpg", "masks/a.png")
    with pytest.raises(DatasetError, match="only apply to OpenLogo"):
        read_dataset(str(tmp_path), split="test")


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared FlickrLogos-27 data not present")
def test_openlogo_layout_masks() -> None:
    items = list(read_dataset(str(SHARED), format="masks"))
    assert len(items) == 135 and all(item.error is None for item in items)
    for item in items:
        stem = Path(item.rel_path).stem
        assert item.mask_uri == (SHARED / "masks" / f"{stem}.png").resolve().as_uri()

"""scripts/free_photos.py without apt: WebP images cut out of a resource blob, the tiles of a
large photo, and the reserved packages refused."""

from __future__ import annotations

import io
import random
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from tests.scripts.script_loader import load_script


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("free_photos")


def _webp(size: tuple[int, int], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "WEBP", quality=90)
    return buffer.getvalue()


def test_webp_images_are_cut_out_of_a_resource_blob(script: ModuleType) -> None:
    blob = b"qres\x00" + _webp((300, 200), 0) + b"RIFF\x10\x00\x00\x00WEBPVP8 junk" + \
        b"\x00" * 50 + _webp((64, 48), 1) + b"tail"
    images = script.webp_images(blob)
    assert [image.size for image in images] == [(300, 200), (64, 48)]  # the broken one skipped


def test_a_large_photo_gives_two_closer_tiles(script: ModuleType, tmp_path: Path) -> None:
    photo = Image.fromarray(np.random.default_rng(2).integers(0, 255, (1080, 1920, 3),
                                                              dtype=np.uint8))
    names = script.write_photo(tmp_path, "big", photo, random.Random(0))
    assert names == ["big.jpg", "big_t0.jpg", "big_t1.jpg"]
    assert Image.open(tmp_path / "big.jpg").size == (512, 288)
    assert Image.open(tmp_path / "big_t0.jpg").size == (512, 384)
    small = Image.new("RGB", (600, 200))  # 512 x 170 after the resize: too thin to train on
    assert script.write_photo(tmp_path, "thin", small, random.Random(0)) == []


def test_reserved_evaluation_packages_are_refused(script: ModuleType, tmp_path: Path) -> None:
    for name in ("mate-backgrounds", "lomiri-wallpapers-20.04", "plasma-workspace-wallpapers"):
        with pytest.raises(SystemExit, match="reserved"):
            script.fetch_package(name, tmp_path)


def test_wallpapers_are_each_theme_s_own_without_logo_or_lock_screen(
        script: ModuleType, tmp_path: Path) -> None:
    themes = tmp_path / "usr/share/desktop-base"
    for folder in ("joy-theme/wallpaper", "joy-theme/lockscreen", "lines-theme/wallpaper",
                   "lines-theme/wallpaper-withlogo"):
        images = themes / folder / "contents/images"
        images.mkdir(parents=True)
        for size in ("1920x1080", "1280x1024"):
            (images / f"{size}.svg").write_text("<svg/>")
    picked = script.wallpaper_files("desktop-base", tmp_path)
    assert [p.relative_to(themes).as_posix() for p in picked] == [
        "joy-theme/wallpaper/contents/images/1920x1080.svg",
        "lines-theme/wallpaper/contents/images/1920x1080.svg"]
    gnome = tmp_path / "g" / "usr/share/backgrounds/gnome"
    gnome.mkdir(parents=True)
    for name in ("wood-d.webp", "blobs-l.svg", "wood.xml"):
        (gnome / name).write_text("")
    assert [p.name for p in script.wallpaper_files("gnome-backgrounds", tmp_path / "g")] == [
        "blobs-l.svg", "wood-d.webp"]
    assert not any(name.startswith(script.RESERVED) for name in script.WALLPAPERS)

"""The find-logo benchmark generator and the review sheet: boxes, roles, shares, files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_core.evaluation.findlogo_bench import BenchSpec, make_findlogo_benchmark
from inpaint_core.evaluation.findlogo_shapes import (
    distractor_shapes,
    load_logo_rgba,
    target_shapes,
)
from inpaint_core.masks.findlogo_sheet import SheetEntry, make_crop, write_sheet
from inpaint_core.masks.voc import read_voc


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for index in range(3):  # flat grey photos: every changed pixel belongs to a paste
        grey = np.full((240, 320, 3), 90 + 40 * index, np.uint8)
        Image.fromarray(grey).save(folder / f"p{index}.png")
    noise = rng.integers(0, 255, (10, 10, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "tiny.png")  # upscaled like any other photo
    return folder


def test_drawn_shapes_are_one_colour_rgba_256_wide() -> None:
    for name, rgba in {**target_shapes(), **distractor_shapes()}.items():
        assert rgba.dtype == np.uint8 and rgba.shape[1] == 256 and rgba.shape[2] == 4, name
        opaque = rgba[rgba[:, :, 3] > 0, :3]
        assert len(np.unique(opaque, axis=0)) == 1, name
        assert rgba[0, :, 3].any() and rgba[:, 0, 3].any(), f"{name} is not cropped"


def test_benchmark_boxes_cover_exactly_the_changed_pixels(photos: Path, tmp_path: Path) -> None:
    (tmp_path / "logos").mkdir()
    ring = target_shapes()["ring"]
    Image.fromarray(ring[:, :, :], "RGBA").save(tmp_path / "logos" / "acme.png")
    spec = BenchSpec(count=24, seed=3, side=512, empty_share=0.25, distractor_share=0.5)
    out = tmp_path / "bench"
    manifest = make_findlogo_benchmark(photos, out, logos=tmp_path / "logos", spec=spec)
    assert manifest["targets"] == ["acme", "letter", "ring", "swoosh", "wordmark"]
    assert sorted(p.name for p in (out / "logos").iterdir())[0] == "acme.png"
    roles = [[p["role"] for p in item["pastes"]] for item in manifest["images"]]
    assert any("target" not in r for r in roles) and any("distractor" in r for r in roles)
    for item in manifest["images"]:
        image = np.asarray(Image.open(out / "JPEGImages" / f"{item['id']}.jpg")).astype(int)
        assert max(image.shape[:2]) == 512
        voc = read_voc(out / "Annotations" / f"{item['id']}.xml")
        assert [o.box for o in voc.objects] == [p["box"] for p in item["pastes"]]
        for paste in item["pastes"]:
            x1, y1, x2, y2 = paste["box"]
            assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]
            assert 0.04 <= paste["width_share"] <= 0.25 and 0.6 <= paste["opacity"] <= 1.0
            assert paste["angle"] == 0 or 5 <= abs(paste["angle"]) <= 30
        boxes = [p["box"] for p in item["pastes"]]
        if item["source"].startswith("p"):  # a flat photo: changed pixels lie in the boxes
            grey = 90 + 40 * int(item["source"][1])
            outside = np.ones(image.shape[:2], bool)
            for x1, y1, x2, y2 in boxes:
                assert np.abs(image[y1:y2, x1:x2] - grey).max() > 20
                outside[max(0, y1 - 16) : y2 + 16, max(0, x1 - 16) : x2 + 16] = False  # JPEG MCUs
            assert np.abs(image[outside] - grey).max() <= 6
        for i, a in enumerate(boxes):  # pastes never overlap
            assert all(a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
                       for b in boxes[i + 1 :])
    again = make_findlogo_benchmark(photos, tmp_path / "again", logos=tmp_path / "logos",
                                    spec=spec)
    assert again["images"] == manifest["images"]  # same seed, same benchmark
    assert json.loads((out / "findlogo.json").read_text())["spec"]["count"] == 24


def test_svg_logos_render_and_name_clashes_are_refused(photos: Path, tmp_path: Path) -> None:
    svg = tmp_path / "mark.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 12">'
                   '<path fill="#ff0000" d="M0 0h24v12H0z"/></svg>')
    rgba = load_logo_rgba(svg, width=96)
    assert rgba.shape == (48, 96, 4) and tuple(rgba[20, 40]) == (255, 0, 0, 255)
    (tmp_path / "clash").mkdir()
    Image.fromarray(target_shapes()["ring"], "RGBA").save(tmp_path / "clash" / "ring.png")
    from inpaint_core.errors import ImageInputError

    with pytest.raises(ImageInputError, match="named like a drawn shape"):
        make_findlogo_benchmark(photos, tmp_path / "b", logos=tmp_path / "clash",
                                spec=BenchSpec(count=1))


def test_review_sheet_lists_every_detection_least_sure_first(tmp_path: Path) -> None:
    rgb = np.zeros((200, 300, 3), np.uint8)
    crop = make_crop(rgb, (100, 50, 160, 80), side=120)  # 60 x 30 + context: enlarged
    assert max(crop.shape[:2]) == 120 and crop[..., 1].max() == 255  # the cyan outline
    big = make_crop(np.zeros((1000, 1000, 3), np.uint8), (100, 100, 700, 400), side=120)
    assert big.shape[:2] == (66, 120)  # 1000 x 550 after the context is clipped to the image
    entries = [SheetEntry(f"img{i}", "acme", c, (100, 50, 160, 80), crop)
               for i, c in enumerate([0.9, 0.55, 0.7] * 30)]
    written = write_sheet(entries, tmp_path / "review")
    assert [p.name for p in written] == ["index.html", "sheet-1.png", "sheet-2.png"]
    page = (tmp_path / "review" / "index.html").read_text()
    assert page.count("<figure>") == 90 and page.index("0.55") < page.index("0.90")
    assert len(list((tmp_path / "review" / "crops").iterdir())) == 90
    assert Image.open(written[1]).size == (8 * 176, 8 * (176 + 30))

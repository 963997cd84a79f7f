"""find-logo and refine-masks through the real CLI: OpenLogo layout, VOC boxes, links, errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from defusedxml import ElementTree
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from unbrand.cli.app import make_app


def _logo() -> np.ndarray:
    canvas = Image.new("RGBA", (150, 52), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((2, 2, 48, 48), fill=(220, 40, 40, 255))
    draw.text((58, 4), "Zeta", font=ImageFont.load_default(size=38), fill=(20, 20, 20, 255))
    return np.asarray(canvas)


def _scene(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((240, 320, 3), np.float32) + rng.integers(60, 200, 3).astype(np.float32)
    for _ in range(25):
        colour = [float(v) for v in rng.integers(0, 256, 3)]
        centre = (int(rng.integers(0, 320)), int(rng.integers(0, 240)))
        cv2.circle(image, centre, int(rng.integers(4, 30)), colour, -1)
    image += rng.normal(0, 4, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _paste(
    image: np.ndarray, x: int, y: int, scale: float, opacity: float
) -> tuple[np.ndarray, list[int]]:
    logo = _logo()
    size = (round(logo.shape[1] * scale), round(logo.shape[0] * scale))
    logo = cv2.resize(logo, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    alpha = logo[:, :, 3:4].astype(np.float32) / 255.0 * opacity
    out = image.astype(np.float32)
    region = out[y : y + size[1], x : x + size[0]]
    region[:] = region * (1 - alpha) + logo[:, :, :3] * alpha
    rows, cols = np.nonzero(logo[:, :, 3])
    box = [
        x + int(cols.min()),
        y + int(rows.min()),
        x + int(cols.max()) + 1,
        y + int(rows.max()) + 1,
    ]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), box


def _iou(a, b) -> float:
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _voc_boxes(path: Path) -> tuple[tuple[int, int], list[tuple[str, list[int]]]]:
    root = ElementTree.parse(path).getroot()
    size = (int(root.findtext("size/width")), int(root.findtext("size/height")))
    boxes = []
    for obj in root.iter("object"):
        xmin, ymin, xmax, ymax = (
            int(obj.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")
        )
        boxes.append((obj.findtext("name"), [xmin - 1, ymin - 1, xmax, ymax]))  # VOC -> 0-based
    return size, boxes


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Path, Path, dict[str, list[int]]]:
    root = tmp_path_factory.mktemp("find")
    source = root / "photos"
    (source / "sub").mkdir(parents=True)
    Image.fromarray(_logo(), "RGBA").save(root / "zeta.png")
    first, first_box = _paste(_scene(1), 40, 60, 0.6, 1.0)
    second, second_box = _paste(_scene(2), 120, 100, 1.2, 0.6)
    Image.fromarray(first).save(source / "a.jpg", quality=95)
    Image.fromarray(second).save(source / "sub" / "b.png")
    Image.fromarray(_scene(3)).save(source / "clean.jpg", quality=95)
    return source, root / "zeta.png", {"a": first_box, "sub__b": second_box}


def test_find_logo_writes_an_openlogo_dataset(dataset, tmp_path) -> None:
    source, logo, truth = dataset
    out = tmp_path / "found"
    # b's logo is 60 % opaque over circles of its own colour: confidence ~0.2, under the default
    # 0.5, so this run asks for less (and the review sheet shows it)
    result = CliRunner().invoke(
        make_app(), ["find-logo", str(source), "--logo", str(logo), "--out", str(out),
                     "--min-confidence", "0.15"]
    )
    assert result.exit_code == 0, result.output
    assert "3 images, logo found in 2 (2 instances)" in result.output
    assert (out / "ImageSets" / "Main" / "test.txt").read_text().split() == ["a", "sub__b"]
    for image_id, box in truth.items():
        size, boxes = _voc_boxes(out / "Annotations" / f"{image_id}.xml")
        assert size == (320, 240)
        assert len(boxes) == 1 and boxes[0][0] == "zeta"
        assert _iou(boxes[0][1], box) > 0.7
    assert (out / "JPEGImages" / "a.jpg").stat().st_ino == (
        source / "a.jpg"
    ).stat().st_ino  # linked
    assert (out / "JPEGImages" / "sub__b.png").is_file()
    assert not (out / "Annotations" / "clean.xml").exists()
    report = json.loads((out / "detections.json").read_text())
    assert report["detections"]["clean"] == [] and report["failed"] == []
    assert report["detections"]["a"][0]["angle"] == 0.0  # upright search by default
    confidences = [ElementTree.parse(out / "Annotations" / f"{i}.xml").getroot()
                   .findtext("object/confidence") for i in truth]
    assert [float(c) for c in confidences] == [
        report["detections"][i][0]["confidence"] for i in truth]
    assert all(float(c) >= 0.15 for c in confidences) and float(confidences[0]) > 0.7
    assert set(report["calibration"]) == {"zeta/small", "zeta/large"}  # 3 photos: the prior
    page = (out / "review" / "index.html").read_text()
    assert page.count("<figure>") == 2 and "zeta" in page and "sub__b" in page
    assert (out / "review" / "sheet-1.png").is_file()


def test_include_empty_copy_and_unreadable_files(dataset, tmp_path) -> None:
    source, logo, _ = dataset
    broken = tmp_path / "with-broken"
    broken.mkdir()
    (broken / "broken.jpg").write_bytes(b"not a jpeg")
    Image.fromarray(_scene(4)).save(broken / "plain.jpg")
    out = tmp_path / "found"
    args = [
        "find-logo",
        str(broken),
        "--logo",
        str(logo),
        "--out",
        str(out),
        "--include-empty",
        "--copy",
    ]
    result = CliRunner().invoke(make_app(), args)
    assert result.exit_code == 0, result.output
    assert "2 images, logo found in 0 (0 instances), 1 unreadable" in result.output
    assert (out / "ImageSets" / "Main" / "test.txt").read_text().split() == ["plain"]
    size, boxes = _voc_boxes(out / "Annotations" / "plain.xml")
    assert size == (320, 240) and boxes == []
    assert (out / "JPEGImages" / "plain.jpg").stat().st_ino != (broken / "plain.jpg").stat().st_ino
    report = json.loads((out / "detections.json").read_text())
    assert report["failed"][0]["image"].endswith("broken.jpg")
    assert not (out / "review").exists()  # nothing found, nothing to review


def test_min_confidence_one_finds_nothing_and_no_sheet_skips_the_review(dataset, tmp_path
                                                                        ) -> None:
    source, logo, _ = dataset
    out = tmp_path / "strict"
    args = ["find-logo", str(source), "--logo", str(logo), "--out", str(out),
            "--min-confidence", "1.0", "--no-sheet"]
    result = CliRunner().invoke(make_app(), args)
    assert result.exit_code == 0, result.output
    assert "logo found in 0 (0 instances)" in result.output
    assert not (out / "review").exists()


def test_bad_arguments_exit_non_zero(dataset, tmp_path) -> None:
    source, logo, _ = dataset
    cli = make_app()
    (tmp_path / "bad.png").write_bytes(b"nope")
    bad_logo = CliRunner().invoke(
        cli,
        [
            "find-logo",
            str(source),
            "--logo",
            str(tmp_path / "bad.png"),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert bad_logo.exit_code == 2 and "cannot read logo" in bad_logo.output
    (tmp_path / "empty").mkdir()
    empty = CliRunner().invoke(
        cli,
        ["find-logo", str(tmp_path / "empty"), "--logo", str(logo), "--out", str(tmp_path / "o")],
    )
    assert empty.exit_code == 2 and "no images found" in empty.output
    sizes = CliRunner().invoke(cli, ["find-logo", str(source), "--logo", str(logo), "--out",
                                     str(tmp_path / "o"), "--min-size", "0.5", "--max-size",
                                     "0.2"])
    assert sizes.exit_code == 2 and "--min-size" in sizes.output


def test_refine_masks_writes_tight_masks(dataset, tmp_path) -> None:
    source, logo, truth = dataset
    found = tmp_path / "found"
    cli = make_app()
    assert (
        CliRunner()
        .invoke(cli, ["find-logo", str(source), "--logo", str(logo), "--out", str(found),
                      "--min-confidence", "0.15"])
        .exit_code
        == 0
    )
    out = tmp_path / "refined"
    result = CliRunner().invoke(
        cli, ["refine-masks", str(found), "--out", str(out), "--margin", "2"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "refine.json").read_text())
    assert sorted(report["boxes"]) == ["a", "sub__b"] and report["margin"] == 2
    for image_id in ("a", "sub__b"):
        mask = np.asarray(Image.open(out / "masks" / f"{image_id}.png")) > 0
        assert mask.shape == (240, 320)
        x1, y1, x2, y2 = report["boxes"][image_id][0]["box"]
        assert not mask[:y1].any() and not mask[y2:].any()  # never outside the box
        info = report["boxes"][image_id][0]
        expected = info["area_ratio"] * (x2 - x1) * (y2 - y1)
        assert int(mask.sum()) == pytest.approx(expected, rel=0.01)
    assert "2 images" in result.output


def test_find_logo_learned_without_its_verifier_weights_stops_with_a_clear_message(
        dataset, tmp_path, monkeypatch) -> None:
    from inpaint_core.masks import findlogo_net

    source, logo, _ = dataset
    monkeypatch.setattr(findlogo_net, "weights_path", lambda: tmp_path / "gone.safetensors")
    findlogo_net.shipped_verifier.cache_clear()
    try:
        result = CliRunner().invoke(make_app(), ["find-logo", str(source), "--logo", str(logo),
                                                 "--out", str(tmp_path / "found"), "--learned"])
    finally:
        findlogo_net.shipped_verifier.cache_clear()
    assert result.exit_code == 2
    assert "verifier weights are missing" in result.output
    assert not (tmp_path / "found" / "detections.json").exists()

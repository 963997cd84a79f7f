"""The synthetic logo benchmark: files, VOC XML, masks inside boxes, ground truth, seeds."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from defusedxml import ElementTree as SafeET
from PIL import Image, ImageDraw

from inpaint_core.errors import ImageInputError
from inpaint_core.evaluation.synth import BOX_MARGIN, composite_logos, make_benchmark
from inpaint_core.masks.boxes import boxes_to_mask
from inpaint_core.masks.voc import read_voc
from inpaint_core.training.logos import (
    BADGE_STYLES,
    badge_logo,
    builtin_logo,
    load_logo_file,
    load_logo_folder,
)

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50">'
    '<path d="M0 25 Q25 0 50 25 T100 25 L100 50 L0 50 Z" fill="#0a8"/></svg>'
)


def _photo(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth photo-like image (gradients and a little noise) that JPEG compresses well."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [xx / width * 200 + 30, yy / height * 180 + 40, (xx + yy) / (width + height) * 150 + 60], -1
    )
    return np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate([(320, 240), (240, 320), (300, 300)]):
        Image.fromarray(_photo(rng, w, h)).save(folder / f"photo{i}.jpg", quality=92)
    return folder


@pytest.fixture
def user_logos(tmp_path: Path) -> Path:
    folder = tmp_path / "logos"
    folder.mkdir()
    png = Image.new("RGBA", (120, 60), (0, 0, 0, 0))
    ImageDraw.Draw(png).ellipse((0, 0, 59, 59), fill=(200, 20, 20, 255))
    png.save(folder / "acme.png")
    (folder / "wave.svg").write_text(SVG)
    (folder / "notes.txt").write_text("ignored")
    return folder


def test_benchmark_files_xml_masks_and_ground_truth(
    photos: Path, user_logos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench"
    manifest = make_benchmark(photos, out, logos=user_logos, count=3, seed=7)
    ids = (out / "ImageSets" / "Main" / "test.txt").read_text().split()
    assert (
        ids
        == ["synth_00000", "synth_00001", "synth_00002"]
        == [item["id"] for item in manifest["images"]]
    )
    assert json.loads((out / "benchmark.json").read_text())["seed"] == 7
    for image_id in ids:
        image = np.asarray(Image.open(out / "JPEGImages" / f"{image_id}.jpg"))
        truth = np.asarray(Image.open(out / "GroundTruth" / f"{image_id}.png"))
        mask = np.asarray(Image.open(out / "Masks" / f"{image_id}.png"))
        assert image.shape == truth.shape and mask.shape == image.shape[:2]
        assert set(np.unique(mask)) <= {0, 255} and mask.any()
        # VOC XML: well formed, size equal to the image, 1-based inclusive boxes inside it
        root = SafeET.parse(str(out / "Annotations" / f"{image_id}.xml")).getroot()
        assert root.findtext("filename") == f"{image_id}.jpg"
        assert int(root.findtext("size/width")) == image.shape[1]
        assert int(root.findtext("size/height")) == image.shape[0]
        assert int(root.findtext("size/depth")) == 3
        for node in root.iter("bndbox"):
            xmin, ymin, xmax, ymax = (
                int(node.findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax")
            )
            assert 1 <= xmin <= xmax <= image.shape[1] and 1 <= ymin <= ymax <= image.shape[0]
        annotation = read_voc(out / "Annotations" / f"{image_id}.xml")
        boxes = boxes_to_mask(
            [o.box for o in annotation.objects], height=image.shape[0], width=image.shape[1]
        )
        assert not np.any((mask > 0) & ~boxes)  # every logo pixel lies inside a box
        ratio = boxes.mean()
        assert 0.005 <= ratio <= 0.105  # 1-10 % (less where two logos overlap)
        # the input differs from the ground truth only at the logo (plus JPEG noise near it)
        diff = np.abs(image.astype(int) - truth.astype(int)).max(axis=-1)
        near = cv2.dilate((mask > 0).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=3) > 0
        assert diff[~near].mean() < 2.0 and np.percentile(diff[~near], 99.9) < 20
        assert diff[mask > 0].mean() > 3 * diff[~near].mean()


def test_benchmark_jpeg_quality_is_95(photos: Path, tmp_path: Path) -> None:
    make_benchmark(photos, tmp_path / "b", count=1, seed=1)
    written = Image.open(tmp_path / "b" / "JPEGImages" / "synth_00000.jpg")
    reference = io.BytesIO()
    Image.new("RGB", (16, 16)).save(reference, "JPEG", quality=95)
    assert written.quantization == Image.open(reference).quantization


def test_benchmark_reproducible_and_user_logos_used(
    photos: Path, user_logos: Path, tmp_path: Path
) -> None:
    a = make_benchmark(photos, tmp_path / "a", logos=user_logos, count=8, seed=3)
    b = make_benchmark(photos, tmp_path / "b", logos=user_logos, count=8, seed=3)
    c = make_benchmark(photos, tmp_path / "c", logos=user_logos, count=8, seed=4)
    assert a["images"] == b["images"] and a["images"] != c["images"]
    for image_id in ("synth_00000", "synth_00007"):
        assert (tmp_path / "a" / "Masks" / f"{image_id}.png").read_bytes() == (
            tmp_path / "b" / "Masks" / f"{image_id}.png"
        ).read_bytes()
    labels = {logo["label"] for item in a["images"] for logo in item["logos"]}
    assert {"acme", "wave"} & labels  # the user's PNG or SVG was pasted
    assert any(label.startswith("synthetic_") for label in labels)
    assert len({item["source"] for item in a["images"]}) == 3  # photos reused beyond their count


def test_composite_changes_exactly_the_mask_and_respects_the_ratio() -> None:
    rng = np.random.default_rng(0)
    photo = _photo(rng, 256, 192)
    ratios, opacities, angles = [], set(), set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        logos = [builtin_logo(rng) for _ in range(1 + seed % 2)]
        comp = composite_logos(photo, logos, rng)
        changed = np.any(comp.image != photo, axis=-1)
        assert not np.any(changed & ~comp.mask)  # nothing outside the mask changed
        assert changed.sum() > 0.5 * comp.mask.sum()
        box = boxes_to_mask([p.box for p in comp.placements], height=192, width=256)
        assert not np.any(comp.mask & ~box)
        ratios.append(box.mean())
        opacities |= {p.opacity for p in comp.placements}
        angles |= {p.angle for p in comp.placements}
        for p in (
            comp.placements
        ):  # each box is the logo's tight box grown by the margin (unless clipped)
            x1, y1, x2, y2 = p.box
            inner = comp.mask[y1:y2, x1:x2]
            if x1 > 0 and y1 > 0 and x2 < 256 and y2 < 192 and len(comp.placements) == 1:
                assert not inner[:BOX_MARGIN].any() and inner[BOX_MARGIN].any()
    assert 0.009 <= min(ratios) and max(ratios) <= 0.101  # boxes with their margin cover 1-10 %
    assert 0.04 < float(np.mean(ratios)) < 0.07  # spread over the range, not piled at one end
    assert len(opacities) > 5 and 1.0 in opacities and min(opacities) < 0.6
    assert len(angles) > 5 and 0.0 in angles


def test_builtin_logos_vary() -> None:
    kinds = {builtin_logo(np.random.default_rng(s)).kind for s in range(40)}
    assert kinds == {"text", "emblem", "emblem+text", "badge"}
    logo = builtin_logo(np.random.default_rng(1))
    assert (
        logo.rgba.dtype == np.uint8 and logo.rgba.shape[2] == 4 and logo.rgba[..., 3].max() == 255
    )


def test_logo_files(user_logos: Path, tmp_path: Path) -> None:
    svg = load_logo_file(user_logos / "wave.svg")
    assert (
        svg.kind == "file" and svg.label == "wave" and svg.rgba.shape[1] == 512
    )  # rendered at 512 px wide
    assert svg.rgba[..., 3].min() == 0 and svg.rgba[..., 3].max() == 255
    assert [logo.label for logo in load_logo_folder(user_logos)] == ["acme", "wave"]
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(tmp_path / "empty.png")
    with pytest.raises(ImageInputError, match="fully transparent"):
        load_logo_file(tmp_path / "empty.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ImageInputError, match="cannot read logo"):
        load_logo_file(tmp_path / "bad.png")
    with pytest.raises(ImageInputError, match="not found"):
        load_logo_folder(tmp_path / "absent")
    (tmp_path / "none").mkdir()
    with pytest.raises(ImageInputError, match="no .png"):
        load_logo_folder(tmp_path / "none")


def test_default_styles_give_the_images_of_before(photos: Path, tmp_path: Path) -> None:
    # boxes the generator wrote before the badge styles existed (same photos, seed 11): the
    # default set draws its random numbers exactly as it did
    manifest = make_benchmark(photos, tmp_path / "b", count=4, seed=11)
    assert [[logo["box"] for logo in item["logos"]] for item in manifest["images"]] == [
        [[72, 276, 204, 317]],
        [[264, 137, 302, 159]],
        [[71, 41, 117, 87], [197, 29, 299, 68]],
        [[15, 133, 95, 158], [55, 179, 125, 209]],
    ]
    assert manifest["styles"] == "default"


def test_badge_styles(photos: Path, tmp_path: Path) -> None:
    logos = [badge_logo(np.random.default_rng(s)) for s in range(30)]
    assert {logo.kind for logo in logos} == set(BADGE_STYLES)
    for logo in logos:
        alpha = logo.rgba[..., 3]
        if logo.kind == "plate":  # opaque: the box's inside hides the photo entirely
            assert logo.opacity == 1.0 and (alpha[alpha.shape[0] // 2] == 255).mean() > 0.9
        elif logo.kind == "sticker":  # opaque body, a soft translucent shadow around it
            assert logo.opacity == 1.0 and ((alpha > 0) & (alpha < 200)).any()
        else:  # translucent lettering with an outline of the opposite tone
            assert 0.3 <= logo.opacity <= 0.65
            tones = logo.rgba[alpha == 255, :3].mean(axis=1)
            assert (tones > 200).any() and (tones < 60).any()
    with pytest.raises(ValueError, match="unknown badge style"):
        badge_logo(np.random.default_rng(0), "banner")
    manifest = make_benchmark(photos, tmp_path / "b", count=6, seed=2, styles="badges")
    placed = [logo for item in manifest["images"] for logo in item["logos"]]
    assert manifest["styles"] == "badges"
    assert {p["label"] for p in placed} <= {f"badge_{s}" for s in BADGE_STYLES}
    for p in placed:  # a watermark is pasted at its own opacity, plates and stickers opaque
        assert (p["opacity"] == 1.0) == (p["kind"] != "watermark")
    with pytest.raises(ValueError, match="unknown styles"):
        make_benchmark(photos, tmp_path / "c", count=1, styles="fancy")


def test_box_slack_grows_boxes_like_a_hand_drawn_annotation(photos: Path, tmp_path: Path) -> None:
    tight = make_benchmark(photos, tmp_path / "tight", count=6, seed=11)
    loose = make_benchmark(photos, tmp_path / "loose", count=6, seed=11, box_slack=0.3)
    assert loose["box_slack"] == 0.3 and tight["box_slack"] == 0.0
    grown = 0
    for item in loose["images"]:
        mask = np.asarray(Image.open(tmp_path / "loose" / "Masks" / f"{item['id']}.png")) > 0
        for logo in item["logos"]:
            x1, y1, x2, y2 = logo["box"]
            inside = mask[y1:y2, x1:x2]
            rows, cols = np.nonzero(inside)
            # the logo stays inside its box; each side leaves at most 2 px + 30 % of its extent
            extent_x, extent_y = cols.max() - cols.min() + 1, rows.max() - rows.min() + 1
            for gap, extent, clipped in (
                (cols.min(), extent_x, x1 == 0), (inside.shape[1] - 1 - cols.max(), extent_x,
                                                  x2 == item["width"]),
                (rows.min(), extent_y, y1 == 0), (inside.shape[0] - 1 - rows.max(), extent_y,
                                                  y2 == item["height"]),
            ):
                assert gap <= BOX_MARGIN + round(0.3 * extent) + 1
                grown += gap > BOX_MARGIN + 2 and not clipped
    assert grown >= 6  # most sides are looser than the 2-px margin of a tight box
    with pytest.raises(ValueError, match="box_slack"):
        make_benchmark(photos, tmp_path / "bad", count=1, box_slack=1.5)

"""Box refinement: IoU against a known logo shape, fallback on flat or logo-free boxes, modes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from inpaint_core.errors import ImageInputError
from inpaint_core.masks.modes import removal_mask
from inpaint_core.masks.refine import refine_mask


def _background(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient with sensor-like noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.dstack([60 + 80 * xs / width, 110 + 40 * ys / height, 150 - 50 * xs / width])
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def _logo_alpha(height: int, width: int, left: int, top: int, size: int) -> np.ndarray:
    """Alpha (0-1) of a circle emblem followed by the word ACME, anti-aliased."""
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((left, top, left + size, top + size), fill=255)
    font = ImageFont.load_default(size=size)
    draw.text((left + int(size * 1.3), top - size // 6), "ACME", fill=255, font=font)
    return np.asarray(canvas, np.float32) / 255.0


def _composite(
    background: np.ndarray, alpha: np.ndarray, colour, opacity: float = 1.0
) -> np.ndarray:
    weight = (alpha * opacity)[..., None]
    out = background.astype(np.float32) * (1 - weight) + np.float32(colour) * weight
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _box_of(shape: np.ndarray, pad: int) -> list[int]:
    rows, cols = np.nonzero(shape)
    return [
        int(cols.min()) - pad,
        int(rows.min()) - pad,
        int(cols.max()) + 1 + pad,
        int(rows.max()) + 1 + pad,
    ]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.fixture(scope="module")
def logo_scene() -> tuple[np.ndarray, np.ndarray, list[int]]:
    alpha = _logo_alpha(240, 360, left=70, top=90, size=40)
    image = _composite(_background(240, 360), alpha, (205, 30, 45))
    shape = alpha > 0
    return image, shape, _box_of(shape, pad=6)


def test_refine_finds_the_logo_shape(logo_scene) -> None:
    image, shape, box = logo_scene
    tight, infos = refine_mask(image, [box], margin=0)
    assert infos[0]["fell_back"] is False
    assert infos[0]["method"] == "grabcut"
    assert _iou(tight, shape) > 0.8
    box_area = (box[2] - box[0]) * (box[3] - box[1])
    assert tight.sum() < 0.7 * box_area  # far tighter than the box
    assert 0.3 <= infos[0]["confidence"] <= 1.0


def test_margin_covers_the_whole_logo_and_stays_in_the_box(logo_scene) -> None:
    image, shape, box = logo_scene
    grown, infos = refine_mask(image, [box], margin=3)
    assert (grown & shape).sum() / shape.sum() > 0.99
    inside = np.zeros_like(grown)
    inside[box[1] : box[3], box[0] : box[2]] = True
    assert not (grown & ~inside).any()
    assert infos[0]["area_ratio"] == pytest.approx(grown.sum() / inside.sum(), abs=1e-3)


def test_colour_method_also_separates(logo_scene) -> None:
    image, shape, box = logo_scene
    tight, infos = refine_mask(image, [box], margin=0, method="colour")
    assert infos[0]["method"] == "colour"
    assert _iou(tight, shape) > 0.8


def test_semi_transparent_logo_on_noise() -> None:
    alpha = _logo_alpha(240, 360, left=60, top=80, size=44)
    image = _composite(_background(240, 360, seed=3), alpha, (250, 250, 250), opacity=0.6)
    shape = alpha > 0
    tight, infos = refine_mask(image, [_box_of(shape, pad=5)], margin=0)
    assert infos[0]["fell_back"] is False
    assert _iou(tight, shape) > 0.75


def test_flat_box_falls_back_to_the_whole_box() -> None:
    image = np.full((120, 160, 3), (90, 140, 200), np.uint8)
    box = [40, 30, 120, 90]
    mask, infos = refine_mask(image, [box])
    assert infos[0]["fell_back"] is True
    assert infos[0]["method"] == "box"
    assert int(mask.sum()) == 80 * 60
    assert mask[30:90, 40:120].all()


def test_logo_free_noise_falls_back() -> None:
    image = _background(200, 260, seed=5)
    mask, infos = refine_mask(image, [[60, 50, 200, 150]])
    assert infos[0]["fell_back"] is True
    assert int(mask.sum()) == 140 * 100


def test_tiny_and_outside_boxes(logo_scene) -> None:
    image, _, _ = logo_scene
    mask, infos = refine_mask(image, [[10, 10, 14, 40], [350, 230, 400, 300], [500, 500, 600, 600]])
    assert infos[0]["fell_back"] is True and infos[0]["reason"] == "box too small"
    assert infos[1]["box"] == [350, 230, 360, 240]  # clipped to the image
    assert infos[2]["box"] == [360, 240, 360, 240] and infos[2]["area_ratio"] == 0.0
    assert mask[10:40, 10:14].all()
    assert int(mask.sum()) == 4 * 30 + 10 * 10


def test_large_box_is_segmented_at_reduced_size() -> None:
    alpha = _logo_alpha(900, 1400, left=200, top=300, size=160)
    image = _composite(_background(900, 1400, seed=2), alpha, (20, 20, 20))
    shape = alpha > 0
    tight, infos = refine_mask(image, [_box_of(shape, pad=12)], margin=0)
    assert infos[0]["fell_back"] is False
    assert _iou(tight, shape) > 0.8


def test_two_boxes_are_refined_separately(logo_scene) -> None:
    image, shape, box = logo_scene
    flat_box = [5, 5, 45, 45]
    mask, infos = refine_mask(image, [box, flat_box], margin=0)
    assert [info["fell_back"] for info in infos] == [False, True]
    assert mask[5:45, 5:45].all()
    assert _iou(mask[:, 60:], shape[:, 60:]) > 0.8


def test_mask_for_mode() -> None:
    image = _background(50, 60)
    plan = removal_mask(image, boxes=[[10, 10, 20, 30]], mode="box")
    mask, infos = plan.mask, plan.infos
    assert int(mask.sum()) == 200 and infos[0]["method"] == "box" and not infos[0]["fell_back"]
    black = np.zeros((50, 60, 3), np.uint8)
    flat = removal_mask(black, boxes=[[10, 10, 20, 30]], mode="refine").mask
    assert int(flat.sum()) == 200  # nothing to separate: the whole box
    with pytest.raises(ImageInputError, match="mask mode"):
        removal_mask(image, boxes=[[0, 0, 5, 5]], mode="tight")
    with pytest.raises(ImageInputError):
        refine_mask(np.zeros((10, 10), np.uint8), [[0, 0, 5, 5]])


def test_mask_that_does_not_span_the_box_falls_back(logo_scene) -> None:
    """A box far larger than what was found on one side: part of the logo may be missed."""
    image, _, box = logo_scene
    loose = [box[0], box[1], box[2] + 80, box[3]]
    mask, infos = refine_mask(image, [loose], margin=0)
    assert infos[0]["fell_back"] is True
    assert "does not span" in infos[0]["reason"]
    assert int(mask.sum()) == (loose[2] - loose[0]) * (loose[3] - loose[1])


def test_a_box_drawn_loosely_on_every_side_is_still_refined(logo_scene) -> None:
    """Hand-drawn boxes leave room on every side (FlickrLogos: 7 % of a side in the median): 8 px
    above and below a 45-px logo is annotator slack, not a missed part. The FedEx box of the
    model card (6 and 7 px above and below a 54-px wordmark) fell back to the whole box, and
    the fill raised the van's roof into the trees."""
    image, shape, _ = logo_scene
    loose = _box_of(shape, pad=8)
    assert (loose[3] - loose[1]) - (shape.any(axis=1).sum()) == 16  # 16 px of height to spare
    mask, infos = refine_mask(image, [loose], margin=0)
    assert infos[0]["fell_back"] is False, infos[0]["reason"]
    assert _iou(mask, shape) > 0.8


def test_grabcut_gives_the_same_mask_whatever_the_random_generator_held() -> None:
    """GrabCut's k-means start draws from OpenCV's global random generator, so the same photo
    could come out with a different mask from one run (or job) to the next (628 of ~4,000 box
    pixels differed on the demo's motocross photo); refine seeds it before every GrabCut."""
    import cv2

    photo = Path(__file__).resolve().parents[3] / "demo" / "JPEGImages" / "demo_01_kodim05.jpg"
    image = np.asarray(Image.open(photo).convert("RGB"))
    boxes = [(225, 46, 288, 109)]  # the demo's ring mark on the helmets
    masks = []
    for state in (1, 2, 3, 12345):
        cv2.setRNGSeed(state)  # whatever earlier OpenCV calls left in the generator
        mask, info = refine_mask(image, boxes)
        assert info[0]["method"] == "grabcut"
        masks.append(mask)
    assert all(np.array_equal(masks[0], mask) for mask in masks[1:])


def test_grabcut_never_adds_pixels_whose_colour_is_plainly_background() -> None:
    """On the demo's lighthouse photo the colour posterior marks the ring and the triangle only
    (40 % of the box), but GrabCut's colour models flooded the grass and fence inside the ring
    (56 %), which then had to be invented: a light blob with the ring's fringe around the
    one kept patch. Pixels whose colour is plainly the surroundings' stay background."""
    photo = Path(__file__).resolve().parents[3] / "demo" / "JPEGImages" / "demo_04_kodim21.jpg"
    image = np.asarray(Image.open(photo).convert("RGB"))
    box = (163, 278, 232, 347)  # the ring-and-triangle emblem (0-based, end exclusive)
    mask, infos = refine_mask(image, [box], margin=0)
    assert infos[0]["method"] == "grabcut"
    share = mask[box[1] : box[3], box[0] : box[2]].mean()
    assert share < 0.48, share
    assert not mask[306:314, 181:187].any()  # grass and fence inside the ring, left of centre


FLICKR = Path(__file__).resolve().parents[4] / "shared" / "data" / "flickrlogos27-openlogo"


@pytest.mark.skipif(not FLICKR.is_dir(), reason="needs ../shared/data (FlickrLogos-27)")
def test_a_chrome_logo_keeps_its_reflections_in_the_mask() -> None:
    """The sibling of the flooded ring: a chrome horse reflects the dark fence behind it, so
    its reflections have the surroundings' colour too. They are small areas inside the horse
    (3-4 % of its box) and must stay logo, or the fill leaves a ghost of the horse."""
    image = np.asarray(Image.open(FLICKR / "JPEGImages" / "fl27_2519143928.jpg").convert("RGB"))
    box = (166, 96, 318, 299)  # the Ferrari horse on a fence
    mask, infos = refine_mask(image, [box], margin=0)
    assert infos[0]["method"] == "grabcut"
    assert mask[box[1] : box[3], box[0] : box[2]].mean() > 0.25


def _plate_scene() -> tuple[np.ndarray, list[int], np.ndarray]:
    """A white plate with lettering in the wall's own colour, on that wall."""
    wall = (40, 80, 75)
    noise = _background(200, 320, seed=4).astype(np.float32)  # a gradient with noise
    image = np.clip(noise - noise.mean(axis=(0, 1)) + np.float32(wall), 0, 255)  # around `wall`
    canvas = Image.fromarray(image.astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle((50, 60, 270, 140), radius=12, fill=(235, 238, 236))
    letters = Image.new("L", (320, 200), 0)
    ImageDraw.Draw(letters).text((70, 76), "BRAND", fill=255,
                                 font=ImageFont.load_default(size=44))
    lettering = np.asarray(letters) > 127
    out = np.asarray(canvas).copy()
    out[lettering] = wall
    return out, [44, 54, 276, 146], lettering


def test_lettering_in_the_walls_colour_on_a_plate_is_repainted_with_the_plate() -> None:
    """FlickrLogos' Heineken sign: a white plate whose letters have the wall's colour. The
    plate was found and the letters, plainly the surroundings' colour, were kept, so the fill
    painted a pale plate around ghost letters. Many areas enclosed by one logo part, each small
    next to the box, belong to it."""
    image, box, lettering = _plate_scene()
    mask, infos = refine_mask(image, [box], margin=0)
    assert infos[0]["method"] == "grabcut"
    assert mask[lettering].mean() > 0.95, mask[lettering].mean()
    assert not mask[box[1] : box[1] + 4, box[0] : box[2]].any()  # the wall above the plate


@pytest.mark.skipif(not FLICKR.is_dir(), reason="needs ../shared/data (FlickrLogos-27)")
def test_the_heineken_signs_letters_are_in_its_mask() -> None:
    image = np.asarray(Image.open(FLICKR / "JPEGImages" / "fl27_3520033212.jpg").convert("RGB"))
    box = (19, 16, 316, 143)
    mask, infos = refine_mask(image, [box], margin=0)
    assert infos[0]["method"] == "grabcut"
    letters = mask[72:98, 60:270]  # the row of "Heineken", inside the plate
    assert letters.mean() > 0.97, letters.mean()


def test_the_insides_of_outlined_watermark_letters_are_in_the_mask() -> None:
    """A translucent watermark with an opaque outline (the badge set's style): the letters'
    insides, sky seen through a 50 % white tint, look like the surroundings and were kept, so
    the fill left the letters' ghosts. What the outline encloses is logo where it is tinted
    (mean P(logo) over 0.2) and under 15 % of the box; the inside of a ring mark (30-40 %) and
    the untinted insides of opaque letters' loops are not."""
    height, width = 160, 320
    ys = np.mgrid[0:height, 0:width][0].astype(np.float32)
    sky = np.dstack([150 + 40 * ys / height, 185 + 30 * ys / height, np.full_like(ys, 230)])
    rng = np.random.default_rng(2)
    image = np.clip(sky + rng.normal(0, 2, sky.shape), 0, 255).astype(np.uint8)
    fill, outline = Image.new("L", (width, height), 0), Image.new("L", (width, height), 0)
    font = ImageFont.load_default(size=64)
    ImageDraw.Draw(outline).text((40, 40), "VMWX", fill=255, font=font, stroke_width=3,
                                 stroke_fill=255)
    ImageDraw.Draw(fill).text((40, 40), "VMWX", fill=255, font=font)
    inside = np.asarray(fill) > 127
    rim = (np.asarray(outline) > 127) & ~inside
    image = _composite(image, inside.astype(np.float32), (255, 255, 255), opacity=0.5)
    image = _composite(image, rim.astype(np.float32), (250, 250, 250))
    box = _box_of(rim, pad=6)
    mask, infos = refine_mask(image, [box], margin=0)
    assert infos[0]["method"] == "grabcut"
    core = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert mask[core].mean() > 0.95, mask[core].mean()


def test_the_insides_of_opaque_letters_loops_stay_as_photographed() -> None:
    """The photo seen through an "O" or a "B" is background, not logo: repainting it cost
    0.10 dB on the default benchmark. One or two untinted areas per letter stay kept."""
    canvas = Image.new("L", (360, 200), 0)
    ImageDraw.Draw(canvas).text((40, 50), "BOB", fill=255, font=ImageFont.load_default(size=90))
    alpha = np.asarray(canvas, np.float32) / 255.0
    image = _composite(_background(200, 360, seed=6), alpha, (200, 40, 160))
    shape = alpha > 0.5
    box = _box_of(shape, pad=5)
    mask, infos = refine_mask(image, [box], margin=0)
    assert infos[0]["method"] == "grabcut"
    outside = ~cv2.dilate(shape.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    rows, cols = np.mgrid[0:200, 0:360]
    in_box = (cols >= box[0]) & (cols < box[2]) & (rows >= box[1]) & (rows < box[3])
    loops = outside & in_box
    count, labels = cv2.connectedComponents(loops.astype(np.uint8), connectivity=4)
    edge = set(np.unique(np.concatenate([labels[box[1]], labels[box[3] - 1]])).tolist())
    edge |= set(np.unique(np.concatenate([labels[:, box[0]], labels[:, box[2] - 1]])).tolist())
    inner = np.isin(labels, [k for k in range(1, count) if k not in edge])
    assert inner.sum() > 300  # the scene has loops
    assert mask[inner].mean() < 0.05, mask[inner].mean()

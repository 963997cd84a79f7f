"""Growing tight boxes over a logo's JPEG colour bleed (inpaint_core/masks/bleed.py)."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inpaint_core.masks import bleed
from inpaint_core.masks.bleed import MAX_GROW, grow_for_bleed
from inpaint_core.masks.modes import removal_mask
from tests.fixtures.images import photo_like

BADGE = (60, 40, 140, 80)  # x1, y1, x2, y2 of an opaque magenta badge


def _jpeg(rgb: np.ndarray, quality: int = 75) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _photo_with_badge(height: int = 120, width: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(JPEG with a tight magenta badge, the clean photo): a brownish, lightly noisy background."""
    rng = np.random.default_rng(0)
    clean = np.empty((height, width, 3), np.float32)
    clean[:] = (120, 100, 80)
    clean += rng.normal(0, 4, clean.shape)
    clean = clean.clip(0, 255).astype(np.uint8)
    logo = clean.copy()
    x1, y1, x2, y2 = BADGE
    logo[y1:y2, x1:x2] = (190, 30, 170)
    logo[y1 + 12 : y2 - 12, x1 + 10 : x2 - 10] = (255, 255, 255)  # its lettering
    return _jpeg(logo), clean


def _chroma_error(filled: np.ndarray, clean: np.ndarray, box: tuple[int, ...]) -> float:
    """Mean (Cb, Cr) distance between the fill and the clean photo inside `box`."""
    x1, y1, x2, y2 = box
    a = cv2.cvtColor(filled, cv2.COLOR_RGB2YCrCb)[y1:y2, x1:x2, 1:].astype(np.float32)
    b = cv2.cvtColor(clean, cv2.COLOR_RGB2YCrCb)[y1:y2, x1:x2, 1:].astype(np.float32)
    return float(np.linalg.norm(a - b, axis=2).mean())


def test_tight_box_around_a_jpeg_badge_grows_and_its_fill_loses_the_tint() -> None:
    image, clean = _photo_with_badge()
    (grown,) = grow_for_bleed(image, [BADGE])
    growth = [BADGE[0] - grown[0], BADGE[1] - grown[1], grown[2] - BADGE[2], grown[3] - BADGE[3]]
    assert all(1 <= g <= MAX_GROW for g in growth), growth

    def telea(box: tuple[int, ...]) -> np.ndarray:
        hole = np.zeros(image.shape[:2], np.uint8)
        hole[box[1] : box[3], box[0] : box[2]] = 255
        return cv2.inpaint(image, hole, 5, cv2.INPAINT_TELEA)

    tight = _chroma_error(telea(BADGE), clean, BADGE)
    wide = _chroma_error(telea(grown), clean, BADGE)
    assert wide < 0.5 * tight, (tight, wide)


def test_a_box_with_a_margin_and_a_box_on_plain_background_stay() -> None:
    image, _ = _photo_with_badge()
    x1, y1, x2, y2 = BADGE
    margin = (x1 - 6, y1 - 6, x2 + 6, y2 + 6)
    background = (150, 90, 190, 115)
    assert grow_for_bleed(image, [margin, background]) == [margin, background]


def test_a_smooth_gradient_across_the_edge_is_not_bleed(monkeypatch: pytest.MonkeyPatch) -> None:
    xs = np.mgrid[0:120, 0:200][1].astype(np.float32)
    red = (6.0 * (xs - 40)).clip(0, 255)  # a steep red-to-blue ramp across the box's left side
    image = np.stack([red, np.full_like(red, 90), 255 - red], axis=2).astype(np.uint8)
    box = (60, 30, 120, 90)
    assert grow_for_bleed(image, [box]) == [box]
    monkeypatch.setattr(bleed, "SETTLED", 1.0)  # without the fade test the ramp would count
    assert grow_for_bleed(image, [box]) != [box]


def test_sides_at_the_image_border_do_not_grow_and_growth_stays_inside() -> None:
    image, _ = _photo_with_badge()
    touching = (0, 0, BADGE[2], BADGE[3])  # left and top sides at the border
    (grown,) = grow_for_bleed(image, [touching])
    assert grown[0] == 0 and grown[1] == 0
    assert grown[2] >= touching[2] and grown[3] >= touching[3]


def test_mask_modes_box_and_whole_grow_refine_and_bleed_false_do_not() -> None:
    image, _ = _photo_with_badge()
    area = (BADGE[2] - BADGE[0]) * (BADGE[3] - BADGE[1])
    for mode in ("box", "whole"):
        plan = removal_mask(image, boxes=[list(BADGE)], mode=mode)
        mask, infos = plan.mask, plan.infos
        assert int(mask.sum()) > area and infos[0]["box"] != list(BADGE)
        plain = removal_mask(image, boxes=[list(BADGE)], mode=mode, bleed=False).mask
        assert int(plain.sum()) == area


def test_grown_boxes_contain_the_given_ones_and_stay_in_the_image() -> None:
    rng = np.random.default_rng(3)
    image = _jpeg(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8), quality=60)
    for _ in range(200):
        x1, y1 = int(rng.integers(-5, 80)), int(rng.integers(-5, 64))
        box = (x1, y1, x1 + int(rng.integers(0, 30)), y1 + int(rng.integers(0, 30)))
        (grown,) = grow_for_bleed(image, [box])
        clipped = (max(0, box[0]), max(0, box[1]), min(80, box[2]), min(64, box[3]))
        if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
            continue  # empty after clipping: returned as clipped, never grown
        assert 0 <= grown[0] <= clipped[0] and 0 <= grown[1] <= clipped[1]
        assert clipped[2] <= grown[2] <= 80 and clipped[3] <= grown[3] <= 64
        assert clipped[0] - grown[0] <= MAX_GROW and grown[3] - clipped[3] <= MAX_GROW


def test_a_round_mark_bleeds_out_where_it_touches_even_beside_photo_structure() -> None:
    """A ring touches the top of its pixel-tight box; over half of that side a red roof begins
    5 px above the box (structure of the photo: the lines there never settle to the roof's
    colour). The side still grows over the ring's JPEG fringe (the demo's lighthouse emblem
    kept a purple line above its box)."""
    rng = np.random.default_rng(1)
    clean = np.empty((160, 200, 3), np.float32)
    clean[:] = (215, 205, 160)  # a beige wall
    clean[:45, :95] = (170, 50, 40)  # a red roof, its edge 5 px above the box, left half
    clean += rng.normal(0, 3, clean.shape)
    clean = clean.clip(0, 255).astype(np.uint8)
    logo = clean.copy()
    box = (60, 50, 141, 131)  # x1, y1, x2, y2 of the ring's pixel-tight box
    cv2.circle(logo, (100, 90), 36, (140, 90, 220), 9)  # purple ring, touching all four sides
    image = _jpeg(logo, quality=75)
    assert (np.abs(image[49, 90:111].astype(int) - clean[49, 90:111]).max(axis=1) > 20).any()
    (grown,) = grow_for_bleed(image, [box])
    assert 1 <= box[1] - grown[1] <= MAX_GROW, grown
    # what the growth is for: a fill of the grown box loses the purple above the ring
    above = (90, grown[1], 111, box[1])  # the rows the top side grew over, where the ring is

    def telea(hole_box: tuple[int, ...]) -> np.ndarray:
        hole = np.zeros(image.shape[:2], np.uint8)
        hole[hole_box[1] : hole_box[3], hole_box[0] : hole_box[2]] = 255
        return cv2.inpaint(image, hole, 5, cv2.INPAINT_TELEA)

    tight, wide = _chroma_error(telea(box), clean, above), _chroma_error(telea(grown), clean, above)
    assert wide < 0.6 * tight, (tight, wide)


def test_small_boxes_on_noise_without_a_logo_stay() -> None:
    """Medians over a handful of edge pixels must not find bleed in noise: on a 12 x 8 box a
    run of 10 % of a side is one or two pixels (the first per-pixel version grew 8 of these 12
    boxes by 1-3 px), and the median over 3-6 strong pixels grew 3 of 12 before that."""
    for seed in range(6):
        for (height, width), box in (((48, 64), (50, 38, 62, 46)), ((96, 128), (114, 86, 126, 94))):
            image = photo_like(height, width, seed)
            assert grow_for_bleed(image, [box]) == [box], (seed, box)


def test_a_strong_colour_step_grows_over_a_faint_but_visible_fringe() -> None:
    """The demo's green SOLACE badge on dark skin: 2 px out, its top and bottom lines still
    carried 20 % of a 52-unit chroma step (10 units), which the share test alone took for the
    surroundings; the box grew 1 px and a green line stayed above and below the fill."""
    photo = Path(__file__).resolve().parents[3] / "demo" / "JPEGImages" / "demo_03_kodim15.jpg"
    image = np.asarray(Image.open(photo).convert("RGB"))
    box = (195, 163, 341, 207)  # the SOLACE badge, pixel-tight
    grown = [bleed.side_bleed(image, box, side) for side in ("top", "bottom", "left", "right")]
    assert grown == [2, 2, 2, 2], grown
    x1, y1, x2, y2 = grow_for_bleed(image, [box])[0]
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2Lab).astype(np.float32)
    above, far = lab[y1 - 1, x1 + 10 : x2 - 10, 1], lab[y1 - 6, x1 + 10 : x2 - 10, 1]
    assert abs(float(np.median(above - far))) < 3  # no green left next to the grown box

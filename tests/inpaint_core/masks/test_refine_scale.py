"""refine at WORK_SIDE: a big box segmented small and snapped back gives the full-size mask."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint_core.masks import refine
from inpaint_core.masks.refine import refine_mask


def _photo_with_logo(seed: int) -> tuple[np.ndarray, list[int], np.ndarray]:
    """A 1200x900 smooth photo-like background with grain and a big wordmark in a box."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(40, 200, (6, 8, 3)).astype(np.uint8), (1200, 900),
                      interpolation=cv2.INTER_CUBIC)
    image = np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)
    logo = np.zeros((900, 1200), np.uint8)
    cv2.putText(logo, "LOGO", (220, 560), cv2.FONT_HERSHEY_DUPLEX, 9.0, 255, 28, cv2.LINE_AA)
    colour = np.array([250, 30, 30], np.float32)
    alpha = logo[..., None].astype(np.float32) / 255
    image = np.clip(image * (1 - alpha) + colour * alpha, 0, 255).astype(np.uint8)
    ys, xs = np.nonzero(logo)
    box = [int(xs.min()) - 2, int(ys.min()) - 2, int(xs.max()) + 3, int(ys.max()) + 3]
    return image, box, logo > 0


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_big_box_segmented_small_matches_full_resolution(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    image, box, truth = _photo_with_logo(seed)
    assert max(box[2] - box[0], box[3] - box[1]) > 1.5 * refine.WORK_SIDE  # really downscaled
    ours, [info] = refine_mask(image, [box])
    monkeypatch.setattr(refine, "WORK_SIDE", 10_000)  # GrabCut on every source pixel
    full, [info_full] = refine_mask(image, [box])
    assert info["method"] == info_full["method"] == "grabcut"
    assert _iou(ours, full) >= 0.95
    # every logo pixel is covered, and the mask hugs it (the 3-px margin plus a little)
    assert ours[truth].mean() >= 0.995
    grown = cv2.dilate(truth.astype(np.uint8), np.ones((11, 11), np.uint8)) > 0
    assert ours[~grown].mean() < 0.01


def test_snap_moves_the_border_onto_the_colour_edge() -> None:
    crop = np.zeros((40, 40, 3), np.uint8)
    crop[:, :23] = (255, 0, 0)  # logo colour left of column 23
    soft = np.clip((28 - np.arange(40)) / 6.0, 0, 1)[None, :].repeat(40, 0).astype(np.float32)
    table = np.zeros(refine._BINS**3, np.float32)
    table[refine._colour_index(crop[:1, :1])[0, 0]] = 1.0  # red is logo, black background
    snapped = refine._snap(crop, soft, table)
    assert snapped[:, :23].all() and not snapped[:, 23:].any()  # soft > 0.5 reached column 25

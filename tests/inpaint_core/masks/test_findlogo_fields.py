"""find-logo's correlations, made one channel at a time, against OpenCV's 2-channel ones."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint_core.masks.findlogo_fields import (
    coarse_scores,
    field_energy,
    fine_scores,
    image_field,
    template_field,
)


def _photo(seed: int, size: tuple[int, int] = (90, 120)) -> np.ndarray:
    """A smooth random RGB image with edges: blurred noise and a few filled shapes."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (*size, 3)).astype(np.float32)
    rgb = cv2.GaussianBlur(noise, (0, 0), 2.0).astype(np.uint8)
    for _ in range(4):
        centre = (int(rng.integers(0, size[1])), int(rng.integers(0, size[0])))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.circle(rgb, centre, int(rng.integers(5, 20)), colour, -1)
    return rgb


def _logo() -> tuple[np.ndarray, np.ndarray]:
    """A ring and a bar, opaque, on a transparent canvas: (rgb, alpha)."""
    alpha = np.zeros((40, 64), np.uint8)
    cv2.circle(alpha, (18, 20), 14, 255, 5)
    cv2.rectangle(alpha, (38, 8), (58, 32), 255, -1)
    rgb = np.zeros((40, 64, 3), np.uint8)
    rgb[...] = (200, 40, 30)
    return rgb, alpha.astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def template():
    rgb, alpha = _logo()
    return template_field(rgb, alpha, (32, 20))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fine_scores_equal_opencv_masked_ccoeff_normed(template, seed) -> None:
    """The per-channel fine score is OpenCV's support-masked TM_CCOEFF_NORMED on the
    2-channel field, at every position and in its best place."""
    field = image_field(_photo(seed))
    mine = fine_scores(field, field_energy(field), template)
    planes = np.ascontiguousarray(field.transpose(1, 2, 0))
    mask = np.dstack([template.support, template.support])
    kernel = np.ascontiguousarray(template.field.transpose(1, 2, 0))
    reference = cv2.matchTemplate(planes, kernel, cv2.TM_CCOEFF_NORMED, mask=mask)
    reference = np.nan_to_num(reference, nan=0.0, posinf=0.0, neginf=0.0)
    assert mine.shape == reference.shape
    np.testing.assert_allclose(mine, reference, atol=2e-4)
    assert np.argmax(mine) == np.argmax(reference)


def test_fine_scores_of_a_flat_window_are_zero(template) -> None:
    """A window whose orientation field does not vary (no edges, or a smooth ramp: one
    gradient everywhere) has nothing to correlate: 0, neither NaN nor float residue divided
    by a near-zero variance."""
    ramp = np.empty((40, 50, 3), np.uint8)
    ramp[...] = (60 + 3 * np.arange(50, dtype=np.uint8))[None, :, None]
    field = image_field(ramp)[:, 3:-3, 3:-3]  # away from the border's blur
    assert field_energy(field).min() > 0.1  # an edge-free field that is not zero
    scores = fine_scores(field, field_energy(field), template)
    assert not scores.any()
    empty = np.zeros_like(field)
    assert not fine_scores(empty, field_energy(empty), template).any()


def test_a_paste_scores_near_one_at_its_place(template) -> None:
    """The logo pasted in a photo at (x, y): the fine score peaks there, close to 1, and the
    coarse score peaks there too."""
    rgb = _photo(5)
    logo_rgb, logo_alpha = template.rgb, template.alpha[..., None]
    x, y = 50, 30
    patch = rgb[y : y + 20, x : x + 32].astype(np.float32)
    rgb[y : y + 20, x : x + 32] = (logo_alpha * logo_rgb + (1 - logo_alpha) * patch).astype(
        np.uint8)
    field = image_field(rgb)
    energy = field_energy(field)
    fine = fine_scores(field, energy, template)
    coarse = coarse_scores(field, energy, template)
    assert np.unravel_index(np.argmax(fine), fine.shape) == (y, x)
    assert np.unravel_index(np.argmax(coarse), coarse.shape) == (y, x)
    assert fine.max() > 0.8


def test_coarse_scores_equal_the_two_channel_correlation(template) -> None:
    """The coarse numerator summed over channels equals OpenCV's 2-channel TM_CCORR."""
    field = image_field(_photo(3, (200, 260)))
    energy = field_energy(field)
    planes = np.ascontiguousarray(field.transpose(1, 2, 0))
    kernel = np.ascontiguousarray(template.zero_mean.transpose(1, 2, 0))
    numerator = cv2.matchTemplate(planes, kernel, cv2.TM_CCORR)
    under = cv2.matchTemplate(energy, template.support, cv2.TM_CCORR)
    norm = max(template.norm, 1e-6)
    reference = numerator / np.maximum(np.sqrt(np.maximum(under, 1e-6)) * norm, 1e-3 * norm)
    np.testing.assert_allclose(coarse_scores(field, energy, template), reference, atol=1e-4)

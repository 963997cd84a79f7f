"""Quality figures: SSIM against scikit-image's as an oracle, PSNR and L1 on known cases,
and the seam score's sense (a visible seam scores higher than none)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from inpaint_core.evaluation.metrics import l1, psnr, reference_metrics, seam_score, ssim

PAD = 5  # scikit-image averages SSIM over the image without the window's half width


def _pair(seed: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:64, 0:80].astype(np.float64)
    base = np.stack([xs * 3, ys * 3.5, (xs + ys) * 1.5], axis=2) + rng.normal(0, 12, (64, 80, 3))
    a = np.clip(base, 0, 255).astype(np.uint8)
    b = np.clip(a + rng.normal(0, noise, a.shape), 0, 255).astype(np.uint8)
    return a, b


@pytest.mark.parametrize(("seed", "noise"), [(0, 3.0), (1, 20.0), (2, 60.0)])
def test_ssim_matches_scikit_image(seed: int, noise: float) -> None:
    a, b = _pair(seed, noise)
    interior = np.zeros(a.shape[:2], bool)
    interior[PAD:-PAD, PAD:-PAD] = True
    oracle = structural_similarity(a, b, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                   use_sample_covariance=False, data_range=255)
    assert ssim(a, b, interior) == pytest.approx(oracle, abs=1e-6)
    assert ssim(a, a) == pytest.approx(1.0)


def test_psnr_and_l1_on_known_differences() -> None:
    a = np.full((10, 10, 3), 100, np.uint8)
    b = a.copy()
    b[:5] = 110  # half the pixels off by 10: MSE 50
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 50))
    assert l1(a, b) == pytest.approx(5 / 255)
    top = np.zeros((10, 10), bool)
    top[:5] = True
    assert l1(a, b, ~top) == 0.0 and psnr(a, b, ~top) == 100.0  # identical region: the cap
    figures = reference_metrics(a, b, top)
    assert figures["psnr_hole"] == pytest.approx(10 * np.log10(255**2 / 100))
    assert figures["psnr_outside"] == 100.0


def test_a_visible_seam_scores_above_a_smooth_fill() -> None:
    ys, xs = np.mgrid[0:64, 0:80]
    a = np.stack([xs * 2, ys * 3, xs + ys], axis=2).astype(np.uint8)  # a smooth gradient
    fill = np.zeros(a.shape[:2], bool)
    fill[20:40, 25:55] = True
    patched = a.copy()
    patched[fill] = (255, 0, 255)  # a flat magenta block: its border is a strong edge
    assert seam_score(patched, fill) > 2.0 * seam_score(a, fill)

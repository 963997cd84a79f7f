"""The quality policy: scores from reference and no-reference figures, flagging, thresholds."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from inpaint_core.evaluation.metrics import reference_metrics, seam_score
from scheduler.quality import (
    DEFAULT_THRESHOLDS,
    QualityThresholds,
    assess,
    flag_reasons,
    is_flagged,
    quality_score,
    score_parts,
)


def test_no_figures_gives_no_score_and_no_flag() -> None:
    assert quality_score(None) is None
    assert quality_score({"mask_ratio": 0.1}) is None
    assert is_flagged({}) is False
    assert assess({"mask_ratio": 0.2}) == (None, False)


def test_seam_score_maps_to_score() -> None:
    assert quality_score({"seam_score": 1.0}) == 1.0
    assert quality_score({"seam_score": 1.5}) == pytest.approx(0.5)
    assert quality_score({"seam_score": 2.5}) == 0.0
    # smoother than the surroundings costs half as much per unit
    assert quality_score({"seam_score": 0.5}) == pytest.approx(0.75)


def test_realness_and_seam_are_averaged() -> None:
    # realness spreads 0.6..1 over 0..1: 0.8 is half way
    assert quality_score({"seam_score": 1.2, "disc_realness": 0.8}) == pytest.approx(
        (0.8 + 0.5) / 2
    )
    assert score_parts({"seam_score": 1.2, "disc_realness": 0.4}) == pytest.approx(
        {"seam_score": 0.8, "disc_realness": 0.0}
    )
    assert score_parts({"disc_realness": 1.0}) == {"disc_realness": 1.0}


def test_reference_figures_take_precedence() -> None:
    metrics = {"psnr_hole": 25.0, "ssim_hole": 0.9, "seam_score": 3.0, "disc_realness": 0.0}
    assert quality_score(metrics) == pytest.approx((0.5 + 0.9) / 2)
    assert quality_score({"psnr_hole": 100.0}) == 1.0
    assert quality_score({"psnr_hole": 10.0}) == 0.0


def test_garbage_values_are_ignored() -> None:
    metrics = {"seam_score": "1.0", "disc_realness": math.nan, "psnr_hole": True}
    assert quality_score(metrics) is None
    assert quality_score({"seam_score": math.inf, "disc_realness": 0.7}) == pytest.approx(0.25)


def test_flag_reasons_name_each_crossed_threshold() -> None:
    reasons = flag_reasons({"seam_score": 2.0, "disc_realness": 0.7})
    assert reasons == ["quality 0.12 < 0.5", "seam_score 2 > 1.8", "disc_realness 0.7 < 0.85"]
    assert is_flagged({"seam_score": 1.05, "disc_realness": 0.95}) is False
    # one bad part is enough even with a good average
    assert is_flagged({"seam_score": 1.0, "disc_realness": 0.84}) is True
    assert flag_reasons({"psnr_hole": 30.0, "ssim_hole": 0.45}) == ["ssim_hole 0.45 < 0.5"]


def test_disabled_thresholds_do_not_flag() -> None:
    off = QualityThresholds(
        min_score=None,
        max_seam_score=None,
        min_disc_realness=None,
        min_psnr_hole=None,
        min_ssim_hole=None,
    )
    assert is_flagged({"seam_score": 9.0, "disc_realness": 0.0}, thresholds=off) is False


def test_thresholds_decide_the_flag() -> None:
    strict = replace(DEFAULT_THRESHOLDS, min_score=0.8, max_seam_score=None)
    assert is_flagged({"seam_score": 1.3}, thresholds=strict) is True  # score 0.7 < 0.8
    assert is_flagged({"seam_score": 1.3}) is False


def _textured(height: int = 96, width: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(height // 8, width // 8, 3), dtype=np.uint8)
    return np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))


def test_real_figures_flag_a_flat_patch_but_not_the_truth() -> None:
    truth = _textured()
    hole = np.zeros(truth.shape[:2], dtype=bool)
    hole[30:62, 30:62] = True
    flat = truth.copy()
    flat[hole] = 255
    good = {"seam_score": seam_score(truth, hole)}
    bad = {"seam_score": seam_score(flat, hole)}
    assert quality_score(good) > quality_score(bad)
    assert is_flagged(bad) is True
    ref_bad = reference_metrics(truth, flat, hole)
    ref_good = reference_metrics(truth, truth, hole)
    assert is_flagged(ref_bad) is True
    assert is_flagged(ref_good) is False
    assert quality_score(ref_good) == 1.0

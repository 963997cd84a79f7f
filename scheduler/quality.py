"""Quality policy: one score per job from its metrics, and the rule that flags a job for review.

The worker computes the figures and stores them in `jobs.metrics`; this module only reads
that dict (torch-free, no I/O), so the pipeline, the dashboard and the report agree on
what "bad" means. Keys it understands (all optional):

    reference figures, when the ground truth behind the logo is known
        psnr_hole, ssim_hole, l1_hole      inside the filled hole (what matters)
        psnr, ssim, l1, psnr_outside       whole image / outside (informative only)
    no-reference figures, always available
        seam_score      inpaint_core.evaluation.metrics.seam_score: ~1 = invisible seam, >1 =
                        visible edge
        disc_realness   SM-PatchGAN discriminator's mean output over the filled area relative to
                        the untouched context around it, in [0, 1], 1 = as real as its context
                        (inpaint_core/evaluation/critic.py; the worker computes it when
                        discriminator weights are loaded, which the shipped default model has;
                        absent otherwise)
        mask_ratio      share of the image the mask covers (0: nothing was removed; most of the
                        image: not a logo, a wrong mask)
        fill_change     mean absolute change inside the fill, 0..1 (near 0: the output is the
                        input again where a logo was to go)

The score is in [0, 1], higher is better. With reference figures it is the mean of the
SSIM and PSNR parts inside the hole; without, the mean of the seam and realness parts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# PSNR inside a hole: 15 dB is a visibly wrong fill, 35 dB is close to invisible.
PSNR_FLOOR_DB = 15.0
PSNR_CEIL_DB = 35.0
# Realness (inpaint_core/evaluation/critic.py: the fill relative to its own context) of 1 is as
# real as the photo around it; on the benchmark no fill scored under 0.6 and real patches score
# ~0.98 (bench/RESULTS-critic.md), so the score spreads 0.6..1 over 0..1.
REALNESS_FLOOR = 0.6
# Seam score 1 is ideal; 1 + SEAM_SPAN or worse scores 0. A boundary smoother than its
# surroundings (score < 1, often a blurry fill) costs half as much per unit.
SEAM_SPAN = 1.0


@dataclass(frozen=True)
class QualityThresholds:
    """Limits under (or over) which a job is flagged for review; None disables a check."""

    min_score: float | None = 0.5
    max_seam_score: float | None = 1.8
    min_disc_realness: float | None = 0.85  # flags ~14 % of our fills, ~1 % of real patches
    min_psnr_hole: float | None = 18.0
    min_ssim_hole: float | None = 0.5
    # do-nothing results: a mask over most of the image, or an output that is the input again
    max_mask_ratio: float | None = 0.5
    min_fill_change: float | None = 0.01  # 2.5 grey levels on average inside the fill


DEFAULT_THRESHOLDS = QualityThresholds()


def _number(value: Any) -> float | None:
    """A finite float from a JSON value, or None (missing, NaN, string, bool...)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def _seam_part(seam: float) -> float:
    deviation = seam - 1.0 if seam >= 1.0 else (1.0 - seam) / 2.0
    return _clip01(1.0 - deviation / SEAM_SPAN)


def _psnr_part(psnr_db: float) -> float:
    return _clip01((psnr_db - PSNR_FLOOR_DB) / (PSNR_CEIL_DB - PSNR_FLOOR_DB))


def score_parts(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    """The [0, 1] parts the score averages, by name; reference parts win when present."""
    metrics = metrics or {}
    psnr_hole = _number(metrics.get("psnr_hole"))
    ssim_hole = _number(metrics.get("ssim_hole"))
    reference: dict[str, float] = {}
    if psnr_hole is not None:
        reference["psnr_hole"] = _psnr_part(psnr_hole)
    if ssim_hole is not None:
        reference["ssim_hole"] = _clip01(ssim_hole)
    if reference:
        return reference
    parts: dict[str, float] = {}
    seam = _number(metrics.get("seam_score"))
    if seam is not None:
        parts["seam_score"] = _seam_part(seam)
    realness = _number(metrics.get("disc_realness"))
    if realness is not None:
        parts["disc_realness"] = _clip01((realness - REALNESS_FLOOR) / (1.0 - REALNESS_FLOOR))
    return parts


def quality_score(metrics: Mapping[str, Any] | None) -> float | None:
    """One figure in [0, 1] (higher is better), or None when the metrics hold nothing to judge."""
    parts = score_parts(metrics)
    if not parts:
        return None
    return round(sum(parts.values()) / len(parts), 6)


def flag_reasons(
    metrics: Mapping[str, Any] | None, *, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> list[str]:
    """Readable reasons a job needs review (empty list = fine); missing figures are not reasons."""
    metrics = metrics or {}
    reasons = _do_nothing_reasons(metrics, thresholds)
    score = quality_score(metrics)
    if thresholds.min_score is not None and score is not None and score < thresholds.min_score:
        reasons.append(f"quality {score:.2f} < {thresholds.min_score:g}")
    checks = (
        ("seam_score", thresholds.max_seam_score, 1.0),
        ("disc_realness", thresholds.min_disc_realness, -1.0),
        ("psnr_hole", thresholds.min_psnr_hole, -1.0),
        ("ssim_hole", thresholds.min_ssim_hole, -1.0),
    )
    for key, limit, direction in checks:
        value = _number(metrics.get(key))
        if limit is None or value is None:
            continue
        if direction > 0 and value > limit:
            reasons.append(f"{key} {value:.3g} > {limit:g}")
        elif direction < 0 and value < limit:
            reasons.append(f"{key} {value:.3g} < {limit:g}")
    return reasons


def _do_nothing_reasons(metrics: Mapping[str, Any], thresholds: QualityThresholds) -> list[str]:
    """Results that look fine by every other figure but removed nothing useful."""
    mask_ratio = _number(metrics.get("mask_ratio"))
    change = _number(metrics.get("fill_change"))
    if mask_ratio is not None and mask_ratio == 0.0:
        return ["empty mask: nothing was removed"]
    reasons = []
    limit = thresholds.max_mask_ratio
    if limit is not None and mask_ratio is not None and mask_ratio > limit:
        reasons.append(f"mask covers {mask_ratio:.0%} of the image (> {limit:.0%})")
    least = thresholds.min_fill_change
    if least is not None and change is not None and change < least:
        reasons.append(f"output barely differs from the input inside the mask "
                       f"(mean change {change:.2%} < {least:.0%})")
    return reasons


def is_flagged(
    metrics: Mapping[str, Any] | None, *, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> bool:
    """True when any threshold is crossed: the job is listed for human review."""
    return bool(flag_reasons(metrics, thresholds=thresholds))


def assess(
    metrics: Mapping[str, Any] | None, *, thresholds: QualityThresholds = DEFAULT_THRESHOLDS
) -> tuple[float | None, bool]:
    """`(quality_score, flagged)` in one call: what the pipeline stores in the job row."""
    return quality_score(metrics), is_flagged(metrics, thresholds=thresholds)

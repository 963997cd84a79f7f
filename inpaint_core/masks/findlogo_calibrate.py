"""Per-logo thresholds from each logo's own false matches on the photos being searched.

A simple shape (a swoosh, a ring, a letter) matches some curve or stroke of almost every photo,
and its false matches score higher than a detailed mark's; one threshold for all logos is too
lax for the first or too strict for the second. What matters in a photo without the logo is its
best false candidate, so per logo and size class (a long side under SMALL_PX work pixels, or not):

1. take the best candidate log-odds of every image searched that has a candidate of the logo
   and size class (the per-image maxima; a small photo has no candidate of a large logo);
2. their lower quartile is the location, and their spread the smaller of
   (lower quartile - 10th percentile) / 0.6075 and (median - lower quartile) / 0.6745 (each
   the standard deviation if they were normal): the photos that do hold the logo (their
   maxima sit high) can widen only the second, a long lower tail of maxima (photos where few
   poses of the logo fit) only the first. The first alone put a small swoosh's threshold at
   log-odds 6.2 with the rotation search on train-photos shard 3, above most true finds;
3. the threshold is location + SPREAD_K spread, never below FLOOR = PRIOR: calibration only
   raises a logo's threshold above the fixed one, never lowers it. The lower quarter of 60
   photos says nothing about the top 1 % of them, where the false finds are: a floor under
   the fixed threshold (it was 0) let through false swooshes and rings that the fixed
   threshold kept out (bench/RESULTS-masks-find.md). SPREAD_K was set on the tuning benchmark
   (train-photos shards) for at most 1 false detection per 100 photos with eight logos
   searched at once.

With fewer than MIN_IMAGES such photos the threshold is PRIOR, a strict value
(bench/RESULTS-masks-find.md).
A logo in most of the photos (one brand's event photos) makes its threshold too strict: use
--no-calibrate there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

SMALL_PX = 64.0  # work px of the logo's long side below which a candidate is "small"
SPREAD_K = 2.0  # spreads above the lower quartile of the per-image maxima
MIN_IMAGES = 12  # photos needed to calibrate
MIN_SPREAD = 0.25  # log-odds: the spread is never taken smaller
PRIOR = 0.5  # log-odds threshold when a logo cannot be calibrated (fewer than MIN_IMAGES photos)
FLOOR = PRIOR  # log-odds: a calibrated threshold is never laxer than the fixed one


@dataclass(frozen=True)
class Threshold:
    """A calibrated log-odds threshold with what it was estimated from."""

    value: float
    images: int  # per-image maxima used
    location: float = 0.0  # lower quartile of the per-image maxima
    spread: float = 0.0  # min((q25 - q10) / 0.6075, (q50 - q25) / 0.6745)


def size_class(size: float) -> str:
    return "small" if size < SMALL_PX else "large"


def key_of(name: str, cues: Mapping[str, float]) -> str:
    """The threshold key of a candidate: "<logo>/small" or "<logo>/large"."""
    return f"{name}/{size_class(float(cues.get('size', SMALL_PX)))}"


def _maxima(images: Iterable[Sequence[Any]], keys: Sequence[str]) -> dict[str, list[float]]:
    """Per key: the best log-odds of each image (-inf where it had no candidate of the key)."""
    maxima: dict[str, list[float]] = {key: [] for key in keys}
    for candidates in images:
        best: dict[str, float] = {}
        for cand in candidates:
            key = key_of(cand.name, cand.cues)
            best[key] = max(best.get(key, -np.inf), cand.logit)
        for key in keys:
            maxima[key].append(best.get(key, -np.inf))
    return maxima


def spread_threshold(maxima: Sequence[float]) -> Threshold:
    """The threshold of one key from its per-image maxima (see the module docstring)."""
    values = np.asarray(maxima, dtype=np.float64)
    values = values[np.isfinite(values)]  # photos without a candidate of this key say nothing
    if len(values) < MIN_IMAGES:
        return Threshold(PRIOR, len(values))
    q10, q25, q50 = np.percentile(values, [10, 25, 50])
    spread = max(min(float(q25 - q10) / 0.6075, float(q50 - q25) / 0.6745), MIN_SPREAD)
    return Threshold(max(FLOOR, float(q25) + SPREAD_K * spread), len(values), float(q25), spread)


def calibrate(images: Iterable[Sequence[Any]], names: Sequence[str]) -> dict[str, Threshold]:
    """Thresholds for every logo and size class from the candidates of every image
    (LogoFinder.candidates); keys "<logo>/small" and "<logo>/large"."""
    keys = [f"{name}/{size}" for name in names for size in ("small", "large")]
    return {key: spread_threshold(values) for key, values in _maxima(images, keys).items()}


def threshold_values(thresholds: Mapping[str, Threshold]) -> dict[str, float]:
    return {key: t.value for key, t in thresholds.items()}


def describe(thresholds: Mapping[str, Threshold]) -> dict[str, dict[str, float]]:
    """JSON-ready record of the calibration, for detections.json."""
    return {key: {k: round(v, 4) for k, v in asdict(t).items()}
            for key, t in thresholds.items()}

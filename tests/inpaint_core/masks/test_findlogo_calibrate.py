"""Per-logo thresholds: a shape whose false matches score high gets a stricter threshold; the
photos that hold the logo do not move it; too few photos fall back to the strict prior."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_core.masks import findlogo_calibrate as calibration
from inpaint_core.masks.findlogo import Detection, FinderConfig, select


def _candidate(name: str, logit: float, size: float = 100.0, box=(0, 0, 10, 10)) -> Detection:
    return Detection(name, box, 0.5, 1.0, 0.0, logit, 0.0, {"size": size})


def _batch(rng: np.random.Generator, photos: int, means: dict[str, float]) -> list[list]:
    """Per photo, 6 false candidates per logo with log-odds around the logo's mean."""
    return [[_candidate(name, float(v)) for name, mean in means.items()
             for v in rng.normal(mean, 1.0, 6)] for _ in range(photos)]


def test_a_logo_with_strong_false_matches_gets_a_stricter_threshold() -> None:
    images = _batch(np.random.default_rng(0), 60, {"swoosh": 1.0, "octocat": -3.0})
    found = calibration.calibrate(images, ["swoosh", "octocat"])
    swoosh, octocat = found["swoosh/large"], found["octocat/large"]
    assert swoosh.value > octocat.value + 2.5  # the means differ by 4
    assert swoosh.images == 60
    worst = [max(c.logit for c in image if c.name == "octocat") for image in images]
    assert np.mean(np.array(worst) > octocat.value) <= 0.05  # few photos pass the threshold


def test_the_photos_with_the_logo_do_not_move_the_threshold() -> None:
    rng = np.random.default_rng(1)
    images = _batch(rng, 60, {"ring": -1.0})
    clean = calibration.calibrate(images, ["ring"])["ring/large"].value
    for image in images[:15]:  # a quarter of the photos hold the ring, scored high
        image.append(_candidate("ring", 8.0))
    assert calibration.calibrate(images, ["ring"])["ring/large"].value == pytest.approx(
        clean, abs=0.6)


def test_small_and_large_candidates_are_calibrated_apart_and_few_photos_get_the_prior(
) -> None:
    rng = np.random.default_rng(2)
    images = [[_candidate("k", float(rng.normal(2.0, 0.5)), size=30.0),
               _candidate("k", float(rng.normal(-3.0, 0.5)), size=300.0)] for _ in range(40)]
    found = calibration.calibrate(images, ["k"])
    assert found["k/small"].value > found["k/large"].value + 2  # large: at the floor
    few = calibration.calibrate(images[:5], ["k"])
    assert few["k/small"].value == few["k/large"].value == calibration.PRIOR


def test_select_applies_each_logos_threshold_and_reports_confidence() -> None:
    candidates = [_candidate("swoosh", 2.0, box=(0, 0, 10, 10)),
                  _candidate("octocat", 2.0, box=(50, 50, 60, 60))]
    found = select(candidates, {"swoosh/large": 3.0, "octocat/large": 1.0}, FinderConfig())
    assert [d.name for d in found] == ["octocat"]
    assert found[0].confidence == pytest.approx(1 / (1 + np.exp(-1.0)))
    stricter = select(candidates, {"swoosh/large": 3.0, "octocat/large": 1.0},
                      FinderConfig(min_confidence=0.8))
    assert stricter == []


def test_photos_without_a_candidate_do_not_widen_the_spread() -> None:
    """A photo too small for a large logo has no candidate of it; it used to count as the
    lowest maximum seen and blow the spread (and the threshold) up."""
    rng = np.random.default_rng(3)
    images = _batch(rng, 40, {"mark": 1.0})
    alone = calibration.calibrate(images, ["mark"])["mark/large"]
    with_small = images + [[_candidate("mark", -30.0)]] + [[] for _ in range(30)]
    assert alone.value > 1.5  # above the floor, so a drop would show
    assert calibration.calibrate(with_small, ["mark"])["mark/large"].value == pytest.approx(
        alone.value, abs=0.6)


def test_calibration_never_makes_a_threshold_laxer_than_the_fixed_one() -> None:
    """Logos whose false matches all score far below the fixed threshold keep it: the lower
    quarter of the photos cannot vouch for a laxer one (the floor was log-odds 0, under the
    fixed 0.5, and the calibrated default found more false marks than the fixed threshold)."""
    images = _batch(np.random.default_rng(4), 60, {"ring": -8.0, "swoosh": 1.0})
    found = calibration.calibrate(images, ["ring", "swoosh"])
    assert found["ring/large"].value == pytest.approx(calibration.PRIOR)
    assert found["swoosh/large"].value > calibration.PRIOR + 1  # raising still works
    candidates = [_candidate("ring", 0.3)]  # between the old floor and the fixed threshold
    assert select(candidates, calibration.threshold_values(found)) == []
    assert select(candidates, {}) == []  # the fixed threshold agrees


def test_a_long_lower_tail_of_maxima_does_not_make_the_threshold_stricter() -> None:
    """Photos where only a few poor poses of a logo fit have very low maxima; they spread the
    lowest tenth, not the false matches that matter (the spread came from q25 - q10 and put a
    small swoosh's threshold at log-odds 6.2, above most true finds)."""
    rng = np.random.default_rng(5)
    images = _batch(rng, 51, {"swoosh": -4.0})
    alone = calibration.calibrate(images, ["swoosh"])["swoosh/large"].value
    tail = [[_candidate("swoosh", float(v))] for v in np.linspace(-20.0, -8.0, 9)]
    with_tail = calibration.calibrate(images + tail, ["swoosh"])["swoosh/large"].value
    assert alone == pytest.approx(calibration.PRIOR)
    assert with_tail == pytest.approx(calibration.PRIOR)

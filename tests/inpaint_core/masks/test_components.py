"""label_components: the same components as labelling the whole frame, from tiles only."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint_core.masks.components import MAX_RUNS, label_components


def _opencv(mask: np.ndarray) -> list[tuple[tuple[int, int, int, int, int], np.ndarray]]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8),
                                                               connectivity=8)
    out = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        out.append(((x, y, w, h, area), labels[y : y + h, x : x + w] == label))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_components_equal_opencv_on_the_whole_frame(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = np.zeros((300, 400), bool)
    for _ in range(12):  # boxes, some touching diagonally or nested in others' rows/columns
        x, y = rng.integers(0, 380), rng.integers(0, 280)
        mask[y : y + rng.integers(1, 40), x : x + rng.integers(1, 60)] = True
    mask |= rng.random(mask.shape) > 0.998  # specks
    mask[50, 50] = mask[51, 51] = True  # 8-connected only through a corner
    found = label_components(mask)
    # OpenCV numbers components in its 2x2-block scan order; ours are in raster order
    expected = sorted(_opencv(mask), key=lambda item: (item[0][1], item[0][0] + int(
        np.argmax(item[1][0]))))
    assert [c.stats for c in found] == [stats for stats, _ in expected]
    for component, (_, pixels) in zip(found, expected, strict=True):
        assert np.array_equal(component.pixels, pixels)


def test_components_of_empty_and_speckled_masks() -> None:
    assert label_components(np.zeros((20, 30), bool)) == []
    specks = np.zeros((4 * MAX_RUNS, 4 * MAX_RUNS), bool)
    specks[::3, ::3] = True  # more runs than MAX_RUNS: labelled as one band, same answer
    assert sorted(c.stats for c in label_components(specks)) == sorted(
        s for s, _ in _opencv(specks))

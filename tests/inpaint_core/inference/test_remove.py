"""The one removal function: what changes, what stays, and batching across images."""

from __future__ import annotations

import numpy as np

from inpaint_core.inference.inpainter import Inpainter
from inpaint_core.inference.remove import RemovalRequest, remove, remove_many
from inpaint_core.masks.boxes import boxes_to_mask
from inpaint_core.masks.modes import PIXEL_MARGIN
from tests.fixtures.images import photo_like
from tests.fixtures.models import RecordingGenerator


def test_only_the_fill_changes_and_the_fill_is_returned(
    tiny_generator: RecordingGenerator,
) -> None:
    image = photo_like(80, 96)
    box = [30, 20, 60, 44]
    removal = remove(Inpainter(tiny_generator), image, boxes=[box], mode="whole")
    assert np.array_equal(removal.fill, boxes_to_mask([box], height=80, width=96))  # margin 0
    assert np.array_equal(removal.output[~removal.fill], image[~removal.fill])
    assert not np.array_equal(removal.output[removal.fill], image[removal.fill])
    assert removal.plan.keep_background is False and removal.plan.mode == "whole"

    pixels = np.zeros((80, 96), bool)
    pixels[10:14, 10:14] = True
    grown = remove(Inpainter(tiny_generator), image, mask=pixels).fill
    assert grown.sum() > pixels.sum() and grown[10 - PIXEL_MARGIN, 12]  # pixel masks grow


def test_remove_many_shares_forward_passes_and_equals_one_by_one(
    tiny_generator: RecordingGenerator,
) -> None:
    inpainter = Inpainter(tiny_generator)
    def hole(x: int, y: int) -> np.ndarray:  # 20x16 holes: crops of one size ...
        return boxes_to_mask([[x, y, x + 20, y + 16]], height=64, width=64)

    requests = [RemovalRequest(photo_like(64, 64, seed=0), mask=hole(20, 20)),
                RemovalRequest(photo_like(64, 64, seed=1), mask=hole(30, 10), mode="whole"),
                RemovalRequest(photo_like(64, 64, seed=2), mask=hole(24, 40))]
    together = remove_many(inpainter, requests)
    assert [shape[0] for shape in tiny_generator.calls] == [3]  # ... share one forward pass
    alone = [remove(inpainter, r.image, boxes=r.boxes, mask=r.mask, mode=r.mode, margin=r.margin)
             for r in requests]
    for many, one in zip(together, alone, strict=True):
        assert np.abs(many.output.astype(int) - one.output.astype(int)).max() <= 1
        assert np.array_equal(many.fill, one.fill)

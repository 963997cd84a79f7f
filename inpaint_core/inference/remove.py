"""Logo removal, the one entry point: boxes and/or a mask and a mask mode in, a clean image
and the region that changed out.

    removal = remove(inpainter, rgb, boxes=[[x1, y1, x2, y2]], mode="box")
    removal.output     # (H, W, 3) uint8
    removal.fill       # (H, W) bool: the only pixels that may differ from the input

The embedded runner and the Celery workers (worker/pipeline.py), `unbrand inpaint` and
`unbrand evaluate --run-model` all call `remove` or `remove_many`, so the benchmark measures
the path that ships. The mask-mode rules themselves live in masks/modes.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from inpaint_core.inference.inpainter import Inpainter, as_rgb
from inpaint_core.masks.modes import DEFAULT_MASK_MODE, MaskMode, RemovalMask, removal_mask


@dataclass(frozen=True)
class RemovalRequest:
    """One image to clean: its boxes (0-based, end exclusive) and/or a pixel mask."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    boxes: Sequence[Sequence[int]] = ()
    mask: np.ndarray | None = None  # (H, W), nonzero = remove, used as it is
    mode: str | MaskMode = DEFAULT_MASK_MODE
    margin: int | None = None  # None: the mode's (masks/modes.py)


@dataclass(frozen=True)
class Removal:
    """The result of one request."""

    output: np.ndarray  # (H, W, 3) uint8
    fill: np.ndarray  # (H, W) bool, the pixels that may have changed
    plan: RemovalMask  # the mask, its margin and per-box notes (refine)


def remove(
    inpainter: Inpainter,
    image: np.ndarray,
    *,
    boxes: Sequence[Sequence[int]] = (),
    mask: np.ndarray | None = None,
    mode: str | MaskMode = DEFAULT_MASK_MODE,
    margin: int | None = None,
) -> Removal:
    """Remove `boxes` and `mask` from `image` under mask `mode` (see masks/modes.py);
    `margin` overrides the mode's margin."""
    return remove_many(inpainter, [RemovalRequest(image, boxes, mask, mode, margin)])[0]


def remove_many(inpainter: Inpainter, requests: Sequence[RemovalRequest]) -> list[Removal]:
    """Several requests at once: crops of equal size share forward passes across images."""
    images = [as_rgb(request.image) for request in requests]
    plans = [
        removal_mask(image, boxes=request.boxes, pixel_mask=request.mask, mode=request.mode,
                     margin=request.margin)
        for image, request in zip(images, requests, strict=True)
    ]
    fills = [inpainter.fill_region(plan.mask, plan.margin) for plan in plans]
    outputs = inpainter.fill(images, [plan.mask for plan in plans], fills,
                             keep_background=[plan.keep_background for plan in plans])
    return [Removal(output, fill, plan) for output, fill, plan in zip(outputs, fills, plans,
                                                                      strict=True)]

"""Pasting a filled crop back: a feathered blend that only touches the fill region.

The blend weight is 1 on the mask itself and ramps from 1/feather at the fill region's
border up to 1 inside it, over `feather` pixels (distance transform), so the anti-aliased
band around a logo fades from the original into the fill and no seam shows. Pixels outside
the fill region are never written: they stay byte-identical.
"""

from __future__ import annotations

import cv2
import numpy as np


def blend_weights(fill: np.ndarray, mask: np.ndarray, feather: int) -> np.ndarray:
    """float32 (H, W) weight of the fill: 0 outside `fill`, 1 on `mask`, a ramp in between.

    `fill` and `mask` are bool crops; the crop edge does not count as a border (a fill region
    touching the image edge is not faded there).
    """
    fill_u8 = fill.astype(np.uint8)
    if feather <= 1:
        return fill.astype(np.float32)
    # distance (pixels) of each fill pixel to the nearest pixel outside the fill region
    inside = cv2.distanceTransform(fill_u8, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    weights = np.clip(inside / float(feather), 0.0, 1.0).astype(np.float32)
    weights[mask & fill] = 1.0
    weights[~fill] = 0.0
    return weights


def paste(
    target: np.ndarray,
    filled: np.ndarray,
    box: tuple[int, int, int, int],
    fill: np.ndarray,
    mask: np.ndarray,
    feather: int,
) -> None:
    """Blend `filled` (crop-sized RGB) into `target[box]`, on the `fill` pixels only."""
    x1, y1, x2, y2 = box
    view = target[y1:y2, x1:x2]
    weights = blend_weights(fill, mask, feather)[..., None]  # (h, w, 1)
    original = view.astype(np.float32)
    mixed = original + weights * (filled.astype(np.float32) - original)
    values = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    view[fill] = values[fill]

"""Bringing a fill computed at model scale back to source scale."""

from __future__ import annotations

import cv2
import numpy as np


def upscale(filled: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a float (h, w, 3) fill to size=(width, height)."""
    return cv2.resize(filled.astype(np.float32), size, interpolation=cv2.INTER_CUBIC)


def restore_detail(
    filled: np.ndarray, original: np.ndarray, hole: np.ndarray, own: np.ndarray
) -> np.ndarray:
    """The model-scale fill at the crop's source size (float32 (H, W, 3))."""
    height, width = original.shape[:2]
    return upscale(filled, (width, height))

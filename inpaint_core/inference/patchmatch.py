"""PatchMatch fill (Barnes et al. 2009) through the maintained PyPatchMatch package.

PatchMatch copies patches of the known image into the hole (a nearest-neighbour field found by
random search and propagation, coarse to fine), so its fill keeps the photo's texture where
Telea's diffusion smooths it away. It is the classical fill IOPaint and "content-aware fill"
use: `unbrand evaluate` scores it as a second baseline beside Telea, and the shipped model's
"patchmatch" prefill starts from it (prefill.py).

PyPatchMatch (MIT) ships a manylinux wheel with its C++ library compiled and no OpenCV
dependency: nothing is built on import. Where no wheel exists (another platform) pip builds it
from source, which needs a C++ compiler, CMake and OpenCV; `patchmatch_available()` tells.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from types import ModuleType

import cv2
import numpy as np

from inpaint_core.errors import InpaintError
from inpaint_core.inference.prefill import fill_at_scale

# radius of the compared patches (7x7 pixels): IOPaint's default, and the PyPatchMatch examples'.
# Radius 5 took 1.5x longer and radius 7 2.8x on a 481x321 photo, for no visible gain
PATCH_RADIUS = 3
SEED = 0  # every fill starts its random search from this seed: equal inputs, equal outputs
_LOCK = threading.Lock()  # the seed is global state of the native library


@lru_cache(maxsize=1)
def _library() -> ModuleType | None:
    try:
        from patchmatch import patch_match
    except ImportError:
        return None
    return patch_match if patch_match.patchmatch_available else None


def patchmatch_available() -> bool:
    """Whether PyPatchMatch and its native library load here."""
    return _library() is not None


def patchmatch(
    image: np.ndarray, mask: np.ndarray, *, patch_radius: int = PATCH_RADIUS
) -> np.ndarray:
    """PatchMatch inpainting of `mask` (bool/uint8 (H, W), nonzero = hole) in `image` (uint8
    (H, W, 3)); pixels outside the mask come back unchanged. Deterministic (fixed seed)."""
    library = _library()
    if library is None:
        raise InpaintError(
            "PatchMatch needs the pypatchmatch package with its native library "
            "(pip install pypatchmatch)"
        )
    hole = np.asarray(mask) > 0
    if not hole.any():
        return np.array(image, copy=True)
    rgb = np.ascontiguousarray(image, dtype=np.uint8)
    if hole.all():  # nothing to copy from: PatchMatch needs known pixels
        return cv2.inpaint(rgb, hole.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    with _LOCK:
        library.set_random_seed(SEED)
        filled = library.inpaint(rgb, hole.astype(np.uint8) * 255, patch_size=patch_radius)
    out = rgb.copy()
    out[hole] = filled[hole]
    return out


def patchmatch_scaled(image: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """`patchmatch(image, mask)` computed at `scale` (see `prefill.fill_at_scale`)."""
    return fill_at_scale(patchmatch, image, mask, scale, upsample=cv2.INTER_CUBIC)


def patchmatch_local(
    image: np.ndarray, mask: np.ndarray, *, context: float = 0.5, max_pixels: int = 40_000,
    focus: np.ndarray | None = None,
) -> np.ndarray:
    """`patchmatch` run on the bounding box of `focus` (default: the mask) grown by `context` x
    its sides (at least 16 px) only, at source scale while that window holds at most
    `max_pixels` pixels and scaled down to that many otherwise. PyPatchMatch's time grows with
    the pixels of the image it is given, not with the hole's: a window much larger than the
    hole costs time and mostly offers patches far from the hole.

    `focus`: the hole pixels the caller needs filled (a crop's own logo). Other mask pixels in
    the window are filled too and never copied from; outside it they come back unchanged. A
    window spanning every hole of a crop would be scaled down for logos that lie elsewhere."""
    hole = np.asarray(mask).astype(bool)
    wanted = hole if focus is None else hole & np.asarray(focus).astype(bool)
    if not wanted.any():
        return np.array(image, copy=True)
    height, width = hole.shape
    ys, xs = np.nonzero(wanted)
    x1, x2, y1, y2 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    grow_x = max(16, round(context * (x2 - x1)))
    grow_y = max(16, round(context * (y2 - y1)))
    wx1, wx2 = max(0, x1 - grow_x), min(width, x2 + grow_x)
    wy1, wy2 = max(0, y1 - grow_y), min(height, y2 + grow_y)
    window = (slice(wy1, wy2), slice(wx1, wx2))
    pixels = (wx2 - wx1) * (wy2 - wy1)
    scale = min(1.0, float(np.sqrt(max_pixels / pixels)))
    out = np.array(image, copy=True)
    out[window] = patchmatch_scaled(image[window], hole[window], scale)
    return out

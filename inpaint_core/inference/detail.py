"""Bringing a fill computed at model scale back to source scale without a blurry patch.

When the planner downscales a crop (a large logo), the model's fill has the detail of the
model scale only; a plain bicubic upscale leaves a soft patch in a sharp photo. Contextual
residual aggregation (the idea of HiFill, Yi et al. 2020) restores it: the high-frequency
residual of the known context (source crop minus its down-and-up-scaled self) is copied into
the hole, patch by patch, from the context patches that look most like each hole patch at
model scale.

Tokens: the model-scale crop is cut into `token` x `token` cells; a cell's descriptor is the
model-scale fill in its 3x3-cell neighbourhood. Hole cells take the residual of their 8
closest context cells, weighted by softmax(-mean squared difference / tolerance^2), resampled
onto the source-scale cell grid. Raw values (not cosine similarity of mean-removed patches) keep
flat areas matched to flat areas: with cosine similarity a flat sign picked up the edges of
nearby lettering. Cells whose neighbourhood touches the hole never serve as context (their
residual carries the logo).

Measured by bench/bench_detail.py (12 photos, hole = a third of the crop side, model scale
1/4; full table in bench/RESULTS.md): detail in the hole relative to the photo's (mean
gradient) goes from 0.58 (bicubic) to 0.77 (this, tolerance 0.04) with a perfect low-res
fill, at -1.0 dB PSNR (restored texture is plausible, not pixel-aligned), and from 0.10 to
0.31 with a real lite generator (-0.1 dB). An unsharp mask reached 0.66 / 0.10. Kept as the
default; `PlannerConfig(detail="bicubic")` turns it off.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

DETAIL_METHODS = ("bicubic", "cra")
DEFAULT_METHOD = "cra"  # see bench/RESULTS.md, "Detail restoration"
MIN_SCALE_GAIN = 1.25  # below this upscale factor the fill is already sharp: plain bicubic


def upscale(filled: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a float (h, w, 3) fill to size=(width, height)."""
    return cv2.resize(filled.astype(np.float32), size, interpolation=cv2.INTER_CUBIC)


def upscale_window(
    filled: np.ndarray, size: tuple[int, int], window: tuple[slice, slice]
) -> np.ndarray:
    """`upscale(filled, size)[window]` without the rest: the same bicubic sampling positions
    as cv2.resize, through an affine warp of the window only (replicated borders, like
    resize). A logo's fill region is a ninth of its crop, so this is ~9x less work."""
    ys, xs = window
    h, w = filled.shape[:2]
    sx, sy = w / size[0], h / size[1]
    matrix = np.array([[sx, 0.0, (xs.start + 0.5) * sx - 0.5],
                       [0.0, sy, (ys.start + 0.5) * sy - 0.5]])
    out_size = (xs.stop - xs.start, ys.stop - ys.start)
    return cv2.warpAffine(filled.astype(np.float32), matrix, out_size,
                          flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def context_residual(original: np.ndarray, small_size: tuple[int, int]) -> np.ndarray:
    """What downscaling to `small_size` removes from `original`: float32 (H, W, 3)."""
    height, width = original.shape[:2]
    low = cv2.resize(original, small_size, interpolation=cv2.INTER_AREA)
    return original.astype(np.float32) - upscale(low, (width, height))


def _cells(image: torch.Tensor, token: int) -> torch.Tensor:
    """(C, h, w) -> (cells, C * 9 * token^2): each cell's 3x3-cell neighbourhood, raw values."""
    padded = F.pad(image[None], (token,) * 4, mode="replicate")  # (1, C, h + 2t, w + 2t)
    patches = F.unfold(padded, kernel_size=3 * token, stride=token)  # (1, C*9t^2, cells)
    return patches[0].T.contiguous()


def _best_matches(
    target: torch.Tensor, source: torch.Tensor, tolerance: float, top: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The `top` closest sources of each target and their softmax weights.

    Weights: softmax over -(mean squared difference) / tolerance^2 among those `top`; the
    rest would get negligible weight at the default tolerance and cost a full matmul.
    """
    dims = target.shape[1]
    # |t - s|^2 = |t|^2 + |s|^2 - 2 t.s; |t|^2 is the same along a row, so the ranking needs only
    # |s|^2 - 2 t.s, one matmul with the bias added in place (no further pass over the matrix)
    partial = torch.addmm((source * source).sum(1)[None], target, source.T, alpha=-2.0)
    nearest, index = torch.topk(partial, k=min(top, source.shape[0]), dim=1, largest=False)
    nearest = (nearest + (target * target).sum(1, keepdim=True)).clamp_min(0)  # (targets, top)
    return index, torch.softmax(-nearest / (dims * tolerance**2), dim=1)


Rect = tuple[int, int, int, int]  # y0, y1, x0, x1


def residual_patch(
    filled: np.ndarray,
    hole: np.ndarray,
    residual: np.ndarray,
    *,
    token: int = 4,
    tolerance: float = 0.04,
    top: int = 8,
) -> tuple[np.ndarray, Rect] | None:
    """Aggregated context residual over the hole cells' bounding rectangle (source pixels).

    filled (h, w, 3) model-scale fill; hole (h, w) bool model-scale hole; residual (H, W, 3).
    Returns (patch float32 (y1 - y0, x1 - x0, 3), (y0, y1, x0, x1)), or None when there is no
    hole cell or no usable context.
    """
    h, w = hole.shape
    rows, cols = -(-h // token), -(-w // token)
    pad_h, pad_w = rows * token - h, cols * token - w
    image = torch.from_numpy(np.pad(filled, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge"))
    image = image.permute(2, 0, 1).float() / 255.0  # (3, rows*t, cols*t)
    hole_pad = np.pad(hole, ((0, pad_h), (0, pad_w)), mode="edge").astype(np.float32)
    cell_hole = cv2.resize(hole_pad, (cols, rows), interpolation=cv2.INTER_AREA) > 0  # (rows, cols)
    near_hole = cv2.dilate(cell_hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    target, source = np.flatnonzero(cell_hole), np.flatnonzero(~near_hole)
    if target.size == 0 or source.size < 4:
        return None
    desc = _cells(image, token)  # (cells, D)
    index, weights = _best_matches(desc[target], desc[source], tolerance, top)  # (targets, top)
    # source-scale residual on a grid of block x block pixels per cell (block ~ token * scale)
    height, width = residual.shape[:2]
    block = max(1, round(token * max(height / h, width / w)))
    keep_h, keep_w = round(h * block / token), round(w * block / token)
    grid = np.zeros((rows * block, cols * block, 3), dtype=np.float32)
    grid[:keep_h, :keep_w] = cv2.resize(residual, (keep_w, keep_h), interpolation=cv2.INTER_LINEAR)
    cells = grid.reshape(rows, block, cols, block, 3)
    chosen = source[index.numpy()]  # (targets, top) cell numbers
    picked = cells[chosen // cols, :, chosen % cols]  # (targets, top, block, block, 3)
    mixed = np.einsum("tk,tkijc->tijc", weights.numpy(), picked)  # (targets, block, block, 3)
    r0, r1 = target.min() // cols, target.max() // cols + 1
    c0, c1 = (target % cols).min(), (target % cols).max() + 1
    sub = np.zeros((r1 - r0, block, c1 - c0, block, 3), dtype=np.float32)
    sub[target // cols - r0, :, target % cols - c0] = mixed
    sub = sub.reshape((r1 - r0) * block, (c1 - c0) * block, 3)
    # cell rectangle -> source pixels (grid pixel g maps to source g * height / keep_h)
    y0, y1 = round(r0 * block * height / keep_h), min(height, round(r1 * block * height / keep_h))
    x0, x1 = round(c0 * block * width / keep_w), min(width, round(c1 * block * width / keep_w))
    sub = sub[: round((y1 - y0) * keep_h / height) or 1, : round((x1 - x0) * keep_w / width) or 1]
    patch = cv2.resize(
        np.ascontiguousarray(sub), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR
    )
    return patch, (y0, y1, x0, x1)


def aggregate_residual(
    filled: np.ndarray, hole: np.ndarray, residual: np.ndarray, **options: float
) -> np.ndarray:
    """`residual_patch` placed in a zero float32 (H, W, 3) array."""
    out = np.zeros_like(residual, dtype=np.float32)
    with torch.inference_mode():
        found = residual_patch(filled.astype(np.float32), hole, residual, **options)  # type: ignore[arg-type]
    if found is not None:
        patch, (y0, y1, x0, x1) = found
        out[y0:y1, x0:x1] = patch
    return out


def restore_detail(
    filled: np.ndarray,
    original: np.ndarray,
    hole: np.ndarray,
    *,
    method: str = DEFAULT_METHOD,
) -> np.ndarray:
    """The model-scale fill at the crop's source size (float32 (H, W, 3)).

    filled (h, w, 3) float, composited model-scale crop; original (H, W, 3) uint8 source crop;
    hole (h, w) bool model-scale hole.
    """
    height, width = original.shape[:2]
    h, w = hole.shape
    up = upscale(filled, (width, height))
    if method == "bicubic" or max(height / h, width / w) < MIN_SCALE_GAIN:
        return up
    if method != "cra":
        raise ValueError(f"unknown detail method {method!r}; choose one of {DETAIL_METHODS}")
    residual = context_residual(original, (w, h))
    with torch.inference_mode():
        found = residual_patch(filled.astype(np.float32), hole, residual)
    if found is not None:
        patch, (y0, y1, x0, x1) = found
        up[y0:y1, x0:x1] += patch
    return up

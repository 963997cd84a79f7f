"""Bringing a fill computed at model scale back to source scale without a blurry patch.

When the planner downscales a crop (a large logo), the model's fill has the detail of the
model scale only; a plain bicubic upscale leaves a soft patch in a sharp photo. Contextual
residual aggregation (the idea of HiFill, Yi et al. 2020) restores it: the high-frequency
residual of the known context (source crop minus its down-and-up-scaled self) is copied into
the hole, patch by patch, from the context patches that look most like each hole patch at
model scale.

Tokens: the model-scale crop is cut into `token` x `token` cells; a cell's descriptor is the
model-scale fill in its 3x3-cell neighbourhood. Hole cells take the softmax-weighted residual
of the context cells, weighted by exp(-mean squared difference / tolerance^2), resampled onto
the source-scale cell grid. Raw values (not cosine similarity of mean-removed patches) keep
flat areas matched to flat areas: with cosine similarity a flat sign picked up the edges of
nearby lettering. Cells whose neighbourhood touches the hole never serve as context (their
residual carries the logo).

bench/bench_detail.py measures what this buys (PSNR and gradient energy in the hole against
ground truth; results in bench/RESULTS.md): see `DEFAULT_METHOD` for the decision.
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


def _match_weights(target: torch.Tensor, source: torch.Tensor, tolerance: float) -> torch.Tensor:
    """Softmax over -(mean squared difference) / tolerance^2: (targets, sources), rows sum to 1."""
    dims = target.shape[1]
    d2 = (
        (target * target).sum(1, keepdim=True)
        + (source * source).sum(1)[None]
        - 2 * target @ source.T
    )
    return torch.softmax(-d2.clamp_min(0) / (dims * tolerance**2), dim=1)


def aggregate_residual(
    filled: np.ndarray,
    hole: np.ndarray,
    residual: np.ndarray,
    *,
    token: int = 4,
    tolerance: float = 0.04,
) -> np.ndarray:
    """Residual for the hole cells, aggregated from context cells: float32 (H, W, 3).

    filled (h, w, 3) model-scale fill; hole (h, w) bool model-scale hole; residual (H, W, 3).
    Returns zeros where no hole cell is (and everywhere when there is no usable context).
    """
    h, w = hole.shape
    rows, cols = -(-h // token), -(-w // token)
    pad_h, pad_w = rows * token - h, cols * token - w
    image = torch.from_numpy(np.pad(filled, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge"))
    image = image.permute(2, 0, 1).float() / 255.0  # (3, rows*t, cols*t)
    hole_pad = np.pad(hole, ((0, pad_h), (0, pad_w)), mode="edge").astype(np.float32)
    cell_hole = cv2.resize(hole_pad, (cols, rows), interpolation=cv2.INTER_AREA) > 0  # (rows, cols)
    near_hole = cv2.dilate(cell_hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    target, source = cell_hole.ravel(), ~near_hole.ravel()
    height, width = residual.shape[:2]
    if not target.any() or source.sum() < 4:
        return np.zeros_like(residual)
    desc = _cells(image, token)  # (cells, D)
    weights = _match_weights(desc[target], desc[source], tolerance)  # (hole cells, ctx cells)
    # source-scale residual on a grid of block x block pixels per cell (block ~ token * scale)
    block = max(1, round(token * max(height / h, width / w)))
    keep_h, keep_w = round(h * block / token), round(w * block / token)
    grid = cv2.resize(residual, (keep_w, keep_h), interpolation=cv2.INTER_LINEAR)
    grid = np.pad(grid, ((0, rows * block - keep_h), (0, cols * block - keep_w), (0, 0)))
    blocks = torch.from_numpy(grid).reshape(rows, block, cols, block, 3).permute(0, 2, 1, 3, 4)
    blocks = blocks.reshape(rows * cols, -1)  # (cells, block*block*3)
    out = torch.zeros_like(blocks)
    out[torch.from_numpy(target)] = weights @ blocks[torch.from_numpy(source)]
    out = out.reshape(rows, cols, block, block, 3).permute(0, 2, 1, 3, 4)
    out = out.reshape(rows * block, cols * block, 3).numpy()[:keep_h, :keep_w]
    return cv2.resize(np.ascontiguousarray(out), (width, height), interpolation=cv2.INTER_LINEAR)


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
        return up + aggregate_residual(filled.astype(np.float32), hole, residual)

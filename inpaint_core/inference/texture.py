"""Grain for a smooth fill: the network's colours, PatchMatch's and the context's detail.

A network trained with L1 losses on a few CPU hours paints the mean of what could be behind a
logo: the right colours at low frequencies and no grain at all, a smear a person sees at once.
PatchMatch (patchmatch.py) copies the photo's own patches into the hole, so it has grain, but
its colours and shapes are less often right. Inside the repainted pixels the Inpainter takes
the low frequencies of a mix of both (their errors are partly independent, so the mix is closer
to the truth than either) and adds grain on top:

    out = G_sigma(mix * net + (1 - mix) * pm) + amount * grain      (`fuse_texture`)

(G_sigma a Gaussian blur of `sigma` px). The grain is copied from the context at source scale
(`transfer_grain`), because PatchMatch runs on a small window for time and its own grain is
soft there; the fusion fades in with the depth inside the repainted pixels (`fusion_weight`),
so a thin refined stroke keeps the network's fill. Figures: bench/RESULTS-removal.md (#16).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class TextureConfig:
    """How a residual model's fill gets its grain (see the module docstring)."""

    # "patchmatch": fuse the network's fill with a PatchMatch fill; "none": the network's alone
    method: str = "patchmatch"
    # PatchMatch runs on a window around the hole (its box grown by `context` x its sides),
    # scaled down to at most `max_pixels`: PyPatchMatch's time grows with the window (about
    # 10 us per pixel on one EPYC core: 0.08 s at 5,000 px, 0.28 s at 20,000). 15,000 px and
    # 0.75 (since 2026-11-30; 5,000 and 1.0 before) keep the PatchMatch fill near source scale
    # on 512-px photos, so its grain and shapes survive the fusion, within #16's time limit
    # (x1.96 the smooth path's time in whole mode on 1-MP photos; 30,000 px: x2.59)
    max_pixels: int = 15_000
    context: float = 0.75
    mix: float = 0.4  # the network's share of the low frequencies
    # how much grain is added: 0.8 since 2026-11-30 (0.9 before: with the sharper PatchMatch
    # fill the texture ratio was 0.91-0.93 and 0.8 gains 0.08-0.10 dB, texture 0.82-0.86)
    amount: float = 0.8
    sigma: float = 1.0  # px (source scale): the split between low and high frequencies
    # where the grain comes from: "transfer" (transfer_grain: context patches at source scale)
    # or "patchmatch" (the PatchMatch fill's own, which is soft where it ran downscaled)
    grain: str = "transfer"
    # px: the fusion fades in with the distance from the edge of the repainted pixels, from 0
    # at `inner` px to full at `inner + ramp` px. With (3, 4) (before 2026-11-30) a repainted
    # band up to 14 px wide (a ring's stroke grown by the 3-px margin) kept mostly the
    # network's smooth fill and showed as a blurred circle; with the sharper PatchMatch fill
    # above, (1.5, 1.5) is as good in PSNR on the tuning sets (bench/RESULTS-removal.md)
    inner: float = 1.5
    ramp: float = 1.5

    def __post_init__(self) -> None:
        if self.method not in ("patchmatch", "none"):
            raise ValueError(f"texture method must be 'patchmatch' or 'none', got {self.method!r}")
        if self.grain not in ("transfer", "patchmatch"):
            raise ValueError(
                f"texture grain must be 'transfer' or 'patchmatch', got {self.grain!r}"
            )
        if not (0 <= self.mix <= 1 and self.amount >= 0 and self.sigma > 0
                and self.max_pixels > 0 and self.context >= 0):
            raise ValueError(f"invalid TextureConfig: {self}")


def low_pass(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a float (H, W, C) image, `sigma` px, edges reflected."""
    return cv2.GaussianBlur(np.asarray(image, np.float32), (0, 0), sigma)


def fuse_texture(
    net: np.ndarray,
    pm: np.ndarray,
    region: np.ndarray,
    *,
    mix: float = 0.4,
    amount: float = 0.8,
    sigma: float = 1.0,
    grain: np.ndarray | None = None,
) -> np.ndarray:
    """float32 (H, W, 3): `net` with the module docstring's fusion inside `region` (bool (H, W)).

    `net` and `pm` are (H, W, 3) fills of the same crop in [0, 255] (float or uint8); outside
    `region` the result is `net`. `grain`: the high frequencies to add (default PatchMatch's,
    `pm - G_sigma(pm)`; `transfer_grain` copies them from the context instead).
    """
    net32 = np.asarray(net, np.float32)
    pm32 = np.asarray(pm, np.float32)
    if grain is None:
        grain = pm32 - low_pass(pm32, sigma)
    fused = low_pass(mix * net32 + (1 - mix) * pm32, sigma) + amount * grain
    return np.where(np.asarray(region, bool)[..., None], fused, net32)


def fusion_weight(region: np.ndarray, inner: float, ramp: float) -> np.ndarray:
    """float32 (H, W) in [0, 1]: 0 outside `region` and within `inner` px of its edge, 1 from
    `inner + ramp` px inwards (ramp 0: 1 everywhere in the region)."""
    region_u8 = np.asarray(region).astype(np.uint8)
    if ramp <= 0 and inner <= 0:
        return region_u8.astype(np.float32)
    depth = cv2.distanceTransform(region_u8, cv2.DIST_L2, 3)
    return np.clip((depth - inner) / max(ramp, 1e-6), 0, 1).astype(np.float32)


GRAIN_PATCH = 16  # px: the grain is copied in patches of this side, overlapping by half
DESCRIPTOR_STEP = 8  # px: descriptors sample the low frequencies on this grid
MAX_SOURCES = 2048  # context windows compared with each hole window at most
# a target window copies none of the windows that the targets up to this many windows before it
# (left, above) copy, taking the next nearest of its CANDIDATES nearest instead
REPEAT_REACH = 2
CANDIDATES = 16


def _windows(image: torch.Tensor, side: int, step: int) -> torch.Tensor:
    """(C, H, W) -> (rows * cols, C * side^2): every side x side window at `step`."""
    return F.unfold(image[None], kernel_size=side, stride=step)[0].T


def _chw(image: np.ndarray) -> torch.Tensor:
    array = np.asarray(image, np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _window_any(mask: np.ndarray, pads: tuple[tuple[int, int], tuple[int, int]], outside: bool,
                step: int) -> np.ndarray:
    """(rows * cols,) bool: whether each 2*step-side window at `step` holds a set pixel of
    `mask` padded by `pads` with `outside` (a 2x2 OR of step x step cells: no float pass)."""
    grid = np.pad(np.asarray(mask, bool), pads, constant_values=outside)
    height, width = grid.shape
    cells = grid.reshape(height // step, step, width // step, step).any(axis=(1, 3))
    return (cells[:-1, :-1] | cells[1:, :-1] | cells[:-1, 1:] | cells[1:, 1:]).ravel()


def _descriptors(smooth: np.ndarray, pads: tuple[tuple[int, int], tuple[int, int]], reach: int,
                 sigma: float, patch: int, step: int) -> torch.Tensor:
    """(rows * cols, 3 * side^2): the low frequencies of `smooth` in a window twice the patch
    around each patch, sampled every DESCRIPTOR_STEP px. The 2-sigma blur runs at half scale
    after a 2x2 mean (the same low-pass within a fraction of a grey level, a quarter of the
    pixels and half the kernel), then a DESCRIPTOR_STEP / 2 mean."""
    (_, pad_h), (_, pad_w) = pads
    # numpy's "reflect" padding, which cv2 does in a fraction of the time
    around = cv2.copyMakeBorder(np.ascontiguousarray(smooth, np.float32), reach, reach + pad_h,
                                reach, reach + pad_w, cv2.BORDER_REFLECT_101)
    half = cv2.resize(around, (around.shape[1] // 2, around.shape[0] // 2),
                      interpolation=cv2.INTER_AREA)
    half = low_pass(half, sigma / 2)  # `sigma` source px
    cells = (around.shape[1] // DESCRIPTOR_STEP, around.shape[0] // DESCRIPTOR_STEP)
    small = cv2.resize(half, cells, interpolation=cv2.INTER_AREA)
    side, hop = 2 * patch // DESCRIPTOR_STEP, step // DESCRIPTOR_STEP
    return _windows(_chw(small), side, hop)


def _reflect(index: np.ndarray, size: int) -> np.ndarray:
    """Indices past either end of [0, size) mirrored back, the edge not repeated (reflect-101)."""
    if size == 1:
        return np.zeros_like(index)
    period = 2 * (size - 1)
    index = np.abs(index) % period
    return np.where(index >= size, period - index, index)


def _source_detail(original: np.ndarray, windows: np.ndarray, cols: int, sigma: float,
                   patch: int, step: int) -> np.ndarray:
    """(len(windows), patch, patch, 3): the detail (`original` minus its `sigma` low-pass,
    mirrored past the crop's edge) of the given windows only: patches cut with the margin the
    blur's kernel needs (gathered straight from `original`, no padded copy of the crop) and
    blurred as one stacked image, whose margins keep the patches apart."""
    radius = int(np.ceil(4 * sigma))  # cv2's float Gaussian kernel reaches 4 sigma
    height, width = original.shape[:2]
    span = np.arange(-radius, patch + radius)
    ys = _reflect(((windows // cols) * step)[:, None] + span[None, :], height)  # (n, side)
    xs = _reflect(((windows % cols) * step)[:, None] + span[None, :], width)
    cut = np.asarray(original)[ys[:, :, None], xs[:, None, :]].astype(np.float32)
    side = patch + 2 * radius
    blurred = low_pass(cut.reshape(-1, side, 3), sigma).reshape(cut.shape)
    inner = slice(radius, radius + patch)
    return (cut - blurred)[:, inner, inner]


def transfer_grain(
    smooth: np.ndarray, original: np.ndarray, painted: np.ndarray, exclude: np.ndarray, *,
    sigma: float = 1.0, patch: int = GRAIN_PATCH, distinct: bool = True,
) -> np.ndarray:
    """float32 (H, W, 3): grain (the photo's detail finer than `sigma`) for the `painted` pixels,
    copied from the context of `original`.

    The crop is cut into `patch` x `patch` windows overlapping by half (`patch` even). Each
    window touching `painted` takes the grain of the context window whose surroundings (twice
    the side: the low frequencies of `smooth` sampled every DESCRIPTOR_STEP px) look most alike;
    context windows touch no `exclude` pixel (the hole and what may hold a logo). `distinct`:
    no two target windows within REPEAT_REACH windows copy the same context window
    (`_distinct_choice`). Overlaps are blended with sin^2 weights normalised by their root sum
    of squares, so the copied grain keeps its strength where two copies meet. Zero where no
    context window exists.

    Cost follows the painted area, not the crop's: the only full-crop passes are two 8x8-cell
    ORs and the descriptors' low-pass at half scale; the detail is computed for the chosen
    context windows only.
    """
    if patch % 2 or patch % DESCRIPTOR_STEP:
        raise ValueError(f"patch must be a multiple of {DESCRIPTOR_STEP}, got {patch}")
    height, width = painted.shape
    step = patch // 2
    rows, cols = -(-max(height - patch, 0) // step) + 1, -(-max(width - patch, 0) // step) + 1
    pad_h, pad_w = (rows - 1) * step + patch - height, (cols - 1) * step + patch - width
    pads = ((0, pad_h), (0, pad_w))
    target = np.flatnonzero(_window_any(painted, pads, False, step))
    source = np.flatnonzero(~_window_any(exclude, pads, True, step))
    if target.size == 0 or source.size == 0:
        return np.zeros((height, width, 3), np.float32)
    with torch.inference_mode():
        descriptors = _descriptors(smooth, pads, patch // 2, 2 * sigma, patch, step)
        if source.size > MAX_SOURCES:  # an even spread of the context, for time
            source = source[torch.linspace(0, source.size - 1, MAX_SOURCES).long().numpy()]
        t, s = descriptors[torch.from_numpy(target)], descriptors[torch.from_numpy(source)]
        distance = torch.addmm((s * s).sum(1)[None], t, s.T, alpha=-2.0)  # |t - s|^2 - |t|^2
        if distinct:
            best = _distinct_choice(distance, target, source, cols)
        else:
            best = source[distance.argmin(1).numpy()]
    used, which = np.unique(best, return_inverse=True)
    detail = _source_detail(original, used, cols, sigma, patch, step)
    span = np.arange(patch)
    ramp = np.sin(np.pi * (span + 0.5) / patch) ** 2
    weight = (ramp[:, None] * ramp[None, :]).astype(np.float32)
    copied = detail[which] * weight[..., None]  # (targets, patch, patch, 3)
    return _overlap_add(copied, weight, target, rows, cols, step, (height, width))


def _distinct_choice(distance: torch.Tensor, target: np.ndarray, source: np.ndarray,
                     cols: int) -> np.ndarray:
    """The source window of each target window (window indices; targets in raster order): its
    nearest by `distance` (targets x sources) among the CANDIDATES nearest that no earlier
    target within REPEAT_REACH windows has taken (the nearest when all have been).

    Nearest alone gives every target over an even stretch (sky, a plain wall) the same
    window, and copies of one patch every `step` px line up into a row of ghost shapes."""
    count = min(CANDIDATES, source.size)
    order = distance.topk(count, dim=1, largest=False).indices.numpy()
    ranked = source[order]  # (targets, count) window indices, nearest first
    chosen: dict[int, int] = {}
    out = ranked[:, 0].copy()
    for i, cell in enumerate(target.tolist()):
        row, col = divmod(cell, cols)
        taken = {chosen.get(r * cols + c) for r in range(row - REPEAT_REACH, row + 1)
                 for c in range(max(0, col - REPEAT_REACH), min(cols, col + REPEAT_REACH + 1))}
        for candidate in ranked[i].tolist():
            if candidate not in taken:
                out[i] = candidate
                break
        chosen[cell] = int(out[i])
    return out


def _overlap_add(copied: np.ndarray, weight: np.ndarray, target: np.ndarray, rows: int,
                 cols: int, step: int, shape: tuple[int, int]) -> np.ndarray:
    """Windows of side 2*step placed at (target // cols, target % cols) * step and summed,
    normalised by the root of their summed squared weights. Windows of the same row and column
    parity do not overlap, so each parity is one scatter into a grid of whole windows."""
    r0, c0 = target // cols, target % cols
    top, left = int(r0.min()), int(c0.min())
    sub_rows, sub_cols = int(r0.max()) - top + 1, int(c0.max()) - left + 1
    out = np.zeros(((sub_rows + 1) * step, (sub_cols + 1) * step, 3), np.float32)
    energy = np.zeros(out.shape[:2], np.float32)
    patch = 2 * step
    for row_parity in (0, 1):
        for col_parity in (0, 1):
            pick = ((r0 - top) % 2 == row_parity) & ((c0 - left) % 2 == col_parity)
            if not pick.any():
                continue
            grid_r = -(-(sub_rows - row_parity) // 2)
            grid_c = -(-(sub_cols - col_parity) // 2)
            grid = np.zeros((grid_r, grid_c, patch, patch, 3), np.float32)
            mass = np.zeros((grid_r, grid_c, patch, patch), np.float32)
            gr, gc = (r0[pick] - top) // 2, (c0[pick] - left) // 2
            grid[gr, gc] = copied[pick]
            mass[gr, gc] = weight**2
            y, x = row_parity * step, col_parity * step
            h, w = grid_r * patch, grid_c * patch
            out[y : y + h, x : x + w] += grid.transpose(0, 2, 1, 3, 4).reshape(h, w, 3)
            energy[y : y + h, x : x + w] += mass.transpose(0, 2, 1, 3).reshape(h, w)
    out /= np.sqrt(np.maximum(energy, 1e-6))[..., None]
    height, width = shape
    full = np.zeros((rows * step + step, cols * step + step, 3), np.float32)
    full[top * step : top * step + out.shape[0], left * step : left * step + out.shape[1]] = out
    return full[:height, :width]

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
    # scaled down to at most `max_pixels`: PyPatchMatch's time grows with the window (0.01 s at
    # 1,250 px, 0.1 s at 5,000, 0.35 s at 10,000 on one loaded EPYC core); its low frequencies
    # need no more (5,000 px gave the same PSNR as 20,000 within 0.1 dB, 1,500 px no gain)
    max_pixels: int = 5_000
    context: float = 1.0
    mix: float = 0.4  # the network's share of the low frequencies
    amount: float = 0.9  # how much grain is added
    sigma: float = 1.0  # px (source scale): the split between low and high frequencies
    # where the grain comes from: "transfer" (transfer_grain: context patches at source scale)
    # or "patchmatch" (the PatchMatch fill's own, which is soft where it ran downscaled)
    grain: str = "transfer"
    # px: the fusion fades in with the distance from the edge of the repainted pixels, from 0
    # at `inner` px to full at `inner + ramp` px, so thin repainted strokes (a refined word)
    # keep the network's fill: a smooth 3-px stroke is no visible smear. On a default-style
    # set from training photos (shard-2, 60 images, seed 7) box mode lost 0.54 dB to the
    # smooth fill with the fusion everywhere, 0.32 with (2, 2), 0.18 with (3, 4)
    inner: float = 3.0
    ramp: float = 4.0

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


def _windows(image: torch.Tensor, side: int, step: int) -> torch.Tensor:
    """(C, H, W) -> (rows * cols, C * side^2): every side x side window at `step`."""
    return F.unfold(image[None], kernel_size=side, stride=step)[0].T


def _chw(image: np.ndarray) -> torch.Tensor:
    array = np.asarray(image, np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def transfer_grain(
    smooth: np.ndarray, original: np.ndarray, painted: np.ndarray, exclude: np.ndarray, *,
    sigma: float = 1.0, patch: int = GRAIN_PATCH,
) -> np.ndarray:
    """float32 (H, W, 3): grain (the photo's detail finer than `sigma`) for the `painted` pixels,
    copied from the context of `original`.

    The crop is cut into `patch` x `patch` windows overlapping by half. Each window touching
    `painted` takes the grain of the context window whose surroundings (twice the side: the low
    frequencies of `smooth` sampled every DESCRIPTOR_STEP px) look most alike; context windows
    touch no `exclude` pixel (the hole and what may hold a logo). Overlaps are blended with
    sin^2 weights normalised by their root sum of squares, so the copied grain keeps its
    strength where two copies meet. Zero where no context window exists.
    """
    height, width = painted.shape
    step = patch // 2
    rows, cols = -(-max(height - patch, 0) // step) + 1, -(-max(width - patch, 0) // step) + 1
    pad_h, pad_w = (rows - 1) * step + patch - height, (cols - 1) * step + patch - width
    pads = ((0, pad_h), (0, pad_w))
    with torch.inference_mode():
        # which windows touch the painted pixels, which touch an excluded one (or the padding)
        def pooled(mask: np.ndarray, outside: bool) -> torch.Tensor:
            grid = torch.from_numpy(np.pad(mask, pads, constant_values=outside).astype(np.float32))
            return F.max_pool2d(grid[None, None], patch, step).flatten() > 0  # (rows * cols,)

        target = torch.nonzero(pooled(painted, False))[:, 0]
        source = torch.nonzero(~pooled(exclude, True))[:, 0]
        if target.numel() == 0 or source.numel() == 0:
            return np.zeros((height, width, 3), np.float32)
        # descriptors: the low frequencies of a window twice the patch around each patch
        reach = patch // 2
        around = np.pad(low_pass(smooth, 2 * sigma),
                        ((reach, reach + pad_h), (reach, reach + pad_w), (0, 0)), mode="reflect")
        small = cv2.resize(around, (around.shape[1] // DESCRIPTOR_STEP,
                                    around.shape[0] // DESCRIPTOR_STEP),
                           interpolation=cv2.INTER_AREA)
        side, hop = 2 * patch // DESCRIPTOR_STEP, step // DESCRIPTOR_STEP
        descriptors = _windows(_chw(small), side, hop)  # (rows * cols, 3 * side^2)
        if source.numel() > MAX_SOURCES:  # an even spread of the context, for time
            source = source[torch.linspace(0, source.numel() - 1, MAX_SOURCES).long()]
        t, s = descriptors[target], descriptors[source]
        distance = torch.addmm((s * s).sum(1)[None], t, s.T, alpha=-2.0)  # |t - s|^2 - |t|^2
        best = source[distance.argmin(1)].numpy()
    detail = np.asarray(original, np.float32)
    detail = np.pad(detail - low_pass(detail, sigma), (*pads, (0, 0)), mode="reflect")
    # overlap-add of the chosen patches over the rows and columns that hold targets only
    cells = target.numpy()
    r0, c0 = cells // cols, cells % cols
    top, left = int(r0.min()), int(c0.min())
    sub_rows, sub_cols = int(r0.max()) - top + 1, int(c0.max()) - left + 1
    span = np.arange(patch)
    ys = ((best // cols) * step)[:, None, None] + span[None, :, None]  # (targets, patch, 1)
    xs = ((best % cols) * step)[:, None, None] + span[None, None, :]  # (targets, 1, patch)
    ramp = np.sin(np.pi * (span + 0.5) / patch) ** 2
    weight = (ramp[:, None] * ramp[None, :]).astype(np.float32)
    height_sub, width_sub = (sub_rows + 1) * step, (sub_cols + 1) * step
    out = np.zeros((height_sub, width_sub, 3), np.float32)
    energy = np.zeros((height_sub, width_sub), np.float32)
    copied = detail[ys, xs] * weight[..., None]  # (targets, patch, patch, 3)
    for k, (row, col) in enumerate(zip(r0 - top, c0 - left, strict=True)):
        out[row * step : row * step + patch, col * step : col * step + patch] += copied[k]
        energy[row * step : row * step + patch, col * step : col * step + patch] += weight**2
    out /= np.sqrt(np.maximum(energy, 1e-6))[..., None]
    full = np.zeros((rows * step + step, cols * step + step, 3), np.float32)
    full[top * step : top * step + height_sub, left * step : left * step + width_sub] = out
    return full[:height, :width]

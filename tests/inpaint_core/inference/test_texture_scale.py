"""transfer_grain at the cost of the painted area: the same grain as the whole-crop version."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inpaint_core.inference import texture
from inpaint_core.inference.texture import (
    DESCRIPTOR_STEP,
    GRAIN_PATCH,
    MAX_SOURCES,
    low_pass,
    transfer_grain,
)


def _reference(smooth: np.ndarray, original: np.ndarray, painted: np.ndarray,
               exclude: np.ndarray, sigma: float = 1.0, patch: int = GRAIN_PATCH) -> np.ndarray:
    """The whole-crop transfer_grain this module replaced (commit b82f7c6), for parity."""
    height, width = painted.shape
    step = patch // 2
    rows, cols = -(-max(height - patch, 0) // step) + 1, -(-max(width - patch, 0) // step) + 1
    pad_h, pad_w = (rows - 1) * step + patch - height, (cols - 1) * step + patch - width
    pads = ((0, pad_h), (0, pad_w))

    def pooled(mask: np.ndarray, outside: bool) -> torch.Tensor:
        grid = torch.from_numpy(np.pad(mask, pads, constant_values=outside).astype(np.float32))
        return F.max_pool2d(grid[None, None], patch, step).flatten() > 0

    target = torch.nonzero(pooled(painted, False))[:, 0]
    source = torch.nonzero(~pooled(exclude, True))[:, 0]
    descriptors = _full_descriptors(smooth, pads, sigma, patch, step)
    if source.numel() > MAX_SOURCES:
        source = source[torch.linspace(0, source.numel() - 1, MAX_SOURCES).long()]
    t, s = descriptors[target], descriptors[source]
    best = source[torch.addmm((s * s).sum(1)[None], t, s.T, alpha=-2.0).argmin(1)].numpy()
    detail = np.asarray(original, np.float32)
    detail = np.pad(detail - low_pass(detail, sigma), (*pads, (0, 0)), mode="reflect")
    span = np.arange(patch)
    ramp = np.sin(np.pi * (span + 0.5) / patch) ** 2
    weight = (ramp[:, None] * ramp[None, :]).astype(np.float32)
    out = np.zeros((rows * step + step, cols * step + step, 3), np.float32)
    energy = np.zeros(out.shape[:2], np.float32)
    for cell, chosen in zip(target.numpy(), best, strict=True):
        y, x = (cell // cols) * step, (cell % cols) * step
        sy, sx = (chosen // cols) * step, (chosen % cols) * step
        out[y : y + patch, x : x + patch] += detail[sy : sy + patch, sx : sx + patch] * weight[
            ..., None]
        energy[y : y + patch, x : x + patch] += weight**2
    out /= np.sqrt(np.maximum(energy, 1e-6))[..., None]
    return out[:height, :width]


def _full_descriptors(smooth: np.ndarray, pads: tuple[tuple[int, int], tuple[int, int]],
                      sigma: float, patch: int, step: int) -> torch.Tensor:
    (_, pad_h), (_, pad_w) = pads
    reach = patch // 2
    around = np.pad(low_pass(smooth, 2 * sigma),
                    ((reach, reach + pad_h), (reach, reach + pad_w), (0, 0)), mode="reflect")
    small = cv2.resize(around, (around.shape[1] // DESCRIPTOR_STEP,
                                around.shape[0] // DESCRIPTOR_STEP), interpolation=cv2.INTER_AREA)
    return texture._windows(texture._chw(small), 2 * patch // DESCRIPTOR_STEP,
                            step // DESCRIPTOR_STEP)


def _scene(height: int = 203, width: int = 250) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(3)
    base = cv2.resize(rng.integers(0, 255, (12, 14, 3)).astype(np.uint8), (width, height),
                      interpolation=cv2.INTER_CUBIC)
    photo = np.clip(base + rng.normal(0, 9, base.shape), 0, 255).astype(np.uint8)  # grain
    painted = np.zeros((height, width), bool)
    painted[70:150, 60:190] = True
    smooth = photo.astype(np.float32)
    smooth[painted] = low_pass(smooth, 6.0)[painted]
    exclude = cv2.dilate(painted.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    return smooth, photo, painted, exclude


def test_grain_equals_the_whole_crop_version_given_the_same_descriptors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smooth, photo, painted, exclude = _scene()
    monkeypatch.setattr(texture, "_descriptors",
                        lambda smooth, pads, reach, sigma, patch, step: _full_descriptors(
                            smooth, pads, sigma / 2, patch, step))
    ours = transfer_grain(smooth, photo, painted, exclude, distinct=False)
    assert np.allclose(ours, _reference(smooth, photo, painted, exclude), atol=1e-3)


def test_half_scale_descriptors_give_grain_of_the_same_strength() -> None:
    smooth, photo, painted, exclude = _scene()
    ours = transfer_grain(smooth, photo, painted, exclude, distinct=False)
    reference = _reference(smooth, photo, painted, exclude)
    ratio = np.abs(ours[painted]).mean() / np.abs(reference[painted]).mean()
    assert 0.95 < ratio < 1.05
    assert not ours[~cv2.dilate(painted.astype(np.uint8), np.ones((33, 33), np.uint8)).astype(
        bool)].any()  # no grain far outside the painted pixels
    # the descriptors themselves: the same low-pass within a grey level or so
    step = GRAIN_PATCH // 2
    pads = ((0, 5), (0, 6))
    half = texture._descriptors(smooth[:211 - 8, :], pads, step, 2.0, GRAIN_PATCH, step)
    full = _full_descriptors(smooth[:211 - 8, :], pads, 1.0, GRAIN_PATCH, step)
    assert float((half - full).abs().mean()) < 1.0


def test_odd_patch_is_refused() -> None:
    smooth, photo, painted, exclude = _scene(40, 40)
    with pytest.raises(ValueError, match="patch"):
        transfer_grain(smooth, photo, painted, exclude, patch=12)


def test_the_inpainter_takes_grain_from_near_the_hole_not_from_the_whole_crop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large logo's crop holds megapixels far from the hole; the grain step is handed the
    view around the fill grown by GRAIN_CONTEXT px, so its cost follows the region, and it still
    paints grain into the hole."""
    from dataclasses import replace

    from inpaint_core import Inpainter
    from inpaint_core.inference import inpainter as module
    from inpaint_core.model.network import AOTGenerator
    from tests.fixtures.images import photo_like
    from tests.fixtures.models import TINY

    seen: list[tuple[int, int]] = []
    grains: list[np.ndarray] = []

    def recording(smooth: np.ndarray, original: np.ndarray, painted: np.ndarray,
                  exclude: np.ndarray, **kwargs: float) -> np.ndarray:
        seen.append(painted.shape)
        grains.append(transfer_grain(smooth, original, painted, exclude, **kwargs))
        return grains[-1]

    monkeypatch.setattr(module, "transfer_grain", recording)
    generator = AOTGenerator(replace(TINY, residual=True, prefill="telea", work_size=32)).eval()
    inpainter = Inpainter(generator)
    image = photo_like(1500, 1500, seed=4)
    mask = np.zeros((1500, 1500), bool)
    mask[500:1000, 500:1000] = True
    out = inpainter.inpaint(image, mask, keep_background=False)
    assert seen, "the grain step did not run"
    side = 500 + 2 * (inpainter.planner.margin + 1 + module.TEXTURE_REACH + module.GRAIN_CONTEXT)
    assert all(h <= side and w <= side for h, w in seen), seen
    assert all(np.abs(g).max() > 1 for g in grains)  # the photo's grain was copied in
    assert not np.array_equal(out[mask], image[mask])


def _lag_correlation(grain: np.ndarray, where: np.ndarray, lag: int) -> float:
    """Correlation of the grain with itself `lag` px to the right, over `where`."""
    a = grain[:, :-lag].mean(axis=2)
    b = grain[:, lag:].mean(axis=2)
    both = where[:, :-lag] & where[:, lag:]
    return float(np.corrcoef(a[both], b[both])[0, 1])


def test_a_flat_hole_is_not_filled_with_one_patch_repeated() -> None:
    """Where every target window's surroundings look alike (a badge over sky, a plain wall),
    each took the same best context window, and the copies, 8 px apart, lined up into a row
    of ghost shapes (the demo's NORDWAVE badge over a snowy ridge turned into a row of "v"s).
    Neighbouring windows now copy different patches (the nearest that no window within two
    steps copies), so the grain has the photo's own correlation, not the step's."""
    rng = np.random.default_rng(5)
    photo = np.clip(128 + rng.normal(0, 20, (160, 240, 3)), 0, 255).astype(np.uint8)
    photo = cv2.GaussianBlur(photo, (0, 0), 0.8)  # grain of about a pixel, no 8-px period
    painted = np.zeros((160, 240), bool)
    painted[60:100, 40:200] = True
    smooth = np.full(photo.shape, 128.0, np.float32)  # flat low frequencies everywhere
    exclude = cv2.dilate(painted.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    step = GRAIN_PATCH // 2
    inner = np.zeros_like(painted)
    inner[64:96, 44:196] = True
    natural = _lag_correlation(photo.astype(np.float32) - low_pass(photo, 1.0), inner, step)
    grain = transfer_grain(smooth, photo, painted, exclude)
    assert np.abs(grain[inner]).mean() > 2  # grain was copied in
    assert _lag_correlation(grain, inner, step) < natural + 0.15
    repeated = transfer_grain(smooth, photo, painted, exclude, distinct=False)
    assert _lag_correlation(repeated, inner, step) > natural + 0.3  # what the old rule did

"""What the generator sees inside the hole.

The paper's generator gets the hole painted white (+1). A generator whose config says
`prefill="telea"` gets OpenCV's Telea fill of the hole instead: a smooth first guess that
carries the surrounding colours in, which the network then refines. `prefill="refine"` keeps
what a logo box shows besides the logo: inside every box-shaped part of the hole only the pixels
that `refine.refine_mask` takes for logo are Telea-filled, the box's background pixels stay as
photographed, and the residual network corrects the whole box (leftover logo fringe, a
translucent logo's tint). `generator_input` (tensors, model scale) and `prefill_pixels` (uint8,
source scale) are shared by training, the critic and the Inpainter, so a model is fed the same
way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch

from inpaint_core.masks.components import Component, label_components
from inpaint_core.masks.refine import refine_mask
from inpaint_core.model.network import prepare_input

TELEA_RADIUS = 5  # pixels of known neighbourhood OpenCV's Telea fill looks at
BOXLIKE = 0.97  # a hole component filling this share of its bounding box is an annotated box


def telea(image: np.ndarray, mask: np.ndarray, radius: int = TELEA_RADIUS) -> np.ndarray:
    """OpenCV's Telea inpainting of `mask` (bool/uint8 (H, W), nonzero = hole) in `image`
    (uint8 (H, W, 3)): the classical baseline, and the "telea" prefill."""
    hole = (np.asarray(mask) > 0).astype(np.uint8) * 255
    return cv2.inpaint(np.ascontiguousarray(image), hole, radius, cv2.INPAINT_TELEA)


def telea_scaled(image: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """`telea(image, mask)` computed at `scale` (see `fill_at_scale`). Telea's cost grows with
    the hole's pixel count, so a large logo filled at a fraction of its size costs that
    fraction squared. Telea reads only TELEA_RADIUS px around the hole, so the fill is made on
    the hole's bounding box grown by that much (at `scale`, plus a pixel for the resampling)."""
    reach = int(np.ceil((TELEA_RADIUS + 2) / min(scale, 1.0)))
    return fill_at_scale(telea, image, mask, scale, upsample=cv2.INTER_LINEAR, reach=reach)


def fill_at_scale(
    fill: Callable[[np.ndarray, np.ndarray], np.ndarray],
    image: np.ndarray,
    mask: np.ndarray,
    scale: float,
    *,
    upsample: int,
    reach: int | None = None,
) -> np.ndarray:
    """`fill(image, hole)` computed at `scale`: < 1 on a downscaled copy (a small pixel is a
    hole when any source hole pixel falls in it), brought back up with the `upsample`
    interpolation and used only inside the mask; pixels outside it stay byte-identical.
    `reach`: source px around the hole that `fill` reads at most (a local fill such as Telea);
    the fill is then made on the hole's bounding box grown by that much, not on all of `image`."""
    hole = np.asarray(mask).astype(bool)
    if reach is not None:
        rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
        if rows.size == 0:
            return np.array(image, copy=True)
        height, width = hole.shape
        window = (slice(max(0, int(rows[0]) - reach), min(height, int(rows[-1]) + 1 + reach)),
                  slice(max(0, int(cols[0]) - reach), min(width, int(cols[-1]) + 1 + reach)))
        if (window[0].stop - window[0].start) * (window[1].stop - window[1].start) < hole.size:
            out = np.array(image, copy=True)
            out[window] = fill_at_scale(fill, image[window], hole[window], scale,
                                        upsample=upsample)
            return out
    if scale >= 1.0 or not hole.any():
        return fill(image, hole)
    height, width = hole.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 0
    filled = cv2.resize(fill(small, small_hole), (width, height), interpolation=upsample)
    out = np.array(image, copy=True)
    out[hole] = filled[hole]
    return out


PREFILL_FILLS = ("telea", "patchmatch")


def prefill_scaled(image: np.ndarray, mask: np.ndarray, scale: float, fill: str = "telea"
                   ) -> np.ndarray:
    """The prefill of `mask` at `scale` (see `telea_scaled`) with the classical `fill`: "telea"
    (diffusion: smooth) or "patchmatch" (the photo's own patches: texture)."""
    if fill == "telea":
        return telea_scaled(image, mask, scale)
    if fill == "patchmatch":
        from inpaint_core.inference.patchmatch import patchmatch_scaled

        return patchmatch_scaled(image, mask, scale)
    raise ValueError(f"unknown prefill fill {fill!r}; choose one of {PREFILL_FILLS}")


def logo_pixels(
    image: np.ndarray, hole: np.ndarray, components: list[Component] | None = None
) -> np.ndarray:
    """The pixels of `hole` that a "refine" prefill replaces (bool (H, W), a subset of hole).

    Each connected part of the hole that is (nearly) a filled rectangle is taken for an
    annotated box and narrowed to its logo pixels by `refine_mask` (which uses the whole box
    when unsure); any other part (a pixel mask, overlapping boxes) is replaced whole.
    `components`: the hole's connected components, when already labelled.
    """
    hole = np.asarray(hole).astype(bool)
    out = hole.copy()
    if components is None:
        components = label_components(hole)
    boxes = []
    for component in components:
        x1, y1, x2, y2 = component.box
        if component.area >= BOXLIKE * (x2 - x1) * (y2 - y1):
            boxes.append([x1, y1, x2, y2])
            out[y1:y2, x1:x2][component.pixels] = False  # the component lies inside its box
    if boxes:
        refined, _ = refine_mask(image, boxes)
        out |= refined & hole
    return out


def prefill_pixels(image: np.ndarray, hole: np.ndarray, prefill: str) -> np.ndarray:
    """uint8 (H, W, 3): `image` with its hole prefilled at this (source) resolution, for the
    "telea" and "refine" prefills."""
    if prefill == "telea":
        return telea(image, hole)
    if prefill == "refine":
        return telea(image, logo_pixels(image, hole))
    raise ValueError(f"prefill {prefill!r} is not made at source resolution")


def generator_input(
    image: torch.Tensor, mask: torch.Tensor, prefill: str = "white", *, prefilled: bool = False
) -> torch.Tensor:
    """image (B, 3, H, W) in [-1, 1], mask (B, 1, H, W) with 1 = hole -> the generator's input.

    `prefilled`: the image's holes were already prefilled (by `prefill_pixels`), use it as is.
    A "refine" model given plain holes gets them Telea-filled whole (what `logo_pixels` does
    for a hole that is no box).
    """
    if prefill == "white":
        return prepare_input(image, mask)
    if prefill not in ("telea", "refine"):
        raise ValueError(f"unknown prefill {prefill!r}")
    if prefilled:
        return image
    pixels = ((image.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    pixels_np = pixels.permute(0, 2, 3, 1).cpu().numpy()  # (B, H, W, 3)
    holes_np = (mask.detach()[:, 0] > 0.5).cpu().numpy()
    filled = np.stack([telea(p, h) for p, h in zip(pixels_np, holes_np, strict=True)])
    guess = torch.from_numpy(filled).to(image.device).permute(0, 3, 1, 2).float() / 127.5 - 1
    return image * (1 - mask) + guess.to(image.dtype) * mask

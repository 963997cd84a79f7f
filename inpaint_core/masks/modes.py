"""Mask modes: the one place that decides how a job's boxes and mask files become the region
to remove, how far that region grows, and whether a box keeps its background.

    mode     boxes become                          margin       keep_background
    box      whole boxes, grown over JPEG bleed    BOX_MARGIN   yes (a "refine" model keeps
                                                                what of a box is not logo)
    refine   the logo's pixels inside each box     PIXEL_MARGIN -
             (refine.py; unsure boxes stay whole)
    whole    whole boxes, grown over JPEG bleed    BOX_MARGIN   no: every pixel is repainted

A pixel mask (a mask file, a fixed watermark mask) is always used as it is and grows by
PIXEL_MARGIN. Torch-free: the scheduler validates modes with `MaskMode`, the Inpainter's
`remove` (inference/remove.py) applies the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from inpaint_core.errors import ImageInputError
from inpaint_core.masks.bleed import grow_for_bleed
from inpaint_core.masks.boxes import clamp_box
from inpaint_core.masks.refine import box_info, refine_mask


class MaskMode(StrEnum):
    """How boxes become the region to remove (see the module docstring)."""

    box = "box"
    refine = "refine"
    whole = "whole"


MASK_MODES = tuple(mode.value for mode in MaskMode)
DEFAULT_MASK_MODE = MaskMode.box
# a box already encloses its logo and the logo's anti-aliased edge: box masks are filled
# exactly (growing them by 3 px cost 0.3-1 dB inside the boxes on the make-benchmark set)
BOX_MARGIN = 0
# pixel masks (refined logos, mask files) grow by this much for anti-aliased edges and JPEG
# ringing; the same value as PlannerConfig.margin
PIXEL_MARGIN = 3


def mask_mode(value: str | MaskMode) -> MaskMode:
    """`value` as a MaskMode; ImageInputError naming the choices otherwise."""
    try:
        return MaskMode(value)
    except ValueError:
        raise ImageInputError(
            f"unknown mask mode {value!r}; use one of {', '.join(MASK_MODES)}"
        ) from None


@dataclass(frozen=True)
class RemovalMask:
    """The region to remove from one image and how to fill it."""

    mask: np.ndarray  # (H, W) bool, True = remove
    margin: int  # pixels the fill region grows beyond `mask`
    keep_background: bool  # a "refine" model may keep what of a box is not logo
    mode: MaskMode
    infos: list[dict[str, Any]] = field(default_factory=list)  # one per box (refine.box_info)

    @property
    def refined_boxes(self) -> int:
        """Boxes narrowed to the logo's pixels (not used whole, not empty)."""
        return sum(info["method"] != "box" for info in self.infos)

    @property
    def fallback_boxes(self) -> int:
        """Boxes "refine" used whole because it was unsure."""
        return sum(bool(info["fell_back"]) for info in self.infos)


def removal_mask(
    image: np.ndarray,
    *,
    boxes: Sequence[Sequence[int]] = (),
    pixel_mask: np.ndarray | None = None,
    mode: str | MaskMode = DEFAULT_MASK_MODE,
    bleed: bool = True,
    margin: int | None = None,
) -> RemovalMask:
    """The region to remove for `boxes` (0-based [x1, y1, x2, y2), end exclusive) under `mode`,
    joined with an optional `pixel_mask` ((H, W), nonzero = remove) used as it is.

    `bleed` (modes box and whole): grow each side of a tight box over the logo colour a JPEG
    smeared just outside it (bleed.py; up to 3 px). `margin` overrides the mode's margin.
    """
    mode = mask_mode(mode)
    rgb = np.asarray(image)
    height, width = rgb.shape[:2]
    if mode is MaskMode.refine:
        mask, infos = refine_mask(rgb, boxes, margin=PIXEL_MARGIN)
    else:
        mask, infos = whole_boxes(rgb, boxes, bleed=bleed)
    pixel = pixel_mask is not None and bool(np.asarray(pixel_mask).any())
    if pixel_mask is not None:
        extra = np.asarray(pixel_mask).astype(bool)
        if extra.shape != (height, width):
            raise ImageInputError(
                f"mask is {extra.shape[1]}x{extra.shape[0]} but the image is {width}x{height}"
            )
        mask = mask | extra
    if margin is None:
        margin = BOX_MARGIN if mode is not MaskMode.refine and not pixel else PIXEL_MARGIN
    elif margin < 0:
        raise ImageInputError(f"margin must be >= 0, got {margin}")
    return RemovalMask(mask=mask, margin=margin, keep_background=mode is not MaskMode.whole,
                       mode=mode, infos=infos)


def whole_boxes(
    image: np.ndarray, boxes: Sequence[Sequence[int]], *, bleed: bool = True
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The mask of whole boxes (clipped to the image), grown over JPEG bleed with `bleed`."""
    rgb = np.asarray(image)
    height, width = rgb.shape[:2]
    clipped = [clamp_box(box, width=width, height=height) for box in boxes]
    if bleed and clipped:  # grown boxes stay inside the image
        clipped = grow_for_bleed(rgb, clipped)
    mask = np.zeros((height, width), bool)
    infos = []
    for x1, y1, x2, y2 in clipped:
        mask[y1:y2, x1:x2] = True
        area = 1.0 if x2 > x1 and y2 > y1 else 0.0
        infos.append(box_info((x1, y1, x2, y2), "box", 1.0, False, area))
    return mask, infos

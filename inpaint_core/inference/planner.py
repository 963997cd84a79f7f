"""The high-resolution planner: which crops of a large photo the generator sees, at what scale.

The paper's fixed dilation rates (1, 2, 4, 8 at 1/4 resolution) cover a fixed number of
*pixels*, so on a 4K or 8K photo a logo is many times larger, in pixels, than the holes the
model was trained on, and the whole frame would not fit in memory either. The planner never
runs the full frame; it

1. grows the mask by `margin` into the fill region (the only pixels that may change),
2. splits the fill region into connected components (OpenCV) and merges components whose
   boxes are closer than `merge_distance` into regions; regions whose boxes still overlap
   are merged too, so region boxes are disjoint,
3. cuts a crop around each region with context (`context` x the region's side, at least
   `min_context` pixels), square by default (the larger side's context on every edge) or,
   with `min_aspect` < 1, shaped like the region (its shorter side at least `min_aspect` x
   the longer), shifted to stay inside the image,
4. scales the crop so its side is at most `work_size` (the side the weights were trained on, or
   the planner's `min_work_size` when larger):
   a large logo is seen by the model at the scale it was trained for; small crops are never
   upscaled (that adds pixels, not information) but rounded up to a multiple of 16 so
   crops of similar size batch together; a downscaled crop's shorter side is likewise rounded
   up to a multiple of work_size / 8 model pixels (more context),
5. pads the scaled crop to a multiple of 4 (and to the smallest size the reflection padding of
   the largest dilation allows).

Only a region that itself spans (nearly) the whole image gets a crop of the whole image,
downscaled to `work_size`: that is the fallback for masks covering nearly everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from inpaint_core.inference.texture import TextureConfig
from inpaint_core.masks.components import Box, Component, component_boxes, label_components
from inpaint_core.model.config import AOTConfig

SIZE_STEP = 16  # unscaled crops are rounded up to this many pixels so that they batch together
MAX_BOXES = 500  # above this many mask components, group them by a dilation first


@dataclass(frozen=True)
class PlannerConfig:
    """How the high-resolution planner cuts crops around logos."""

    margin: int = 3  # pixels the fill region grows beyond the mask, for anti-aliased logo edges
    context: float = 1.0  # context on each side of a region, as a fraction of the region's side
    # the crop's shorter side at least this fraction of its longer side. 1.0: square crops with
    # the region's larger side's context on every edge (the old default). 0.5: a wide or tall
    # logo gets a crop shaped like it: 19-25 % less model work, the same PSNR within 0.04 dB
    # on two 120-image benchmarks (bench/bench_crops.py, bench/RESULTS.md)
    min_aspect: float = 0.5
    # residual models with a Telea-based prefill: the prefill of a downscaled crop is made at
    # this multiple of the crop's model scale (capped at 1); 0 = at source resolution. 4: the
    # same PSNR (+-0.02 dB) on 512-px photos, +0.65 dB on 2K ones (Telea's 5-px radius sees
    # more of a large hole's surroundings at a lower scale), 15-28 % less time for the whole
    # path (bench/bench_prefill.py, bench/RESULTS-removal.md)
    prefill_scale: float = 4.0
    # what fills a residual model's prefill pixels: "telea" (the classical diffusion the shipped
    # weights were trained on) or "patchmatch" (copies the photo's own patches: texture)
    prefill_fill: str = "telea"
    min_context: int = 16  # pixels of context at least, in source pixels
    merge_distance: int = 24  # regions closer than this (in pixels) are filled in one crop
    feather: int = 4  # width in pixels of the blend ramp inside the fill region's border
    batch_size: int = 8  # crops per forward pass
    detail: str = "cra"  # how a downscaled fill regains detail: "cra" or "bicubic" (detail.py)
    # residual models: the repainted pixels get PatchMatch's grain on the network's colours
    # (texture.py); TextureConfig(method="none") keeps the network's smooth fill
    texture: TextureConfig = TextureConfig()
    # crops are scaled to at most max(the weights' work_size, this) model pixels; 0: the
    # weights' own. None: what the checkpoint's card asks for (`inference_work_size`, applied
    # by Inpainter.load; else 0): the shipped lite weights, trained at 128 px, fill large logos
    # better seen at 256. A planner given for its other fields keeps that floor
    min_work_size: int | None = None


@dataclass(frozen=True)
class CropPlan:
    """One forward-pass input: a crop of the source image and how it is scaled."""

    region: Box  # bounding box of the fill pixels this crop pastes back
    box: Box  # the crop in source pixels (region + context)
    size: tuple[int, int]  # (width, height) the crop is resized to before the model
    padded: tuple[int, int]  # (width, height) after padding to the model's granularity

    @property
    def scale(self) -> float:
        """Model pixels per source pixel (<= 1)."""
        return self.size[0] / (self.box[2] - self.box[0])


def disk(radius: int) -> np.ndarray:
    """An elliptical structuring element of the given radius."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def grow(mask: np.ndarray, radius: int) -> np.ndarray:
    """Bool mask dilated by `radius` pixels (a disk); radius 0 returns a bool copy."""
    mask_u8 = np.asarray(mask).astype(np.uint8)
    if radius <= 0:
        return mask_u8.astype(bool)
    return cv2.dilate(mask_u8, disk(radius)).astype(bool)


def _merge_overlapping(boxes: list[Box]) -> list[Box]:
    merged = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                a, b = merged[i], merged[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    merged[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    return sorted(merged, key=lambda b: (b[1], b[0]))


def _group_near(boxes: list[Box], distance: int) -> list[Box]:
    """Union of boxes whose gap (Chebyshev, in pixels) is below `distance`, transitively."""
    b = np.asarray(boxes, dtype=np.int64)  # (n, 4)
    gap_x = np.maximum(b[:, None, 0], b[None, :, 0]) - np.minimum(b[:, None, 2], b[None, :, 2])
    gap_y = np.maximum(b[:, None, 1], b[None, :, 1]) - np.minimum(b[:, None, 3], b[None, :, 3])
    near = np.maximum(gap_x, gap_y) < distance  # (n, n), diagonal True
    label = np.full(len(boxes), -1)
    for start in range(len(boxes)):
        if label[start] >= 0:
            continue
        label[start], frontier = start, [start]
        while frontier:
            reached = np.flatnonzero(near[frontier].any(axis=0) & (label < 0))
            label[reached] = start
            frontier = list(reached)
    groups = []
    for value in np.unique(label):
        members = b[label == value]
        groups.append(
            (
                int(members[:, 0].min()),
                int(members[:, 1].min()),
                int(members[:, 2].max()),
                int(members[:, 3].max()),
            )
        )
    return groups


def find_regions(
    fill: np.ndarray, merge_distance: int, components: list[Component] | None = None
) -> list[Box]:
    """Boxes of the fill region's components, near ones merged; boxes are disjoint.

    Components closer than `merge_distance` are merged by their boxes' gap (a box gap is never
    larger than the pixel gap, so this merges at least what a pixel-distance rule would).
    A mask with very many specks is first grouped by a dilation instead, which costs one
    full-frame pass but keeps the box comparison small. `components`: the fill's, when the
    caller has labelled them already (masks/components.py).
    """
    if components is None:
        components = label_components(fill)
    if not components:
        return []
    boxes = component_boxes(components)
    if len(boxes) > MAX_BOXES and merge_distance > 1:
        fill_u8 = np.asarray(fill).astype(np.uint8)
        grouped = cv2.dilate(fill_u8, disk(merge_distance // 2))
        boxes = [_shrink(fill_u8, box) for box in component_boxes(label_components(grouped))]
    if merge_distance > 0 and len(boxes) > 1:
        boxes = _group_near(boxes, merge_distance)
    return _merge_overlapping(boxes)


def _shrink(fill_u8: np.ndarray, box: Box) -> Box:
    """The box of the fill pixels inside `box`."""
    x1, y1, x2, y2 = box
    ys, xs = np.nonzero(fill_u8[y1:y2, x1:x2])
    return (x1 + int(xs.min()), y1 + int(ys.min()), x1 + int(xs.max()) + 1, y1 + int(ys.max()) + 1)


def _place(center: float, side: int, limit: int) -> tuple[int, int]:
    """An interval of length `side` around `center`, shifted to lie in [0, limit)."""
    side = min(side, limit)
    start = int(round(center - side / 2))
    start = max(0, min(start, limit - side))
    return start, start + side


def work_size(config: AOTConfig, planner: PlannerConfig) -> int:
    """The largest crop side, in model pixels, that the generator is given."""
    return max(config.work_size, int(math.ceil((planner.min_work_size or 0) / 4)) * 4)


def min_model_side(config: AOTConfig) -> int:
    """Smallest input side: the 1/4-resolution features must exceed the largest dilation."""
    return 4 * (max(config.rates) + 1)


def _crop_sides(region: Box, config: AOTConfig, planner: PlannerConfig) -> tuple[int, int]:
    """(width, height) of the crop around a region, before it is placed in the image."""
    x1, y1, x2, y2 = region
    sides = (x2 - x1, y2 - y1)
    longest = max(sides)
    if planner.min_aspect >= 1.0:  # square: the larger side's context on every edge
        sides = (longest, longest)
    crop = []
    for side in sides:
        context = max(planner.min_context, int(math.ceil(planner.context * side)))
        crop.append(side + 2 * context)
    floor = int(math.ceil(planner.min_aspect * max(crop)))
    crop = [max(c, floor, min_model_side(config)) for c in crop]
    longest = max(crop)
    side = work_size(config, planner)
    if longest <= side:  # unscaled: round up so that similar crops batch together
        crop = [int(math.ceil(c / SIZE_STEP) * SIZE_STEP) for c in crop]
    else:  # scaled to the work size: the shorter side, in model pixels, is rounded up to an
        # eighth of the work size (more context), so that different logos' crops batch together
        scale = side / longest
        step = max(4, side // 8)
        model = [min(side, int(math.ceil(c * scale / step)) * step) for c in crop]
        crop = [longest if m == side else round(m / scale) for m in model]
    return crop[0], crop[1]


def plan_region(
    region: Box, image_size: tuple[int, int], config: AOTConfig, planner: PlannerConfig
) -> CropPlan:
    """The crop for one region: with context, inside the image, scaled to the work size."""
    width, height = image_size
    x1, y1, x2, y2 = region
    crop_w, crop_h = _crop_sides(region, config, planner)
    cx1, cx2 = _place((x1 + x2) / 2, crop_w, width)
    cy1, cy2 = _place((y1 + y2) / 2, crop_h, height)
    crop_w, crop_h = cx2 - cx1, cy2 - cy1
    scale = min(1.0, work_size(config, planner) / max(crop_w, crop_h))
    size = (max(1, round(crop_w * scale)), max(1, round(crop_h * scale)))
    smallest = min_model_side(config)
    padded = tuple(int(math.ceil(max(s, smallest) / 4) * 4) for s in size)
    return CropPlan(
        region=region, box=(cx1, cy1, cx2, cy2), size=size, padded=(padded[0], padded[1])
    )


def plan_crops(
    fill: np.ndarray, config: AOTConfig, planner: PlannerConfig,
    components: list[Component] | None = None,
) -> list[CropPlan]:
    """Crops covering every fill pixel of a bool (H, W) fill region (`components`: its
    connected components, when already labelled)."""
    height, width = fill.shape
    regions = find_regions(fill, planner.merge_distance, components)
    return [plan_region(r, (width, height), config, planner) for r in regions]

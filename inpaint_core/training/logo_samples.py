"""Training batches for a "refine" generator: real logo removal, not plain hole filling.

Each sample is a photo crop at twice the training size with one or two built-in logos pasted on
it (`synth.composite_logos`: varied colour, opacity and rotation), sometimes JPEG-compressed like
the photos users bring. The hole is the union of the logos' boxes; the generator's input is
`prefill_pixels(..., "refine")` of that composite, made at this double resolution and then
downscaled, exactly as the Inpainter makes it at source resolution before it scales a crop to the
model. The target is the clean photo inside the boxes and the (compressed) composite outside them.
A share of the samples are plain holes (`masks.random_mask`) on clean crops, so the network keeps
filling pixel masks too.
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint_core.evaluation.synth import composite_logos
from inpaint_core.inference.prefill import prefill_pixels, telea
from inpaint_core.masks.boxes import boxes_to_mask
from inpaint_core.training.holes import MASK_KINDS, random_mask
from inpaint_core.training.logos import builtin_logo

JPEG_SHARE = 0.5  # samples whose composite is JPEG-compressed (quality 85-97)
BOX_RATIO = (0.02, 0.20)  # boxes' share of the crop: the planner's context makes a box ~1/9 of it


def _down(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # never expected for a uint8 RGB array
        return image
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


def logo_sample(
    photo: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """photo (2*size, 2*size, 3) uint8 -> (input uint8 (size, size, 3), hole bool (size, size),
    target uint8 (size, size, 3))."""
    logos = [builtin_logo(rng) for _ in range(1 if rng.random() < 0.75 else 2)]
    comp = composite_logos(photo, logos, rng, min_ratio=BOX_RATIO[0], max_ratio=BOX_RATIO[1])
    if not comp.placements:  # every logo came out empty at this scale
        return hole_sample(photo, size, rng)
    seen = comp.image
    if rng.random() < JPEG_SHARE:
        seen = _jpeg(seen, int(rng.integers(85, 98)))
    height, width = photo.shape[:2]
    box = boxes_to_mask([p.box for p in comp.placements], height=height, width=width)
    target = np.where(box[..., None], photo, seen)
    prefilled = prefill_pixels(seen, box, "refine")
    hole = _down(box.astype(np.uint8) * 255, size) > 0  # any covered source pixel is hole
    return _down(prefilled, size), hole, _down(target, size)


def hole_sample(
    photo: np.ndarray, size: int, rng: np.random.Generator, kinds: tuple[str, ...] = MASK_KINDS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A plain training hole on the clean crop (downscaled to `size`), Telea-prefilled."""
    clean = _down(photo, size)
    hole = random_mask(size, size, rng, kinds=kinds)
    return telea(clean, hole), hole, clean


def logo_batch(
    photos: np.ndarray,
    size: int,
    rng: np.random.Generator,
    *,
    logo_share: float = 0.75,
    kinds: tuple[str, ...] = MASK_KINDS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B, 2S, 2S, 3) uint8 crops -> inputs (B, S, S, 3) uint8, holes (B, S, S) bool, targets."""
    samples = [
        logo_sample(p, size, rng) if rng.random() < logo_share else hole_sample(p, size, rng, kinds)
        for p in photos
    ]
    inputs, holes, targets = (np.stack(parts) for parts in zip(*samples, strict=True))
    return inputs, holes, targets

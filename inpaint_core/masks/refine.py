"""Box -> tight logo mask: which pixels inside an annotated box belong to the logo.

A logo box usually holds a lot of background (a text logo covers 30-60 % of its box), and every
background pixel handed to the inpainter is a pixel it has to invent. `refine_mask` keeps the
pixels that look like logo, grown by a safety margin, and falls back to the whole box whenever
it is unsure.

Per box:
1. colour foreignness: Lab colour histograms (32 bins a channel, smoothed) of the box and of a
   ring of pixels just outside it. The box is modelled as a mixture of ring-like background and
   logo, p_box = (1 - s) p_ring + s p_logo, so P(logo | colour) = 1 - (1 - s) p_ring / p_box,
   with the logo share s estimated by a few fixed-point steps;
2. method "grabcut" (default): cv2.grabCut seeded with that probability (ring = certain
   background, P > 0.9 = certain logo, P > 0.5 = probable logo) adds colour models and edge-aware
   smoothing; pixels with P > 0.9 stay logo, and a large connected area of pixels with P < 0.1
   (plainly the surroundings' colour) stays background. Method "colour": P > 0.5 only;
3. specks are removed, areas the logo encloses that are small next to the box join it
   (`_fill_enclosed`), the mask grows by `margin` pixels (anti-aliased edges, JPEG ringing) and
   stays inside the box.

Confidence is the contrast of P between the kept and the dropped pixels of the box. Fallback to
the whole box (method "box", fell_back True) when the box is tiny, when there is no ring, when the
confidence is below MIN_CONFIDENCE, or when the refined area is below MIN_AREA or above MAX_AREA
of the box (nothing found / nothing separated).

How boxes become the mask of each mask mode ("box", "refine", "whole") is decided in modes.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from inpaint_core.errors import ImageInputError
from inpaint_core.masks.boxes import clamp_box

MIN_AREA = 0.05  # refined area below this share of the box: the logo was probably missed
MAX_AREA = 0.90  # above this share: nothing was separated, the box is as good
MIN_CONFIDENCE = 0.3  # mean P(logo) kept minus mean P(logo) dropped, below which the split is noise
MAX_SLACK = 0.15  # the mask may stop short of each side of the box by this share of its extent ...
SLACK_PX = 12  # ... or by this many pixels, whichever is more (annotators leave a little room)
MIN_SIDE = 6  # boxes thinner than this are used whole
# crops are segmented at most this many pixels a side (GrabCut's time grows with the pixels), and
# the mask brought back up is snapped to the colour edges at full resolution in a band along its
# border (`_snap`). 256 px would halve GrabCut's time again, but lost up to 3.7 dB on single
# images of a 4096-px benchmark (thin strokes merge, other boxes fall back): docs/performance.md
WORK_SIDE = 384
SNAP_SURE = 0.25  # band pixels whose P(logo) is this far from 0.5 follow their colour
_BINS = 32  # histogram bins per Lab channel
_SURE = 0.9  # P(logo) above which a pixel is certain logo for GrabCut
# P(logo) below which a pixel's colour is plainly the surroundings'. GrabCut may not make a
# connected area of such pixels of at least _FLOOD of the box logo: its colour models flooded
# the grass inside the demo's ring marks (areas of 15 % and 14 % of the box). Smaller areas
# stay: a chrome logo reflects its surroundings (the Ferrari horse's dark reflections, 4 % and
# 3 % of its box, kept a ghost of the horse when they were cut out)
_PLAIN = 0.1
_FLOOD = 0.08
# areas the logo encloses that join it (`_fill_enclosed`): under ENCLOSED of the box (what ring
# marks enclose, 30-40 %, stays background), and either one of at least PLATE_AREAS areas inside
# one logo part (FlickrLogos' Heineken sign: nine letters in the wall's colour on a white plate,
# 1-4 % of the box each, were kept and showed as ghost letters) or tinted, mean P(logo) at least
# TINTED (outlined translucent watermark letters: 0.41-0.45; the insides of opaque letters'
# loops, which must stay, 0.00-0.06). Figures: bench/RESULTS-removal.md, third pass
ENCLOSED = 0.15
PLATE_AREAS = 3
TINTED = 0.2
GRABCUT_SEED = 0  # OpenCV's random generator is seeded with this before every GrabCut
RING_WEIGHT = 2.0  # background colours inside the box are rarer than in the ring (gradients, mixes)


def refine_mask(
    image: np.ndarray,
    boxes: Sequence[Sequence[int]],
    *,
    margin: int = 3,
    method: str = "grabcut",
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Tight logo mask for `boxes` (0-based [x1, y1, x2, y2), end exclusive) in an RGB uint8 image.

    Returns the union mask (H, W) bool and one info dict per box: box (clipped), method
    ("grabcut", "colour" or "box"), confidence in [0, 1], fell_back, area_ratio (mask share of the
    box) and reason (why it fell back, else None). `method="colour"` skips the GrabCut step.
    """
    rgb = _check_image(image)
    if method not in ("grabcut", "colour"):
        raise ValueError(f"unknown refine method {method!r}; use 'grabcut' or 'colour'")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    height, width = rgb.shape[:2]
    clipped = [clamp_box(box, width=width, height=height) for box in boxes]
    occupied = np.zeros((height, width), bool)
    for x1, y1, x2, y2 in clipped:
        occupied[y1:y2, x1:x2] = True
    mask = np.zeros((height, width), bool)
    infos = []
    for box in clipped:
        part, info = _refine_one(rgb, box, occupied, margin=margin, method=method)
        x1, y1, x2, y2 = box
        mask[y1:y2, x1:x2] |= part
        infos.append(info)
    return mask, infos


def _check_image(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ImageInputError(
            f"refine needs an (H, W, 3) uint8 RGB image, got {array.shape} {array.dtype}"
        )
    return array


def box_info(
    box: tuple[int, int, int, int],
    method: str,
    confidence: float,
    fell_back: bool,
    area_ratio: float,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "box": list(box),
        "method": method,
        "confidence": round(float(confidence), 4),
        "fell_back": fell_back,
        "area_ratio": round(float(area_ratio), 4),
        "reason": reason,
    }


def _refine_one(
    rgb: np.ndarray,
    box: tuple[int, int, int, int],
    occupied: np.ndarray,
    *,
    margin: int,
    method: str,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Mask of one box, in box coordinates (h, w), plus its info dict."""
    x1, y1, x2, y2 = box
    whole = np.ones((y2 - y1, x2 - x1), bool)
    if whole.size == 0:
        return whole, box_info(box, "box", 0.0, False, 0.0, "empty box")
    if min(whole.shape) < MIN_SIDE:
        return whole, box_info(box, "box", 0.0, True, 1.0, "box too small")
    crop, in_box, ring = _context(rgb, box, occupied)
    if ring.sum() < 30:
        return whole, box_info(box, "box", 0.0, True, 1.0, "no background around the box")
    segmented = _segment_scaled(crop, in_box, ring, method)
    if segmented is None:
        return whole, box_info(
            box, "box", 0.0, True, 1.0, "logo and background colours do not separate"
        )
    fg, confidence = segmented
    fg = _clean(fg & in_box, in_box.sum())
    fg = _fill_enclosed(fg, in_box, crop, ring)
    ratio = float(fg.sum()) / float(in_box.sum())
    if ratio < MIN_AREA or ratio > MAX_AREA:
        reason = f"refined area {ratio:.1%} of the box is outside {MIN_AREA:.0%}-{MAX_AREA:.0%}"
        return whole, box_info(box, "box", confidence, True, 1.0, reason)
    if not _spans_box(fg, in_box):
        reason = "refined mask does not span the box: part of the logo may be missed"
        return whole, box_info(box, "box", confidence, True, 1.0, reason)
    if confidence < MIN_CONFIDENCE:
        reason = f"logo and background colours do not separate (confidence {confidence:.2f})"
        return whole, box_info(box, "box", confidence, True, 1.0, reason)
    fg = _grow(fg, margin) & in_box
    part = _box_part(fg, in_box)
    return part, box_info(box, method, confidence, False, float(part.mean()))


def _segment_scaled(
    crop: np.ndarray, in_box: np.ndarray, ring: np.ndarray, method: str
) -> tuple[np.ndarray, float] | None:
    """Segment at most WORK_SIDE pixels a side (GrabCut is slow on big crops), then scale back
    and snap the border to the colours at full resolution (`_snap`)."""
    height, width = in_box.shape
    scale = min(1.0, WORK_SIDE / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        small_box = cv2.resize(in_box.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        small_ring = cv2.resize(ring.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        small_ring &= ~small_box
        segmented = _segment(small, small_box, small_ring, method)
        if segmented is None:
            return None
        fg, confidence = segmented
        soft = cv2.resize(fg.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        table = _posterior(_colour_index(small), small_box, small_ring)
        return _snap(crop, soft, table), confidence
    return _segment(crop, in_box, ring, method)


def _snap(crop: np.ndarray, soft: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The upscaled mask (`soft`, in [0, 1]) at full resolution: `soft > 0.5`, except in the band
    along its border (0 < soft < 1, about one small pixel wide), where pixels whose colour is
    clearly logo or clearly background (P(logo) at least SNAP_SURE from 0.5, from the crop's
    own colour histograms) follow their colour: the border lands on the colour edge, not on
    the small grid. `table`: P(logo | colour bin) of the small crop (`_posterior`); only the
    band's pixels are converted and looked up at full resolution."""
    fg = soft > 0.5
    band = (soft > 0.02) & (soft < 0.98)
    if not band.any():
        return fg
    probability = table[_colour_index(crop[band][:, None, :])[:, 0]]
    sure = np.abs(probability - 0.5) >= SNAP_SURE
    fg[band] = np.where(sure, probability > 0.5, fg[band])
    return fg
def _segment(
    crop: np.ndarray, in_box: np.ndarray, ring: np.ndarray, method: str
) -> tuple[np.ndarray, float] | None:
    """Logo pixels of the crop and the confidence of the split (None: nothing to go on)."""
    if ring.sum() < 30 or in_box.sum() < 16:
        return None
    probability = foreign_probability(crop, in_box, ring)
    fg = (probability > 0.5) & in_box
    if method == "grabcut" and fg.any():
        fg = (_grabcut(crop, probability, in_box, ring) | (probability > _SURE)) & in_box
        fg &= ~_flooded(fg & (probability < _PLAIN), int(in_box.sum()))
    kept, dropped = probability[fg], probability[in_box & ~fg]
    if len(kept) == 0 or len(dropped) == 0:
        return fg, 0.0
    return fg, float(kept.mean() - dropped.mean())


def _flooded(plain: np.ndarray, box_area: int) -> np.ndarray:
    """The connected areas of `plain` (bool) of at least _FLOOD x `box_area` pixels."""
    return _areas_of_at_least(plain, max(1, int(_FLOOD * box_area)))


def _areas_of_at_least(mask: np.ndarray, pixels: int) -> np.ndarray:
    """The 8-connected areas of `mask` (bool) holding at least `pixels` pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8),
                                                               connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= pixels
    return keep[labels]


def _context(
    rgb: np.ndarray, box: tuple[int, int, int, int], occupied: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop around the box with a ring of context; masks of the box and of usable ring pixels."""
    height, width = rgb.shape[:2]
    x1, y1, x2, y2 = box
    pad = int(np.clip(0.2 * max(x2 - x1, y2 - y1), 6, 40))
    cx1, cy1 = max(0, x1 - pad), max(0, y1 - pad)
    cx2, cy2 = min(width, x2 + pad), min(height, y2 + pad)
    crop = np.ascontiguousarray(rgb[cy1:cy2, cx1:cx2])
    in_box = np.zeros(crop.shape[:2], bool)
    in_box[y1 - cy1 : y2 - cy1, x1 - cx1 : x2 - cx1] = True
    ring = ~occupied[cy1:cy2, cx1:cx2]
    return crop, in_box, ring


def foreign_probability(crop: np.ndarray, in_box: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """P(logo | colour) per pixel of the crop: how much likelier its colour is inside the box than
    in the background ring, under the mixture p_box = (1 - s) p_ring + s p_logo. (h, w) float32."""
    index = _colour_index(crop)
    return _posterior(index, in_box, ring)[index]


def _posterior(index: np.ndarray, in_box: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """(BINS^3,) float32: P(logo | colour bin) from the crop's colour bins `index`."""
    box_hist = _histogram(index[in_box])
    ring_hist = _histogram(index[ring & ~in_box])
    ratio = ring_hist / np.maximum(box_hist, 1e-12)
    share = 0.5
    for _ in range(6):
        posterior = np.clip(1.0 - RING_WEIGHT * (1.0 - share) * ratio, 0.0, 1.0)
        share = float((posterior * box_hist).sum())
    return posterior.reshape(-1).astype(np.float32)


def _colour_index(crop: np.ndarray) -> np.ndarray:
    """(h, w) int32: each pixel's Lab histogram bin."""
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2Lab)
    quantised = lab.astype(np.int32) * _BINS // 256
    return (quantised[:, :, 0] * _BINS + quantised[:, :, 1]) * _BINS + quantised[:, :, 2]


def _histogram(index: np.ndarray) -> np.ndarray:
    """Normalised 3-D colour histogram, smoothed by three [1, 2, 1] passes along each axis."""
    hist = np.bincount(index, minlength=_BINS**3).reshape(_BINS, _BINS, _BINS).astype(np.float64)
    for _ in range(3):
        for axis in range(3):
            padded = np.pad(hist, [(1, 1) if a == axis else (0, 0) for a in range(3)], mode="edge")
            before = np.take(padded, range(0, _BINS), axis=axis)
            after = np.take(padded, range(2, _BINS + 2), axis=axis)
            hist = 0.25 * before + 0.5 * hist + 0.25 * after
    return hist / max(hist.sum(), 1e-12)


def _grabcut(
    crop: np.ndarray, probability: np.ndarray, in_box: np.ndarray, ring: np.ndarray
) -> np.ndarray:
    """GrabCut seeded by P(logo); the ring is certain background."""
    seeds = np.full(in_box.shape, cv2.GC_PR_BGD, np.uint8)
    seeds[in_box & (probability > 0.5)] = cv2.GC_PR_FGD
    seeds[in_box & (probability > _SURE)] = cv2.GC_FGD
    seeds[ring & ~in_box] = cv2.GC_BGD  # other boxes' pixels stay probable background
    bgd_model = np.zeros((1, 65), np.float64)
    fgd_model = np.zeros((1, 65), np.float64)
    bgr = np.ascontiguousarray(crop[:, :, ::-1])
    # GrabCut starts its colour models with k-means on OpenCV's random generator (one per
    # thread): seeded here, the same image gives the same mask in every run, call and thread
    cv2.setRNGSeed(GRABCUT_SEED)
    try:
        cv2.grabCut(bgr, seeds, None, bgd_model, fgd_model, 3, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return probability > 0.5  # degenerate colour models (e.g. one colour): keep the split
    return (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)


def _spans_box(fg: np.ndarray, in_box: np.ndarray) -> bool:
    """Whether the mask reaches across the box: a box encloses its logo, so a mask that stops
    short of one side by more than MAX_SLACK of the box's extent there (or SLACK_PX pixels)
    missed a part. Each side is judged on its own: annotators leave room on every side. Until
    2026-11-30 the room above and below (left and right) was added up, and 66 of 73 boxes drawn
    with FlickrLogos-like room fell back to the whole box (bench/RESULTS-masks-refine.md)."""
    rows, cols = np.nonzero(fg)
    box_rows, box_cols = np.nonzero(in_box)
    width = box_cols.max() - box_cols.min() + 1
    height = box_rows.max() - box_rows.min() + 1
    for short, whole in (
        (cols.min() - box_cols.min(), width),
        (box_cols.max() - cols.max(), width),
        (rows.min() - box_rows.min(), height),
        (box_rows.max() - rows.max(), height),
    ):
        if short > max(MAX_SLACK * whole, SLACK_PX):
            return False
    return True


def _clean(fg: np.ndarray, box_area: int) -> np.ndarray:
    """Drop specks smaller than 0.1 % of the box."""
    return _areas_of_at_least(fg, max(3, int(0.001 * box_area)))


def _fill_enclosed(fg: np.ndarray, in_box: np.ndarray, crop: np.ndarray,
                   ring: np.ndarray) -> np.ndarray:
    """`fg` with areas it encloses added, where an area holds less than ENCLOSED of the box and
    either its surrounding logo part encloses at least PLATE_AREAS such areas (lettering on a
    plate) or its colour is foreign (mean P(logo) of at least TINTED: a translucent tint).

    The background a box shows around its logo reaches the box's edge; an area the logo
    encloses is part of the logo or a view through it. The insides of a letter's loops (an "o",
    a "B": one or two per letter) are views through it and stay kept; letters in the
    surroundings' colour on a plate are many to one plate; a watermark's tinted letter bodies
    inside their outlines carry the tint (P(logo) from the crop's colours against the `ring`'s,
    at full resolution, computed only when the logo encloses anything)."""
    if ENCLOSED <= 0:
        return fg
    rows, cols = np.nonzero(in_box)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    logo = fg[top:bottom, left:right]
    rest = (~logo).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(rest, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    small = stats[:, cv2.CC_STAT_AREA] < ENCLOSED * rest.size
    small[0] = False  # the logo's own pixels
    small[edge] = False
    areas = np.flatnonzero(small)
    if areas.size == 0:
        return fg
    _, parts = cv2.connectedComponents(logo.astype(np.uint8), connectivity=8)
    # the logo part around each area: the part of the pixel just above the first pixel of the
    # area's top row, which is logo (an enclosed area is bordered above by it)
    top_rows = stats[areas, cv2.CC_STAT_TOP]
    first = np.array([np.flatnonzero(labels[y] == a)[0] for y, a in zip(top_rows, areas,
                                                                        strict=True)])
    around = parts[top_rows - 1, first]
    per_part = np.bincount(around, minlength=parts.max() + 1)
    probability = foreign_probability(crop, in_box, ring)[top:bottom, left:right]
    tint = np.bincount(labels.ravel(), weights=probability.ravel(),
                       minlength=count)[areas] / stats[areas, cv2.CC_STAT_AREA]
    join = (per_part[around] >= PLATE_AREAS) | (tint >= TINTED)
    add = np.zeros(count, bool)
    add[areas[join]] = True
    out = fg.copy()
    out[top:bottom, left:right] |= add[labels]
    return out


def _grow(fg: np.ndarray, margin: int) -> np.ndarray:
    if margin <= 0:
        return fg
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    return cv2.dilate(fg.astype(np.uint8), kernel) > 0


def _box_part(fg: np.ndarray, in_box: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(in_box)
    return fg[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]

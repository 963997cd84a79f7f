"""The coarse-to-fine search of find-logo: where might each logo be, at which size and angle.

1. Coarse: every logo size (a geometric range of its long side, relative to the image) and
   angle is matched on the pyramid level where the logo is just big enough to keep its shape
   (short side >= COARSE_SHORT, long side >= COARSE_LONG px), with the fast correlation of
   findlogo_fields. The image's fields are computed once per level and shared by every logo,
   size and angle. Peaks above `coarse_threshold` are pooled per logo, reduced by non-maximum
   suppression and the best `candidates` kept. Tilted angles are matched one level coarser and
   at every other size (ROTATED_*), and their best peaks are kept beside the upright ones.
2. Fine: each kept peak is matched again on the level where the logo's short side is about
   FINE_SHORT px, in a small window around it, at the neighbouring sizes (x 1/SCALE_HALF, 1,
   SCALE_HALF) and angles (+- a third of the angle step), with the exact masked correlation.
   A tilted peak first climbs to its best size (its coarse size can be 1.5x off). The best
   of these is the candidate's pose and edge score; findlogo_verify judges it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from inpaint_core.masks.findlogo_fields import (
    TemplateField,
    coarse_scores,
    field_energy,
    fine_scores,
    image_field,
    template_field,
)
from inpaint_core.masks.findlogo_templates import LogoTemplate, rotate_template

COARSE_SHORT = 24  # px: the coarse level keeps a logo at least this wide on its short side
COARSE_LONG = 48  # px: ... and this long on its long side
FINE_SHORT = 40  # px: the fine level keeps the logo's short side between this and twice it
SCALE_STEP = 1.15  # coarse sizes differ by 15 %; the fine step halves it
SCALE_HALF = float(np.sqrt(SCALE_STEP))
MIN_LONG_PX = 20  # px at work size: smaller logos are not searched
# a tilted pose is matched coarser than an upright one: on the level where the logo keeps half
# the sides above, at every ROTATED_SIZE_STRIDE-th size; the rotation search then costs about
# what the upright one does, not 4x more. So coarse a match misjudges the size by up to 1.5x:
# the fine stage first climbs in SCALE_STEP steps (at most ROTATED_CLIMB of them) to the best
# size, then refines as for an upright pose
ROTATED_SHRINK = 2
ROTATED_SIZE_STRIDE = 2
ROTATED_CLIMB = 3
ROTATED_CANDIDATES = 4  # per logo and octave, apart from the upright ones


class Pyramid:
    """An image at halving resolutions with its edge fields, computed when first asked for."""

    def __init__(self, rgb: np.ndarray) -> None:
        self._rgb: dict[int, np.ndarray] = {0: rgb}
        self._fields: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def rgb(self, level: int) -> np.ndarray:
        if level not in self._rgb:
            above = self.rgb(level - 1)
            size = (max(1, above.shape[1] // 2), max(1, above.shape[0] // 2))
            self._rgb[level] = cv2.resize(above, size, interpolation=cv2.INTER_AREA)
        return self._rgb[level]

    def field(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        """(field (2, h, w), energy (h, w)) at `level`."""
        if level not in self._fields:
            values = image_field(self.rgb(level))
            self._fields[level] = (values, field_energy(values))
        return self._fields[level]


@dataclass
class Pose:
    """A logo placed in the work image: size, angle, the top-left of its (rotated) box."""

    logo: int  # index of the template
    long_side: float  # px at work size of the unrotated logo's long side
    angle: float  # degrees, counter-clockwise
    x: float
    y: float
    width: float  # px at work size of the rotated logo's box
    height: float
    score: float = 0.0  # edge correlation
    extra: dict[str, float] = field(default_factory=dict)

    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.width, self.y + self.height)


@dataclass(frozen=True)
class SearchConfig:
    """How widely and how densely to search."""

    min_share: float = 0.03  # smallest logo long side / image long side
    max_share: float = 0.7  # largest ...
    angles: tuple[float, ...] = (0.0,)  # coarse rotations searched, degrees
    angle_step: float = 10.0  # degrees between coarse rotations (for the fine search)
    coarse_threshold: float = 0.2
    candidates: int = 4  # per logo, image and octave of size, after the coarse stage


def long_sides(shape: tuple[int, int], config: SearchConfig) -> Iterator[float]:
    """The logo long sides (work px) of the coarse search, smallest first."""
    side = max(shape)
    size = max(MIN_LONG_PX, config.min_share * side)
    while size <= config.max_share * side * 1.0001 and size <= max(shape):
        yield size
        size *= SCALE_STEP


def level_for(width: float, height: float, short_px: float, long_px: float) -> int:
    """The highest pyramid level at which a (width x height) logo keeps both minimum sides."""
    ratio = min(min(width, height) / short_px, max(width, height) / long_px)
    return max(0, int(np.floor(np.log2(max(ratio, 1.0)))))


def peaks(score: np.ndarray, threshold: float, size: tuple[int, int]
          ) -> list[tuple[float, int, int]]:
    """Local maxima of a score map above threshold, as (score, x, y)."""
    kernel = np.ones((max(3, size[1] // 4) | 1, max(3, size[0] // 4) | 1), np.uint8)
    local_max = score >= cv2.dilate(score, kernel)
    ys, xs = np.nonzero(local_max & (score >= threshold))
    return [(float(score[y, x]), int(x), int(y)) for y, x in zip(ys, xs, strict=True)]


def pose_iou(a: Pose, b: Pose) -> float:
    ax1, ay1, ax2, ay2 = a.box()
    bx1, by1, bx2, by2 = b.box()
    iw, ih = max(0.0, min(ax2, bx2) - max(ax1, bx1)), max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def best_apart(poses: list[Pose], iou: float, limit: int) -> list[Pose]:
    """Greedy non-maximum suppression by score; at most `limit` kept."""
    kept: list[Pose] = []
    for pose in sorted(poses, key=lambda p: p.score, reverse=True):
        if all(pose_iou(pose, other) <= iou for other in kept):
            kept.append(pose)
            if len(kept) == limit:
                break
    return kept


class TemplateCache:
    """Rotated logos and their fields per size, kept across images (sizes repeat when the
    images have one size); cleared when it grows past `limit` entries."""

    def __init__(self, templates: list[LogoTemplate], limit: int = 20_000) -> None:
        self.templates = templates
        self._turned: dict[tuple[int, float], LogoTemplate] = {}
        self._fields: dict[tuple[int, float, int, int], TemplateField] = {}
        self._limit = limit

    def turned(self, index: int, angle: float) -> LogoTemplate:
        key = (index, round(angle, 3))
        if key not in self._turned:
            self._turned[key] = rotate_template(self.templates[index], angle)
        return self._turned[key]

    def long_side(self, index: int) -> int:
        return max(self.templates[index].rgb.shape[:2])

    def field(self, index: int, angle: float, size: tuple[int, int]) -> TemplateField:
        key = (index, round(angle, 3), *size)
        if key not in self._fields:
            if len(self._fields) >= self._limit:
                self._fields.clear()
            turned = self.turned(index, angle)
            self._fields[key] = template_field(turned.rgb, turned.alpha, size)
        return self._fields[key]

    def size_at(self, index: int, angle: float, long_side: float) -> tuple[float, float]:
        """(w, h) in work px of the rotated logo whose unrotated long side is `long_side`."""
        turned = self.turned(index, angle)
        factor = long_side / self.long_side(index)
        return turned.rgb.shape[1] * factor, turned.rgb.shape[0] * factor


def coarse_search(pyramid: Pyramid, cache: TemplateCache, index: int,
                  config: SearchConfig) -> list[Pose]:
    """The best `config.candidates` coarse poses of one logo per octave of size (small
    logos have many more positions, and their false peaks would crowd out big ones), apart;
    tilted poses are chosen apart from upright ones (ROTATED_CANDIDATES per octave): a tilted
    peak beside an upright logo must not suppress it (the verification picks the better)."""
    upright = _coarse_poses(pyramid, cache, index, config, (0.0,))
    tilted = _coarse_poses(pyramid, cache, index, config, tuple(a for a in config.angles if a))
    return (_per_octave(upright, config.candidates)
            + _per_octave(tilted, ROTATED_CANDIDATES))


def _per_octave(poses: list[Pose], limit: int) -> list[Pose]:
    octaves: dict[int, list[Pose]] = {}
    for pose in poses:
        octaves.setdefault(int(np.log2(pose.long_side)), []).append(pose)
    kept = [p for group in octaves.values() for p in best_apart(group, 0.3, limit)]
    return best_apart(kept, 0.3, len(kept))


def _coarse_poses(pyramid: Pyramid, cache: TemplateCache, index: int, config: SearchConfig,
                  angles: tuple[float, ...]) -> list[Pose]:
    """Every coarse peak of one logo at the given angles (upright: every size on the level
    COARSE_SHORT x COARSE_LONG; tilted: ROTATED_SHRINK x coarser, every other size)."""
    height, width = pyramid.rgb(0).shape[:2]
    sizes = list(long_sides((height, width), config))
    found: list[Pose] = []
    for angle in angles:
        shrink, stride = (ROTATED_SHRINK, ROTATED_SIZE_STRIDE) if angle else (1, 1)
        for long_side in sizes[::stride]:
            w, h = cache.size_at(index, angle, long_side)
            if w > width or h > height:
                continue
            factor = 2 ** level_for(w, h, COARSE_SHORT / shrink, COARSE_LONG / shrink)
            field, energy = pyramid.field(int(np.log2(factor)))
            size = (max(3, round(w / factor)), max(3, round(h / factor)))
            if size[0] > field.shape[2] or size[1] > field.shape[1]:
                continue
            score = coarse_scores(field, energy, cache.field(index, angle, size))
            found += [Pose(index, long_side, angle, x * factor, y * factor, size[0] * factor,
                           size[1] * factor, value)
                      for value, x, y in peaks(score, config.coarse_threshold, size)]
    return found


def refine(pyramid: Pyramid, cache: TemplateCache, pose: Pose, config: SearchConfig) -> Pose:
    """The best pose near a coarse one (neighbouring sizes and angles, a small window), scored
    with the exact masked correlation on the fine level."""
    turns = (0.0,) if config.angles == (0.0,) else (-config.angle_step / 3, 0.0,
                                                    config.angle_step / 3)
    if pose.angle:
        pose = _climb(pyramid, cache, pose)
    best = Pose(pose.logo, pose.long_side, pose.angle, pose.x, pose.y, pose.width, pose.height,
                -1.0)
    for turn in turns:
        for step in (1 / SCALE_HALF, 1.0, SCALE_HALF):
            found = _refine_one(pyramid, cache, pose, pose.angle + turn, pose.long_side * step)
            if found is not None and found.score > best.score:
                best = found
    return best


def _climb(pyramid: Pyramid, cache: TemplateCache, pose: Pose) -> Pose:
    """The pose moved in SCALE_STEP size steps while the fine score rises (ROTATED_CLIMB at
    most), at its best place for that size; the coarse pose when no size fits."""
    scored = {0: _refine_one(pyramid, cache, pose, pose.angle, pose.long_side)}
    at = 0
    for _ in range(ROTATED_CLIMB):
        for k in (at - 1, at + 1):
            if k not in scored:
                scored[k] = _refine_one(pyramid, cache, pose, pose.angle,
                                        pose.long_side * SCALE_STEP**k)
        fits = {k: p.score for k, p in scored.items() if p is not None and abs(k - at) <= 1}
        if not fits or max(fits, key=fits.__getitem__) == at:
            break
        at = max(fits, key=fits.__getitem__)
    return scored[at] or pose


def _refine_one(pyramid: Pyramid, cache: TemplateCache, pose: Pose, angle: float,
                long_side: float) -> Pose | None:
    w, h = cache.size_at(pose.logo, angle, long_side)
    level = level_for(w, h, FINE_SHORT, FINE_SHORT)
    factor = 2**level
    field, energy = pyramid.field(level)
    size = (max(3, round(w / factor)), max(3, round(h / factor)))
    margin = round(0.12 * max(size) + pose.width / factor * 0.05 + 3)
    centre_x = (pose.x + pose.width / 2) / factor
    centre_y = (pose.y + pose.height / 2) / factor
    x0 = max(0, round(centre_x - size[0] / 2) - margin)
    y0 = max(0, round(centre_y - size[1] / 2) - margin)
    x1 = min(field.shape[2], x0 + size[0] + 2 * margin)
    y1 = min(field.shape[1], y0 + size[1] + 2 * margin)
    if x1 - x0 < size[0] or y1 - y0 < size[1]:
        return None
    score = fine_scores(field[:, y0:y1, x0:x1], energy[y0:y1, x0:x1],
                        cache.field(pose.logo, angle, size))
    y, x = np.unravel_index(int(np.argmax(score)), score.shape)
    return Pose(pose.logo, long_side, angle, (x0 + x) * factor, (y0 + y) * factor,
                size[0] * factor, size[1] * factor, float(score[y, x]), {"level": level})

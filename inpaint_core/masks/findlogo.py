"""Find known logos in an image: a coarse-to-fine edge search, then a verification per candidate.

    candidates = LogoFinder(templates, config).candidates(rgb)    # every pose worth judging
    found = select(candidates, thresholds, config)                # calibrated, suppressed
    found = find_logos(rgb, templates, config, thresholds)        # the two in one

1. Search (findlogo_search): every logo at every size (its long side 3-70 % of the image's long
   side, whatever the logo file's size) and searched angle (by default upright and tilted up to
   30 degrees either way; a tilted candidate pays TILTED_PENALTY) on a coarse pyramid level,
   then the best few peaks per logo again on a finer level (findlogo_fields: edge-orientation
   fields, shared by every logo).
2. Verification (findlogo_verify, findlogo_net): colour layout and silhouette cues at the
   candidate's pose and a small network's verdict on the band around the silhouette, combined
   with the edge score into log-odds that the candidate is the logo.
3. Calibration (findlogo_calibrate): each logo's threshold on those log-odds, estimated from its
   false-match scores on the photos themselves; a detection's `confidence` is
   sigmoid(logit - threshold), so 0.5 is the threshold of every logo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from inpaint_core.errors import ImageInputError
from inpaint_core.masks import findlogo_verify as verify
from inpaint_core.masks.findlogo_calibrate import PRIOR, key_of
from inpaint_core.masks.findlogo_fields import TemplateField
from inpaint_core.masks.findlogo_net import (
    APPLIES_FROM,
    net_input,
    outline_share,
    shipped_verifier,
)
from inpaint_core.masks.findlogo_search import (
    Pose,
    Pyramid,
    SearchConfig,
    TemplateCache,
    coarse_search,
    refine,
)
from inpaint_core.masks.findlogo_templates import (
    ANGLE_STEP,
    DEFAULT_MAX_ANGLE,
    LogoTemplate,
    angle_steps,
    load_logo,
    make_template,
    rotate_template,
)

__all__ = ["ANGLE_STEP", "DEFAULT_MAX_ANGLE", "DEFAULT_THRESHOLD", "Detection", "FinderConfig",
           "LogoFinder", "LogoTemplate", "angle_steps", "box_iou", "find_logos", "load_logo",
           "make_template", "rotate_template", "select", "suppress"]

DEFAULT_THRESHOLD = PRIOR  # log-odds threshold of a logo that was not calibrated
# log-odds taken off a candidate found by the rotation search (tilted by more than half an angle
# step): six tilted angles are searched for every upright one, so a photo offers six times the
# chances of a false tilted match, and the verifier was fitted on upright candidates. Set on the
# train-photos tuning sets (bench/RESULTS-masks-find.md)
TILTED_PENALTY = 0.5


@dataclass(frozen=True)
class Detection:
    """One candidate or found instance: 0-based [x1, y1, x2, y2) box in the image."""

    name: str
    box: tuple[int, int, int, int]
    score: float  # edge correlation in [-1, 1]
    scale: float  # the logo's size relative to the logo file
    angle: float = 0.0  # degrees, counter-clockwise, of the template that matched
    logit: float = 0.0  # verification log-odds (findlogo_verify)
    confidence: float = 0.0  # sigmoid(logit - the logo's threshold)
    cues: Mapping[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class FinderConfig:
    """Search and selection settings."""

    min_share: float = 0.03  # smallest logo long side searched / image long side
    max_share: float = 0.7
    work_side: int = 1024  # images are searched at most this long a side
    # rotations searched (degrees), see angle_steps; (0.0,) for upright logos only, ~2.5x faster
    angles: tuple[float, ...] = angle_steps(DEFAULT_MAX_ANGLE)
    candidates: int = 4  # poses verified per logo, image and octave of logo size
    min_confidence: float = 0.5  # what a detection needs (0.5 = the logo's threshold)
    nms_iou: float = 0.3
    max_per_image: int = 50
    # the learned verifier's log-odds among the cues of flat-colour logos (findlogo_net). Off by
    # default: on the reserved evaluation set it found 2 more of 48 marks for 1 more false find
    # (precision 0.95 -> 0.93), where the tuning sets had promised 25 more of 145 at equal false
    # finds (bench/RESULTS-masks-find.md, "Sixth pass"); `find-logo --learned` turns it on
    learned: bool = False

    def search(self) -> SearchConfig:
        step = ANGLE_STEP if len(self.angles) < 2 else min(abs(a) for a in self.angles if a)
        return SearchConfig(min_share=self.min_share, max_share=self.max_share,
                            angles=self.angles, angle_step=step, candidates=self.candidates)


class LogoFinder:
    """Searches images for a fixed set of logos; keeps their resized fields between images."""

    def __init__(self, templates: Sequence[LogoTemplate], config: FinderConfig | None = None):
        self.templates = list(templates)
        self.config = config or FinderConfig()
        self._cache = TemplateCache(self.templates)
        # per logo: does the learned verifier judge it (a flat-colour mark), see findlogo_net
        self._learned = [self.config.learned and outline_share(t.rgb, t.alpha) >= APPLIES_FROM
                         for t in self.templates]
        if any(self._learned):
            shipped_verifier()  # NoDefaultWeightsError now, not in the middle of a batch

    def candidates(self, image: np.ndarray) -> list[Detection]:
        """Every verified candidate of every logo (confidence against an uncalibrated
        threshold), best logit first."""
        return [detection for detection, _ in self.posed_candidates(image)]

    def posed_candidates(self, image: np.ndarray) -> list[tuple[Detection, Pose]]:
        """`candidates`, each with the pose (at work size: `work_factor`) it was judged at."""
        rgb = _checked(image)
        factor = self.work_factor(rgb.shape[:2])
        pyramid = Pyramid(_resized(rgb, factor))
        search = self.config.search()
        found = []
        for index in range(len(self.templates)):
            for pose in coarse_search(pyramid, self._cache, index, search):
                fine = refine(pyramid, self._cache, pose, search)
                if fine.score > -1.0:
                    found.append((self._judge(pyramid, fine, factor, rgb.shape[:2]), fine))
        return sorted(found, key=lambda pair: pair[0].logit, reverse=True)

    def work_factor(self, shape: tuple[int, ...]) -> float:
        """How much an image of this (height, width) is shrunk for the search."""
        return min(1.0, self.config.work_side / max(shape[:2]))

    def _judge(self, pyramid: Pyramid, pose: Pose, factor: float,
               shape: tuple[int, int]) -> Detection:
        level = int(pose.extra.get("level", 0))
        values = {**_pose_cues(pyramid, self._cache, pose, level, self._learned[pose.logo]),
                  "size": pose.long_side}
        tilted = abs(pose.angle) > self.config.search().angle_step / 2
        logit = verify.logit(values) - (TILTED_PENALTY if tilted else 0.0)
        box = _to_original(pose.box(), factor, shape)
        template = self.templates[pose.logo]
        scale = pose.long_side / factor / max(template.rgb.shape[:2])
        return Detection(template.name, box, pose.score, scale, pose.angle, logit,
                         verify.probability(logit - DEFAULT_THRESHOLD), values)


def _pose_cues(pyramid: Pyramid, cache: TemplateCache, pose: Pose, level: int,
               learned: bool) -> dict[str, float]:
    """The verifier's cues at `pose`; with `learned`, the learned verifier's log-odds too."""
    crop, band_rgb, band_mask, template = pose_patch(pyramid, cache, pose, level)
    values = verify.cues(crop, band_rgb, band_mask, template, pose.score)
    if learned:
        values["net"] = float(shipped_verifier().score(
            _band_input(band_rgb, band_mask, template)[None])[0])
    return values


def pose_net_input(pyramid: Pyramid, cache: TemplateCache, pose: Pose) -> np.ndarray:
    """The learned verifier's input (findlogo_net.net_input) at `pose`, on its fine level."""
    _, band_rgb, band_mask, template = pose_patch(pyramid, cache, pose,
                                                  int(pose.extra.get("level", 0)))
    return _band_input(band_rgb, band_mask, template)


def _band_input(band_rgb: np.ndarray, band_mask: np.ndarray, template: TemplateField
                ) -> np.ndarray:
    pad = (band_rgb.shape[0] - template.alpha.shape[0]) // 2
    return net_input(band_rgb, band_mask, template.alpha, pad)


def pose_patch(pyramid: Pyramid, cache: TemplateCache, pose: Pose, level: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, TemplateField]:
    """At `pose` on pyramid `level`: the image under the logo (h, w, 3), the same grown by a
    band of p px each side (edge pixels repeated beyond the image), where that band lies inside
    the image (bool), and the logo's field at that size (its alpha is (h, w))."""
    step = 2**level
    rgb = pyramid.rgb(level)
    x, y = round(pose.x / step), round(pose.y / step)
    size = (round(pose.width / step), round(pose.height / step))
    template = cache.field(pose.logo, pose.angle, size)
    height, width = template.alpha.shape
    pad = max(4, round(0.06 * min(height, width)) + 3)
    padded = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    inside = np.pad(np.ones(rgb.shape[:2], bool), pad)
    band_rgb = padded[y : y + height + 2 * pad, x : x + width + 2 * pad]
    band_mask = inside[y : y + height + 2 * pad, x : x + width + 2 * pad]
    crop = rgb[y : y + height, x : x + width]
    return crop, band_rgb, band_mask, template


def select(candidates: Sequence[Detection], thresholds: Mapping[str, float] | None = None,
           config: FinderConfig | None = None) -> list[Detection]:
    """The candidates whose calibrated confidence reaches config.min_confidence, after
    non-maximum suppression across logos, best first. `thresholds`: log-odds per
    "<logo>/small", "<logo>/large" (findlogo_calibrate) or "<logo>"; DEFAULT_THRESHOLD else."""
    config = config or FinderConfig()
    thresholds = thresholds or {}
    rated = []
    for candidate in candidates:
        key = key_of(candidate.name, candidate.cues)
        threshold = thresholds.get(key, thresholds.get(candidate.name, DEFAULT_THRESHOLD))
        confidence = verify.probability(candidate.logit - threshold)
        if confidence >= config.min_confidence:
            rated.append(_with_confidence(candidate, confidence))
    return suppress(rated, config.nms_iou)[: config.max_per_image]


def _with_confidence(detection: Detection, confidence: float) -> Detection:
    return Detection(detection.name, detection.box, detection.score, detection.scale,
                     detection.angle, detection.logit, confidence, detection.cues)


def find_logos(image: np.ndarray, templates: Sequence[LogoTemplate],
               config: FinderConfig | None = None,
               thresholds: Mapping[str, float] | None = None) -> list[Detection]:
    """Every instance of every template in an RGB uint8 image, best first."""
    finder = LogoFinder(templates, config)
    return select(finder.candidates(image), thresholds, finder.config)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x1, y1, x2, y2) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def suppress(detections: list[Detection], iou: float) -> list[Detection]:
    """Greedy non-maximum suppression, most confident first, across logos."""
    kept: list[Detection] = []
    for candidate in sorted(detections, key=lambda d: (d.confidence, d.score), reverse=True):
        if all(box_iou(candidate.box, other.box) <= iou for other in kept):
            kept.append(candidate)
    return kept


def _checked(image: np.ndarray) -> np.ndarray:
    rgb = np.asarray(image)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ImageInputError(
            f"find_logos needs an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
    return rgb


def _resized(rgb: np.ndarray, factor: float) -> np.ndarray:
    if factor >= 1.0:
        return rgb
    import cv2

    size = (max(1, round(rgb.shape[1] * factor)), max(1, round(rgb.shape[0] * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _to_original(box: tuple[float, float, float, float], factor: float,
                 shape: tuple[int, int]) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (v / factor for v in box)
    return (max(0, int(np.floor(x1))), max(0, int(np.floor(y1))),
            min(shape[1], int(np.ceil(x2))), min(shape[0], int(np.ceil(y2))))

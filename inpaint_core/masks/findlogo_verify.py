"""Is a candidate the logo, or an edge that happens to look like part of it? Cues and a score.

The search matches edges only, and a thin curve, a ring or a letter stroke has edges that photos
are full of. A pasted logo leaves more than edges: its pixels take the logo's colour layout (one
colour per part of the logo, whatever the colour) and stand apart from the pixels just outside
its silhouette all around. At the candidate's pose, on the fine pyramid level:

    edge      the exact masked edge correlation of the search;
    outline   how much of the logo's outline has an image edge across it (mean soft contrast
              of the image gradient along the outline's normal);
    separate  share of the band just outside the silhouette whose colour differs from the
              logo's rim colour by more than the logo's own spread (a curved grass blade that
              fits a swoosh has more blades of its colour right beside it);
    flat      how much flatter the logo's inside is (within each colour part of the logo) than
              the band around it: 1 - spread_in / (spread_in + spread_band);
    contrast  median colour distance between band and rim against the inside spread;
    sharp     how crisp the step across the outline is: the colour difference 1.5 px either
              side of the outline over that 3.5 px either side, median over the outline where
              there is a step (a mark has a crisp edge; many false matches are soft shapes:
              out-of-focus leaves, blurred curves, bokeh);
    outline_worst, separate_worst
              the same two cues per eighth of the logo's surroundings (sectors by angle around
              its centre), the second-worst sector's value: a pasted logo stands apart all
              around, a false match only where the photo happens to fit (a grass blade goes on
              past a swoosh's tip, a wheel's rim is joined to the car).

    net       (added by findlogo, not here) the log-odds of a small network that looks at the
              band and the silhouette together (findlogo_net): it learned on pastes of other
              logos what a printed mark looks like beside its outline, faint or bold.

`logit` combines four of them and `net` with a logistic model fitted on synthetic pastes
(train-photos, bench/bench_findlogo.py fit) and takes off a penalty for a blurred outline
("sharp" under a floor; crisp candidates pay nothing, so crisp clutter gains nothing from it);
its log-odds is what findlogo_calibrate calibrates per logo, so a simple shape whose false
matches score high gets a stricter threshold.
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint_core.masks.findlogo_fields import TemplateField, gradients

CUES = ("edge", "outline", "separate", "flat", "contrast", "sharp", "outline_worst",
        "separate_worst", "net")
# the cues of the logistic model, its weights and intercept: `bench/bench_findlogo.py fit` on
# 125 tuning images (train-photos shards 0-2 and 3, 89 true candidates among 13,700); the mean
# cues ("outline", "separate") add nothing beside the worst-sector ones, "flat" nothing at all
MODEL_CUES = ("edge", "outline_worst", "separate_worst", "contrast")
WEIGHTS = (9.68, 7.07, 6.52, 1.54)
INTERCEPT = -18.62
# with the learned verifier's log-odds ("net", findlogo_net) the hand cues keep their weights and
# the net's is fitted beside them (`fit --cues net --fixed ...` on the tuning sets train +
# FLTRAIN: 0.93, intercept -22.00); the intercept then raised by 1.0, where the tuning sets
# (dev, train, FLTRAIN) found 6 more marks for no more false finds (bench/RESULTS-masks-find.md,
# "Sixth pass")
NET_WEIGHT = 0.93
NET_INTERCEPT = -21.00
# a blurred outline costs log-odds: BLUR_WEIGHT per unit of "sharp" under SHARP_FLOOR (chosen on
# the tuning sets with `bench/bench_findlogo.py assess`, bench/RESULTS-masks-find.md). Only a
# penalty: a crisp candidate scores what it did before, so crisp clutter gains nothing
SHARP_FLOOR = 0.6
BLUR_WEIGHT = 20.0
MIN_DELTA_E = 6.0  # Lab distance under which two colours count as the same
SECTORS = 8  # angular sectors around the logo for the "worst" cues
SHARP_NEAR, SHARP_FAR = 1.5, 3.5  # px either side of the outline: the edge, and the step
# under this short side (px, at the level judged) the far samples cross the whole logo, and
# with fewer outline pixels than SHARP_MIN_STEPS on a colour step there is nothing to measure:
# the sharpness is then SHARP_UNKNOWN, which pays no penalty
SHARP_MIN_SIDE = 12
SHARP_MIN_STEPS = 8
SHARP_UNKNOWN = 1.0
KMEANS_SEED = 0  # OpenCV's random generator is seeded with this before the colour-parts k-means


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _parts(template: TemplateField, inside: np.ndarray) -> np.ndarray:
    """(h, w) int labels of the logo's colour parts (0 outside, 1.. inside): one part for a
    one-colour logo, up to three found by k-means otherwise."""
    labels = np.zeros(inside.shape, np.int32)
    colours = _lab(template.rgb)[inside]
    if len(colours) < 30 or float(colours.std(axis=0).max()) < 8.0:
        labels[inside] = 1
        return labels
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    # k-means++ draws its start from OpenCV's random generator (one per thread): seeded, the
    # same logo gets the same parts, and find-logo the same confidences, in every run
    cv2.setRNGSeed(KMEANS_SEED)
    _, found, _ = cv2.kmeans(colours.astype(np.float32), 3, None, criteria, 2,
                             cv2.KMEANS_PP_CENTERS)
    labels[inside] = found.ravel() + 1
    return labels


def _outline(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h, w) bool: the pixels of the logo's outline; and there, in row-major order, the unit
    normal's x and y (the alpha's gradient direction)."""
    ax, ay = gradients(alpha * 255.0)
    strength = np.hypot(ax, ay)
    on_outline = strength > 0.25 * max(float(strength.max()), 1e-6)
    along = np.maximum(strength[on_outline], 1e-6)
    return on_outline, ax[on_outline] / along, ay[on_outline] / along


Outline = tuple[np.ndarray, np.ndarray, np.ndarray]  # what _outline returns


def _outline_contrast(crop_rgb: np.ndarray, alpha: np.ndarray, outline: Outline | None = None
                      ) -> tuple[float, float]:
    """Mean over the outline of |image gradient . outline normal| / (that + 12), and the same
    in the second-worst sector."""
    on_outline, nx, ny = outline or _outline(alpha)
    if not on_outline.any():
        return 0.0, 0.0
    gx, gy = gradients(crop_rgb)
    across = np.abs(gx[on_outline] * nx + gy[on_outline] * ny)
    soft = across / (across + 12.0)
    return float(np.mean(soft)), _second_worst(soft, _sectors(alpha, 0)[on_outline])


def _sharpness(padded_lab: np.ndarray, alpha: np.ndarray, pad: int,
               outline: Outline | None = None) -> float:
    """How crisp the image's step across the logo's outline is: per outline pixel with a colour
    step (>= MIN_DELTA_E between SHARP_FAR px either side along the outline's normal, both
    samples on their own side of the logo's edge), the colour difference SHARP_NEAR px either
    side over that step (about 1 for a crisp edge, well under for a blurred one); the median."""
    if min(alpha.shape) < SHARP_MIN_SIDE:
        return SHARP_UNKNOWN
    on_outline, nx, ny = outline or _outline(alpha)
    if not on_outline.any():
        return SHARP_UNKNOWN
    rows, cols = np.nonzero(on_outline)
    xs, ys = (cols + pad).astype(np.float32), (rows + pad).astype(np.float32)

    def at(image: np.ndarray, reach: float) -> np.ndarray:
        """(n, channels): `image` reach px along each outline pixel's normal (> 0: into the
        logo, the way the alpha rises)."""
        return cv2.remap(image, (xs + reach * nx)[None], (ys + reach * ny)[None],
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(len(xs), -1)

    def step(reach: float) -> np.ndarray:
        return np.linalg.norm(at(padded_lab, reach) - at(padded_lab, -reach), axis=1)

    near, far = step(SHARP_NEAR), step(SHARP_FAR)
    # where the logo barely differs from its surroundings, or a stroke is too thin for the
    # inside sample to stay on it, the crispness of the edge cannot be told
    padded_alpha = np.pad(alpha.astype(np.float32), pad)
    inside, outside = at(padded_alpha, SHARP_FAR)[:, 0], at(padded_alpha, -SHARP_FAR)[:, 0]
    stepped = (far >= MIN_DELTA_E) & (inside >= 0.5) & (outside < 0.5)
    if stepped.sum() < SHARP_MIN_STEPS:
        return SHARP_UNKNOWN
    return float(np.median(np.minimum(near[stepped] / far[stepped], 1.0)))


def _sectors(alpha: np.ndarray, pad: int) -> np.ndarray:
    """(H, W) int sector 0-7 of every pixel by its angle around the logo's centre; `alpha` is
    the unpadded logo, the result covers it grown by `pad` px on each side."""
    rows, cols = np.nonzero(alpha > 0.05)
    cy, cx = rows.mean() + pad, cols.mean() + pad
    ys, xs = np.mgrid[0 : alpha.shape[0] + 2 * pad, 0 : alpha.shape[1] + 2 * pad]
    angle = np.arctan2(ys - cy, xs - cx)  # -pi..pi
    return np.minimum((angle + np.pi) / (2 * np.pi) * SECTORS, SECTORS - 1).astype(np.int32)


def _second_worst(values: np.ndarray, sectors: np.ndarray) -> float:
    """The second-lowest per-sector mean of `values` (sectors with >= 3 of them)."""
    means = sorted(float(values[sectors == k].mean()) for k in range(SECTORS)
                   if (sectors == k).sum() >= 3)
    if not means:
        return 0.0
    return means[1] if len(means) > 2 else means[0]


def cues(crop_rgb: np.ndarray, band_rgb: np.ndarray, band_mask: np.ndarray,
         template: TemplateField, edge: float) -> dict[str, float]:
    """The cues of one candidate.

    crop_rgb: (h, w, 3) uint8, the image under the template; band_rgb: (h + 2p, w + 2p, 3) the
    same grown by p px on each side, band_mask: (h + 2p, w + 2p) bool, where that lies inside
    the image."""
    height, width = template.alpha.shape
    pad = (band_rgb.shape[0] - height) // 2
    inside, rim, band = _regions(template.alpha, band_mask, pad)
    edges = _outline(template.alpha)  # shared by the two outline cues
    outline, outline_worst = _outline_contrast(crop_rgb, template.alpha, edges)
    lab, padded_lab = _lab(crop_rgb), _lab(band_rgb)
    values = {"edge": edge, "outline": outline, "outline_worst": outline_worst,
              "sharp": _sharpness(padded_lab, template.alpha, pad, edges)}
    band_lab = padded_lab[band]
    if inside.sum() < 6 or rim.sum() < 3 or len(band_lab) < 6:
        return {**values, "separate": 0.0, "flat": 0.0, "contrast": 0.0, "separate_worst": 0.0}
    spread_in = _spread_by_part(lab, _parts(template, inside))
    distance = np.linalg.norm(band_lab - np.median(lab[rim], axis=0), axis=1)
    spread_band = float(np.median(np.linalg.norm(band_lab - np.median(band_lab, axis=0),
                                                 axis=1)))
    apart = distance > max(MIN_DELTA_E, 2.5 * spread_in)
    gap = float(np.median(distance))
    return {**values, "separate": float(np.mean(apart)),
            "separate_worst": _second_worst(apart.astype(np.float32),
                                            _sectors(template.alpha, pad)[band]),
            "flat": 1.0 - spread_in / (spread_in + spread_band + 1e-3),
            "contrast": gap / (gap + spread_in + MIN_DELTA_E)}


def _regions(alpha: np.ndarray, band_mask: np.ndarray, pad: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """inside (h, w): the logo's solid pixels; rim (h, w): those near its edge; band
    (h + 2 pad, w + 2 pad): a ring just outside the silhouette, inside the image."""
    inside = alpha > 0.6
    solid = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    inside = solid if solid.sum() >= 12 else inside
    reach = max(2, round(0.06 * min(alpha.shape)))
    core = cv2.erode(inside.astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8)) > 0
    grown = np.pad(alpha > 0.05, pad).astype(np.uint8)
    near = cv2.dilate(grown, np.ones((3, 3), np.uint8)) > 0
    band = (cv2.dilate(grown, np.ones((2 * reach + 3,) * 2, np.uint8)) > 0) & ~near & band_mask
    return inside, inside & ~core, band


def _spread_by_part(lab: np.ndarray, parts: np.ndarray) -> float:
    """Median Lab distance of inside pixels to the median colour of their part."""
    distances = []
    for part in range(1, int(parts.max()) + 1):
        colours = lab[parts == part]
        if len(colours):
            distances.append(np.linalg.norm(colours - np.median(colours, axis=0), axis=1))
    return float(np.median(np.concatenate(distances))) if distances else 0.0


def logit(values: dict[str, float]) -> float:
    """The logistic model's log-odds that the candidate is the logo, less the blur penalty; with
    the learned verifier's cue "net" when `values` has it, the hand cues alone else."""
    hand = sum(w * values[name] for w, name in zip(WEIGHTS, MODEL_CUES, strict=True))
    if "net" in values:
        hand += NET_INTERCEPT + NET_WEIGHT * values["net"]
    else:
        hand += INTERCEPT
    return hand - BLUR_WEIGHT * blur(values)


def blur(values: dict[str, float]) -> float:
    """How far the outline's sharpness falls under SHARP_FLOOR (0 for a crisp one)."""
    return max(0.0, SHARP_FLOOR - values.get("sharp", SHARP_FLOOR))


def probability(value: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(value, -40, 40))))

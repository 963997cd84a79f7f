"""Find a known logo in an image: multi-scale template matching on edge-orientation fields.

Colour, brightness and opacity of a pasted logo change its pixels but hardly the places and
directions of its edges, so both the logo and the image become a 2-channel field per pixel:

    (m cos 2θ, m sin 2θ),   θ = gradient direction, m = |g| / (|g| + SOFTNESS)

- the gradient of each pixel is that of its strongest colour channel (a recoloured logo whose
  brightness contrast vanishes still has colour edges);
- doubling the angle makes a dark-on-light edge equal a light-on-dark one (inverted logos);
- the soft magnitude saturates, so a faint (semi-transparent) logo weighs like an opaque one.

For the logo, colour edges count only where it is opaque and the outline comes from its alpha
channel (what lies behind the logo is unknown). Matching is zero-mean normalised correlation
(cv2.matchTemplate TM_CCOEFF_NORMED) of the fields over the logo's own pixels (a mask: clutter
showing through the transparent parts does not count), the logo resized over a geometric range of
scales; the peaks of every scale above `threshold` are pooled and reduced by non-maximum
suppression, so several instances and several logos per image are found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inpaint_core.errors import ImageInputError

SOFTNESS = 24.0  # gradient magnitude (Sobel, 0-255 image) at which an edge counts half
DEFAULT_THRESHOLD = 0.40  # bench/RESULTS-masks-find.md: P 0.98 R 0.70 (0.45: P 1.00 R 0.60)
MIN_TEMPLATE_SIDE = 10  # smaller scaled logos carry too few edges to be told from texture
PYRAMID_SIDE = 40  # logos with a longer short side are matched on a downscaled image
ANGLE_STEP = 12.0  # degrees between searched rotations: a match tolerates about +-6 degrees


@dataclass(frozen=True)
class LogoTemplate:
    """A logo to look for: RGB and alpha (0-1) cropped to where alpha > 0."""

    name: str
    rgb: np.ndarray  # (h, w, 3) uint8
    alpha: np.ndarray  # (h, w) float32 in [0, 1]


@dataclass(frozen=True)
class Detection:
    """One found instance: 0-based [x1, y1, x2, y2) box in the image, score in [-1, 1]."""

    name: str
    box: tuple[int, int, int, int]
    score: float
    scale: float
    angle: float = 0.0  # degrees, counter-clockwise, of the template that matched


@dataclass(frozen=True)
class FinderConfig:
    """Search settings; scales are relative to the logo file's own size."""

    threshold: float = DEFAULT_THRESHOLD
    min_scale: float = 0.25
    max_scale: float = 4.0
    scale_step: float = 1.08  # neighbouring scales differ by 8 %: a box is off by at most 4 %
    work_side: int = 1024  # images are searched at most this long a side
    nms_iou: float = 0.3
    max_per_image: int = 50
    angles: tuple[float, ...] = (0.0,)  # rotations searched (degrees); each costs a full search


def angle_steps(max_angle: float, step: float = ANGLE_STEP) -> tuple[float, ...]:
    """0 and +-k * step up to max_angle: the rotations to search for logos tilted up to it."""
    if max_angle < 0:
        raise ValueError(f"max_angle must be >= 0, got {max_angle}")
    count = int(np.ceil(max_angle / step - 1e-9)) if max_angle > 0 else 0
    spaced = [max_angle * k / count for k in range(1, count + 1)] if count else []
    return (0.0, *[a for v in spaced for a in (v, -v)])


def rotate_template(template: LogoTemplate, angle: float) -> LogoTemplate:
    """The logo turned by `angle` degrees (counter-clockwise) on a canvas that holds all of it;
    the corners it uncovers are transparent."""
    if angle == 0:
        return template
    height, width = template.rgb.shape[:2]
    rgba = np.dstack([template.rgb, np.round(template.alpha * 255).astype(np.uint8)])
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    new_w = int(np.ceil(width * cos + height * sin))
    new_h = int(np.ceil(width * sin + height * cos))
    turn[0, 2] += new_w / 2 - width / 2
    turn[1, 2] += new_h / 2 - height / 2
    turned = cv2.warpAffine(rgba, turn, (new_w, new_h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    return make_template(turned, name=template.name)


def load_logo(path: str | Path, *, name: str | None = None) -> LogoTemplate:
    """Read a logo file (PNG with or without alpha, any Pillow format); crop to its alpha."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            rgba = np.asarray(opened.convert("RGBA"))
    except (OSError, UnidentifiedImageError) as exc:
        raise ImageInputError(f"cannot read logo {path}: {exc}") from exc
    return make_template(rgba, name=name or Path(path).stem)


def make_template(rgba: np.ndarray, *, name: str) -> LogoTemplate:
    """A template from an (h, w, 4) RGBA or (h, w, 3) RGB uint8 array."""
    array = np.asarray(rgba)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint8:
        raise ImageInputError(
            f"logo {name!r} must be RGB or RGBA uint8, got {array.shape} {array.dtype}"
        )
    alpha = array[:, :, 3] if array.shape[2] == 4 else np.full(array.shape[:2], 255, np.uint8)
    rows, cols = np.nonzero(alpha)
    if len(rows) == 0:
        raise ImageInputError(f"logo {name!r} is fully transparent")
    crop = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    rgb = np.ascontiguousarray(array[crop][:, :, :3])
    if min(rgb.shape[:2]) < 4:
        raise ImageInputError(f"logo {name!r} is too small ({rgb.shape[1]}x{rgb.shape[0]})")
    return LogoTemplate(name, rgb, alpha[crop].astype(np.float32) / 255.0)


def _gradients(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel gx, gy of the colour channel with the strongest gradient, (h, w) float32 each."""
    smooth = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), 0.8)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)  # (h, w, 3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    strongest = np.argmax(gx * gx + gy * gy, axis=2)[..., None]
    return np.take_along_axis(gx, strongest, 2)[..., 0], np.take_along_axis(gy, strongest, 2)[
        ..., 0
    ]


def _field(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32 doubled-angle field with soft magnitude."""
    energy = gx * gx + gy * gy
    magnitude = np.sqrt(energy)
    weight = 1.0 / ((magnitude + SOFTNESS) * np.maximum(magnitude, 1e-6))  # m' / |g|^2
    return np.dstack([(gx * gx - gy * gy) * weight, 2.0 * gx * gy * weight]).astype(np.float32)


def image_field(rgb: np.ndarray) -> np.ndarray:
    """Edge-orientation field of an RGB image."""
    return _field(*_gradients(rgb))


def template_field(template: LogoTemplate, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Edge-orientation field of the logo resized by `scale` (colour edges where opaque, plus the
    outline) and the matching mask: the logo grown by 2 pixels, (h, w, 2) float32 each."""
    height, width = template.rgb.shape[:2]
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    rgb = cv2.resize(template.rgb, size, interpolation=interpolation)
    alpha = cv2.resize(template.alpha, size, interpolation=interpolation)
    gx, gy = _gradients(rgb)
    opaque = cv2.erode((alpha > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    ax, ay = _gradients(np.repeat(alpha[..., None] * 255.0, 3, axis=2))
    field = _field(gx * opaque, gy * opaque) + _field(ax, ay)
    support = cv2.dilate((alpha > 0).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(np.float32)
    return field, np.dstack([support, support])


def _scales(
    template: LogoTemplate, shape: tuple[float, float], config: FinderConfig, factor: float
):
    """Scales (relative to the logo file) that fit the searched image, smallest first."""
    height, width = template.rgb.shape[:2]
    scale = config.min_scale
    while scale <= config.max_scale * 1.0001:
        h, w = height * scale * factor, width * scale * factor
        if min(h, w) >= MIN_TEMPLATE_SIDE and h <= shape[0] and w <= shape[1]:
            yield scale
        scale *= config.scale_step


def _peaks(
    score: np.ndarray, threshold: float, size: tuple[int, int]
) -> list[tuple[float, int, int]]:
    """Local maxima of a score map above threshold, as (score, x, y)."""
    kernel = np.ones((max(3, size[1] // 4) | 1, max(3, size[0] // 4) | 1), np.uint8)
    local_max = score >= cv2.dilate(score, kernel)
    ys, xs = np.nonzero(local_max & (score >= threshold))
    return [(float(score[y, x]), int(x), int(y)) for y, x in zip(ys, xs, strict=True)]


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x1, y1, x2, y2) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def suppress(detections: list[Detection], iou: float) -> list[Detection]:
    """Greedy non-maximum suppression, best score first, across logos."""
    kept: list[Detection] = []
    for candidate in sorted(detections, key=lambda d: d.score, reverse=True):
        if all(box_iou(candidate.box, other.box) <= iou for other in kept):
            kept.append(candidate)
    return kept


def find_logos(
    image: np.ndarray,
    templates: Sequence[LogoTemplate],
    config: FinderConfig | None = None,
) -> list[Detection]:
    """Every instance of every template in an RGB uint8 image, best first."""
    config = config or FinderConfig()
    rgb = np.asarray(image)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ImageInputError(
            f"find_logos needs an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}"
        )
    height, width = rgb.shape[:2]
    factor = min(1.0, config.work_side / max(height, width))
    fields: dict[int, np.ndarray] = {}  # pyramid level -> edge field of the image at that level
    found = []
    turned = [(rotate_template(t, angle), angle) for t in templates for angle in config.angles]
    for template, angle in turned:
        for scale in _scales(template, (height * factor, width * factor), config, factor):
            level = _level(template, scale * factor)
            level_factor = factor / 2**level
            if level not in fields:
                fields[level] = image_field(_resized(rgb, level_factor))
            field_t, support = template_field(template, scale * level_factor)
            searched = fields[level]
            if field_t.shape[0] > searched.shape[0] or field_t.shape[1] > searched.shape[1]:
                continue
            score = cv2.matchTemplate(searched, field_t, cv2.TM_CCOEFF_NORMED, mask=support)
            score = np.nan_to_num(score, nan=0.0, posinf=0.0, neginf=0.0)
            th, tw = field_t.shape[:2]
            for value, x, y in _peaks(score, config.threshold, (tw, th)):
                box = _to_original((x, y, x + tw, y + th), level_factor, width, height)
                found.append(Detection(template.name, box, value, scale, angle))
    return suppress(found, config.nms_iou)[: config.max_per_image]


def _level(template: LogoTemplate, scale: float) -> int:
    """Pyramid level to match at: big logos are matched at half, quarter ... resolution, keeping
    their short side between PYRAMID_SIDE and twice that (same accuracy, far fewer pixels)."""
    short = min(template.rgb.shape[:2]) * scale
    return max(0, int(np.floor(np.log2(max(short, 1.0) / PYRAMID_SIDE))))


def _resized(rgb: np.ndarray, factor: float) -> np.ndarray:
    if factor >= 1.0:
        return rgb
    height, width = rgb.shape[:2]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _to_original(box: tuple[int, int, int, int], factor: float, width: int, height: int):
    x1, y1, x2, y2 = (v / factor for v in box)
    return (
        max(0, int(np.floor(x1))),
        max(0, int(np.floor(y1))),
        min(width, int(np.ceil(x2))),
        min(height, int(np.ceil(y2))),
    )

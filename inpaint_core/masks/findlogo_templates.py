"""Logos to look for: reading, cropping to alpha, rotating; the rotations a search covers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inpaint_core.errors import ImageInputError

ANGLE_STEP = 12.0  # degrees between searched rotations: a coarse match tolerates about +-6
DEFAULT_MAX_ANGLE = 30.0  # tilts searched by default: 0, +-10, +-20, +-30 degrees


@dataclass(frozen=True)
class LogoTemplate:
    """A logo to look for: RGB and alpha (0-1) cropped to where alpha > 0."""

    name: str
    rgb: np.ndarray  # (h, w, 3) uint8
    alpha: np.ndarray  # (h, w) float32 in [0, 1]


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

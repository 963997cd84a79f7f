"""Edge-orientation fields and the two correlations find-logo matches them with.

Colour, brightness and opacity of a pasted logo change its pixels but hardly the places and
directions of its edges, so both the logo and the image become a 2-channel field per pixel:

    (m cos 2θ, m sin 2θ),   θ = gradient direction, m = |g| / (|g| + SOFTNESS)

- the gradient of each pixel is that of its strongest colour channel (a recoloured logo whose
  brightness contrast vanishes still has colour edges);
- doubling the angle makes a dark-on-light edge equal a light-on-dark one (inverted logos);
- the soft magnitude saturates, so a faint (semi-transparent) logo weighs like an opaque one.

For the logo, colour edges count only where it is opaque and the outline comes from its alpha
channel (what lies behind the logo is unknown); matching is restricted to the logo's own pixels
grown by 1 px (`support`), so clutter showing through transparent parts does not count.

Fields are stored channel first, (2, h, w), and every correlation is made one channel at a time:
OpenCV's matchTemplate on a 2-channel image costs 4-5x a 1-channel one, not 2x (5.5 vs 25 ms for
a wordmark on a 1024 x 683 field, AVX2 EPYC), so two 1-channel calls and a sum halve the search.

`coarse_scores` is the fast correlation of the coarse search: the support-masked template made
zero-mean is correlated with the field (TM_CCORR: the template's mean is zero, so the image's
local mean drops out of the numerator) and divided by the field's energy under the support;
`fine_scores` is the exact support-masked zero-mean normalised correlation (what OpenCV's
TM_CCOEFF_NORMED with a mask computes), used on small windows only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SOFTNESS = 24.0  # gradient magnitude (Sobel, 0-255 image) at which an edge counts half
# a fine window whose variance under the support is below this share of its energy is flat:
# no orientation pattern to correlate, and its score is 0
FLAT_SHARE = 1e-4
SUPPORT_KERNEL = 3  # the logo's pixels are grown by 1 px for matching (5: 2 px, a little worse)


@dataclass(frozen=True)
class TemplateField:
    """A logo at one size and angle, ready to correlate."""

    field: np.ndarray  # (2, h, w) float32, the edge-orientation field
    support: np.ndarray  # (h, w) float32 0/1: the logo's pixels grown by 1 px
    zero_mean: np.ndarray  # (2, h, w) float32: field minus its mean, times support
    norm: float  # |zero_mean|
    count: float  # pixels of the support
    rgb: np.ndarray  # (h, w, 3) uint8, the logo resized
    alpha: np.ndarray  # (h, w) float32 in [0, 1]


def gradients(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel gx, gy of the colour channel with the strongest gradient, (h, w) float32 each."""
    smooth = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), 0.8)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)  # (h, w, 3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    if gx.ndim == 2:
        return gx, gy
    strongest = np.argmax(gx * gx + gy * gy, axis=2)[..., None]
    return (np.take_along_axis(gx, strongest, 2)[..., 0],
            np.take_along_axis(gy, strongest, 2)[..., 0])


def orientation_field(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """(2, h, w) float32 doubled-angle field with soft magnitude."""
    energy = gx * gx + gy * gy
    magnitude = np.sqrt(energy)
    weight = 1.0 / ((magnitude + SOFTNESS) * np.maximum(magnitude, 1e-6))  # m' / |g|^2
    return np.stack([(gx * gx - gy * gy) * weight, 2.0 * gx * gy * weight]).astype(np.float32)


def image_field(rgb: np.ndarray) -> np.ndarray:
    """Edge-orientation field of an RGB image, (2, h, w) float32."""
    return orientation_field(*gradients(rgb))


def field_energy(field: np.ndarray) -> np.ndarray:
    """(h, w) float32 squared magnitude of a field, for the coarse denominator."""
    return (field * field).sum(axis=0).astype(np.float32)


def template_field(rgb: np.ndarray, alpha: np.ndarray, size: tuple[int, int]) -> TemplateField:
    """The logo (rgb uint8, alpha float 0-1) resized to `size` = (w, h), as a TemplateField."""
    shrink = size[0] < rgb.shape[1]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    rgb = cv2.resize(rgb, size, interpolation=interpolation)
    alpha = cv2.resize(alpha, size, interpolation=interpolation)
    gx, gy = gradients(rgb)
    opaque = cv2.erode((alpha > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8))
    ax, ay = gradients(alpha * 255.0)
    field = orientation_field(gx * opaque, gy * opaque) + orientation_field(ax, ay)
    kernel = np.ones((SUPPORT_KERNEL, SUPPORT_KERNEL), np.uint8)
    support = cv2.dilate((alpha > 0.05).astype(np.uint8), kernel)
    support = support.astype(np.float32)
    count = max(float(support.sum()), 1.0)
    mean = (field * support).sum(axis=(1, 2)) / count
    zero_mean = ((field - mean[:, None, None]) * support).astype(np.float32)
    norm = float(np.sqrt((zero_mean * zero_mean).sum()))
    return TemplateField(field, support, zero_mean, norm, count, rgb, alpha)


def correlate(field: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Sum over channels of the (2, H, W) field's TM_CCORR with the (2, h, w) kernel."""
    total = cv2.matchTemplate(field[0], kernel[0], cv2.TM_CCORR)
    total += cv2.matchTemplate(field[1], kernel[1], cv2.TM_CCORR)
    return total


def coarse_scores(field: np.ndarray, energy: np.ndarray, template: TemplateField) -> np.ndarray:
    """(H - h + 1, W - w + 1) float32 correlation in [-1, 1] of the template at every position."""
    numerator = correlate(field, template.zero_mean)
    under = cv2.matchTemplate(energy, template.support, cv2.TM_CCORR)
    denominator = np.sqrt(np.maximum(under, 1e-6)) * max(template.norm, 1e-6)
    return numerator / np.maximum(denominator, 1e-3 * max(template.norm, 1e-6))


def fine_scores(field: np.ndarray, energy: np.ndarray, template: TemplateField) -> np.ndarray:
    """Exact support-masked zero-mean normalised correlation of a (2, H, W) field window and
    its energy: sum T'I / (|T'| |I - mean I|), T' and the means taken under the support.
    Where the window has no variance under the support (a flat patch), 0."""
    numerator = correlate(field, template.zero_mean)
    total = cv2.matchTemplate(energy, template.support, cv2.TM_CCORR)
    sums = [cv2.matchTemplate(channel, template.support, cv2.TM_CCORR) for channel in field]
    spread = total - sum(under * under for under in sums) / template.count
    # float32 correlations leave a residue of about 1e-6 of the energy where a window is flat
    varied = spread > FLAT_SHARE * total + 1e-12
    denominator = np.sqrt(np.maximum(spread, 0.0)) * max(template.norm, 1e-12)
    score = np.divide(numerator, denominator, out=np.zeros_like(numerator), where=varied)
    return np.clip(score, -1.0, 1.0)

"""Image quality figures: L1, PSNR, SSIM (optionally inside a region) and a no-reference seam score.

All functions take HxWx3 uint8 arrays (or float arrays in [0, 255]) and bool masks; no torch.
"""

from __future__ import annotations

import cv2
import numpy as np

_SSIM_C1 = (0.01 * 255) ** 2
_SSIM_C2 = (0.03 * 255) ** 2


def _as_float(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, dtype=np.float64)


def _region(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if mask is None:
        return np.ones(shape[:2], dtype=bool)
    region = np.asarray(mask).astype(bool)
    if region.shape != shape[:2]:
        raise ValueError(f"mask shape {region.shape} does not match image shape {shape[:2]}")
    return region


def l1(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute error in [0, 1] units over the region (whole image if mask is None)."""
    region = _region(mask, a.shape)
    if not region.any():
        return 0.0
    diff = np.abs(_as_float(a) - _as_float(b))[region]
    return float(diff.mean() / 255.0)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, cap: float = 100.0) -> float:
    """Peak signal-to-noise ratio in dB over the region; identical regions give `cap`."""
    region = _region(mask, a.shape)
    if not region.any():
        return cap
    mse = float(((_as_float(a) - _as_float(b)) ** 2)[region].mean())
    if mse <= 0:
        return cap
    return float(min(cap, 10.0 * np.log10(255.0**2 / mse)))


def _ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM (Gaussian window 11, sigma 1.5) averaged over channels."""
    a = _as_float(a)
    b = _as_float(b)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    maps = []
    for c in range(a.shape[2]):
        x, y = a[..., c], b[..., c]
        blur = lambda img: cv2.GaussianBlur(img, (11, 11), 1.5)  # noqa: E731
        mu_x, mu_y = blur(x), blur(y)
        sxx = blur(x * x) - mu_x**2
        syy = blur(y * y) - mu_y**2
        sxy = blur(x * y) - mu_x * mu_y
        num = (2 * mu_x * mu_y + _SSIM_C1) * (2 * sxy + _SSIM_C2)
        den = (mu_x**2 + mu_y**2 + _SSIM_C1) * (sxx + syy + _SSIM_C2)
        maps.append(num / den)
    return np.mean(maps, axis=0)


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Structural similarity, averaged over the region (whole image if mask is None)."""
    region = _region(mask, a.shape)
    if not region.any():
        return 1.0
    return float(_ssim_map(a, b)[region].mean())


TEXTURE_BORDER = 2  # px the region shrinks by, so a seam along its border counts for nothing
TEXTURE_FLOOR = 0.5  # mean |Laplacian| the truth is taken to have at least (grey levels)


def mean_laplacian(image: np.ndarray, region: np.ndarray) -> float:
    """Mean |Laplacian| (4-neighbour, grey levels) of `image` over `region`."""
    grey = cv2.cvtColor(np.asarray(image, dtype=np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=1))[region].mean())


def texture_ratio(truth: np.ndarray, output: np.ndarray, mask: np.ndarray | None = None) -> float:
    """How much detail the output has inside the region, relative to the truth: the mean
    |Laplacian| of `output` over the region divided by that of `truth` there. 1: as detailed as
    the photo; a smooth blur scores about 0.3-0.5; above 1: busier than the photo (noise,
    repeated edges). The region is shrunk by TEXTURE_BORDER px first (when that leaves
    anything), so a seam counts as neither detail nor blur; the truth's figure is floored at
    TEXTURE_FLOOR so a flat region does not divide by ~0."""
    region = _region(mask, truth.shape)
    if not region.any():
        return 1.0
    inner = cv2.erode(region.astype(np.uint8), np.ones((3, 3), np.uint8),
                      iterations=TEXTURE_BORDER) > 0
    if inner.any():
        region = inner
    reference = max(mean_laplacian(truth, region), TEXTURE_FLOOR)
    return mean_laplacian(output, region) / reference


def reference_metrics(truth: np.ndarray, output: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    """L1 / PSNR / SSIM over the whole image, inside the hole and outside it."""
    hole = hole.astype(bool)
    return {
        "l1": l1(truth, output),
        "psnr": psnr(truth, output),
        "ssim": ssim(truth, output),
        "l1_hole": l1(truth, output, hole),
        "psnr_hole": psnr(truth, output, hole),
        "ssim_hole": ssim(truth, output, hole),
        "psnr_outside": psnr(truth, output, ~hole),
    }


def _gradient_magnitude(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(np.asarray(image, dtype=np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    return np.hypot(gx, gy)


def seam_score(output: np.ndarray, fill: np.ndarray, band: int = 2) -> float:
    """How much the fill boundary stands out: mean gradient on the boundary / mean gradient near it.

    About 1 means the seam is as busy as the surrounding image (invisible); values well above 1
    mean a visible edge along the fill border. No reference image needed.
    """
    fill = np.asarray(fill).astype(np.uint8)
    if not fill.any() or fill.all():
        return 1.0
    kernel = np.ones((3, 3), np.uint8)
    outer = cv2.dilate(fill, kernel, iterations=band)
    inner = cv2.erode(fill, kernel, iterations=band)
    boundary = (outer > 0) & (inner == 0)
    ring = (cv2.dilate(fill, kernel, iterations=6 * band) > 0) & ~(outer > 0)
    grad = _gradient_magnitude(output)
    if not boundary.any() or not ring.any():
        return 1.0
    surround = float(grad[ring].mean())
    return float(grad[boundary].mean() / max(surround, 1.0))

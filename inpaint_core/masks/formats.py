"""Image file names and the size limit every reader shares (no imports: the settings and the
command line use them without loading numpy or OpenCV)."""

from __future__ import annotations

DEFAULT_MAX_PIXELS = 100_000_000  # larger images are refused (decompression-bomb guard)
# file names the dataset readers and tools take for images (any case)
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"})

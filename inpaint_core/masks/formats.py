"""Image file names and the size limit every reader shares (no imports: the settings and the
command line use them without loading numpy or OpenCV)."""

from __future__ import annotations

DEFAULT_MAX_PIXELS = 100_000_000  # larger images are refused (decompression-bomb guard)
# file names the dataset readers and tools take for images (any case)
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"})


def split_list_field(text: str) -> list:
    """A list-valued text field (manifest columns, --box): JSON when it starts with '[',
    otherwise the non-empty ';'-separated parts, stripped. ValueError for bad JSON."""
    import json

    text = text.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from exc
    return [part.strip() for part in text.split(";") if part.strip()]

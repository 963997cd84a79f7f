"""Small previews of job images (Pillow only) and a byte-bounded in-memory LRU cache of them.

Used by the dashboard (served per request, cached) and the report (written once).
Images are decoded with the same pixel limit the workers use, so a decompression bomb
in a dataset cannot take the dashboard down, and one preview decodes at most
MAX_DECODED_PIXELS (a JPEG is decoded at a reduced scale first, so any photo fits; a
larger PNG or TIFF gets no preview): the work and memory of one request stay bounded.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable

from PIL import Image, ImageOps, UnidentifiedImageError

from inpaint_core.masks.formats import DEFAULT_MAX_PIXELS
from scheduler.errors import UnbrandError

MAX_SIDE = 256
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
JPEG_QUALITY = 82
MAX_DECODED_PIXELS = 25_000_000  # one preview: ~100 MB of RGBA and ~0.4 s of PNG decoding
FAILURE_COST = 256  # bytes a remembered failure counts for in the cache's bound


class ThumbnailError(UnbrandError):
    """The stored bytes are not a readable image (or exceed the pixel limit)."""


def make_thumbnail(
    data: bytes,
    *,
    max_side: int = MAX_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_decoded: int = MAX_DECODED_PIXELS,
) -> tuple[bytes, str]:
    """`(encoded preview, media type)`: JPEG, or PNG when the image has transparency.

    The longer side becomes at most `max_side` pixels; EXIF orientation is applied.
    Raises ThumbnailError for bytes Pillow cannot read, images over `max_pixels`, and
    images that would still have more than `max_decoded` pixels to decode.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            width, height = opened.size
            if width * height > max_pixels:
                raise ThumbnailError(f"image of {width}x{height} pixels exceeds {max_pixels}")
            opened.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
            decoded_width, decoded_height = opened.size  # the reduced size after a draft
            if decoded_width * decoded_height > max_decoded:
                raise ThumbnailError(
                    f"image of {width}x{height} pixels is too large to preview here"
                )
            image = ImageOps.exif_transpose(opened)
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            return _encode(image)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ThumbnailError(f"cannot read image: {exc}") from exc
    except Image.DecompressionBombWarning as exc:
        raise ThumbnailError(f"image too large: {exc}") from exc


def _encode(image: Image.Image) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        image.convert("RGBA").save(buffer, format="PNG", optimize=True)
        return buffer.getvalue(), "image/png"
    image.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue(), "image/jpeg"


Entry = tuple[bytes, str] | ThumbnailError  # a preview, or why there is none


class ThumbnailCache:
    """Least-recently-used cache of encoded previews, bounded by total bytes; thread-safe.
    It also remembers images that could not be previewed (ThumbnailError), so a file that
    is expensive to fail on is decoded once, not on every request."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, Entry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._size

    def get(self, key: Hashable) -> Entry | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item

    def put(self, key: Hashable, item: Entry) -> None:
        if _cost(item) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= _cost(old)
            self._items[key] = item
            self._size += _cost(item)
            while self._size > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._size -= _cost(evicted)

    def get_or_make(
        self, key: Hashable, make: Callable[[], tuple[bytes, str]]
    ) -> tuple[bytes, str]:
        """The cached item, or `make()` stored under `key`. A ThumbnailError from `make` is
        stored too and raised again on later calls; other errors are not remembered."""
        item = self.get(key)
        if item is None:
            try:
                item = make()
            except ThumbnailError as exc:
                item = exc
            self.put(key, item)
        if isinstance(item, ThumbnailError):
            raise ThumbnailError(str(item))  # a new one: the stored one keeps no traceback
        return item


def _cost(item: Entry) -> int:
    return FAILURE_COST if isinstance(item, ThumbnailError) else len(item[0])

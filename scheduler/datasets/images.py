"""A plain folder of images without annotations: the format "images".

Every image file under the root (recursively, sorted by path) becomes one item with neither
boxes nor a mask; what to remove comes from the batch's fixed-position boxes / mask (`--box`,
`--mask`, see scheduler/options.py). So "auto" only picks this format when fixed masks are
given: without them a folder of images is more likely a dataset laid out wrongly.
"""

from __future__ import annotations

from collections.abc import Iterator

from scheduler.datasets.types import DatasetItem, entry_item, has_image_extension
from scheduler.errors import DatasetError
from scheduler.storage import Storage


def read_images(storage: Storage, root: str = "") -> Iterator[DatasetItem]:
    """One item per image file under `root`, in key order; DatasetError when there is none."""
    prefix = f"{root}/" if root else ""
    keys = [key for key in storage.iter_keys(prefix) if _is_image(key[len(prefix):])]
    if not keys:
        where = storage.uri_for(root) if root else repr(storage)
        raise DatasetError(f"no image files under {where}")
    for key in sorted(keys):
        yield entry_item(storage, root, key)  # an error item when the storage refuses the key


def _is_image(rel: str) -> bool:
    """An image file, not inside a hidden folder (.thumbnails/, .git/...) nor hidden itself
    (an S3 key's "." or ".." segment is no hidden folder: such an entry fails its own job)."""
    parts = rel.split("/")
    return has_image_extension(parts[-1]) and not any(
        part.startswith(".") and part not in (".", "..") for part in parts)

"""Dataset readers: turn a dataset URI into DatasetItems (one per image).

    for item in read_dataset("s3://bucket/openlogo", split="test", classes=["adidas"]):
        ...

Formats: "openlogo" (VOC XML, see openlogo.py), "masks" (image + mask folders, see
masks.py), "manifest" (CSV / JSONL, see manifest.py), "images" (a plain folder without
annotations, for fixed-position watermarks, see images.py), or "auto": a *.csv / *.jsonl /
*.ndjson URI is a manifest, a folder with Annotations/ is OpenLogo, a folder with
images/ + masks/ (or JPEGImages/ + masks/) is masks; any other folder is "images" only when
the caller says plain images are expected (`images_fallback`, i.e. fixed masks were given).
A problem with one image gives an item with `error`; only a dataset that cannot be read at
all raises DatasetError.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scheduler.datasets.images import read_images
from scheduler.datasets.manifest import is_manifest, read_manifest
from scheduler.datasets.masks import find_layout, read_masks
from scheduler.datasets.openlogo import ANNOTATIONS, read_openlogo
from scheduler.datasets.types import DatasetItem
from scheduler.errors import DatasetError
from scheduler.settings import Settings
from scheduler.storage import Storage, join_key, open_storage

FORMATS = ("auto", "openlogo", "masks", "manifest", "images")


def read_dataset(
    source_uri: str,
    *,
    format: str = "auto",
    split: str | None = None,
    classes: Iterable[str] | None = None,
    settings: Settings | None = None,
    images_fallback: bool = False,
    min_confidence: float | None = None,
) -> Iterator[DatasetItem]:
    """The items of the dataset at `source_uri` (local folder/file, file:// or s3://).

    `images_fallback`: with format "auto", read a folder of no known layout as plain images.
    `min_confidence`: OpenLogo objects with a lower <confidence> (find-logo's) are dropped.
    """
    if format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r} (one of {', '.join(FORMATS)})")
    storage, key = open_storage(source_uri, settings=settings)
    kind = format if format != "auto" else detect_format(storage, key,
                                                         images_fallback=images_fallback)
    if kind != "openlogo" and (split is not None or classes is not None):
        raise DatasetError(f"split and classes only apply to OpenLogo datasets, not {kind!r}")
    if kind != "openlogo" and min_confidence is not None:
        raise DatasetError(f"min confidence applies to find-logo's OpenLogo output, not {kind!r}")
    if kind == "manifest":
        return read_manifest(storage, key)
    if kind == "openlogo":
        return read_openlogo(storage, key, split=split, classes=classes,
                             min_confidence=min_confidence)
    if kind == "images":
        return read_images(storage, key)
    return read_masks(storage, key)


def detect_format(storage: Storage, key: str, *, images_fallback: bool = False) -> str:
    """ "manifest", "openlogo" or "masks" for what lies at `key` ("images" for any other folder
    when `images_fallback`); DatasetError if none fits."""
    if is_manifest(key):
        return "manifest"
    if next(iter(storage.iter_keys(f"{join_key(key, ANNOTATIONS)}/")), None) is not None:
        return "openlogo"
    if find_layout(storage, key) is not None:
        return "masks"
    if images_fallback:
        return "images"
    where = storage.uri_for(key) if key else repr(storage)
    raise DatasetError(
        f"cannot tell the dataset format at {where}: expected a .csv/.jsonl manifest, an "
        "OpenLogo folder (Annotations/, JPEGImages/) or images/ + masks/ folders (a plain "
        "folder of images is read only with fixed-position --box / --mask)"
    )


__all__ = ["FORMATS", "DatasetItem", "detect_format", "read_dataset"]

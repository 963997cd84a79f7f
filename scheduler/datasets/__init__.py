"""Dataset readers: turn a dataset URI into DatasetItems (one per image).

    for item in read_dataset("s3://bucket/openlogo", split="test", classes=["adidas"]):
        ...

Formats: "openlogo" (VOC XML, see openlogo.py), "masks" (image + mask folders, see
masks.py), "manifest" (CSV / JSONL, see manifest.py), or "auto": a *.csv / *.jsonl /
*.ndjson URI is a manifest, a folder with Annotations/ is OpenLogo, a folder with
images/ + masks/ (or JPEGImages/ + masks/) is masks. A problem with one image gives an
item with `error`; only a dataset that cannot be read at all raises DatasetError.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scheduler.datasets.manifest import is_manifest, read_manifest
from scheduler.datasets.masks import find_layout, read_masks
from scheduler.datasets.openlogo import ANNOTATIONS, read_openlogo
from scheduler.datasets.types import DatasetItem
from scheduler.errors import DatasetError
from scheduler.settings import Settings
from scheduler.storage import Storage, join_key, open_storage

FORMATS = ("auto", "openlogo", "masks", "manifest")


def read_dataset(
    source_uri: str,
    *,
    format: str = "auto",
    split: str | None = None,
    classes: Iterable[str] | None = None,
    settings: Settings | None = None,
) -> Iterator[DatasetItem]:
    """The items of the dataset at `source_uri` (local folder/file, file:// or s3://)."""
    if format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r} (one of {', '.join(FORMATS)})")
    storage, key = open_storage(source_uri, settings=settings)
    kind = format if format != "auto" else detect_format(storage, key)
    if kind != "openlogo" and (split is not None or classes is not None):
        raise DatasetError(f"split and classes only apply to OpenLogo datasets, not {kind!r}")
    if kind == "manifest":
        return read_manifest(storage, key)
    if kind == "openlogo":
        return read_openlogo(storage, key, split=split, classes=classes)
    return read_masks(storage, key)


def detect_format(storage: Storage, key: str) -> str:
    """ "manifest", "openlogo" or "masks" for what lies at `key`; DatasetError if none fits."""
    if is_manifest(key):
        return "manifest"
    if next(iter(storage.iter_keys(f"{join_key(key, ANNOTATIONS)}/")), None) is not None:
        return "openlogo"
    if find_layout(storage, key) is not None:
        return "masks"
    where = storage.uri_for(key) if key else repr(storage)
    raise DatasetError(
        f"cannot tell the dataset format at {where}: expected a .csv/.jsonl manifest, an "
        "OpenLogo folder (Annotations/, JPEGImages/) or images/ + masks/ folders"
    )


__all__ = ["FORMATS", "DatasetItem", "detect_format", "read_dataset"]

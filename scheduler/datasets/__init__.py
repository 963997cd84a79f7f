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
all raises DatasetError. Every usable item gets its own output key: items whose keys could
meet (names equal but for case, `x.bmp` beside `x.bmp.png`) are marked `distinct_output`
(types.mark_output_clashes) and their keys carry a digest of their path. A listed key that
the key rules refuse (an S3 key with `//`, `/./`, `..` or a backslash) is left out of what the
readers see: an image where a plain-images or masks dataset takes its inputs becomes a failed
item of its own, any other such key a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scheduler.datasets.images import read_images
from scheduler.datasets.manifest import is_manifest, read_manifest
from scheduler.datasets.masks import find_layout, read_masks
from scheduler.datasets.openlogo import ANNOTATIONS, read_openlogo
from scheduler.datasets.types import (
    DatasetItem,
    has_image_extension,
    mark_output_clashes,
    relative,
)
from scheduler.errors import DatasetError, StorageKeyError
from scheduler.settings import Settings
from scheduler.storage import Storage, check_key, join_key, open_storage

FORMATS = ("auto", "openlogo", "masks", "manifest", "images")
MAX_NOTES = 5  # refused keys named one by one; the rest are counted


def read_dataset(
    source_uri: str,
    *,
    format: str = "auto",
    split: str | None = None,
    classes: Iterable[str] | None = None,
    settings: Settings | None = None,
    images_fallback: bool = False,
    notes: list[str] | None = None,
    min_confidence: float | None = None,
) -> Iterator[DatasetItem]:
    """The items of the dataset at `source_uri` (local folder/file, file:// or s3://).

    `images_fallback`: with format "auto", read a folder of no known layout as plain images.
    `notes`: receives one line per listed key that was skipped (see the module docstring).
    `min_confidence`: OpenLogo objects with a lower <confidence> (find-logo's) are dropped.
    """
    if format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r} (one of {', '.join(FORMATS)})")
    opened, key = open_storage(source_uri, settings=settings)
    storage = CheckedListing(opened)
    kind = format if format != "auto" else detect_format(storage, key,
                                                         images_fallback=images_fallback)
    if kind != "openlogo" and (split is not None or classes is not None):
        raise DatasetError(f"split and classes only apply to OpenLogo datasets, not {kind!r}")
    if kind != "openlogo" and min_confidence is not None:
        raise DatasetError(f"min confidence applies to find-logo's OpenLogo output, not {kind!r}")
    if kind == "manifest":
        items = read_manifest(storage, key)
    elif kind == "openlogo":
        items = read_openlogo(storage, key, split=split, classes=classes,
                              min_confidence=min_confidence)
    elif kind == "images":
        items = read_images(storage, key)
    else:
        items = read_masks(storage, key)
    if kind != "manifest":  # a manifest names its files: nothing listed to refuse
        items = _with_refused(items, storage, key, _input_folder(storage, key, kind), notes)
    return _with_distinct_outputs(items)


def _with_distinct_outputs(items: Iterator[DatasetItem]) -> Iterator[DatasetItem]:
    """The items once all are read, those whose output keys could meet marked (lazily: the
    dataset is read on the first `next`, as the readers do)."""
    yield from mark_output_clashes(items)


class CheckedListing(Storage):
    """`storage` whose listing leaves out the keys the key rules refuse, remembering each with
    the reason; everything else is passed through."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.refused: dict[str, str] = {}

    def __repr__(self) -> str:
        return repr(self.storage)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        for key in self.storage.iter_keys(prefix):
            try:
                check_key(key)
            except StorageKeyError as exc:
                self.refused.setdefault(key, str(exc))
                continue
            yield key

    def read_bytes(self, key: str) -> bytes:
        return self.storage.read_bytes(key)

    def write_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        self.storage.write_bytes(key, data, content_type=content_type)

    def exists(self, key: str) -> bool:
        return self.storage.exists(key)

    def delete(self, key: str) -> None:
        self.storage.delete(key)

    def uri_for(self, key: str) -> str:
        return self.storage.uri_for(key)

    def listed_uri(self, key: str) -> str:
        return self.storage.listed_uri(key)


def _input_folder(storage: Storage, root: str, kind: str) -> str | None:
    """The folder whose listed images are the dataset's entries (None: entries come from
    annotation files, an OpenLogo dataset)."""
    if kind == "images":
        return root
    layout = find_layout(storage, root) if kind == "masks" else None
    return join_key(root, layout[0]) if layout else None


def _with_refused(items: Iterator[DatasetItem], storage: CheckedListing, root: str,
                  folder: str | None, notes: list[str] | None) -> Iterator[DatasetItem]:
    """The reader's items, then one failed item per refused image of the input folder; the
    other refused keys go to `notes` (they cannot be any entry's image)."""
    yield from items
    skipped: list[str] = []
    prefix = f"{folder}/" if folder else ""
    for key, reason in sorted(storage.refused.items()):
        if folder is not None and key.startswith(prefix) and _visible_image(key[len(prefix):]):
            yield DatasetItem(input_uri=storage.listed_uri(key), rel_path=relative(root, key),
                              error=f"unsafe path: {reason}; rename the object to process it")
        else:
            skipped.append(f"skipped {key!r}: {reason}")
    if notes is not None and skipped:
        notes.extend(skipped[:MAX_NOTES])
        if len(skipped) > MAX_NOTES:
            notes.append(f"... and {len(skipped) - MAX_NOTES} more keys skipped as unsafe")


def _visible_image(rel: str) -> bool:
    """An image file not inside a hidden folder ("." and ".." are what got the key refused)."""
    parts = rel.split("/")
    hidden = any(part.startswith(".") and part not in (".", "..") for part in parts[:-1])
    return has_image_extension(parts[-1]) and not hidden


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

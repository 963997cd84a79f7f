"""What every dataset reader yields, and the file-name rules they share.

Boxes in a DatasetItem are 0-based pixel boxes [x1, y1, x2, y2) with the end excluded; the box
rules (parsing, clipping, VOC corners) live in inpaint_core/masks/boxes.py. Readers that know
the image size (VOC `<size>`) clip boxes to it with a warning; the others can only clip at 0,
and the worker clips the far edges when it has decoded the image. An inverted or empty box
makes that one item an error, never the whole dataset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

from inpaint_core.masks.formats import IMAGE_EXTENSIONS
from scheduler.errors import DatasetError, StorageKeyError, StorageNotFound
from scheduler.options import MaskSpec
from scheduler.storage import OUTPUT_EXTENSIONS, LocalStorage, Storage, output_name


@dataclass
class DatasetItem:
    """One image of a dataset, ready to become a job (or a failed job when `error` is set)."""

    input_uri: str
    rel_path: str  # POSIX path relative to the dataset root, e.g. "JPEGImages/123.jpg"
    boxes: list[list[int]] | None = None
    mask_uri: str | None = None
    truth_uri: str | None = None
    labels: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    annotated_size: list[int] | None = None  # [width, height] of VOC <size>, when given
    distinct_output: bool = False  # set by read_dataset: see mark_output_clashes

    def mask_spec(self) -> MaskSpec:
        """The mask spec of this item's job."""
        return MaskSpec(boxes=self.boxes, mask_uri=self.mask_uri, truth_uri=self.truth_uri,
                        labels=list(self.labels), rel_path=self.rel_path,
                        warnings=list(self.warnings), distinct_output=self.distinct_output,
                        annotated_size=self.annotated_size)


def has_image_extension(name: str) -> bool:
    """Whether a file name ends in one of IMAGE_EXTENSIONS (any case)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def split_stem(rel: str) -> str:
    """A relative path without its extension: "sub/a.b.jpg" -> "sub/a.b"."""
    folder, _, name = rel.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return f"{folder}/{stem}" if folder else stem


def relative(root: str, key: str) -> str:
    """`key` relative to the dataset root `root`."""
    return key[len(root) + 1 :] if root else key


def entry_item(storage: Storage, root: str, key: str) -> DatasetItem:
    """The item of the object at `key`, or, when the storage refuses the key (a backslash, an
    empty or "." segment, `..`, a link leaving the root) or its name is not UTF-8, an error
    item naming it: one odd entry fails its own job, the rest of the dataset goes on."""
    rel = relative(root, key)
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return refused_item(storage, root, rel, "the file name is not valid UTF-8")
    try:
        return DatasetItem(input_uri=storage.uri_for(key), rel_path=rel)
    except StorageKeyError as exc:
        return refused_item(storage, root, rel, f"unsafe path: {exc}")


def refused_item(storage: Storage, root: str, rel: str, reason: str) -> DatasetItem:
    """An error item whose URI names the entry without pointing at any object (a fragment on
    the dataset root: nothing ever reads it, and it is unique per entry)."""
    entry = quote(rel, safe="/", errors="backslashreplace")
    printable = rel.encode("utf-8", "backslashreplace").decode("utf-8")
    return DatasetItem(input_uri=f"{_root_uri(storage, root)}#entry={entry}",
                       rel_path=printable, error=reason)


def _root_uri(storage: Storage, root: str) -> str:
    if root:
        return storage.uri_for(root)  # the dataset's own location passed open_storage
    if isinstance(storage, LocalStorage):
        return storage.root.as_uri()
    bucket = getattr(storage, "bucket", None)  # S3Storage, without importing boto3 here
    prefix = getattr(storage, "prefix", "")
    return f"s3://{bucket}/{prefix}".rstrip("/") if bucket else repr(storage)


def mark_output_clashes(items: Iterable[DatasetItem]) -> list[DatasetItem]:
    """The items, with `distinct_output` set on each usable item whose output key could meet
    another's whatever format the worker writes: equal but for letter case (`a.jpg`, `a.JPG`:
    one file on a case-insensitive disk or after copying S3 to one) or one's converted name
    equal to the other's own (`x.bmp` -> `x.bmp.png` beside `x.bmp.png`). Those outputs carry
    a digest of their own path, so every input keeps its own output."""
    items = list(items)
    owners: dict[str, set[int]] = {}
    for index, item in enumerate(items):
        if item.error:
            continue  # a failed job writes nothing
        for ext in OUTPUT_EXTENSIONS:
            try:
                name = output_name(item.rel_path, ext)
            except StorageKeyError:
                continue
            owners.setdefault(name.casefold(), set()).add(index)
    for indexes in owners.values():
        if len(indexes) > 1:
            for index in indexes:
                items[index].distinct_output = True
    return items


def read_text(storage: Storage, key: str, *, what: str) -> str:
    """A UTF-8 text file of the dataset (a manifest, a split file); DatasetError naming `what`
    when it is missing or not text."""
    try:
        return storage.read_bytes(key).decode("utf-8-sig")
    except StorageNotFound as exc:
        raise DatasetError(f"{what} {storage.uri_for(key)} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{what} {storage.uri_for(key)} is not UTF-8 text") from exc

"""CSV and JSON Lines manifests: one row per image.

Columns / keys: `image` (required), `mask` and/or `boxes`, optional `truth` and `labels`.
Paths are relative to the manifest's folder and must stay inside it: absolute paths,
URIs, backslashes and `..` make that row an error item. `boxes` are 0-based
[x1, y1, x2, y2) boxes, as JSON (`[[x1,y1,x2,y2], ...]`) or text ("x1 y1 x2 y2;...");
negative edges are clipped to 0 with a warning, the far edges are clipped by the worker
(a manifest does not say how large the image is). `labels`: a JSON list or "a;b".
Files are not opened here (one HEAD per row would be slow on S3); a missing image
fails its job in the worker with a readable reason.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from inpaint_core.masks.boxes import BoxError, clip_boxes, parse_boxes
from inpaint_core.masks.formats import split_list_field
from scheduler.datasets.types import DatasetItem, read_text
from scheduler.errors import DatasetError, StorageError
from scheduler.storage import Storage, check_key, join_key

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson")
KNOWN_COLUMNS = frozenset({"image", "mask", "boxes", "truth", "labels"})


def is_manifest(key: str) -> bool:
    """Whether a key names a manifest file (by its extension)."""
    return key.lower().endswith(MANIFEST_SUFFIXES)


def read_manifest(storage: Storage, key: str) -> Iterator[DatasetItem]:
    """Items of the manifest at `key`, in row order; bad rows become error items."""
    if not is_manifest(key):
        raise DatasetError(f"{key!r} is not a manifest (expected {', '.join(MANIFEST_SUFFIXES)})")
    text = read_text(storage, key, what="manifest")
    root = key.rpartition("/")[0]
    rows = _csv_rows(text) if key.lower().endswith(".csv") else _jsonl_rows(text)
    first_line: dict[str, int] = {}
    for line, row in rows:
        item = _item(storage, root, key, line, row)
        seen = first_line.setdefault(item.input_uri, line)
        if seen != line:  # one job per image: a second row for it is an error of its own
            item = _line_error(storage, key, line, f"duplicate of line {seen} ({item.rel_path})")
        yield item


def _csv_rows(text: str) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text))
    fields = {name.strip().lower() for name in reader.fieldnames or ()}
    if "image" not in fields:
        raise DatasetError("the CSV manifest has no 'image' column in its header")
    for row in reader:
        if None in row:  # more cells than header columns
            yield reader.line_num, "the row has more cells than the header"
            continue
        cleaned = {k.strip().lower(): (v or "").strip() for k, v in row.items()}
        yield reader.line_num, {k: v for k, v in cleaned.items() if v}


def _jsonl_rows(text: str) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON: {exc.msg}"
            continue
        yield number, row if isinstance(row, dict) else "each line must be a JSON object"


def _item(
    storage: Storage, root: str, key: str, line: int, row: Mapping[str, Any] | str
) -> DatasetItem:
    """One row as an item; the reason in `error` when the row cannot be used."""
    if isinstance(row, str):
        return _line_error(storage, key, line, row)
    try:
        image = _path(root, row.get("image"), "image")
        item = DatasetItem(input_uri=storage.uri_for(image), rel_path=_rel(root, image))
        if row.get("mask"):
            item.mask_uri = storage.uri_for(_path(root, row["mask"], "mask"))
        if row.get("truth"):
            item.truth_uri = storage.uri_for(_path(root, row["truth"], "truth"))
    except (DatasetError, StorageError) as exc:
        return _line_error(storage, key, line, str(exc))
    try:
        if row.get("boxes") not in (None, "", []):
            boxes = parse_boxes(row["boxes"])
            item.boxes = clip_boxes(boxes, width=None, height=None, warnings=item.warnings)
        item.labels = _labels(row.get("labels"))
    except (BoxError, DatasetError) as exc:
        item.error = f"line {line}: {exc}"
        return item
    if item.mask_uri is None and not item.boxes:
        item.error = f"line {line}: the row has neither a mask nor boxes"
    unknown = sorted(set(row) - KNOWN_COLUMNS)
    if unknown:
        item.warnings.append(f"line {line}: ignored columns {unknown}")
    return item


def _path(root: str, value: Any, column: str) -> str:
    """A key under the manifest's folder; DatasetError for anything that could escape it."""
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"missing {column!r} path")
    text = value.strip()
    if "://" in text or text.startswith(("/", "~")) or (len(text) > 1 and text[1] == ":"):
        raise DatasetError(f"{column} path {text!r} must be relative to the manifest's folder")
    try:
        return join_key(root, check_key(text.removeprefix("./")))
    except StorageError as exc:
        raise DatasetError(f"{column} path {text!r} is not allowed: {exc}") from exc


def _labels(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = split_list_field(value)
        except ValueError as exc:
            raise DatasetError(f"labels are {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"labels must be a list of strings, got {value!r}")
    return list(value)


def _line_error(storage: Storage, key: str, line: int, reason: str) -> DatasetItem:
    """An error item with a unique input URI pointing at the manifest line."""
    return DatasetItem(
        input_uri=f"{storage.uri_for(key)}#line={line}",
        rel_path=f"{key.rpartition('/')[2]}:{line}",
        error=f"line {line}: {reason}",
    )


def _rel(root: str, key: str) -> str:
    return key[len(root) + 1 :] if root else key

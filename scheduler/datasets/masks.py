"""Image + mask folders, paired by file stem (never by listing order).

Layouts (under the dataset root):
    images/<path>.<ext>  + masks/<path>.<ext>           (optional truth/<path>.<ext>)
    JPEGImages/<id>.jpg  + masks/<id>.png               (the OpenLogo layout's masks)
A mask matches an image when its path without extension equals the image's, or equals
it plus "_mask". An image without a mask, with several candidate masks, or whose (or whose
mask's) key the storage refuses, becomes an item with `error`; masks without an image are
ignored (and counted in the log).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from scheduler.datasets.types import (
    DatasetItem,
    entry_item,
    has_image_extension,
    relative,
    split_stem,
)
from scheduler.errors import DatasetError
from scheduler.storage import Storage, join_key

log = logging.getLogger(__name__)

LAYOUTS = (("images", "masks"), ("JPEGImages", "masks"))
TRUTH_FOLDER = "truth"
MASK_SUFFIX = "_mask"


def find_layout(storage: Storage, root: str) -> tuple[str, str] | None:
    """(image folder, mask folder) of the first layout present under `root`, else None."""
    for images, masks in LAYOUTS:
        if _has_files(storage, join_key(root, images)) and _has_files(
            storage, join_key(root, masks)
        ):
            return images, masks
    return None


def _has_files(storage: Storage, folder: str) -> bool:
    return next(iter(storage.iter_keys(f"{folder}/")), None) is not None


def read_masks(storage: Storage, root: str = "") -> Iterator[DatasetItem]:
    """Items for every image under the image folder, each paired with its mask by stem."""
    layout = find_layout(storage, root)
    if layout is None:
        where = storage.uri_for(root) if root else repr(storage)
        raise DatasetError(f"no images/ + masks/ (or JPEGImages/ + masks/) folders under {where}")
    image_folder, mask_folder = layout
    images = _listing(storage, join_key(root, image_folder))
    masks = _stems(_listing(storage, join_key(root, mask_folder)))
    truths = _stems(_listing(storage, join_key(root, TRUTH_FOLDER)))
    used: set[str] = set()
    for rel, key in sorted(images.items()):
        stem = split_stem(rel)
        item = entry_item(storage, root, key)
        candidates = masks.get(stem, []) + masks.get(stem + MASK_SUFFIX, [])
        if item.error:
            pass  # the storage refuses this image's key
        elif not candidates:
            item.error = f"no mask for {image_folder}/{rel} (looked for {mask_folder}/{stem}.*)"
        elif len(candidates) > 1:
            names = ", ".join(relative(root, key) for key in candidates)
            item.error = f"several masks match {image_folder}/{rel}: {names}"
        else:
            mask = entry_item(storage, root, candidates[0])
            if mask.error:
                item.error = f"mask {mask.rel_path}: {mask.error}"
            else:
                item.mask_uri = mask.input_uri
            used.add(candidates[0])
        _add_truth(storage, root, item, rel, truths.get(stem, []))
        yield item
    unused = sum(len(keys) for keys in masks.values()) - len(used)
    if unused:
        log.info("masks: %d mask files have no matching image and were ignored", unused)


def _add_truth(storage: Storage, root: str, item: DatasetItem, rel: str,
               keys: list[str]) -> None:
    """The one truth image of an item (none when several match or its key is refused)."""
    if len(keys) > 1:
        item.warnings.append(f"several truth images for {rel}: none used")
    elif keys:
        truth = entry_item(storage, root, keys[0])
        if truth.error:
            item.warnings.append(f"truth image not used: {truth.error}")
        else:
            item.truth_uri = truth.input_uri


def _listing(storage: Storage, folder: str) -> dict[str, str]:
    """{path relative to folder: key} for the image files in a folder (recursively)."""
    prefix = f"{folder}/"
    return {
        key[len(prefix) :]: key
        for key in storage.iter_keys(prefix)
        if has_image_extension(key.rpartition("/")[2])
    }


def _stems(listing: dict[str, str]) -> dict[str, list[str]]:
    """{relative path without extension: [keys]} (a list: a.png and a.bmp both count)."""
    stems: dict[str, list[str]] = {}
    for rel, key in sorted(listing.items()):
        stems.setdefault(split_stem(rel), []).append(key)
    return stems

"""QMUL-OpenLogo / Pascal VOC datasets in any storage: JPEGImages/, Annotations/*.xml, ImageSets/.

The files themselves are parsed by inpaint_core/masks/voc.py (the one VOC parser: defusedxml,
1-based inclusive corners to 0-based end-exclusive boxes); a hostile or broken annotation fails
only its own item, and so does an id or file the storage refuses (`..` in a split file, a
backslash, `//`, a link leaving the root). `<size>` goes into the job (`annotated_size`): the
worker compares it with the image as stored and as displayed (EXIF orientation) to place the
boxes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from inpaint_core.masks.boxes import clip_box
from inpaint_core.masks.voc import VocAnnotation, VocError, parse_voc, split_ids
from scheduler.datasets.types import (
    DatasetItem,
    entry_item,
    has_image_extension,
    read_text,
    refused_item,
    split_stem,
)
from scheduler.errors import (
    DatasetError,
    StorageError,
    StorageKeyError,
    TransientStorageError,
)
from scheduler.storage import Storage, join_key

log = logging.getLogger(__name__)

ANNOTATIONS, IMAGES, IMAGE_SETS = "Annotations", "JPEGImages", "ImageSets"
DEFAULT_SPLIT = "ImageSets/Main/test.txt"


@dataclass
class Layout:
    """The listing of one dataset: where it is and which files it has."""

    storage: Storage
    root: str
    annotations: dict[str, str]  # image id -> annotation key
    images: dict[str, str]  # image id -> image key (first by name when several)
    image_keys: set[str]

    def rel(self, key: str) -> str:
        return key[len(self.root) + 1 :] if self.root else key

    def guess_image(self, image_id: str) -> str:
        return self.images.get(image_id) or join_key(self.root, IMAGES, f"{image_id}.jpg")


def read_openlogo(
    storage: Storage,
    root: str = "",
    *,
    split: str | None = None,
    classes: Iterable[str] | None = None,
    min_confidence: float | None = None,
) -> Iterator[DatasetItem]:
    """Items of an OpenLogo/VOC dataset under `root`, in split-file (or name) order.

    `split`: "test" -> ImageSets/Main/test.txt; "train_test/test_all" ->
    ImageSets/Main/train_test/test_all.txt; "ImageSets/class_sep/adidas_test" is taken
    relative to the root. Default: ImageSets/Main/test.txt if present, else every
    annotation. `classes`: keep only these brands; images left without objects are skipped.
    `min_confidence`: drop objects whose <confidence> is below it (objects without one stay);
    images left without objects are skipped.
    """
    layout = _list(storage, root)
    wanted = {name.strip().lower() for name in classes} if classes is not None else None
    skipped = 0
    for image_id in _split_ids(storage, root, split, layout.annotations):
        item = _item(layout, image_id, wanted, min_confidence)
        if item is None:
            skipped += 1
            continue
        yield item
    if skipped:
        log.info("openlogo: %d images had no object of the requested classes (or confidence) "
                 "and were skipped", skipped)


def _list(storage: Storage, root: str) -> Layout:
    annotations = _index(storage, join_key(root, ANNOTATIONS), lambda k: k.endswith(".xml"))
    if not annotations:
        where = storage.uri_for(root) if root else repr(storage)
        raise DatasetError(f"no {ANNOTATIONS}/*.xml under {where}")
    image_prefix = f"{join_key(root, IMAGES)}/"
    image_keys = {key for key in storage.iter_keys(image_prefix) if has_image_extension(key)}
    images: dict[str, str] = {}
    for key in sorted(image_keys):
        images.setdefault(split_stem(key[len(image_prefix) :]), key)
    return Layout(storage, root, annotations, images, image_keys)


def _index(storage: Storage, folder: str, keep: Callable[[str], bool]) -> dict[str, str]:
    """{stem relative to folder: key} for the folder's files accepted by `keep`."""
    prefix = f"{folder}/"
    found: dict[str, str] = {}
    for key in storage.iter_keys(prefix):
        rel = key[len(prefix) :]
        if keep(rel):
            found.setdefault(split_stem(rel), key)
    return found


def _split_ids(
    storage: Storage, root: str, split: str | None, annotations: dict[str, str]
) -> list[str]:
    """The image ids to read, from the split file or every annotation (sorted)."""
    if split is None:
        default = join_key(root, DEFAULT_SPLIT)
        if not storage.exists(default):
            return sorted(annotations)
        return _read_split(storage, default)
    return _read_split(storage, join_key(root, split_path(split)))


def split_path(split: str) -> str:
    """The ImageSets file a split name designates (see read_openlogo)."""
    name = split.strip().strip("/")
    if not name or ".." in name.split("/"):
        raise DatasetError(f"invalid split {split!r}")
    if not name.endswith(".txt"):
        name = f"{name}.txt"
    return name if name.startswith(f"{IMAGE_SETS}/") else f"{IMAGE_SETS}/Main/{name}"


def _read_split(storage: Storage, key: str) -> list[str]:
    """Ids listed in a split file: first token per line; VOC '-1' (negative) lines skipped."""
    return split_ids(read_text(storage, key, what="split file"))


def _item(layout: Layout, image_id: str, wanted: set[str] | None,
          min_confidence: float | None = None) -> DatasetItem | None:
    """The item for one id; None when the class or confidence filter leaves it without
    objects. An id or file the storage refuses (`..` in a split file, a backslash, `//`, a
    link leaving the root) gives an error item: that image fails, the dataset goes on."""
    storage = layout.storage
    item = entry_item(storage, layout.root, layout.guess_image(image_id))
    if item.error:
        return item
    ann_key = layout.annotations.get(image_id)
    if ann_key is None:
        item.error = f"no annotation {ANNOTATIONS}/{image_id}.xml"
        return item
    try:
        annotation = parse_voc(storage.read_bytes(ann_key), source=layout.rel(ann_key))
    except VocError as exc:
        item.error = str(exc)
        return item
    except TransientStorageError:
        raise  # not this entry's fault: the submit stops, and running it again goes on
    except StorageError as exc:
        item.error = f"{layout.rel(ann_key)}: {exc}"
        return item
    if annotation.filename and split_stem(annotation.filename) == image_id:
        named = join_key(layout.root, IMAGES, annotation.filename)
        if named in layout.image_keys:  # <filename> picks among same-stem files
            item = entry_item(storage, layout.root, named)
            if item.error:
                return item
    if image_id not in layout.images:
        return _missing_image(layout, image_id, item)
    if (annotation.width or 0) > 0 and (annotation.height or 0) > 0:
        item.annotated_size = [annotation.width, annotation.height]  # see the module docstring
    return _fill_boxes(item, annotation, wanted, min_confidence)


def _missing_image(layout: Layout, image_id: str, item: DatasetItem) -> DatasetItem:
    """The error item of an annotated image the listing does not show: a link leaving the
    dataset (the storage refuses to open it) is named as such, anything else is missing."""
    key = layout.guess_image(image_id)
    try:
        layout.storage.read_bytes(key)
    except StorageKeyError as exc:
        return refused_item(layout.storage, layout.root, layout.rel(key), f"unsafe path: {exc}")
    except StorageError:
        pass
    item.error = f"image {IMAGES}/{image_id}.* not found"
    return item


def _fill_boxes(
    item: DatasetItem, annotation: VocAnnotation, wanted: set[str] | None,
    min_confidence: float | None = None,
) -> DatasetItem | None:
    objects = annotation.objects
    if not objects:
        item.error = "the annotation has no <object> (nothing to remove)"
        return item
    if wanted is not None:
        objects = [obj for obj in objects if obj.label.lower() in wanted]
        if not objects:
            return None
    if min_confidence is not None:
        objects = [o for o in objects if o.confidence is None or o.confidence >= min_confidence]
        if not objects:
            return None
    boxes, labels = [], []
    for obj in objects:
        clipped = clip_box(obj.box, width=annotation.width, height=annotation.height)
        if clipped is None:
            item.warnings.append(f"{obj.label} box {obj.box} lies outside the image: dropped")
            continue
        if clipped != obj.box:
            item.warnings.append(f"{obj.label} box {obj.box} clipped to the image: {clipped}")
        boxes.append(clipped)
        labels.append(obj.label)
    if not boxes:
        item.error = "every box lies outside the image"
    item.boxes, item.labels = (boxes or None), labels
    return item

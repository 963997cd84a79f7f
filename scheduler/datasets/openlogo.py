"""QMUL-OpenLogo / Pascal VOC reader: JPEGImages/, Annotations/*.xml, ImageSets/.

VOC boxes are 1-based with both ends included: xmin..xmax -> [xmin - 1, xmax) in the
0-based end-exclusive convention. XML goes through defusedxml with DTDs, entities and
external references forbidden, so a hostile annotation (billion laughs, XXE) fails only
its own item.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import defusedxml
from defusedxml import ElementTree as SafeET

from scheduler.datasets.types import DatasetItem, clip_box, has_image_extension, split_stem
from scheduler.errors import DatasetError, StorageError, StorageNotFound
from scheduler.storage import Storage, join_key

log = logging.getLogger(__name__)

ANNOTATIONS, IMAGES, IMAGE_SETS = "Annotations", "JPEGImages", "ImageSets"
DEFAULT_SPLIT = "ImageSets/Main/test.txt"


@dataclass
class VocObject:
    """One <object>: class name and the 0-based end-exclusive box."""

    name: str
    box: list[int]
    confidence: float | None = None  # <confidence>, written by `unbrand find-logo`


@dataclass
class VocAnnotation:
    """What one annotation file says about its image."""

    filename: str | None
    width: int | None
    height: int | None
    objects: list[VocObject] = field(default_factory=list)


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
    try:
        text = storage.read_bytes(key).decode("utf-8-sig")
    except StorageNotFound as exc:
        raise DatasetError(f"split file {storage.uri_for(key)} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"split file {storage.uri_for(key)} is not UTF-8 text") from exc
    ids: list[str] = []
    for line in text.splitlines():
        tokens = line.split()
        if tokens and not (len(tokens) > 1 and tokens[1] == "-1"):
            ids.append(tokens[0])
    return list(dict.fromkeys(ids))  # keep order, drop repeats


def _item(layout: Layout, image_id: str, wanted: set[str] | None,
          min_confidence: float | None = None) -> DatasetItem | None:
    """The item for one id; None when the class filter leaves it without objects."""
    storage = layout.storage
    image_key = layout.guess_image(image_id)
    item = DatasetItem(input_uri=storage.uri_for(image_key), rel_path=layout.rel(image_key))
    ann_key = layout.annotations.get(image_id)
    if ann_key is None:
        item.error = f"no annotation {ANNOTATIONS}/{image_id}.xml"
        return item
    try:
        annotation = parse_voc(storage.read_bytes(ann_key))
    except (DatasetError, StorageError) as exc:
        item.error = f"{layout.rel(ann_key)}: {exc}"
        return item
    if annotation.filename and split_stem(annotation.filename) == image_id:
        named = join_key(layout.root, IMAGES, annotation.filename)
        if named in layout.image_keys:  # <filename> picks among same-stem files
            item.input_uri, item.rel_path = storage.uri_for(named), layout.rel(named)
    if image_id not in layout.images:
        item.error = f"image {IMAGES}/{image_id}.* not found"
        return item
    return _fill_boxes(item, annotation, wanted, min_confidence)


def _fill_boxes(
    item: DatasetItem, annotation: VocAnnotation, wanted: set[str] | None,
    min_confidence: float | None = None,
) -> DatasetItem | None:
    objects = annotation.objects
    if not objects:
        item.error = "the annotation has no <object> (nothing to remove)"
        return item
    if wanted is not None:
        objects = [obj for obj in objects if obj.name.lower() in wanted]
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
            item.warnings.append(f"{obj.name} box {obj.box} lies outside the image: dropped")
            continue
        if clipped != obj.box:
            item.warnings.append(f"{obj.name} box {obj.box} clipped to the image: {clipped}")
        boxes.append(clipped)
        labels.append(obj.name)
    if not boxes:
        item.error = "every box lies outside the image"
    item.boxes, item.labels = (boxes or None), labels
    return item


def parse_voc(data: bytes) -> VocAnnotation:
    """Parse one VOC annotation safely; DatasetError with a readable reason otherwise."""
    try:
        tree = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise DatasetError(f"unsafe XML refused ({type(exc).__name__})") from exc
    except ET.ParseError as exc:
        raise DatasetError(f"malformed XML: {exc}") from exc
    size = tree.find("size")
    width = _optional_int(size, "width") if size is not None else None
    height = _optional_int(size, "height") if size is not None else None
    objects = [_parse_object(node) for node in tree.iter("object")]
    return VocAnnotation(tree.findtext("filename"), width or None, height or None, objects)


def _parse_object(node: ET.Element) -> VocObject:
    name = (node.findtext("name") or "").strip()
    box = node.find("bndbox")
    if not name or box is None:
        raise DatasetError("an <object> lacks <name> or <bndbox>")
    try:
        xmin, ymin, xmax, ymax = (
            round(float(box.findtext(tag) or "nan")) for tag in ("xmin", "ymin", "xmax", "ymax")
        )
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{name}: <bndbox> coordinates are not numbers") from exc
    if xmax < xmin or ymax < ymin:
        raise DatasetError(f"{name}: inverted box xmin={xmin} xmax={xmax} ymin={ymin} ymax={ymax}")
    return VocObject(name=name, box=[xmin - 1, ymin - 1, xmax, ymax],
                     confidence=_confidence(node, name))


def _confidence(node: ET.Element, name: str) -> float | None:
    text = (node.findtext("confidence") or "").strip()
    try:
        return float(text) if text else None
    except ValueError as exc:
        raise DatasetError(f"{name}: <confidence> is not a number: {text!r}") from exc


def _optional_int(node: ET.Element, tag: str) -> int | None:
    text = (node.findtext(tag) or "").strip()
    try:
        return int(float(text)) if text else None
    except ValueError as exc:
        raise DatasetError(f"<size><{tag}> is not a number: {text!r}") from exc

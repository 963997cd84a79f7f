"""Pascal VOC annotations and ImageSets files (the QMUL-OpenLogo layout): the one parser, used
by the dataset reader (scheduler/datasets/openlogo.py), evaluate and find-logo's output.

Inside the project boxes are 0-based [x1, y1, x2, y2) (end exclusive); VOC files hold 1-based
inclusive corners (boxes.from_voc / boxes.to_voc). XML is parsed with defusedxml, DTDs,
entities and external references forbidden, so a hostile annotation (billion laughs, XXE)
fails only its own image.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from inpaint_core.errors import ImageInputError
from inpaint_core.masks.boxes import from_voc, to_voc


@dataclass
class VocObject:
    """One annotated logo: its class name and 0-based end-exclusive box."""

    label: str
    box: list[int]  # [x1, y1, x2, y2)
    confidence: float | None = None  # find-logo's confidence, written as <confidence>


@dataclass
class VocAnnotation:
    """One image's annotation: file name, size (None when the file does not say) and objects."""

    filename: str | None
    width: int | None
    height: int | None
    objects: list[VocObject]


class VocError(ImageInputError):
    """An annotation or image list that cannot be used (unsafe or malformed XML, bad numbers)."""


def write_voc(path: str | Path, annotation: VocAnnotation) -> None:
    """Write a VOC XML file (1-based inclusive corners, <size> with depth 3)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = annotation.filename or ""
    size = ET.SubElement(root, "size")
    for tag, value in (("width", annotation.width), ("height", annotation.height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for obj in annotation.objects:
        node = ET.SubElement(root, "object")
        ET.SubElement(node, "name").text = obj.label
        ET.SubElement(node, "pose").text = "Unspecified"
        ET.SubElement(node, "truncated").text = "0"
        ET.SubElement(node, "difficult").text = "0"
        if obj.confidence is not None:
            ET.SubElement(node, "confidence").text = f"{obj.confidence:.4f}"
        box = ET.SubElement(node, "bndbox")
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), to_voc(obj.box), strict=True):
            ET.SubElement(box, tag).text = str(value)
    ET.indent(root)
    Path(path).write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")


def parse_voc(data: bytes, *, source: str = "annotation") -> VocAnnotation:
    """Parse one VOC annotation safely (no DTD, entities or external references): 0-based
    end-exclusive boxes. VocError with a readable reason (naming `source`) otherwise."""
    try:
        tree = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:  # entity declarations, external references
        raise VocError(f"{source}: unsafe XML refused ({type(exc).__name__})") from exc
    except ET.ParseError as exc:
        raise VocError(f"{source}: malformed XML: {exc}") from exc
    size = tree.find("size")
    width = _optional_int(size, "width", source) if size is not None else None
    height = _optional_int(size, "height", source) if size is not None else None
    objects = [_parse_object(node, source) for node in tree.iter("object")]
    return VocAnnotation(tree.findtext("filename"), width or None, height or None, objects)


def read_voc(path: str | Path) -> VocAnnotation:
    """Parse a VOC XML file (see `parse_voc`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VocError(f"cannot read annotation {path}: {exc}") from exc
    return parse_voc(data, source=str(path))


def _parse_object(node: ET.Element, source: str) -> VocObject:
    name = (node.findtext("name") or "").strip()
    box = node.find("bndbox")
    if not name or box is None:
        raise VocError(f"{source}: an <object> lacks <name> or <bndbox>")
    try:
        corners = [float(box.findtext(tag) or "nan") for tag in ("xmin", "ymin", "xmax", "ymax")]
        xmin, ymin, xmax, ymax = (round(v) for v in corners)
    except (TypeError, ValueError) as exc:
        raise VocError(f"{source}: {name}: <bndbox> coordinates are not numbers") from exc
    if xmax < xmin or ymax < ymin:
        raise VocError(
            f"{source}: {name}: inverted box xmin={xmin} xmax={xmax} ymin={ymin} ymax={ymax}"
        )
    return VocObject(name, from_voc(xmin, ymin, xmax, ymax), _confidence(node, name, source))


def _confidence(node: ET.Element, name: str, source: str) -> float | None:
    """find-logo's <confidence> of an object, None when the file has none."""
    text = (node.findtext("confidence") or "").strip()
    try:
        return float(text) if text else None
    except ValueError as exc:
        raise VocError(f"{source}: {name}: <confidence> is not a number: {text!r}") from exc


def _optional_int(node: ET.Element, tag: str, source: str) -> int | None:
    text = (node.findtext(tag) or "").strip()
    try:
        return int(float(text)) if text else None
    except ValueError as exc:
        raise VocError(f"{source}: <size><{tag}> is not a number: {text!r}") from exc


def split_ids(text: str) -> list[str]:
    """Image ids of an ImageSets file: the first token of each line, in order, repeats and VOC
    negative lines (`<id> -1`) left out."""
    ids: list[str] = []
    for line in text.splitlines():
        tokens = line.split()
        if tokens and not (len(tokens) > 1 and tokens[1] == "-1"):
            ids.append(tokens[0])
    return list(dict.fromkeys(ids))


def read_split(benchmark_dir: str | Path, split: str = "test") -> list[str]:
    """Image ids listed in ImageSets/Main/<split>.txt (see `split_ids`)."""
    path = Path(benchmark_dir) / "ImageSets" / "Main" / f"{split}.txt"
    if not path.is_file():
        raise VocError(f"no image list at {path}")
    return split_ids(path.read_text(encoding="utf-8-sig"))

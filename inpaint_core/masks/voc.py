"""Pascal VOC annotations in the QMUL-OpenLogo layout: written by the benchmark, read by evaluate.

Inside the project boxes are 0-based [x1, y1, x2, y2) (end exclusive); VOC files hold 1-based
inclusive corners, so xmin = x1 + 1 and xmax = x2 (and back: x1 = xmin - 1, x2 = xmax).
XML is parsed with defusedxml.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from inpaint_core.errors import ImageInputError


@dataclass
class VocObject:
    """One annotated logo: its class name and 0-based end-exclusive box."""

    label: str
    box: list[int]  # [x1, y1, x2, y2)
    confidence: float | None = None  # find-logo's confidence, written as <confidence>


@dataclass
class VocAnnotation:
    """One image's annotation: file name, size and objects."""

    filename: str
    width: int
    height: int
    objects: list[VocObject]


def write_voc(path: str | Path, annotation: VocAnnotation) -> None:
    """Write a VOC XML file (1-based inclusive corners, <size> with depth 3)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = annotation.filename
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
        x1, y1, x2, y2 = obj.box
        for tag, value in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
            ET.SubElement(box, tag).text = str(int(value))
    ET.indent(root)
    Path(path).write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")


def _int(node: ET.Element, tag: str, path: Path) -> int:
    text = node.findtext(tag)
    if text is None:
        raise ImageInputError(f"{path}: <{tag}> missing")
    try:
        return int(round(float(text)))
    except ValueError as exc:
        raise ImageInputError(f"{path}: <{tag}> is not a number: {text!r}") from exc


def _confidence(node: ET.Element, path: Path) -> float | None:
    text = (node.findtext("confidence") or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise ImageInputError(f"{path}: <confidence> is not a number: {text!r}") from exc


def read_voc(path: str | Path) -> VocAnnotation:
    """Parse a VOC XML file into 0-based end-exclusive boxes."""
    path = Path(path)
    try:
        root = SafeET.parse(str(path)).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ImageInputError(f"cannot read annotation {path}: {exc}") from exc
    except DefusedXmlException as exc:  # entity declarations, external references
        raise ImageInputError(f"annotation {path} refused: {exc!r}") from exc
    size = root.find("size")
    width = _int(size, "width", path) if size is not None else 0
    height = _int(size, "height", path) if size is not None else 0
    objects = []
    for node in root.iter("object"):
        box = node.find("bndbox")
        if box is None:
            continue
        xmin, ymin = _int(box, "xmin", path), _int(box, "ymin", path)
        xmax, ymax = _int(box, "xmax", path), _int(box, "ymax", path)
        confidence = _confidence(node, path)
        objects.append(VocObject(node.findtext("name") or "logo", [xmin - 1, ymin - 1, xmax, ymax],
                                 confidence))
    return VocAnnotation(root.findtext("filename") or "", width, height, objects)


def read_split(benchmark_dir: str | Path, split: str = "test") -> list[str]:
    """Image ids listed in ImageSets/Main/<split>.txt (blank lines skipped)."""
    path = Path(benchmark_dir) / "ImageSets" / "Main" / f"{split}.txt"
    if not path.is_file():
        raise ImageInputError(f"no image list at {path}")
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]

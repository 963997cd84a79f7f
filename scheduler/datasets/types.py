"""What every dataset reader yields, and the file-name rules they share.

Boxes in a DatasetItem are 0-based pixel boxes [x1, y1, x2, y2) with the end excluded; the box
rules (parsing, clipping, VOC corners) live in inpaint_core/masks/boxes.py. Readers that know
the image size (VOC `<size>`) clip boxes to it with a warning; the others can only clip at 0,
and the worker clips the far edges when it has decoded the image. An inverted or empty box
makes that one item an error, never the whole dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inpaint_core.masks.formats import IMAGE_EXTENSIONS
from scheduler.options import MaskSpec


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

    def mask_spec(self) -> MaskSpec:
        """The mask spec of this item's job."""
        return MaskSpec(boxes=self.boxes, mask_uri=self.mask_uri, truth_uri=self.truth_uri,
                        labels=list(self.labels), rel_path=self.rel_path,
                        warnings=list(self.warnings))


def has_image_extension(name: str) -> bool:
    """Whether a file name ends in one of IMAGE_EXTENSIONS (any case)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def split_stem(rel: str) -> str:
    """A relative path without its extension: "sub/a.b.jpg" -> "sub/a.b"."""
    folder, _, name = rel.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return f"{folder}/{stem}" if folder else stem

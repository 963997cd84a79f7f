"""A find-logo benchmark: known marks pasted onto photos, with photos that hold none.

`make_findlogo_benchmark(photos, out)` writes the QMUL-OpenLogo layout (JPEGImages/*.jpg,
Annotations/*.xml with every pasted mark, ImageSets/Main/test.txt), logos/<name>.png (the target
marks, the files to give find-logo as --logo) and findlogo.json (every paste: logo, role, box,
width share, angle, opacity, colour).

Each photo is scaled so its long side is `side` px (1024 by default). In `empty_share` of the
images no target is pasted; otherwise one target (two in 15 % of them), chosen evenly among the
targets: the drawn shapes of findlogo_shapes (swoosh, ring, letter, wordmark) plus the logo files
of `logos`. A target is 4-25 % of the image width wide (log-uniform), in its own colour, white,
near-black or another colour, at 60-100 % opacity, and in `rotated_share` of the pastes turned by
5-30 degrees either way. In `distractor_share` of the images a distractor (a drawn star,
triangle, word, arcs or bar, or a file of `distractors`) is pasted too, never over a target.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from inpaint_core.errors import ImageInputError
from inpaint_core.evaluation.findlogo_shapes import (
    distractor_shapes,
    load_logo_dir,
    target_shapes,
)
from inpaint_core.masks.voc import VocAnnotation, VocObject, write_voc
from inpaint_core.training.data import list_photos

JPEG_QUALITY = 90
WIDTH_SHARE = (0.04, 0.25)  # a mark's width as a share of the image width
OPACITY = (0.6, 1.0)
ANGLE = (5.0, 30.0)  # degrees of a rotated paste, either way
COLOURS = ("brand", "white", "black", "other")
COLOUR_ODDS = (0.4, 0.25, 0.25, 0.1)


@dataclass
class Paste:
    """One mark pasted into one image."""

    logo: str
    role: str  # "target" or "distractor"
    box: list[int]  # 0-based [x1, y1, x2, y2) around the mark's alpha
    width_share: float  # the mark's unrotated width / image width
    angle: float  # degrees, counter-clockwise
    opacity: float
    colour: str  # brand, white, black or other


@dataclass(frozen=True)
class BenchSpec:
    """What goes into the benchmark."""

    count: int
    seed: int = 0
    side: int = 1024
    empty_share: float = 0.25
    distractor_share: float = 0.5
    rotated_share: float = 1 / 3


def recolour(rgba: np.ndarray, mode: str, rng: np.random.Generator) -> np.ndarray:
    out = rgba.copy()
    if mode == "white":
        out[:, :, :3] = rng.integers(235, 256)
    elif mode == "black":
        out[:, :, :3] = rng.integers(5, 35)
    elif mode == "other":
        out[:, :, :3] = rng.integers(0, 256, 3)
    return out


def transform_mark(rgba: np.ndarray, width: int, angle: float) -> np.ndarray:
    """The mark resized to `width` px wide and turned by `angle` degrees (canvas grown)."""
    height = max(2, round(rgba.shape[0] * width / rgba.shape[1]))
    small = cv2.resize(rgba, (width, height), interpolation=cv2.INTER_AREA)
    if angle == 0:
        return small
    turned = Image.fromarray(small, "RGBA").rotate(angle, resample=Image.Resampling.BICUBIC,
                                                   expand=True)
    return np.asarray(turned)


def _place(shape: tuple[int, int], size: tuple[int, int], taken: list[list[int]],
           rng: np.random.Generator) -> tuple[int, int] | None:
    """A top-left corner where a (h, w) patch fits inside the image clear of `taken` boxes."""
    height, width = shape
    for _ in range(50):
        x = int(rng.integers(0, max(1, width - size[1])))
        y = int(rng.integers(0, max(1, height - size[0])))
        box = [x - 8, y - 8, x + size[1] + 8, y + size[0] + 8]
        if all(box[2] <= o[0] or o[2] <= box[0] or box[3] <= o[1] or o[3] <= box[1]
               for o in taken):
            return x, y
    return None


def paste_mark(image: np.ndarray, mark: np.ndarray, x: int, y: int, opacity: float) -> list[int]:
    """Alpha-blend `mark` into `image` (float32, in place); the tight box of its alpha."""
    h, w = mark.shape[:2]
    alpha = mark[:, :, 3:4].astype(np.float32) / 255.0 * opacity
    region = image[y : y + h, x : x + w]
    region[:] = region * (1 - alpha) + mark[:, :, :3].astype(np.float32) * alpha
    rows, cols = np.nonzero(mark[:, :, 3] > 24)  # faint anti-aliasing is not part of the box
    return [x + int(cols.min()), y + int(rows.min()), x + int(cols.max()) + 1,
            y + int(rows.max()) + 1]


def _add_mark(image: np.ndarray, name: str, rgba: np.ndarray, role: str, taken: list[list[int]],
              rng: np.random.Generator, spec: BenchSpec) -> Paste | None:
    height, width = image.shape[:2]
    share = float(np.exp(rng.uniform(*np.log(WIDTH_SHARE))))
    rotated = rng.random() < spec.rotated_share
    angle = float(rng.uniform(*ANGLE) * rng.choice([-1, 1])) if rotated else 0.0
    colour = str(rng.choice(COLOURS, p=COLOUR_ODDS))
    opacity = float(rng.uniform(*OPACITY))
    mark = transform_mark(recolour(rgba, colour, rng), max(8, round(share * width)), angle)
    if mark.shape[0] >= height or mark.shape[1] >= width:
        return None
    corner = _place((height, width), mark.shape[:2], taken, rng)
    if corner is None:
        return None
    box = paste_mark(image, mark, *corner, opacity)
    taken.append(box)
    return Paste(name, role, box, round(share, 4), round(angle, 1), round(opacity, 3), colour)


def scaled_photo(path: Path, side: int) -> np.ndarray:
    with Image.open(path) as opened:
        photo = np.asarray(opened.convert("RGB"))
    factor = side / max(photo.shape[:2])
    size = (round(photo.shape[1] * factor), round(photo.shape[0] * factor))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return cv2.resize(photo, size, interpolation=interpolation)


def _compose(photo: np.ndarray, targets: dict[str, np.ndarray],
             distractors: dict[str, np.ndarray], rng: np.random.Generator,
             spec: BenchSpec) -> tuple[np.ndarray, list[Paste]]:
    image, taken, pastes = photo.astype(np.float32), [], []
    names = sorted(targets)
    wanted = 0 if rng.random() < spec.empty_share else (2 if rng.random() < 0.15 else 1)
    for _ in range(wanted):
        name = names[int(rng.integers(len(names)))]
        pastes.append(_add_mark(image, name, targets[name], "target", taken, rng, spec))
    if rng.random() < spec.distractor_share:
        other = sorted(distractors)[int(rng.integers(len(distractors)))]
        pastes.append(_add_mark(image, other, distractors[other], "distractor", taken, rng, spec))
    result = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return result, [p for p in pastes if p is not None]


def _write(out: Path, image_id: str, image: np.ndarray, pastes: list[Paste]) -> None:
    Image.fromarray(image).save(out / "JPEGImages" / f"{image_id}.jpg", quality=JPEG_QUALITY)
    objects = [VocObject(p.logo, p.box) for p in pastes]
    annotation = VocAnnotation(f"{image_id}.jpg", image.shape[1], image.shape[0], objects)
    write_voc(out / "Annotations" / f"{image_id}.xml", annotation)


def _marks(logos: str | Path | None, distractors: str | Path | None
           ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    targets = target_shapes()
    extra = load_logo_dir(logos) if logos else {}
    clash = sorted(set(targets) & set(extra))
    if clash:
        raise ImageInputError(f"logo files may not be named like a drawn shape: {clash}")
    others = {**distractor_shapes(), **(load_logo_dir(distractors) if distractors else {})}
    return {**targets, **extra}, others


def make_findlogo_benchmark(
    photos: str | Path | Sequence[str | Path],
    out: str | Path,
    *,
    logos: str | Path | None = None,
    distractors: str | Path | None = None,
    spec: BenchSpec | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Build the benchmark in `out`; returns the manifest also written to out/findlogo.json."""
    from tqdm import tqdm

    folders = [Path(photos)] if isinstance(photos, str | Path) else [Path(p) for p in photos]
    paths = list_photos(folders)
    spec = spec or BenchSpec(count=len(paths))
    targets, others = _marks(logos, distractors)
    out = Path(out)
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main", "logos"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for name, rgba in targets.items():
        Image.fromarray(rgba, "RGBA").save(out / "logos" / f"{name}.png")
    order = np.random.default_rng(spec.seed).permutation(len(paths))
    items = []
    for index in tqdm(range(spec.count), disable=not progress, unit="img"):
        rng = np.random.default_rng([spec.seed, index])  # each image reproducible on its own
        source = paths[int(order[index % len(paths)])]
        image, pastes = _compose(scaled_photo(source, spec.side), targets, others, rng, spec)
        image_id = f"find_{index:05d}"
        _write(out, image_id, image, pastes)
        items.append({"id": image_id, "source": source.name, "width": image.shape[1],
                      "height": image.shape[0], "pastes": [asdict(p) for p in pastes]})
    (out / "ImageSets" / "Main" / "test.txt").write_text("".join(f"{i['id']}\n" for i in items))
    manifest = {"kind": "find-logo", "spec": asdict(spec), "photos": [str(f) for f in folders],
                "targets": sorted(targets), "distractors": sorted(others), "images": items}
    (out / "findlogo.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest

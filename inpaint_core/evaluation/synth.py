"""A logo-removal benchmark with ground truth: logos composited onto clean photos.

`make_benchmark(photos, out)` writes the QMUL-OpenLogo layout (JPEGImages/*.jpg at quality 95,
Annotations/*.xml VOC boxes, ImageSets/Main/test.txt) plus GroundTruth/*.png (the clean photo)
and Masks/*.png (255 where the pasted logo's alpha > 0, so exactly the changed pixels), and
benchmark.json (seed, source photo and the placement of every logo).

Each logo covers 1-10 % of the image with its box (one or two logos per image), in a varied
colour (built-in logos), opacity (35-100 %) and rotation. Boxes are the tight box of the logo
grown by BOX_MARGIN px; `box_slack` grows each side further by a random share of the logo's
extent, like the loose boxes of hand annotations (the FlickrLogos boxes that refinement narrows
leave 7 % of a side around the logo in the median, 19 % at the 90th percentile).

`styles` picks the built-in logos: "default" (words, emblems, badges: the set every earlier
figure was measured on; the same seed still gives the same images) or "badges" (logos.badge_logo:
opaque plates with lettering, stickers with a rim and a drop shadow, translucent outlined
watermarks at 30-65 % opacity), where nothing of the box's background survives a plate or a
sticker, so a fill has to repaint the whole box.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from inpaint_core.masks.voc import VocAnnotation, VocObject, write_voc
from inpaint_core.training.data import list_photos
from inpaint_core.training.logos import (
    Logo,
    badge_logo,
    builtin_logo,
    load_logo_folder,
    random_colour,
)

JPEG_QUALITY = 95
# boxes are the logo's tight box grown by 2 px, like a careful annotator's: JPEG chroma subsampling
# bleeds a sharp logo edge about 1-2 px outwards; a pixel-tight box would leave that fringe behind
BOX_MARGIN = 2
STYLES = ("default", "badges")  # which built-in logos make_benchmark pastes (module docstring)


@dataclass
class Placement:
    """Where and how one logo was pasted."""

    label: str
    kind: str
    box: list[int]  # 0-based [x1, y1, x2, y2)
    opacity: float
    angle: float
    box_ratio: float  # box area / image area


@dataclass
class Composite:
    """A photo with logos: the image, the exact changed-pixel mask and the placements."""

    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) bool, True where a logo's alpha > 0
    placements: list[Placement] = field(default_factory=list)


def _fit_scale(width: int, height: int, area: float, margin: int) -> float:
    """Scale s with (s*width + 2*margin) * (s*height + 2*margin) = area: the box with its margin."""
    perimeter = 2 * margin * (width + height)
    constant = 4 * margin * margin - area
    if constant >= 0:  # the margin alone fills the area: as small as sensible
        return 2 / min(width, height)
    return float(
        (-perimeter + np.sqrt(perimeter**2 - 4 * width * height * constant)) / (2 * width * height)
    )


def _prepare(
    logo: Logo, rng: np.random.Generator, area: float, bounds: tuple[int, int], margin: int
) -> Image.Image:
    """Recolour (sometimes), rotate and scale the logo so box + `margin` covers `area` pixels."""
    image = Image.fromarray(logo.rgba, "RGBA")
    if logo.kind == "file" and rng.random() < 0.3:  # a one-colour version of the user's logo
        image = Image.merge(
            "RGBA",
            (*Image.new("RGB", image.size, random_colour(rng)).split(), image.getchannel("A")),
        )
    pick = rng.random()
    angle = (
        0.0 if pick < 0.55 else float(rng.uniform(-15, 15) if pick < 0.9 else rng.uniform(-40, 40))
    )
    if angle:  # rotate premultiplied so transparent pixels do not bleed their colour into edges
        image = (
            image.convert("RGBa")
            .rotate(angle, Image.Resampling.BICUBIC, expand=True)
            .convert("RGBA")
        )
        image = image.crop(image.getchannel("A").getbbox())
    scale = _fit_scale(image.width, image.height, area, margin)
    scale = min(scale, 0.9 * bounds[0] / image.width, 0.9 * bounds[1] / image.height)
    size = (max(2, round(image.width * scale)), max(2, round(image.height * scale)))
    image = image.convert("RGBa").resize(size, Image.Resampling.LANCZOS).convert("RGBA")
    image.info["angle"] = angle
    return image


def _position(
    size: tuple[int, int], bounds: tuple[int, int], taken: list[list[int]], rng: np.random.Generator
) -> tuple[int, int]:
    """A top-left corner keeping the logo inside the image and off earlier boxes (when possible)."""
    w, h = size
    x = y = 0
    for _ in range(30):
        x = int(rng.integers(0, bounds[0] - w + 1))
        y = int(rng.integers(0, bounds[1] - h + 1))
        if all(x >= b[2] or x + w <= b[0] or y >= b[3] or y + h <= b[1] for b in taken):
            break
    return x, y


def composite_logos(
    photo: np.ndarray,
    logos: list[Logo],
    rng: np.random.Generator,
    *,
    min_ratio: float = 0.01,
    max_ratio: float = 0.10,
    box_margin: int = BOX_MARGIN,
    box_slack: float = 0.0,
) -> Composite:
    """Paste `logos` on `photo`; their boxes cover about min_ratio..max_ratio of the image in total.

    Each box is the tight box of the logo's alpha > 0 grown by `box_margin` px (clipped), and
    with `box_slack` > 0 each side by a further uniform 0..box_slack of the logo's extent along
    it (a hand-drawn box; no draw is made with 0, so older seeds give the same images).
    """
    height, width = photo.shape[:2]
    total = rng.uniform(min_ratio, max_ratio) * height * width
    shares = [1.0] if len(logos) == 1 else list(rng.dirichlet([4.0] * len(logos)))
    out = photo.astype(np.float32)
    mask = np.zeros((height, width), bool)
    placements: list[Placement] = []
    for logo, share in zip(logos, shares, strict=True):
        image = _prepare(logo, rng, total * share, (width, height), box_margin)
        if logo.opacity is not None:
            opacity = logo.opacity
        else:
            opacity = 1.0 if rng.random() < 0.5 else float(rng.uniform(0.35, 1.0))
        rgba = np.asarray(image)
        alpha = np.round(rgba[..., 3].astype(np.float32) * opacity).astype(
            np.uint8
        )  # quantised: exact mask
        ys, xs = np.nonzero(alpha)
        if len(ys) == 0:
            continue
        x, y = _position(image.size, (width, height), [p.box for p in placements], rng)
        a = alpha[..., None].astype(np.float32) / 255
        region = out[y : y + image.height, x : x + image.width]
        region[:] = region * (1 - a) + rgba[..., :3].astype(np.float32) * a
        mask[y : y + image.height, x : x + image.width] |= alpha > 0
        extent_x, extent_y = int(xs.max() - xs.min()) + 1, int(ys.max() - ys.min()) + 1
        left = top = right = bottom = box_margin
        if box_slack > 0:
            grow = rng.uniform(0, box_slack, 4)
            left += round(grow[0] * extent_x)
            right += round(grow[1] * extent_x)
            top += round(grow[2] * extent_y)
            bottom += round(grow[3] * extent_y)
        box = [
            max(0, x + int(xs.min()) - left),
            max(0, y + int(ys.min()) - top),
            min(width, x + int(xs.max()) + 1 + right),
            min(height, y + int(ys.max()) + 1 + bottom),
        ]
        ratio = (box[2] - box[0]) * (box[3] - box[1]) / (height * width)
        placements.append(
            Placement(logo.label, logo.kind, box, round(opacity, 3), image.info["angle"], ratio)
        )
    result = np.clip(np.round(out), 0, 255).astype(np.uint8)
    result[~mask] = photo[~mask]  # untouched pixels stay byte-identical
    return Composite(result, mask, placements)


def _load_photo(path: Path, max_side: int | None) -> np.ndarray:
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(image)


def _pick_logos(rng: np.random.Generator, user: list[Logo], styles: str = "default") -> list[Logo]:
    count = 1 if rng.random() < 0.75 else 2
    make = badge_logo if styles == "badges" else builtin_logo
    return [
        user[int(rng.integers(len(user)))] if user and rng.random() < 0.5 else make(rng)
        for _ in range(count)
    ]


def _write_item(out: Path, image_id: str, photo: np.ndarray, comp: Composite) -> None:
    Image.fromarray(comp.image).save(out / "JPEGImages" / f"{image_id}.jpg", quality=JPEG_QUALITY)
    Image.fromarray(photo).save(out / "GroundTruth" / f"{image_id}.png")
    Image.fromarray(comp.mask.astype(np.uint8) * 255).save(out / "Masks" / f"{image_id}.png")
    objects = [VocObject(p.label, p.box) for p in comp.placements]
    height, width = photo.shape[:2]
    write_voc(
        out / "Annotations" / f"{image_id}.xml",
        VocAnnotation(f"{image_id}.jpg", width, height, objects),
    )


def make_benchmark(
    photos: str | Path | Sequence[str | Path],
    out: str | Path,
    *,
    logos: str | Path | None = None,
    count: int | None = None,
    seed: int = 0,
    max_side: int | None = None,
    styles: str = "default",
    box_slack: float = 0.0,
    progress: bool = False,
) -> dict[str, Any]:
    """Build the benchmark in `out`; returns the manifest also written to out/benchmark.json.
    `styles`: "default" or "badges" (module docstring); `box_slack`: see `composite_logos`."""
    from tqdm import tqdm

    if styles not in STYLES:
        raise ValueError(f"unknown styles {styles!r}; choose one of {STYLES}")
    if not 0 <= box_slack <= 1:
        raise ValueError(f"box_slack must be within 0..1, got {box_slack}")
    folders = [Path(photos)] if isinstance(photos, str | Path) else [Path(p) for p in photos]
    paths = list_photos(folders)
    user = load_logo_folder(logos) if logos else []
    total = count or len(paths)
    out = Path(out)
    for sub in ("JPEGImages", "Annotations", "GroundTruth", "Masks", "ImageSets/Main"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    order = np.random.default_rng(seed).permutation(len(paths))
    items = []
    for index in tqdm(range(total), disable=not progress, unit="img"):
        rng = np.random.default_rng([seed, index])  # each image reproducible on its own
        source = paths[int(order[index % len(paths)])]
        photo = _load_photo(source, max_side)
        comp = composite_logos(photo, _pick_logos(rng, user, styles), rng, box_slack=box_slack)
        image_id = f"synth_{index:05d}"
        _write_item(out, image_id, photo, comp)
        items.append(
            {
                "id": image_id,
                "source": source.name,
                "width": photo.shape[1],
                "height": photo.shape[0],
                "mask_ratio": round(float(comp.mask.mean()), 5),
                "logos": [asdict(p) for p in comp.placements],
            }
        )
    (out / "ImageSets" / "Main" / "test.txt").write_text(
        "".join(f"{item['id']}\n" for item in items)
    )
    manifest = {
        "seed": seed,
        "count": total,
        "photos": [str(f) for f in folders],
        "user_logos": str(logos) if logos else None,
        "styles": styles,
        "jpeg_quality": JPEG_QUALITY,
        "box_margin": BOX_MARGIN,
        "box_slack": box_slack,
        "images": items,
    }
    (out / "benchmark.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest

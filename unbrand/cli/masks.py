"""Mask helpers on the command line: `unbrand refine-masks` (find-logo: unbrand/cli/findlogo.py).

refine-masks turns the boxes of an OpenLogo-layout dataset into tight logo masks
(inpaint_core.masks.refine, the same as mask_mode "refine"): OUT/masks/<id>.png (255 = remove) and
OUT/refine.json (method, confidence and fallback of every box), to look at or to edit.
list_images, read_rgb and place_file are shared with find-logo.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import typer

from inpaint_core.masks.formats import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    from unbrand.cli.findlogo import register as register_find_logo

    register_find_logo(app)
    app.command("refine-masks")(refine_masks)


def list_images(source: Path) -> list[tuple[Path, str]]:
    """(path, id) of every image under SOURCE (or SOURCE/JPEGImages), sorted, ids unique."""
    root = source / "JPEGImages" if (source / "JPEGImages").is_dir() else source
    seen: set[str] = set()
    found = []
    for path in sorted(
        p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    ):
        base = path.relative_to(root).with_suffix("").as_posix().replace("/", "__")
        image_id, counter = base, 1
        while image_id in seen:  # a.jpg and a.png: keep both
            counter += 1
            image_id = f"{base}_{counter}"
        seen.add(image_id)
        found.append((path, image_id))
    return found


def read_rgb(path: Path, *, max_pixels: int):
    """RGB uint8 array with EXIF orientation applied (inpaint_core.masks.imageio.read_image)."""
    from inpaint_core.masks.imageio import read_image

    return read_image(path, max_pixels=max_pixels).rgb


def place_file(source: Path, target: Path, *, link: bool) -> None:
    if target.exists():
        target.unlink()
    if link:
        try:
            os.link(source, target)
            return
        except OSError:
            pass  # another file system or no hard links: copy
    shutil.copyfile(source, target)


def refine_masks(
    source: Path = typer.Argument(
        ...,
        help="OpenLogo-layout folder (Annotations/*.xml, "
        "JPEGImages/, optional ImageSets/Main/test.txt).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for masks/<id>.png and refine.json."),
    margin: int = typer.Option(
        3, "--margin", min=0, help="Safety margin in pixels grown around the refined logo pixels."
    ),
    max_pixels: int = typer.Option(
        DEFAULT_MAX_PIXELS,
        "--max-pixels",
        help="Refuse images with more pixels than this (decompression-bomb guard).",
    ),
) -> None:
    """Write a tight logo mask for every annotated image (falls back to the box when unsure)."""
    import numpy as np
    from PIL import Image

    from inpaint_core.errors import InpaintError
    from inpaint_core.masks.refine import refine_mask

    items = list_annotated(source)
    if not items:
        raise typer.BadParameter(
            f"no annotations found under {source}/Annotations", param_hint="SOURCE"
        )
    (out / "masks").mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"margin": margin, "boxes": {}, "failed": []}
    with typer.progressbar(items, label="refining masks") as progress:
        for image_id, image_path, boxes in progress:
            try:
                rgb = read_rgb(image_path, max_pixels=max_pixels)
            except InpaintError as exc:
                report["failed"].append({"image": str(image_path), "error": str(exc)})
                continue
            mask, infos = refine_mask(rgb, boxes, margin=margin)
            Image.fromarray(mask.astype(np.uint8) * 255).save(out / "masks" / f"{image_id}.png")
            report["boxes"][image_id] = infos
    (out / "refine.json").write_text(json.dumps(report, indent=1) + "\n")
    infos = [info for box_infos in report["boxes"].values() for info in box_infos]
    refined = sum(1 for info in infos if not info["fell_back"] and info["method"] != "box")
    typer.echo(
        f"{len(report['boxes'])} images, {refined} of {len(infos)} boxes refined, "
        f"{len(infos) - refined} kept whole, {len(report['failed'])} unreadable; written to {out}"
    )


def list_annotated(source: Path) -> list[tuple[str, Path, list[list[int]]]]:
    """(id, image path, 0-based end-exclusive boxes) of an OpenLogo-layout folder, read by the
    dataset reader `run` uses (scheduler/datasets/openlogo.py); unusable entries are left out."""
    from scheduler.datasets import read_dataset

    items = []
    for item in read_dataset(str(source), format="openlogo"):
        if item.error is None and item.boxes:
            image_id = Path(item.rel_path).stem
            items.append((image_id, source / item.rel_path, item.boxes))
    return items

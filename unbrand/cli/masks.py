"""Mask helpers on the command line: `unbrand find-logo` and `unbrand refine-masks`.

find-logo locates known logos in a folder of images; its output folder is a QMUL-OpenLogo
layout that `unbrand run` / `submit` accept:
    OUT/JPEGImages/<id>.<ext>      the images (hard links where possible, else copies)
    OUT/Annotations/<id>.xml       Pascal VOC: <size>, one <object> per find, 1-based inclusive
    OUT/ImageSets/Main/test.txt    one id per line
    OUT/detections.json            every find with its score and scale, and the images that failed
Ids are the image paths relative to SOURCE without extension, '/' replaced by '__'.

refine-masks turns the boxes of an OpenLogo-layout dataset into tight logo masks
(inpaint_core.masks.refine, the same as mask_mode "refine"): OUT/masks/<id>.png (255 = remove) and
OUT/refine.json (method, confidence and fallback of every box), to look at or to edit.
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
    app.command("find-logo")(find_logo)
    app.command("refine-masks")(refine_masks)


def find_logo(
    source: Path = typer.Argument(
        ...,
        help="Folder of images (searched recursively; a JPEGImages/ "
        "subfolder is used when present).",
    ),
    logo: list[Path] = typer.Option(
        ...,
        "--logo",
        help="Logo image to look for (PNG with alpha is best); repeat for several logos.",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output folder for the OpenLogo-layout dataset."
    ),
    threshold: float = typer.Option(
        0.40,
        "--threshold",
        help="Match score (-1..1) a find needs; lower finds fainter logos and more false ones.",
    ),
    min_scale: float = typer.Option(
        0.25, "--min-scale", help="Smallest logo size searched, relative to the logo file."
    ),
    max_scale: float = typer.Option(
        4.0, "--max-scale", help="Largest logo size searched, relative to the logo file."
    ),
    max_angle: float = typer.Option(
        0.0,
        "--max-angle",
        min=0.0,
        max=90.0,
        help="Also look for logos tilted up to this many degrees (searched in steps of about 12; "
        "each step costs another full search, e.g. 30 -> 5x the time).",
    ),
    link: bool = typer.Option(
        True,
        "--link/--copy",
        help="Hard-link the images into the output "
        "(falls back to copying across file systems) or always copy.",
    ),
    include_empty: bool = typer.Option(
        False,
        "--include-empty",
        help="Also list images where no logo was found (with annotations holding no object).",
    ),
    max_pixels: int = typer.Option(
        DEFAULT_MAX_PIXELS,
        "--max-pixels",
        help="Refuse images with more pixels than this (decompression-bomb guard).",
    ),
) -> None:
    """Find known logos in every image of SOURCE and write annotations that run/submit accept."""
    from inpaint_core.errors import InpaintError
    from inpaint_core.masks.findlogo import FinderConfig, angle_steps, load_logo

    if not source.is_dir():
        raise typer.BadParameter(f"{source} is not a folder", param_hint="SOURCE")
    if min_scale <= 0 or max_scale < min_scale:
        raise typer.BadParameter("need 0 < --min-scale <= --max-scale", param_hint="--min-scale")
    try:
        templates = [load_logo(path) for path in logo]
    except InpaintError as exc:
        raise typer.BadParameter(str(exc), param_hint="--logo") from exc
    images = list_images(source)
    if not images:
        raise typer.BadParameter(f"no images found under {source}", param_hint="SOURCE")
    config = FinderConfig(threshold=threshold, min_scale=min_scale, max_scale=max_scale,
                          angles=angle_steps(max_angle))
    report = _run(
        images,
        templates,
        config,
        out,
        link=link,
        include_empty=include_empty,
        max_pixels=max_pixels,
    )
    typer.echo(
        f"{report['images']} images, logo found in {report['with_logo']} "
        f"({report['instances']} instances), {len(report['failed'])} unreadable; written to {out}"
    )


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


def _run(
    images, templates, config, out: Path, *, link: bool, include_empty: bool, max_pixels: int
) -> dict[str, Any]:
    from inpaint_core.errors import InpaintError
    from inpaint_core.masks.findlogo import find_logos

    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    listed, records, failed = [], {}, []
    with typer.progressbar(images, label="finding logos") as progress:
        for path, image_id in progress:
            try:
                rgb = read_rgb(path, max_pixels=max_pixels)
            except InpaintError as exc:
                failed.append({"image": str(path), "error": str(exc)})
                continue
            records[image_id] = [_record(d) for d in find_logos(rgb, templates, config)]
            if records[image_id] or include_empty:
                _write_item(out, path, image_id, rgb.shape, records[image_id], link=link)
                listed.append(image_id)
    (out / "ImageSets" / "Main" / "test.txt").write_text("".join(f"{i}\n" for i in listed))
    report = {
        "images": len(images),
        "with_logo": sum(1 for r in records.values() if r),
        "instances": sum(len(r) for r in records.values()),
        "threshold": config.threshold,
        "logos": [t.name for t in templates],
        "detections": records,
        "failed": failed,
    }
    (out / "detections.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _record(detection) -> dict[str, Any]:
    return {
        "logo": detection.name,
        "box": list(detection.box),
        "score": round(detection.score, 4),
        "scale": round(detection.scale, 3),
        "angle": round(detection.angle, 1),
    }


def _write_item(
    out: Path, path: Path, image_id: str, shape, finds: list[dict[str, Any]], *, link: bool
) -> None:
    """The image (linked or copied) and its VOC annotation (1-based inclusive boxes)."""
    from inpaint_core.masks.voc import VocAnnotation, VocObject, write_voc

    target = out / "JPEGImages" / f"{image_id}{path.suffix.lower()}"
    _place_file(path, target, link=link)
    objects = [VocObject(find["logo"], find["box"]) for find in finds]
    annotation = VocAnnotation(target.name, int(shape[1]), int(shape[0]), objects)
    write_voc(out / "Annotations" / f"{image_id}.xml", annotation)


def read_rgb(path: Path, *, max_pixels: int):
    """RGB uint8 array with EXIF orientation applied (inpaint_core.masks.imageio.read_image)."""
    from inpaint_core.masks.imageio import read_image

    return read_image(path, max_pixels=max_pixels).rgb


def _place_file(source: Path, target: Path, *, link: bool) -> None:
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

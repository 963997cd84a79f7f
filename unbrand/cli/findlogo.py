"""`unbrand find-logo`: find known logos in a folder of images and write what run/submit accept.

The output folder is a QMUL-OpenLogo layout:
    OUT/JPEGImages/<id>.<ext>      the images (hard links where possible, else copies)
    OUT/Annotations/<id>.xml       Pascal VOC: <size>, one <object> per find with <confidence>
    OUT/ImageSets/Main/test.txt    one id per line
    OUT/detections.json            every find (confidence, log-odds, cues), the per-logo
                                   calibration, and the images that failed
    OUT/review/                    the contact sheet (index.html, sheet-<k>.png) to check
                                   before `unbrand run OUT --min-confidence ...` repaints
Ids are the image paths relative to SOURCE without extension, '/' replaced by '__'.

Two passes: every image is searched first (inpaint_core.masks.findlogo), then each logo's
threshold is calibrated on the candidates of all images (findlogo_calibrate), then the finds are
written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from unbrand.cli.masks import list_images, place_file, read_rgb


def register(app: typer.Typer) -> None:
    """Add `find-logo` to the app."""
    app.command("find-logo")(find_logo)


def find_logo(
    source: Path = typer.Argument(
        ..., help="Folder of images (searched recursively; a JPEGImages/ subfolder is used "
        "when present)."),
    logo: list[Path] = typer.Option(
        ..., "--logo", help="Logo image to look for (PNG with alpha is best); repeat for "
        "several logos."),
    out: Path = typer.Option(..., "--out", "-o",
                             help="Output folder for the OpenLogo-layout dataset."),
    min_confidence: float = typer.Option(
        0.5, "--min-confidence", min=0.0, max=1.0,
        help="Confidence a find needs; 0.5 is each logo's calibrated threshold, higher is "
        "stricter. Every find's confidence is written, so `run --min-confidence` can be "
        "stricter still."),
    min_size: float = typer.Option(
        0.03, "--min-size", min=0.005, max=1.0,
        help="Smallest logo searched: its long side as a share of the image's long side "
        "(never under 20 px at the search size)."),
    max_size: float = typer.Option(
        0.7, "--max-size", min=0.01, max=1.0, help="Largest logo searched, the same way."),
    max_angle: float = typer.Option(
        30.0, "--max-angle", min=0.0, max=90.0,
        help="Also look for logos tilted up to this many degrees, either way (steps of about "
        "10-12); 0 looks for upright logos only, in about a third of the time."),
    calibrate: bool = typer.Option(
        True, "--calibrate/--no-calibrate",
        help="Set each logo's threshold from its false matches on these images (needs a few "
        "dozen images; with fewer, or --no-calibrate, a fixed strict threshold is used)."),
    sheet: bool = typer.Option(
        True, "--sheet/--no-sheet", help="Write the review contact sheet to OUT/review/."),
    link: bool = typer.Option(
        True, "--link/--copy", help="Hard-link the images into the output (falls back to "
        "copying across file systems) or always copy."),
    include_empty: bool = typer.Option(
        False, "--include-empty",
        help="Also list images where no logo was found (with annotations holding no object)."),
    max_pixels: int = typer.Option(
        100_000_000, "--max-pixels",
        help="Refuse images with more pixels than this (decompression-bomb guard)."),
    learned: bool = typer.Option(
        False, "--learned/--no-learned",
        help="Also ask the learned verifier (flat-colour logos only): finds more faint and "
        "tilted marks, with more false finds (reserved test set: recall 0.79 -> 0.83, "
        "precision 0.95 -> 0.93; bench/RESULTS-masks-find.md). Review the sheet."),
) -> None:
    """Find known logos in every image of SOURCE and write annotations that run/submit accept."""
    from inpaint_core.masks.findlogo import FinderConfig, angle_steps

    if min_size > max_size:
        raise typer.BadParameter("need --min-size <= --max-size", param_hint="--min-size")
    templates, images = _inputs(source, logo)
    config = FinderConfig(min_share=min_size, max_share=max_size, angles=angle_steps(max_angle),
                          min_confidence=min_confidence, learned=learned)
    searched, failed = _search(images, templates, config, max_pixels=max_pixels)
    thresholds = _thresholds(searched, templates, calibrate)
    report = _write(searched, failed, templates, thresholds, config, out, link=link,
                    include_empty=include_empty, sheet=sheet, max_pixels=max_pixels)
    typer.echo(
        f"{report['images']} images, logo found in {report['with_logo']} "
        f"({report['instances']} instances), {len(report['failed'])} unreadable; written to {out}"
        + (f"; review: {out / 'review' / 'index.html'}" if sheet and report["instances"] else ""))


def _inputs(source: Path, logo: list[Path]) -> tuple[list[Any], list[tuple[Path, str]]]:
    from inpaint_core.errors import InpaintError
    from inpaint_core.masks.findlogo import load_logo

    if not source.is_dir():
        raise typer.BadParameter(f"{source} is not a folder", param_hint="SOURCE")
    try:
        templates = [load_logo(path) for path in logo]
    except InpaintError as exc:
        raise typer.BadParameter(str(exc), param_hint="--logo") from exc
    if len({t.name for t in templates}) < len(templates):
        raise typer.BadParameter("two logo files have the same name", param_hint="--logo")
    images = list_images(source)
    if not images:
        raise typer.BadParameter(f"no images found under {source}", param_hint="SOURCE")
    return templates, images


def _search(images, templates, config, *, max_pixels: int):
    """[(path, id, (h, w), candidates)] of the readable images, and the failures."""
    from inpaint_core.errors import InpaintError
    from inpaint_core.masks.findlogo import LogoFinder
    from unbrand.cli.exits import errors_to_exit

    with errors_to_exit():  # the learned verifier's weights, once, before any image
        finder = LogoFinder(templates, config)
    searched, failed = [], []
    with typer.progressbar(images, label="searching", show_pos=True) as progress:
        for path, image_id in progress:
            try:
                rgb = read_rgb(path, max_pixels=max_pixels)
            except InpaintError as exc:
                failed.append({"image": str(path), "error": str(exc)})
                continue
            searched.append((path, image_id, rgb.shape[:2], finder.candidates(rgb)))
    return searched, failed


def _thresholds(searched, templates, calibrate: bool) -> dict[str, Any]:
    from inpaint_core.masks.findlogo_calibrate import PRIOR, Threshold
    from inpaint_core.masks.findlogo_calibrate import calibrate as estimate

    if calibrate:
        return estimate((found for *_, found in searched), [t.name for t in templates])
    return {f"{t.name}/{size}": Threshold(PRIOR, 0) for t in templates
            for size in ("small", "large")}


def _write(searched, failed, templates, thresholds, config, out: Path, *, link: bool,
           include_empty: bool, sheet: bool, max_pixels: int) -> dict[str, Any]:
    from inpaint_core.masks.findlogo import select
    from inpaint_core.masks.findlogo_calibrate import describe, threshold_values

    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    values = threshold_values(thresholds)
    listed, records, entries = [], {}, []
    for path, image_id, shape, candidates in searched:
        found = select(candidates, values, config)
        records[image_id] = [_record(d) for d in found]
        if found or include_empty:
            _write_item(out, path, image_id, shape, found, link=link)
            listed.append(image_id)
        if found and sheet:
            entries += _sheet_entries(path, image_id, found, max_pixels)
    (out / "ImageSets" / "Main" / "test.txt").write_text("".join(f"{i}\n" for i in listed))
    if sheet and entries:
        from inpaint_core.masks.findlogo_sheet import write_sheet

        write_sheet(entries, out / "review")
    report = {"images": len(searched) + len(failed),
              "with_logo": sum(1 for r in records.values() if r),
              "instances": sum(len(r) for r in records.values()),
              "min_confidence": config.min_confidence, "logos": [t.name for t in templates],
              "calibration": describe(thresholds), "detections": records, "failed": failed}
    (out / "detections.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _record(detection) -> dict[str, Any]:
    return {"logo": detection.name, "box": list(detection.box),
            "confidence": round(detection.confidence, 4), "logit": round(detection.logit, 3),
            "score": round(detection.score, 4), "scale": round(detection.scale, 3),
            "angle": round(detection.angle, 1),
            "cues": {k: round(v, 3) for k, v in detection.cues.items()}}


def _sheet_entries(path: Path, image_id: str, found, max_pixels: int) -> list[Any]:
    from inpaint_core.masks.findlogo_sheet import SheetEntry, make_crop

    rgb = read_rgb(path, max_pixels=max_pixels)
    return [SheetEntry(image_id, d.name, d.confidence, d.box, make_crop(rgb, d.box))
            for d in found]


def _write_item(out: Path, path: Path, image_id: str, shape, found, *, link: bool) -> None:
    """The image (linked or copied) and its VOC annotation with each find's confidence."""
    from inpaint_core.masks.voc import VocAnnotation, VocObject, write_voc

    target = out / "JPEGImages" / f"{image_id}{path.suffix.lower()}"
    place_file(path, target, link=link)
    objects = [VocObject(d.name, list(d.box), round(d.confidence, 4)) for d in found]
    annotation = VocAnnotation(target.name, int(shape[1]), int(shape[0]), objects)
    write_voc(out / "Annotations" / f"{image_id}.xml", annotation)

"""`unbrand inpaint`: remove logos from one photo, given a mask or boxes.

Exit codes: 0 done; 2 bad input (unreadable image, mask/box problems, unknown output format,
missing weights, unavailable device) with the reason on stderr and nothing written;
1 any other failure.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer

from inpaint_core.masks.boxes import parse_box_text
from unbrand.cli.exits import EXIT_JOBS_FAILED, errors_to_exit, fail
from unbrand.cli.mask_flags import MaskMode
from unbrand.cli.options import (
    Device,
    Precision,
    device_option,
    precision_option,
    quality_option,
    weights_option,
)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _note_refined(infos: list[dict]) -> None:
    """Say on stderr which boxes were narrowed and which were used whole (and why)."""
    for number, info in enumerate(infos, start=1):
        if info["fell_back"]:
            typer.echo(f"note: box {number} used whole: {info['reason']}", err=True)
        elif info["method"] != "box":
            typer.echo(f"note: box {number} refined to {info['area_ratio']:.0%} of its area "
                       f"(confidence {info['confidence']:.2f})", err=True)


def inpaint_command(
    image: Path = typer.Argument(..., help="The photo to clean (any format Pillow reads)."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Output file; its extension picks the format (.png, .jpg, .webp, .tif). "
        "An input with transparency is written as PNG (the extension becomes .png if needed).",
    ),
    mask: Path | None = typer.Option(
        None, "--mask", "-m", help="Mask image: nonzero pixels are removed. Same size or aspect."
    ),
    box: list[str] | None = typer.Option(
        None,
        "--box",
        "-b",
        help="Region to remove as x1,y1,x2,y2 (0-based, end exclusive); repeat.",
    ),
    weights: Path | None = weights_option(),
    device: Device = device_option(),
    precision: Precision = precision_option(),
    margin: int | None = typer.Option(
        None,
        "--margin",
        min=0,
        help="Pixels the fill region grows beyond the mask (default: 0 for --box boxes, which "
        "already enclose the logo; 3 for --mask and refined masks, for anti-aliased edges).",
    ),
    quality: int | None = quality_option(),
    max_pixels: int | None = typer.Option(
        None, "--max-pixels", min=1, help="Refuse larger images (default 100,000,000)."
    ),
    mask_mode: MaskMode = typer.Option(
        MaskMode.box,
        "--mask-mode",
        help="With --box: 'box' (default) lets the whole box change (the shipped model keeps and "
        "corrects what of it is not logo), 'refine' only the logo's pixels inside each box "
        "(grown by 3 px; a box it is unsure of is used whole), 'whole' repaints every pixel of "
        "the boxes. 'box' and 'whole' grow a tight box by up to 3 px where the logo's colour "
        "bleeds out of it (JPEG). Not with --mask.",
    ),
) -> None:
    """Remove the masked regions (logos) from IMAGE and write the result to --out."""
    from inpaint_core import Inpainter
    from inpaint_core.errors import CheckpointError, DeviceError, ImageInputError, InpaintError
    from inpaint_core.inference.remove import remove
    from inpaint_core.masks.imageio import (
        DEFAULT_MAX_PIXELS,
        encode_image,
        normalise_format,
        read_image,
        read_mask,
    )

    if (mask is None) == (not box):
        fail("give exactly one of --mask or --box")
    if mask is not None and mask_mode is not MaskMode.box:
        fail(f"--mask-mode {mask_mode.value} applies to --box boxes; a --mask is used as it is")
    with errors_to_exit():
        boxes = [parse_box_text(text) for text in box or []]
    try:
        fmt = normalise_format(out.suffix or "?")
        loaded = read_image(image, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
        height, width = loaded.rgb.shape[:2]
        region = None
        if mask is not None:
            region = read_mask(
                mask, size=(width, height), max_pixels=max_pixels or DEFAULT_MAX_PIXELS
            )
        start = time.perf_counter()
        inpainter = Inpainter.load(weights, device=device.value, precision=precision.value)
        removal = remove(inpainter, loaded.rgb, boxes=boxes, mask=region, mode=mask_mode.value,
                         margin=margin)
        if mask_mode is MaskMode.refine:
            _note_refined(removal.plan.infos)
        result = removal.output
    except (ImageInputError, CheckpointError, DeviceError) as exc:
        fail(str(exc))
    except InpaintError as exc:
        fail(str(exc), EXIT_JOBS_FAILED)
    if loaded.alpha is not None and fmt not in {"PNG", "WEBP", "TIFF"}:
        fmt, out = "PNG", out.with_suffix(".png")
        typer.echo(f"note: {image} has transparency; writing PNG to {out}", err=True)
    try:
        _write_atomic(out, encode_image(result, alpha=loaded.alpha, format=fmt, quality=quality,
                                        meta=loaded.meta))
    except OSError as exc:
        fail(f"cannot write {out}: {exc}", EXIT_JOBS_FAILED)
    elapsed = time.perf_counter() - start
    typer.echo(
        f"wrote {out} ({width}x{height}, {int(removal.plan.mask.sum())} masked pixels, "
        f"model {inpainter.model_version}, {inpainter.precision} on {inpainter.device}, "
        f"{elapsed:.2f} s)"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("inpaint")(inpaint_command)

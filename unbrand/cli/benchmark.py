"""`unbrand make-benchmark` (logos on clean photos, with ground truth) and `unbrand evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from inpaint_core.masks.modes import MaskMode
from unbrand.cli.exits import fail
from unbrand.cli.options import DEVICE_HELP, Device, device_option


def make_benchmark_command(
    photos: list[Path] = typer.Option(
        ..., "--photos", help="folder of clean photos (recursive); repeatable"
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="benchmark folder to write (QMUL-OpenLogo layout + GroundTruth/ + Masks/)",
    ),
    logos: Path | None = typer.Option(
        None,
        "--logos",
        help="folder of your logos (.png/.webp with alpha, .svg); mixed with built-in ones",
    ),
    count: int | None = typer.Option(
        None,
        "--count",
        help="number of images (default: one per photo; photos are reused beyond that)",
    ),
    seed: int = typer.Option(
        0, "--seed", help="seed: the same seed and photos give the same benchmark"
    ),
    max_side: int | None = typer.Option(
        None, "--max-side", help="shrink photos whose long side is larger than this"
    ),
    styles: str = typer.Option(
        "default", "--styles",
        help="built-in logos: 'default' (words, emblems, badges) or 'badges' (opaque plates, "
        "stickers, translucent outlined watermarks: boxes a fill must repaint whole)",
    ),
    box_slack: float = typer.Option(
        0.0, "--box-slack", min=0.0, max=1.0,
        help="grow each box side by a random 0..this share of the logo's extent, like a "
        "hand-drawn box (default 0: tight boxes, 2 px margin)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show the progress bar"),
    kind: str = typer.Option(
        "inpaint", "--kind",
        help="'inpaint': logos to remove, with ground truth (GroundTruth/, Masks/); 'find-logo': "
        "marks for find-logo to find (drawn swoosh, ring, letter, wordmark + --logos), photos "
        "without any, distractors; photos scaled to --max-side (default 1024)"),
    distractors: Path | None = typer.Option(
        None, "--distractors",
        help="--kind find-logo: folder of other marks pasted as distractors (beside drawn ones)"),
) -> None:
    """Composite logos onto clean photos (1-10 % of the area each image) to score logo removal,
    or (--kind find-logo) marks at 4-25 % of the width to score find-logo."""
    from inpaint_core.errors import InpaintError
    from inpaint_core.evaluation.synth import STYLES, make_benchmark

    if count is not None and count < 1:
        raise typer.BadParameter("must be >= 1", param_hint="--count")
    if kind not in ("inpaint", "find-logo"):
        raise typer.BadParameter("choose 'inpaint' or 'find-logo'", param_hint="--kind")
    if kind == "find-logo":
        if box_slack:
            raise typer.BadParameter("only for --kind inpaint (find-logo benchmarks score "
                                     "detections, not boxes)", param_hint="--box-slack")
        _make_find_benchmark(photos, out, logos, distractors, count, seed, max_side, progress)
        return
    if styles not in STYLES:
        raise typer.BadParameter(f"choose one of {', '.join(STYLES)}", param_hint="--styles")
    try:
        manifest = make_benchmark(
            list(photos),
            out,
            logos=logos,
            count=count,
            seed=seed,
            max_side=max_side,
            styles=styles,
            box_slack=box_slack,
            progress=progress,
        )
    except (InpaintError, FileNotFoundError) as exc:
        fail(str(exc))
    logos_placed = sum(len(item["logos"]) for item in manifest["images"])
    typer.echo(f"wrote {manifest['count']} images with {logos_placed} logos to {out}")


def _make_find_benchmark(photos: list[Path], out: Path, logos: Path | None,
                         distractors: Path | None, count: int | None, seed: int,
                         side: int | None, progress: bool) -> None:
    from inpaint_core.errors import InpaintError
    from inpaint_core.evaluation.findlogo_bench import BenchSpec, make_findlogo_benchmark
    from inpaint_core.training.data import list_photos

    try:
        spec = BenchSpec(count=count or len(list_photos(photos)), seed=seed, side=side or 1024)
        manifest = make_findlogo_benchmark(photos, out, logos=logos, distractors=distractors,
                                           spec=spec, progress=progress)
    except (InpaintError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    pastes = [p for item in manifest["images"] for p in item["pastes"]]
    targets = sum(p["role"] == "target" for p in pastes)
    typer.echo(f"wrote {len(manifest['images'])} images with {targets} target marks and "
               f"{len(pastes) - targets} distractors to {out}; find them with --logo "
               f"{out}/logos/*.png")


def _run_model(
    benchmark: Path, results_dir: Path, weights: Path | None, device: str, mode: str,
    progress: bool,
) -> None:
    from inpaint_core.evaluation.evaluate import run_model
    from inpaint_core.inference.inpainter import Inpainter

    inpainter = Inpainter.load(weights, device=device)
    typer.echo(f"running {inpainter.model_version} on {inpainter.device} ({inpainter.precision}), "
               f"mask mode {mode}")
    run_model(benchmark, results_dir, inpainter, mode=mode, progress=progress)


def _print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{report['images']} images, hole = annotated boxes (L1 in 0-1 units)")
    for column in (
        "box area",
        "n",
        "method",
        "L1",
        "PSNR",
        "SSIM",
        "L1 box",
        "PSNR box",
        "SSIM box",
        "texture",
    ):
        table.add_column(column, justify="left" if column in ("box area", "method") else "right")
    methods = report["methods"]
    for label in next(iter(methods.values())):
        for method, rows in methods.items():
            if label in rows:
                r = rows[label]
                table.add_row(
                    label,
                    str(r["count"]),
                    method,
                    f"{r['l1']:.4f}",
                    f"{r['psnr']:.2f}",
                    f"{r['ssim']:.4f}",
                    f"{r['l1_box']:.4f}",
                    f"{r['psnr_box']:.2f}",
                    f"{r['ssim_box']:.4f}",
                    f"{r['texture_box']:.2f}",
                )
    Console(width=120).print(table)
    if report["missing"]:
        typer.echo(
            f"{len(report['missing'])} benchmark images have no result "
            f"(first: {report['missing'][0]})"
        )


def evaluate_command(
    results_dir: Path = typer.Argument(
        ..., help="folder of outputs named by image id (<id>.png or .jpg)"
    ),
    benchmark: Path = typer.Option(
        ..., "--benchmark", help="benchmark folder written by `unbrand make-benchmark`"
    ),
    baseline: str = typer.Option(
        "telea,patchmatch", "--baseline",
        help="classical fills on the same boxes, comma-separated: 'telea' (OpenCV, radius 5), "
        "'patchmatch' (PyPatchMatch, 7x7 patches), or 'none'",
    ),
    json_out: Path | None = typer.Option(
        None, "--json", help="write the full report (bins, per image) as JSON"
    ),
    markdown: Path | None = typer.Option(
        None, "--markdown", help="write the model-card table as markdown"
    ),
    grid: Path | None = typer.Option(
        None, "--grid", help="write an input / Telea / ours / ground truth PNG grid"
    ),
    grid_rows: int = typer.Option(6, "--grid-rows", help="rows of the picture grid"),
    run: bool = typer.Option(
        False, "--run-model", help="first inpaint the benchmark with our model into RESULTS_DIR"
    ),
    weights: Path | None = typer.Option(
        None, "--weights", "-w", help="weights for --run-model (default: the shipped ones)"
    ),
    device: Device = device_option(help="Device for --run-model: " + DEVICE_HELP),
    mask_mode: MaskMode = typer.Option(
        MaskMode.box, "--mask-mode",
        help="mask mode for --run-model, as `unbrand run --mask-mode` (box, refine, whole)",
    ),
    name: str = typer.Option("ours", "--name", help="name of the evaluated method in the report"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show progress bars"),
) -> None:
    """Score results against the benchmark's ground truth per mask-ratio bin, beside Telea and
    PatchMatch (texture: mean |Laplacian| in the boxes relative to the ground truth's)."""
    from inpaint_core.errors import InpaintError
    from inpaint_core.evaluation.evaluate import evaluate, parse_baselines
    from inpaint_core.evaluation.figures import comparison_grid, metrics_table_markdown

    try:
        baselines = parse_baselines(baseline)
    except InpaintError as exc:
        raise typer.BadParameter(str(exc), param_hint="--baseline") from exc
    try:
        if run:
            _run_model(benchmark, results_dir, weights, device.value, mask_mode.value, progress)
        report = evaluate(
            results_dir,
            benchmark,
            baseline=baselines,
            name=name,
            progress=progress,
        )
        if grid is not None:
            comparison_grid(benchmark, results_dir, grid, rows=grid_rows)
    except InpaintError as exc:
        fail(str(exc))
    _print_report(report)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=1) + "\n")
    if markdown is not None:
        markdown.write_text(metrics_table_markdown(report))


def register(app: typer.Typer) -> None:
    """Add `make-benchmark` and `evaluate` to the app."""
    app.command("make-benchmark")(make_benchmark_command)
    app.command("evaluate")(evaluate_command)

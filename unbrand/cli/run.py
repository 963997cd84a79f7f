"""`unbrand run`: the embedded default (SQLite + local folder + in-process), with a progress bar."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from unbrand.cli.database import db_option
from unbrand.cli.exits import EXIT_INTERRUPTED, EXIT_JOBS_FAILED, errors_to_exit, fail
from unbrand.cli.mask_flags import (
    ANCHOR_HELP,
    BOX_HELP,
    KEEP_ASPECT_HELP,
    MASK_HELP,
    MASK_MODE_HELP,
    REFERENCE_HELP,
    SCALE_HELP,
    Anchor,
    MaskMode,
    batch_mask_options,
)
from unbrand.cli.options import (
    DatasetFormat,
    Device,
    Precision,
    class_list,
    classes_option,
    device_option,
    format_option,
    name_option,
    out_option,
    precision_option,
    quality_option,
    split_option,
    weights_option,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from worker.runner import RunHooks, RunSummary


def register(app: typer.Typer) -> None:
    """Add `run` to the app."""
    app.command("run")(run)


def run(
    source: str = typer.Argument(..., help="Dataset: a folder, a manifest file or an s3:// URI."),
    out: Path = out_option("Output folder (also holds the job database).", "--output"),
    format: DatasetFormat = format_option(),
    split: str | None = split_option(),
    classes: str | None = classes_option(),
    weights: Path | None = weights_option(),
    device: Device = device_option(),
    precision: Precision = precision_option(),
    quality: int | None = quality_option(),
    db: str | None = db_option(help="Job database URL (default: sqlite file OUT/unbrand.db)."),
    name: str | None = name_option(),
    mask_mode: MaskMode = typer.Option(MaskMode.box, "--mask-mode", help=MASK_MODE_HELP),
    box: list[str] | None = typer.Option(None, "--box", "-b", help=BOX_HELP),
    mask: Path | None = typer.Option(None, "--mask", "-m", help=MASK_HELP),
    scale_with_image: bool = typer.Option(False, "--scale-with-image", help=SCALE_HELP),
    reference_size: str | None = typer.Option(None, "--reference-size", help=REFERENCE_HELP),
    anchor: Anchor = typer.Option(Anchor.top_left, "--anchor", help=ANCHOR_HELP),
    jobs: int = typer.Option(
        1, "--jobs", "-j", min=1, max=32,
        help="Images worked on at once: their reading, mask refinement and writing overlap the "
        "model's work on the others, and their crops share the model's forward passes "
        "(worth it on a GPU; on a CPU the model already uses every core).",
    ),
    keep_aspect: bool = typer.Option(False, "--keep-aspect", help=KEEP_ASPECT_HELP),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Show the progress bar (on stderr)."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q",
        help="No progress bar, notes or per-run figures: only the batch's counts, the failures "
        "and errors.",
    ),
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0,
        help="Skip annotated logos whose <confidence> (written by find-logo) is below this; "
        "objects without one are kept."),
) -> None:
    """Remove the logos of a whole dataset on this machine; rerun to resume."""
    from rich.console import Console

    from inpaint_core.errors import InpaintError
    from worker.model_cache import ModelSpec
    from worker.runner import RunHooks, run_embedded

    console = Console(stderr=True)
    with errors_to_exit():  # bad mask flags fail before the model loads or a job exists
        options = batch_mask_options(
            mask_mode=mask_mode, boxes=box, mask=str(mask) if mask else None,
            scale_with_image=scale_with_image, reference_size=reference_size, anchor=anchor,
            keep_aspect=keep_aspect, jpeg_quality=quality,
            min_confidence=min_confidence)
    spec = ModelSpec(weights=str(weights) if weights else None, device=device.value,
                     precision=precision.value)
    bar = make_progress(console) if progress and not quiet else None
    try:
        with errors_to_exit(InpaintError), (bar.display if bar else nullcontext()):
            summary = run_embedded(source, out_dir=out, format=format.value, split=split,
                                   classes=class_list(classes), model=spec, db_url=db,
                                   name=name, hooks=bar.hooks() if bar else RunHooks(),
                                   options=options, jobs=jobs)
    except KeyboardInterrupt:
        fail("interrupted; run the same command again to continue", EXIT_INTERRUPTED)
    print_summary(summary, Console(), quiet=quiet)
    if not summary.ok:
        raise typer.Exit(EXIT_JOBS_FAILED)


class _Progress:
    """A rich progress bar fed by the runner's hooks: images/s, ETA, failures so far."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.display = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[failed]}"),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None
        self._failed = 0

    def hooks(self) -> RunHooks:
        from worker.runner import RunHooks

        return RunHooks(start=self._start, job=self._job)

    def _start(self, total: int, remaining: int) -> None:
        self._task = self.display.add_task("removing logos", total=total,
                                           completed=total - remaining, rate="", failed="")

    def _job(self, outcome: object) -> None:
        if self._task is None:
            return
        if getattr(outcome, "status", "") == "failed":
            self._failed += 1
        self.display.advance(self._task)
        speed = self.display.tasks[self._task].speed
        rate = f"{speed:.2f} img/s" if speed else ""
        failed = f"[red]{self._failed} failed" if self._failed else ""
        self.display.update(self._task, rate=rate, failed=failed)


def make_progress(console: Console) -> _Progress:
    return _Progress(console)


def print_summary(summary: RunSummary, console: Console, *, quiet: bool = False) -> None:
    """Counts, failures with reasons, where the outputs are, how long it took (`quiet`: only
    the counts and the failures)."""
    from rich.markup import escape

    from scheduler.settings import redact_url

    counts = summary.counts
    if not quiet:
        for line in summary.submit.warnings:
            console.print(f"  note: {escape(line)}", highlight=False)
    console.print(
        f"batch [bold]{summary.batch_name}[/]: {summary.total} images, "
        f"{counts.get('done', 0)} done, {counts.get('failed', 0)} failed, "
        f"{counts.get('cancelled', 0)} cancelled"
    )
    if not quiet:
        console.print(
            f"this run: {summary.processed} processed in {summary.processing_s:.1f} s "
            f"({summary.images_per_s:.2f} images/s; {summary.elapsed_s:.1f} s in all)"
        )
    for rel, reason in summary.failures:
        console.print(f"  [red]failed[/] {escape(rel)}: {escape(reason)}", highlight=False)
    hidden = counts.get("failed", 0) - len(summary.failures)
    if hidden > 0:
        console.print(f"  ... and {hidden} more (unbrand jobs {summary.batch_name} "
                      "--status failed)")
    if not quiet:
        console.print(f"outputs: {escape(str(summary.output_dir / summary.batch_name))}")
        console.print(f"job database: {escape(redact_url(summary.db_url))}",
                      highlight=False)

"""`unbrand report NAME --out DIR`: gallery, morning summary and metrics CSV of one batch."""

from __future__ import annotations

from pathlib import Path

import typer

from unbrand.cli.database import db_option, open_database
from unbrand.cli.exits import errors_to_exit
from unbrand.cli.options import out_option


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("report")(report)


def report(
    name: str = typer.Argument(..., help="Batch name."),
    out: Path = out_option("Folder to write the report into (created)."),
    db: str | None = db_option(),
    max_gallery: int = typer.Option(
        200, "--max-images", min=0, help="Jobs shown in the before/after gallery (first by id)."
    ),
) -> None:
    """Write index.html, summary.html, metrics.csv and thumbs/ for batch NAME into --out."""
    from scheduler.report.builder import write_report
    from scheduler.storage import open_storage

    with open_database(db) as (settings, factory), errors_to_exit():
        files = write_report(
            factory,
            name,
            out,
            resolver=lambda uri: open_storage(uri, settings=settings),
            max_gallery=max_gallery,
            max_pixels=settings.max_pixels,
        )
    for problem in files.problems:
        typer.echo(f"warning: {problem}", err=True)
    typer.echo(
        f"wrote {files.summary}, {files.gallery}, {files.csv} ({files.csv_rows} jobs, "
        f"{files.thumbnails} thumbnails)"
    )

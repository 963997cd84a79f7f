"""`unbrand report NAME --out DIR`: gallery, morning summary and metrics CSV of one batch."""

from __future__ import annotations

from pathlib import Path

import typer

from unbrand.cli.exits import fail


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("report")(report)


def report(
    name: str = typer.Argument(..., help="Batch name."),
    out: Path = typer.Option(..., "--out", help="Folder to write the report into (created)."),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Job database URL (default: UNBRAND_DATABASE_URL / sqlite:///unbrand.db).",
    ),
    max_gallery: int = typer.Option(
        200, "--max-images", min=0, help="Jobs shown in the before/after gallery (first by id)."
    ),
) -> None:
    """Write index.html, summary.html, metrics.csv and thumbs/ for batch NAME into --out."""
    from sqlalchemy.exc import ArgumentError

    from scheduler.db.session import make_engine, make_session_factory
    from scheduler.errors import UnbrandError
    from scheduler.report.builder import write_report
    from scheduler.settings import get_settings
    from scheduler.storage import open_storage

    try:
        settings = get_settings(**({"database_url": db} if db else {}))
        engine = make_engine(settings.database_url)
        try:
            files = write_report(
                make_session_factory(engine),
                name,
                out,
                resolver=lambda uri: open_storage(uri, settings=settings),
                max_gallery=max_gallery,
                max_pixels=settings.max_pixels,
            )
        finally:
            engine.dispose()
    except (UnbrandError, ArgumentError) as exc:  # ArgumentError: unknown database driver
        fail(str(exc), 1)
    for problem in files.problems:
        typer.echo(f"warning: {problem}", err=True)
    typer.echo(
        f"wrote {files.summary}, {files.gallery}, {files.csv} ({files.csv_rows} jobs, "
        f"{files.thumbnails} thumbnails)"
    )

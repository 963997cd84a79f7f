"""`write_report`: the whole report of one batch into a local folder.

DIR/index.html     before/after thumbnails of the first `max_gallery` jobs
DIR/summary.html   the morning summary (counts, throughput chart, timings, worst 10)
DIR/metrics.csv    one row per job: input, status, error, timings, metrics
DIR/thumbs/        previews, read from the jobs' storage and written through LocalStorage
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from inpaint_core.masks.formats import DEFAULT_MAX_PIXELS
from scheduler.db import crud
from scheduler.db.session import session_scope
from scheduler.db.stats import get_summary
from scheduler.errors import UnbrandError
from scheduler.report.csvfile import write_metrics_file
from scheduler.report.html import (
    ThumbnailWriter,
    job_view,
    make_environment,
    render_gallery,
)
from scheduler.report.morning import collect_summary, render_summary
from scheduler.storage import LocalStorage, UriResolver

DEFAULT_MAX_GALLERY = 200


class ReportError(UnbrandError):
    """The report cannot be written (unknown batch, output folder unusable)."""


@dataclass
class ReportFiles:
    """What `write_report` wrote."""

    folder: Path
    gallery: Path
    summary: Path
    csv: Path
    csv_rows: int
    thumbnails: int
    problems: list[str] = field(default_factory=list)


def write_report(
    session_factory: sessionmaker[Session],
    name: str,
    out: Path,
    *,
    resolver: UriResolver,
    max_gallery: int = DEFAULT_MAX_GALLERY,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    now: datetime | None = None,
) -> ReportFiles:
    """Write the report of batch `name` into folder `out` (created if missing).

    Images that cannot be read are left out of the pages and listed in `problems`.
    Raises ReportError for an unknown batch.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out} exists and is not a folder")
    generated_at = now or datetime.now(UTC)
    out_storage = LocalStorage(out)
    env = make_environment()
    with session_scope(session_factory) as session:
        batch = get_summary(session, name, now=generated_at)
        if batch is None:
            raise ReportError(f"no batch named {name!r}")
        thumbs = ThumbnailWriter(out_storage, resolver, max_pixels=max_pixels,
                                 roots={"input": batch.source, "output": batch.output_root})
        summary = collect_summary(session, batch=batch, thumbs=thumbs, generated_at=generated_at)
        first_jobs = crud.list_jobs(session, batch_id=batch.id, limit=max_gallery)
        gallery = [job_view(job, thumbs) for job in first_jobs]
        rows = write_metrics_file(session, batch_id=batch.id, path=out / "metrics.csv")
    out_storage.write_bytes(
        "index.html",
        render_gallery(
            env, batch_name=name, jobs=gallery, total_jobs=batch.total, generated_at=generated_at
        ),
        content_type="text/html",
    )
    out_storage.write_bytes("summary.html", render_summary(env, summary), content_type="text/html")
    return ReportFiles(
        folder=out,
        gallery=out / "index.html",
        summary=out / "summary.html",
        csv=out / "metrics.csv",
        csv_rows=rows,
        thumbnails=sum(1 for path in thumbs.written.values() if path),
        problems=thumbs.problems,
    )

"""Static HTML of the report: the Jinja2 environment, the gallery page and its thumbnails.

Pages are self-contained (CSS inline, images as relative links into `thumbs/`), so the
report folder can be zipped, mailed or served from any static host.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from scheduler.db.models import Job
from scheduler.errors import StorageError
from scheduler.storage import Storage, UriResolver, confine, uri_name
from scheduler.thumbnails import ThumbnailError, make_thumbnail

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
THUMBS = "thumbs"


def make_environment() -> jinja2.Environment:
    """Autoescaping environment over the report templates, with small formatting filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"
    env.filters["num"] = lambda value, fmt="%.2f": "—" if value is None else fmt % value
    return env


@dataclass
class JobView:
    """A job as the report pages show it, with relative thumbnail paths (None = not available)."""

    id: int
    name: str
    status: str
    error: str | None
    quality: float | None
    flagged: bool
    figures: dict[str, float]
    total_ms: float | None
    finished_at: datetime | None
    input_thumb: str | None
    output_thumb: str | None


class ThumbnailWriter:
    """Reads job images through the storage layer and writes previews under `thumbs/` once each."""

    def __init__(self, out: Storage, resolver: UriResolver, *, max_pixels: int,
                 roots: dict[str, str] | None = None) -> None:
        self.out = out
        self.resolver = resolver
        self.max_pixels = max_pixels
        # "input" / "output" -> the batch's dataset / output location: reads stay inside them
        self.roots = roots or {}
        self.written: dict[tuple[int, str], str | None] = {}
        self.problems: list[str] = []

    def thumb(self, job_id: int, which: str, uri: str | None) -> str | None:
        """The relative path of the preview of `uri`, or None when it cannot be read."""
        if uri is None:
            return None
        if (job_id, which) in self.written:
            return self.written[(job_id, which)]
        path: str | None = None
        try:
            root = self.roots.get(which)
            resolver = confine(self.resolver, root) if root else self.resolver
            storage, key = resolver(uri)
            data, media_type = make_thumbnail(storage.read_bytes(key), max_pixels=self.max_pixels)
            suffix = "png" if media_type == "image/png" else "jpg"
            path = f"{THUMBS}/{job_id}_{which}.{suffix}"
            self.out.write_bytes(path, data, content_type=media_type)
        except (StorageError, ThumbnailError) as exc:
            self.problems.append(f"job {job_id} {which}: {exc}")
            path = None
        self.written[(job_id, which)] = path
        return path


def job_view(job: Job, thumbs: ThumbnailWriter | None) -> JobView:
    """The page model of `job`, writing its thumbnails when a writer is given."""
    metrics = job.metrics or {}
    figures = {
        key: float(value)
        for key, value in sorted(metrics.items())
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    parts = [part for part in (job.read_ms, job.inference_ms, job.write_ms) if part is not None]
    output_uri = job.output_uri if job.status == "done" else None
    return JobView(
        id=job.id,
        name=uri_name(job.input_uri),
        status=job.status,
        error=job.error,
        quality=job.quality_score,
        flagged=job.flagged,
        figures=figures,
        total_ms=sum(parts) if parts else None,
        finished_at=job.finished_at,
        input_thumb=thumbs.thumb(job.id, "input", job.input_uri) if thumbs else None,
        output_thumb=thumbs.thumb(job.id, "output", output_uri) if thumbs else None,
    )


def render(env: jinja2.Environment, template: str, **context: Any) -> bytes:
    """A rendered page as UTF-8 bytes."""
    return env.get_template(template).render(**context).encode("utf-8")


def render_gallery(
    env: jinja2.Environment,
    *,
    batch_name: str,
    jobs: Sequence[JobView],
    total_jobs: int,
    generated_at: datetime,
) -> bytes:
    """index.html: before/after pairs of the first jobs, a note when some are left out."""
    return render(
        env,
        "gallery.html",
        batch_name=batch_name,
        jobs=jobs,
        total_jobs=total_jobs,
        left_out=max(0, total_jobs - len(jobs)),
        generated_at=generated_at,
    )

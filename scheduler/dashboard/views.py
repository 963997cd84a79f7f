"""Server-rendered pages: the batch list, one batch's jobs, and job thumbnails.

Thumbnails are served through the storage layer: the route takes a job id, looks the
job up in the database and reads that row's input or output URI. Nothing in the
request is ever used as a path or key, and no storage URL is handed to the browser.
"""

from __future__ import annotations

import math
from datetime import datetime
from html import escape
from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from scheduler.dashboard.app import (
    MAX_OFFSET,
    PACKAGE_DIR,
    RENDER_WAIT_S,
    DashboardContext,
    batch_name,
    context,
)
from scheduler.db import crud
from scheduler.db.models import JOB_STATUSES, Job
from scheduler.db.session import session_scope
from scheduler.db.stats import JobFilter, get_summary, job_page, summarise_batches
from scheduler.errors import StorageError, StorageKeyError, StorageNotFound
from scheduler.quality import DEFAULT_THRESHOLDS, flag_reasons
from scheduler.storage import confine, uri_name
from scheduler.thumbnails import ThumbnailError, make_thumbnail

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
Which = Literal["input", "output"]


def format_duration(seconds: float | None) -> str:
    """`None` -> "unknown", 0 -> "done", else the two largest units (e.g. "2 h 05 min")."""
    if seconds is None:
        return "unknown"
    if seconds <= 0:
        return "—"
    minutes, secs = divmod(int(math.ceil(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours:02d} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def format_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def format_ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


templates.env.filters["duration"] = format_duration
templates.env.filters["time"] = format_time
templates.env.filters["ms"] = format_ms
templates.env.filters["quote"] = lambda text: quote(str(text), safe="")


@router.get("/", response_class=HTMLResponse)
def index(request: Request, ctx: DashboardContext = Depends(context)) -> Response:
    """Every batch with progress, throughput, ETA, flagged jobs and failure reasons."""
    with session_scope(ctx.session_factory) as session:
        summaries = summarise_batches(session, window_minutes=ctx.window_minutes)
    return templates.TemplateResponse(
        request,
        "index.html",
        {"batches": summaries, "window": ctx.window_minutes, "statuses": JOB_STATUSES},
    )


def _optional_float(raw: str | None) -> float | None:
    """A query value that may be empty (an untouched form field) or a number."""
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=f"not a number: {raw!r}") from exc
    if not math.isfinite(value):
        raise HTTPException(status_code=422, detail=f"not a finite number: {raw!r}")
    return value


@router.get("/batches/{name}", response_class=HTMLResponse)
def batch_page(
    request: Request,
    name: str = Depends(batch_name),
    status: str = Query("", description="Only jobs in this status (empty = all)."),
    flagged: bool = Query(False, description="Only jobs flagged for review."),
    quality_below: str = Query("", description="Only jobs scoring below this."),
    page: int = Query(1, ge=1, le=MAX_OFFSET // 1000, description="Page number, from 1."),
    ctx: DashboardContext = Depends(context),
) -> Response:
    """One batch: its figures, failure groups and a filtered, paginated grid of jobs."""
    if status and status not in JOB_STATUSES:
        raise HTTPException(status_code=422, detail=f"unknown status {status!r}")
    below = _optional_float(quality_below)
    where = JobFilter(status=status or None, flagged=True if flagged else None, quality_below=below)
    with session_scope(ctx.session_factory) as session:
        summary = get_summary(session, name, window_minutes=ctx.window_minutes)
        if summary is None:
            raise HTTPException(status_code=404, detail=f"no batch named {name!r}")
        thresholds = DEFAULT_THRESHOLDS
        offset = (page - 1) * ctx.page_size
        matching, jobs = job_page(
            session, batch_id=summary.id, where=where, offset=offset, limit=ctx.page_size
        )
        cards = [_card(job, thresholds) for job in jobs]
    pages = max(1, math.ceil(matching / ctx.page_size))
    filters = {
        "status": status,
        "flagged": "true" if flagged else "",
        "quality_below": quality_below,
    }
    return templates.TemplateResponse(
        request,
        "batch.html",
        {
            "batch": summary,
            "cards": cards,
            "matching": matching,
            "page": page,
            "pages": pages,
            "filters": filters,
            "statuses": JOB_STATUSES,
            "window": ctx.window_minutes,
            "page_url": lambda number: _page_url(name, filters, number),
        },
    )


def _page_url(name: str, filters: dict[str, str], page: int) -> str:
    query = {key: value for key, value in filters.items() if value}
    query["page"] = str(page)
    return f"/batches/{quote(name, safe='')}?{urlencode(query)}"


def _card(job: Job, thresholds: Any) -> dict[str, Any]:
    """What one job card shows; the image URLs point at the thumbnail route, never at storage."""
    metrics = dict(job.metrics or {})
    figures = {
        key: metrics[key] for key in sorted(metrics) if isinstance(metrics[key], int | float)
    }
    return {
        "id": job.id,
        "input_name": uri_name(job.input_uri),
        "status": job.status,
        "error": job.error,
        "has_output": job.output_uri is not None and job.status == "done",
        "quality": job.quality_score,
        "flagged": job.flagged,
        "reasons": flag_reasons(metrics, thresholds=thresholds) if job.flagged else [],
        "figures": figures,
        "timings": (job.read_ms, job.inference_ms, job.write_ms),
        "worker": job.worker,
        "attempts": job.attempts,
    }


class _Unavailable(Exception):
    """No preview for this request: the HTTP status and a short reason (no paths, no URIs)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def placeholder_svg(reason: str) -> bytes:
    """A 256x192 grey image saying why there is no preview (browsers draw it in the <img>)."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="192" viewBox="0 0 256 192">'
        '<rect width="256" height="192" fill="#111827"/>'
        '<text x="128" y="100" fill="#9ca3af" font-family="sans-serif" font-size="13" '
        f'text-anchor="middle">{escape(reason)}</text></svg>'
    ).encode()


@router.get("/batches/{name}/jobs/{job_id}/thumb/{which}")
def thumbnail(
    which: Which,
    name: str = Depends(batch_name),
    job_id: int = PathParam(..., ge=1, le=2**63 - 1),
    ctx: DashboardContext = Depends(context),
) -> Response:
    """A <= 256 px preview of a job's input or output, read through the storage layer.

    The job is looked up by id within the named batch and only that row's URI is read.
    Errors answer 404 / 415 / 502 with a small SVG placeholder as the body, 503 when every
    decoding slot stays busy. An image that cannot be previewed is remembered like a preview:
    asking again costs nothing.
    """
    try:
        uri, root = _job_uri(ctx, name, job_id, which)
        data, media_type = ctx.thumbnails.get_or_make(
            (job_id, which, uri), lambda: _render(ctx, uri, root)
        )
    except ThumbnailError:
        return _placeholder(_Unavailable(415, "not a readable image"))
    except _Unavailable as exc:
        return _placeholder(exc)
    ctx.count_thumbnail()
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=300"})


def _placeholder(problem: _Unavailable) -> Response:
    headers = {"X-Unbrand-Reason": problem.reason}
    if problem.status == 503:
        headers["Retry-After"] = "5"
    return Response(placeholder_svg(problem.reason), status_code=problem.status,
                    media_type="image/svg+xml", headers=headers)


def _job_uri(ctx: DashboardContext, name: str, job_id: int, which: str) -> tuple[str, str]:
    """The input or output URI stored in the job's row (never anything from the request), and
    the batch's dataset or output location that reading it must not leave."""
    with session_scope(ctx.session_factory) as session:
        job = crud.get_batch_job(session, batch_name=name, job_id=job_id)
        if job is None:
            raise _Unavailable(404, "no such job")
        input_uri, output_uri, status = job.input_uri, job.output_uri, job.status
        source, output_root = job.batch.source, job.batch.output_root
    if which == "input":
        return str(input_uri), source
    if output_uri is None or status != "done":
        raise _Unavailable(404, f"no output ({status})")
    return str(output_uri), output_root


def _render(ctx: DashboardContext, uri: str, root: str) -> tuple[bytes, str]:
    """Read `uri` through the storage layer, never outside `root`, and shrink it; at most
    MAX_RENDERS at a time (ThumbnailError for what cannot be previewed: the cache keeps it)."""
    if not ctx.renders.acquire(timeout=RENDER_WAIT_S):
        raise _Unavailable(503, "busy: try again")
    try:
        try:
            storage, key = confine(ctx.storage_resolver, root)(uri)
            data = storage.read_bytes(key)
        except (StorageNotFound, StorageKeyError) as exc:
            raise _Unavailable(404, "image not found") from exc
        except StorageError as exc:
            raise _Unavailable(502, "storage unavailable") from exc
        return make_thumbnail(data, max_pixels=ctx.max_pixels)
    finally:
        ctx.renders.release()

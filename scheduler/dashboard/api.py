"""The JSON API (schema at /openapi.json): batches, one batch's status, a batch's jobs.

`/api/batches/{name}` has the shape of `unbrand status NAME --json` (name, total, counts,
source, output root, times, flagged, mean quality, throughput, ETA, failure groups) plus
`progress`; `/api/batches` is the list of those, newest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from scheduler.dashboard.app import MAX_OFFSET, DashboardContext, ErrorOut, batch_name, context
from scheduler.db import crud
from scheduler.db.models import Job
from scheduler.db.session import session_scope
from scheduler.db.stats import BatchSummary, JobFilter, get_summary, job_page, summarise_batches

router = APIRouter(
    prefix="/api",
    tags=["api"],
    responses={503: {"model": ErrorOut, "description": "The job database is unavailable."}},
)
NOT_FOUND = {404: {"model": ErrorOut, "description": "No batch has this name."}}
StatusName = Literal["queued", "running", "done", "failed", "cancelled"]


class StatusCounts(BaseModel):
    """Jobs of a batch per status."""

    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0


class BatchStatus(BaseModel):
    """One batch as `unbrand status --json` prints it."""

    name: str
    total: int
    counts: StatusCounts


class FailureGroupOut(BaseModel):
    reason: str = Field(description="The error with names and numbers blanked.")
    count: int
    example: str = Field(description="One full error text of the group.")


class BatchInfo(BatchStatus):
    """A batch with its progress, speed and quality figures."""

    source: str
    output_root: str
    created_at: datetime
    finished_at: datetime | None
    progress: float = Field(description="Share of jobs in a final state, 0..1.")
    throughput_per_min: float = Field(description="Jobs finished per minute, recent window.")
    eta_seconds: float | None = Field(description="Time left at that speed; null = unknown.")
    flagged: int
    mean_quality: float | None
    failures: list[FailureGroupOut]


class JobInfo(BaseModel):
    """One job row (no credentials: URIs are bucket/key or paths, never presigned)."""

    id: int
    input_uri: str
    output_uri: str | None
    status: str
    attempts: int
    error: str | None
    worker: str | None
    model_version: str | None
    read_ms: float | None
    inference_ms: float | None
    write_ms: float | None
    metrics: dict[str, Any]
    quality_score: float | None
    flagged: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobPage(BaseModel):
    batch: str
    total: int = Field(description="Jobs matching the filter.")
    offset: int
    limit: int
    jobs: list[JobInfo]


def batch_info(summary: BatchSummary) -> BatchInfo:
    """The API model of a summary."""
    return BatchInfo(
        name=summary.name,
        total=summary.total,
        counts=StatusCounts(**summary.counts),
        source=summary.source,
        output_root=summary.output_root,
        created_at=summary.created_at,
        finished_at=summary.finished_at,
        progress=round(summary.progress, 6),
        throughput_per_min=round(summary.throughput_per_min, 6),
        eta_seconds=summary.eta_seconds,
        flagged=summary.flagged,
        mean_quality=summary.mean_quality,
        failures=[FailureGroupOut(**vars(group)) for group in summary.failures],
    )


def job_info(job: Job) -> JobInfo:
    fields = {name: getattr(job, name) for name in JobInfo.model_fields}
    fields["metrics"] = dict(job.metrics or {})
    return JobInfo(**fields)


@router.get("/batches", response_model=list[BatchInfo])
def list_batches(ctx: DashboardContext = Depends(context)) -> list[BatchInfo]:
    """Every batch, newest first, with progress, throughput, ETA and failure groups."""
    with session_scope(ctx.session_factory) as session:
        summaries = summarise_batches(session, window_minutes=ctx.window_minutes)
    return [batch_info(summary) for summary in summaries]


@router.get("/batches/{name}", response_model=BatchInfo, responses=NOT_FOUND)
def batch_status(
    name: str = Depends(batch_name), ctx: DashboardContext = Depends(context)
) -> BatchInfo:
    """One batch as `unbrand status NAME --json` prints it (name, total, counts, speed, ...)."""
    with session_scope(ctx.session_factory) as session:
        summary = get_summary(session, name, window_minutes=ctx.window_minutes)
    if summary is None:
        raise HTTPException(status_code=404, detail=f"no batch named {name!r}")
    return batch_info(summary)


@router.get("/batches/{name}/jobs", response_model=JobPage, responses=NOT_FOUND)
def batch_jobs(
    name: str = Depends(batch_name),
    status: StatusName | None = Query(None, description="Only jobs in this status."),
    flagged: bool | None = Query(None, description="true: flagged for review only."),
    quality_below: float | None = Query(
        None, allow_inf_nan=False, description="Only quality_score below this."
    ),
    offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Jobs to skip (ordered by id)."),
    limit: int = Query(100, ge=1, le=1000, description="Jobs per page."),
    ctx: DashboardContext = Depends(context),
) -> JobPage:
    """One page of a batch's jobs, filtered by status, flag and quality."""
    where = JobFilter(status=status, flagged=flagged, quality_below=quality_below)
    with session_scope(ctx.session_factory) as session:
        batch = crud.get_batch_by_name(session, name=name)
        if batch is None:
            raise HTTPException(status_code=404, detail=f"no batch named {name!r}")
        total, jobs = job_page(session, batch_id=batch.id, where=where, offset=offset, limit=limit)
        items = [job_info(job) for job in jobs]
    return JobPage(batch=name, total=total, offset=offset, limit=limit, jobs=items)

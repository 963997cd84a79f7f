"""The one-page morning summary: counts, speed over time, job times, failures, worst 10 jobs.

`collect_summary` reads the figures (aggregates and streamed columns only);
`render_summary` turns them into summary.html with an inline SVG chart.
"""

from __future__ import annotations

import statistics
from array import array
from dataclasses import dataclass, field
from datetime import datetime

import jinja2
from sqlalchemy.orm import Session

from scheduler.db.stats import (
    BatchSummary,
    done_durations_ms,
    finish_span,
    finish_times,
    worst_jobs,
)
from scheduler.report.html import JobView, ThumbnailWriter, job_view, render
from scheduler.report.plot import Series, bucket_counts, throughput_svg

WORST_COUNT = 10


@dataclass(frozen=True)
class Timings:
    """Job time (read + inference + write) of done jobs, in seconds."""

    count: int
    mean_s: float
    median_s: float
    p95_s: float
    max_s: float


@dataclass
class MorningSummary:
    """Everything summary.html shows."""

    batch: BatchSummary
    generated_at: datetime
    series: Series | None = None
    overall_per_min: float | None = None
    timings: Timings | None = None
    worst: list[JobView] = field(default_factory=list)


def timings_of(durations_ms: array) -> Timings | None:
    """Mean, median, 95th percentile and maximum of the durations (None for none)."""
    if not durations_ms:
        return None
    seconds = sorted(value / 1000.0 for value in durations_ms)
    p95_index = min(len(seconds) - 1, max(0, round(0.95 * len(seconds)) - 1))
    return Timings(
        count=len(seconds),
        mean_s=statistics.fmean(seconds),
        median_s=statistics.median(seconds),
        p95_s=seconds[p95_index],
        max_s=seconds[-1],
    )


def collect_summary(
    session: Session,
    *,
    batch: BatchSummary,
    thumbs: ThumbnailWriter | None,
    generated_at: datetime,
) -> MorningSummary:
    """Read the summary figures of `batch`; worst jobs get thumbnails through `thumbs`."""
    result = MorningSummary(batch=batch, generated_at=generated_at)
    span = finish_span(session, batch_id=batch.id)
    if span is not None:
        first, last = span
        times = finish_times(session, batch_id=batch.id)
        result.series = bucket_counts(times, first=first, last=last)
        minutes = max(
            (last - first).total_seconds() / 60.0, result.series.step.total_seconds() / 60
        )
        result.overall_per_min = result.series.total / minutes
    durations = array("d", done_durations_ms(session, batch_id=batch.id))
    result.timings = timings_of(durations)
    result.worst = [
        job_view(job, thumbs) for job in worst_jobs(session, batch_id=batch.id, limit=WORST_COUNT)
    ]
    return result


def render_summary(env: jinja2.Environment, summary: MorningSummary) -> bytes:
    """summary.html for `summary`."""
    chart = throughput_svg(summary.series) if summary.series is not None else None
    return render(env, "summary.html", s=summary, batch=summary.batch, chart=chart)

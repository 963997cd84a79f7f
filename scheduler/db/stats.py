"""Read-only figures about batches for the dashboard, the metrics endpoint and the report.

Every function takes an explicit session and keyword-only arguments, runs a few
aggregate queries (never loads a whole batch into memory) and works on PostgreSQL and
SQLite alike. Nothing here writes to the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from scheduler.db.models import JOB_STATUSES, Batch, Job, JobStatus, Worker

DEFAULT_WINDOW_MINUTES = 10.0
MIN_ACTIVE_SECONDS = 1.0  # floor of the active time throughput divides by
# Distinct error texts read per batch to group failures; the rest is summed as "other".
MAX_ERROR_TEXTS = 2000
OTHER_REASON = "(other reasons)"
REMAINING_STATUSES = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
PROCESSED_STATUSES = (JobStatus.DONE.value, JobStatus.FAILED.value)


@dataclass(frozen=True)
class FailureGroup:
    """Failed jobs sharing one reason: the reason with names/numbers blanked, one full example."""

    reason: str
    count: int
    example: str


@dataclass
class BatchSummary:
    """What the batch list shows for one batch."""

    id: int
    name: str
    source: str
    output_root: str
    created_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    flagged: int = 0
    mean_quality: float | None = None
    throughput_per_min: float = 0.0
    eta_seconds: float | None = None
    failures: list[FailureGroup] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def remaining(self) -> int:
        return sum(self.counts[status] for status in REMAINING_STATUSES)

    @property
    def finished(self) -> int:
        return self.total - self.remaining

    @property
    def progress(self) -> float:
        """Share of jobs in a final state, in [0, 1] (1 for an empty batch)."""
        return self.finished / self.total if self.total else 1.0

    def status_json(self) -> dict[str, object]:
        """The same shape as `unbrand status --json`: name, total, counts."""
        return {"name": self.name, "total": self.total, "counts": dict(self.counts)}


def utcnow() -> datetime:
    return datetime.now(UTC)


def empty_counts() -> dict[str, int]:
    return {status: 0 for status in JOB_STATUSES}


def status_counts(session: Session, *, batch_ids: Sequence[int] | None = None) -> dict[int, dict]:
    """`{batch_id: {status: count}}` with every status present (zeros included)."""
    query = sa.select(Job.batch_id, Job.status, sa.func.count()).group_by(Job.batch_id, Job.status)
    if batch_ids is not None:
        query = query.where(Job.batch_id.in_(list(batch_ids)))
    result: dict[int, dict[str, int]] = {}
    for batch_id, status, count in session.execute(query):
        result.setdefault(batch_id, empty_counts())[status] = int(count)
    return result


def quality_figures(session: Session, *, batch_ids: Sequence[int]) -> dict[int, tuple[int, float]]:
    """`{batch_id: (flagged jobs, mean quality score or NaN)}`."""
    flagged = sa.func.sum(sa.case((Job.flagged.is_(True), 1), else_=0))
    query = (
        sa.select(Job.batch_id, flagged, sa.func.avg(Job.quality_score))
        .where(Job.batch_id.in_(list(batch_ids)))
        .group_by(Job.batch_id)
    )
    return {
        batch_id: (int(count or 0), float("nan") if mean is None else float(mean))
        for batch_id, count, mean in session.execute(query)
    }


def throughput(
    session: Session,
    *,
    batch_id: int,
    window_minutes: float = DEFAULT_WINDOW_MINUTES,
    now: datetime | None = None,
    finished: bool = False,
) -> float:
    """Jobs per minute over the time the batch was actually being worked on.

    Counted: jobs a worker ran (attempts > 0) that ended done/failed; rows failed at submit
    never ran. A job's activity starts when it was claimed (its finish when that is unknown).
    While jobs remain, the jobs finished within the last `window_minutes`, divided by the
    time from the later of the window's start and the first of those jobs' starts until now
    (a batch that started 1 min ago is not averaged over 10). Once nothing remains
    (`finished`), every such job divided by the span from the first start to the last finish.
    """
    now = now or utcnow()
    since = now - timedelta(minutes=window_minutes)
    conditions = [Job.batch_id == batch_id, Job.status.in_(PROCESSED_STATUSES),
                  Job.attempts > 0, Job.finished_at.is_not(None)]
    if not finished:
        conditions.append(Job.finished_at >= since)
    began = sa.func.coalesce(Job.started_at, Job.finished_at)
    query = sa.select(sa.func.count(), sa.func.min(began),
                      sa.func.max(Job.finished_at)).where(*conditions)
    count, first_start, last_finish = session.execute(query).one()
    if not count or first_start is None or last_finish is None:
        return 0.0
    start, end = (first_start, last_finish) if finished else (max(_aware(first_start), since), now)
    seconds = max((_aware(end) - _aware(start)).total_seconds(), MIN_ACTIVE_SECONDS)
    return int(count) / (seconds / 60.0)


def eta_seconds(remaining: int, per_minute: float) -> float | None:
    """Seconds until `remaining` jobs are through at `per_minute`; 0 when none remain."""
    if remaining == 0:
        return 0.0
    if per_minute <= 0:
        return None
    return remaining / per_minute * 60.0


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_PATHLIKE = re.compile(r"\S*[/\\]\S*")
_NUMBER = re.compile(r"\d+(\.\d+)?")


def normalise_reason(error: str | None) -> str:
    """The first line of an error with quoted names, paths and numbers blanked, for grouping."""
    lines = (error or "").strip().splitlines()
    first = lines[0] if lines else "unknown error"
    text = _QUOTED.sub("'…'", first)
    text = _PATHLIKE.sub("…", text)
    text = _NUMBER.sub("N", text)
    return text[:200]


def failure_groups(session: Session, *, batch_id: int, failed_total: int) -> list[FailureGroup]:
    """Failed jobs grouped by reason, largest group first; counts always sum to `failed_total`."""
    if failed_total == 0:
        return []
    count = sa.func.count().label("n")
    query = (
        sa.select(Job.error, count)
        .where(Job.batch_id == batch_id, Job.status == JobStatus.FAILED.value)
        .group_by(Job.error)
        .order_by(count.desc())
        .limit(MAX_ERROR_TEXTS)
    )
    groups: dict[str, list] = {}
    for error, n in session.execute(query):
        reason = normalise_reason(error)
        entry = groups.setdefault(reason, [0, error or "unknown error"])
        entry[0] += int(n)
    listed = sum(entry[0] for entry in groups.values())
    result = [FailureGroup(reason, n, example) for reason, (n, example) in groups.items()]
    if listed < failed_total:
        result.append(FailureGroup(OTHER_REASON, failed_total - listed, ""))
    return sorted(result, key=lambda group: (-group.count, group.reason))


def summarise_batches(
    session: Session,
    *,
    names: Sequence[str] | None = None,
    window_minutes: float = DEFAULT_WINDOW_MINUTES,
    now: datetime | None = None,
    with_failures: bool = True,
) -> list[BatchSummary]:
    """A summary per batch (newest first), or only for `names` when given."""
    query = sa.select(Batch).order_by(Batch.created_at.desc(), Batch.id.desc())
    if names is not None:
        query = query.where(Batch.name.in_(list(names)))
    batches = list(session.scalars(query))
    ids = [batch.id for batch in batches]
    counts = status_counts(session, batch_ids=ids)
    quality = quality_figures(session, batch_ids=ids) if ids else {}
    summaries = []
    for batch in batches:
        summary = BatchSummary(
            id=batch.id,
            name=batch.name,
            source=batch.source,
            output_root=batch.output_root,
            created_at=batch.created_at,
            finished_at=batch.finished_at,
            counts=counts.get(batch.id, empty_counts()),
        )
        flagged, mean = quality.get(batch.id, (0, float("nan")))
        summary.flagged = flagged
        summary.mean_quality = None if mean != mean else round(mean, 4)
        summary.throughput_per_min = throughput(
            session, batch_id=batch.id, window_minutes=window_minutes, now=now,
            finished=summary.remaining == 0,
        )
        summary.eta_seconds = eta_seconds(summary.remaining, summary.throughput_per_min)
        if with_failures:
            summary.failures = failure_groups(
                session, batch_id=batch.id, failed_total=summary.counts[JobStatus.FAILED.value]
            )
        summaries.append(summary)
    return summaries


def get_summary(session: Session, name: str, **kwargs: object) -> BatchSummary | None:
    """The summary of batch `name`, or None when no batch has that name."""
    found = summarise_batches(session, names=[name], **kwargs)  # type: ignore[arg-type]
    return found[0] if found else None


@dataclass(frozen=True)
class JobFilter:
    """Which jobs of a batch to list: by status, flagged only, quality score below a value."""

    status: str | None = None
    flagged: bool | None = None
    quality_below: float | None = None

    def apply(self, query: sa.Select) -> sa.Select:
        if self.status is not None:
            query = query.where(Job.status == self.status)
        if self.flagged is not None:
            query = query.where(Job.flagged.is_(self.flagged))
        if self.quality_below is not None:
            query = query.where(Job.quality_score < self.quality_below)
        return query


def job_page(
    session: Session, *, batch_id: int, where: JobFilter, offset: int = 0, limit: int = 50
) -> tuple[int, list[Job]]:
    """`(number of matching jobs, one page of them ordered by id)`."""
    base = where.apply(sa.select(Job).where(Job.batch_id == batch_id))
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    page = session.scalars(base.order_by(Job.id).offset(offset).limit(limit))
    return int(total), list(page)


def worst_jobs(session: Session, *, batch_id: int, limit: int = 10) -> list[Job]:
    """Done jobs with the lowest quality score (unscored jobs left out)."""
    query = (
        sa.select(Job)
        .where(
            Job.batch_id == batch_id,
            Job.status == JobStatus.DONE.value,
            Job.quality_score.is_not(None),
        )
        .order_by(Job.quality_score.asc(), Job.id.asc())
        .limit(limit)
    )
    return list(session.scalars(query))


def iter_jobs(session: Session, *, batch_id: int, chunk: int = 1000) -> Iterator[Job]:
    """Every job of a batch in id order, read in chunks (bounded memory for big batches)."""
    last_id = 0
    while True:
        query = (
            sa.select(Job)
            .where(Job.batch_id == batch_id, Job.id > last_id)
            .order_by(Job.id)
            .limit(chunk)
        )
        rows = list(session.scalars(query))
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


def finish_times(session: Session, *, batch_id: int, chunk: int = 5000) -> Iterator[datetime]:
    """finished_at of every done/failed job in the batch (one column, streamed)."""
    query = (
        sa.select(Job.finished_at)
        .where(
            Job.batch_id == batch_id,
            Job.status.in_(PROCESSED_STATUSES),
            Job.finished_at.is_not(None),
        )
        .execution_options(yield_per=chunk)
    )
    for (finished,) in session.execute(query):
        if finished is not None:
            yield finished


def finish_span(session: Session, *, batch_id: int) -> tuple[datetime, datetime] | None:
    """(earliest, latest) finished_at of done/failed jobs, or None when none finished."""
    query = sa.select(sa.func.min(Job.finished_at), sa.func.max(Job.finished_at)).where(
        Job.batch_id == batch_id, Job.status.in_(PROCESSED_STATUSES)
    )
    first, last = session.execute(query).one()
    if first is None or last is None:
        return None
    return _aware(first), _aware(last)


def _aware(value: datetime) -> datetime:
    """Aggregates bypass the column type on SQLite: give naive results back their UTC zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def done_durations_ms(session: Session, *, batch_id: int, chunk: int = 5000) -> Iterator[float]:
    """read + inference + write (ms) of every done job with at least one timing, streamed."""
    parts = (Job.read_ms, Job.inference_ms, Job.write_ms)
    total = sum((sa.func.coalesce(part, 0.0) for part in parts), sa.literal(0.0))
    query = (
        sa.select(total)
        .where(
            Job.batch_id == batch_id,
            Job.status == JobStatus.DONE.value,
            sa.or_(*(part.is_not(None) for part in parts)),
        )
        .execution_options(yield_per=chunk)
    )
    for (value,) in session.execute(query):
        yield float(value)


# ---------------------------------------------------------------------------- /metrics


def job_seconds() -> sa.ColumnElement[float]:
    """read + inference + write of a job in seconds (missing parts count as 0)."""
    parts = (Job.read_ms, Job.inference_ms, Job.write_ms)
    total_ms = sum((sa.func.coalesce(part, 0.0) for part in parts), sa.literal(0.0))
    return total_ms / 1000.0


def jobs_per_batch_and_status(session: Session) -> dict[str, dict[str, int]]:
    """{batch name: {status: jobs}} with every status of every batch (0 when none)."""
    counts = {name: empty_counts() for name in session.scalars(sa.select(Batch.name))}
    query = (
        sa.select(Batch.name, Job.status, sa.func.count())
        .join(Job, Job.batch_id == Batch.id)
        .group_by(Batch.name, Job.status)
    )
    for name, status, count in session.execute(query):
        counts[name][status] = int(count)
    return counts


@dataclass(frozen=True)
class DurationRow:
    """Done-job durations of one batch as a cumulative histogram."""

    batch: str
    count: int
    total_seconds: float
    cumulative: list[int]  # jobs at or under each bound


def done_duration_histogram(session: Session, *, bounds: Sequence[float]) -> list[DurationRow]:
    """Per batch (by name): done jobs, their summed seconds and counts under each bound."""
    seconds = job_seconds()
    le_columns = [sa.func.sum(sa.case((seconds <= bound, 1), else_=0)) for bound in bounds]
    query = (
        sa.select(Batch.name, sa.func.count(), sa.func.sum(seconds), *le_columns)
        .join(Job, Job.batch_id == Batch.id)
        .where(Job.status == JobStatus.DONE.value)
        .group_by(Batch.name)
        .order_by(Batch.name)
    )
    return [DurationRow(name, int(count), float(total or 0.0), [int(n or 0) for n in cumulative])
            for name, count, total, *cumulative in session.execute(query)]


def flagged_per_batch(session: Session) -> dict[str, int]:
    """{batch name: jobs flagged for review}, by name."""
    flagged = sa.func.sum(sa.case((Job.flagged.is_(True), 1), else_=0))
    query = (
        sa.select(Batch.name, flagged)
        .join(Job, Job.batch_id == Batch.id)
        .group_by(Batch.name)
        .order_by(Batch.name)
    )
    return {name: int(count or 0) for name, count in session.execute(query)}


def workers_last_seen(session: Session) -> dict[str, datetime]:
    """{worker name: last heartbeat}, by name."""
    query = sa.select(Worker.name, Worker.last_seen).order_by(Worker.name)
    return {name: last_seen for name, last_seen in session.execute(query)}


def metric_keys(session: Session, *, batch_id: int, chunk: int = 5000) -> list[str]:
    """Every key that appears in any job's metrics, sorted."""
    query = (
        sa.select(Job.metrics).where(Job.batch_id == batch_id).execution_options(yield_per=chunk)
    )
    keys: set[str] = set()
    for (metrics,) in session.execute(query):
        keys.update(str(key) for key in (metrics or {}))
    return sorted(keys)

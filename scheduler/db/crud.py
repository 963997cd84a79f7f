"""Data-access functions for batches, jobs and workers.

Each function takes an explicit session and keyword-only arguments and leaves the
commit to the caller (`session_scope`). State changes are single conditional UPDATEs,
so two workers racing for one job cannot both win: a function returns whether its
change applied (or the ids it changed) instead of reading first and writing after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scheduler.db.models import (
    JOB_STATUSES,
    Batch,
    Job,
    JobStatus,
    UTCDateTime,
    Worker,
    utcnow,
)
from scheduler.errors import BatchExistsError, DatabaseError

QUEUED, RUNNING = JobStatus.QUEUED.value, JobStatus.RUNNING.value
DONE, FAILED, CANCELLED = JobStatus.DONE.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value
INSERT_CHUNK = 5000  # rows per executemany call; the driver pages them further
MAX_ERROR_CHARS = 4000
MAX_LIST_LIMIT = 10_000
MAX_URI_CHARS = 1024  # jobs.input_uri / output_uri are VARCHAR(1024)

# ---------------------------------------------------------------------------- batches


def create_batch(
    session: Session,
    *,
    name: str,
    source: str,
    output_root: str,
    format: str = "auto",
    options: Mapping[str, Any] | None = None,
) -> Batch:
    """Insert a new batch; BatchExistsError when the name is taken (the transaction is then
    unusable: the caller's session_scope rolls it back)."""
    batch = Batch(
        name=name,
        source=source,
        output_root=output_root,
        format=format,
        options=dict(options or {}),
    )
    session.add(batch)
    try:
        session.flush()
    except sa_exc.IntegrityError as exc:
        raise BatchExistsError(f"a batch named {name!r} already exists") from exc
    return batch


def get_batch_by_name(session: Session, *, name: str) -> Batch | None:
    """The batch called `name`, or None."""
    return session.scalar(sa.select(Batch).where(Batch.name == name))


def get_batch(session: Session, *, batch_id: int) -> Batch | None:
    """The batch with this id, or None."""
    return session.get(Batch, batch_id)


def finish_batch_if_complete(
    session: Session, *, batch_id: int, now: datetime | None = None
) -> bool:
    """Set `finished_at` once no job of the batch is queued or running; True when it was set."""
    active = sa.select(Job.id).where(Job.batch_id == batch_id, Job.status.in_((QUEUED, RUNNING)))
    result = session.execute(
        sa.update(Batch)
        .where(Batch.id == batch_id, Batch.finished_at.is_(None), ~sa.exists(active))
        .values(finished_at=now or utcnow())
    )
    return _changed(result)


# ---------------------------------------------------------------------------- job rows


def get_job(session: Session, *, job_id: int) -> Job | None:
    """The job with this id, or None."""
    return session.get(Job, job_id)


def get_job_and_batch(session: Session, *, job_id: int) -> tuple[Job, Batch] | None:
    """The job and its batch in one query, or None."""
    row = session.execute(
        sa.select(Job, Batch).join(Batch, Job.batch_id == Batch.id).where(Job.id == job_id)
    ).first()
    return None if row is None else (row[0], row[1])


def get_batch_job(session: Session, *, batch_name: str, job_id: int) -> Job | None:
    """Job `job_id` when it belongs to the batch named `batch_name`, else None."""
    return session.scalar(
        sa.select(Job).join(Batch, Batch.id == Job.batch_id)
        .where(Job.id == job_id, Batch.name == batch_name)
    )


def input_uris(session: Session, *, batch_id: int) -> set[str]:
    """The input URIs the batch already has jobs for."""
    return set(session.scalars(sa.select(Job.input_uri).where(Job.batch_id == batch_id)))


def queued_job_ids(session: Session, *, batch_id: int, after_id: int = 0,
                   limit: int = 10_000) -> list[int]:
    """Ids of the batch's queued jobs above `after_id`, in id order (one page)."""
    return list(session.scalars(
        sa.select(Job.id)
        .where(Job.batch_id == batch_id, Job.status == JobStatus.QUEUED.value, Job.id > after_id)
        .order_by(Job.id)
        .limit(limit)
    ))


def bulk_insert_jobs(
    session: Session, *, batch_id: int, jobs: Iterable[Mapping[str, Any]]
) -> list[int]:
    """Insert job rows, skipping inputs the batch already has; returns the new ids.

    Each mapping has `input_uri` and `mask_spec`, optionally `output_uri`, and
    `status`/`error` (a dataset item that could not be read is inserted as `failed`
    with its reason). Re-submitting the same inputs inserts nothing
    (ON CONFLICT DO NOTHING on PostgreSQL, INSERT OR IGNORE semantics on SQLite).
    """
    statement = _insert(session, Job).on_conflict_do_nothing(
        index_elements=["batch_id", "input_uri"]
    )
    statement = statement.returning(Job.__table__.c.id)
    new_ids: list[int] = []
    chunk: list[dict[str, Any]] = []
    now = utcnow()
    for spec in jobs:
        chunk.append(_job_row(batch_id, spec, now))
        if len(chunk) >= INSERT_CHUNK:
            new_ids.extend(session.execute(statement, chunk).scalars())
            chunk = []
    if chunk:
        new_ids.extend(session.execute(statement, chunk).scalars())
    return sorted(new_ids)


def _job_row(batch_id: int, spec: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """One complete row for executemany (every row must carry the same columns)."""
    status = spec.get("status", QUEUED)
    if status not in (QUEUED, FAILED, CANCELLED):
        raise ValueError(f"a new job cannot start as {status!r}")
    input_uri = str(spec.get("input_uri") or "")
    if not input_uri:
        raise ValueError("every job needs an input_uri")
    if len(input_uri) > MAX_URI_CHARS:
        raise DatabaseError(
            f"input URI longer than {MAX_URI_CHARS} characters: {input_uri[:80]}..."
        )
    error = spec.get("error")
    return {
        "batch_id": batch_id,
        "input_uri": input_uri,
        "mask_spec": dict(spec.get("mask_spec") or {}),
        "output_uri": spec.get("output_uri"),
        "status": status,
        "error": _clip(error) if error else None,
        "attempts": 0,
        "metrics": {},
        "flagged": False,
        "created_at": now,
        "finished_at": now if status != QUEUED else None,
    }


def _insert(session: Session, model: type[Any]) -> Any:
    """The dialect's INSERT construct (both support ON CONFLICT)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model.__table__)
    if dialect == "sqlite":
        return sqlite.insert(model.__table__)
    raise DatabaseError(f"database dialect {dialect!r} is not supported (PostgreSQL, SQLite)")


# ---------------------------------------------------------------------------- state changes


def claim_job(
    session: Session,
    *,
    job_id: int,
    worker: str,
    stale_after: float | None = None,
    now: datetime | None = None,
) -> bool:
    """Atomically take a queued job (or a running one whose heartbeat is older than
    `stale_after` seconds) for `worker`; True when this call won it."""
    now = now or utcnow()
    claimable = Job.status == QUEUED
    if stale_after is not None:
        claimable = claimable | ((Job.status == RUNNING) & _stale(now, stale_after))
    took_over = sa.case((Job.status == RUNNING, 1), else_=0)  # its worker vanished
    result = session.execute(
        sa.update(Job)
        .where(Job.id == job_id, claimable)
        .values(
            status=RUNNING,
            attempts=Job.attempts + 1,
            lost_attempts=Job.lost_attempts + took_over,
            worker=worker,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def _stale(now: datetime, older_than: float) -> sa.ColumnElement[bool]:
    """Running rows whose last sign of life (heartbeat, else start) is older than the cutoff."""
    cutoff = now - timedelta(seconds=older_than)
    last_seen = sa.func.coalesce(Job.heartbeat_at, Job.started_at)
    return sa.or_(last_seen.is_(None), last_seen < sa.literal(cutoff, type_=UTCDateTime()))


def release_job(session: Session, *, job_id: int, worker: str) -> bool:
    """Hand a claim back (running -> queued) so a retry can take it; True when released."""
    result = session.execute(
        sa.update(Job)
        .where(Job.id == job_id, Job.status == RUNNING, Job.worker == worker)
        .values(status=QUEUED, heartbeat_at=None, started_at=None)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def release_worker_jobs(session: Session, *, worker: str, batch_id: int | None = None) -> list[int]:
    """Hand every job `worker` holds back (running -> queued), e.g. when an embedded run
    stops; not a lost attempt. Returns their ids."""
    condition = [Job.status == RUNNING, Job.worker == worker]
    if batch_id is not None:
        condition.append(Job.batch_id == batch_id)
    return _requeue(session, condition)


def heartbeat(
    session: Session, *, job_id: int, worker: str | None = None, now: datetime | None = None
) -> bool:
    """Refresh a running job's heartbeat; False when the job is no longer ours/running."""
    condition = [Job.id == job_id, Job.status == RUNNING]
    if worker is not None:
        condition.append(Job.worker == worker)
    result = session.execute(
        sa.update(Job)
        .where(*condition)
        .values(heartbeat_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def mark_done(
    session: Session,
    *,
    job_id: int,
    output_uri: str,
    worker: str | None = None,
    model_version: str | None = None,
    read_ms: float | None = None,
    inference_ms: float | None = None,
    write_ms: float | None = None,
    metrics: Mapping[str, Any] | None = None,
    quality_score: float | None = None,
    flagged: bool = False,
    now: datetime | None = None,
) -> bool:
    """Record a finished job; False when it was cancelled, failed, done or taken over meanwhile."""
    values = {
        "status": DONE,
        "output_uri": output_uri,
        "model_version": model_version,
        "read_ms": read_ms,
        "inference_ms": inference_ms,
        "write_ms": write_ms,
        "metrics": dict(metrics or {}),
        "quality_score": quality_score,
        "flagged": flagged,
        "error": None,
        "finished_at": now or utcnow(),
    }
    return _finish(session, job_id=job_id, worker=worker, values=values)


def mark_failed(
    session: Session,
    *,
    job_id: int,
    error: str,
    worker: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Record a failure with its readable reason; False when the job already ended elsewhere."""
    values = {"status": FAILED, "error": _clip(error), "finished_at": now or utcnow()}
    return _finish(session, job_id=job_id, worker=worker, values=values)


def _finish(session: Session, *, job_id: int, worker: str | None, values: dict[str, Any]) -> bool:
    """Apply an end state to a queued/running job (owned by `worker` when one is given)."""
    condition = [Job.id == job_id, Job.status.in_((QUEUED, RUNNING))]
    if worker is not None:
        condition.append(sa.or_(Job.worker.is_(None), Job.worker == worker))
    result = session.execute(
        sa.update(Job)
        .where(*condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def mark_cancelled(session: Session, *, job_id: int, now: datetime | None = None) -> bool:
    """Cancel one queued or running job; True when it changed."""
    return _finish(
        session,
        job_id=job_id,
        worker=None,
        values={"status": CANCELLED, "finished_at": now or utcnow()},
    )


def cancel_batch(
    session: Session, *, batch_id: int, include_running: bool = True, now: datetime | None = None
) -> int:
    """Cancel the batch's queued (and by default running) jobs; returns how many.

    A worker still busy with a cancelled job finds it cancelled when it finishes and its
    result is not recorded (`mark_done` returns False).
    """
    statuses = (QUEUED, RUNNING) if include_running else (QUEUED,)
    result = session.execute(
        sa.update(Job)
        .where(Job.batch_id == batch_id, Job.status.in_(statuses))
        .values(status=CANCELLED, finished_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def requeue_failed(
    session: Session,
    *,
    batch_id: int | None = None,
    job_ids: Sequence[int] | None = None,
    include_cancelled: bool = False,
) -> list[int]:
    """Put failed (optionally also cancelled) jobs back in the queue; returns their ids."""
    statuses = (FAILED, CANCELLED) if include_cancelled else (FAILED,)
    condition: list[sa.ColumnElement[bool]] = [Job.status.in_(statuses)]
    if batch_id is not None:
        condition.append(Job.batch_id == batch_id)
    if job_ids is not None:
        condition.append(Job.id.in_(list(job_ids)))
    ids = _requeue(session, condition)
    if ids:
        _reopen_batches(session, ids)
    return ids


def requeue_stale(
    session: Session,
    *,
    older_than: float,
    batch_id: int | None = None,
    job_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Running jobs without a heartbeat for `older_than` seconds go back to queued (their
    worker died: each counts a lost attempt); returns their ids so the caller can publish
    them again. One UPDATE ... RETURNING: two sweepers never both get the same job."""
    condition = [Job.status == RUNNING, _stale(now or utcnow(), older_than)]
    if batch_id is not None:
        condition.append(Job.batch_id == batch_id)
    if job_ids is not None:
        condition.append(Job.id.in_(list(job_ids)))
    return _requeue(session, condition, lost=True)


def stale_running_jobs(
    session: Session, *, older_than: float, now: datetime | None = None, limit: int = 1000
) -> list[tuple[int, dict[str, Any]]]:
    """(job id, its batch's options) of running jobs whose heartbeat is older than
    `older_than` seconds, oldest first."""
    rows = session.execute(
        sa.select(Job.id, Batch.options).join(Batch, Batch.id == Job.batch_id)
        .where(Job.status == RUNNING, _stale(now or utcnow(), older_than))
        .order_by(Job.id).limit(limit)
    )
    return [(int(job_id), dict(options or {})) for job_id, options in rows]


def _requeue(session: Session, condition: list[Any], *, lost: bool = False) -> list[int]:
    result = session.execute(
        sa.update(Job)
        .where(*condition)
        .values(
            status=QUEUED,
            error=None,
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
            lost_attempts=Job.lost_attempts + (1 if lost else 0),
        )
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars())


def _reopen_batches(session: Session, job_ids: list[int]) -> None:
    batch_ids = sa.select(Job.batch_id).where(Job.id.in_(job_ids)).distinct()
    session.execute(sa.update(Batch).where(Batch.id.in_(batch_ids)).values(finished_at=None))


# ---------------------------------------------------------------------------- queries


def count_by_status(session: Session, *, batch_id: int | None = None) -> dict[str, int]:
    """{status: count} with every status present (zeros included)."""
    query = sa.select(Job.status, sa.func.count()).group_by(Job.status)
    if batch_id is not None:
        query = query.where(Job.batch_id == batch_id)
    counts = dict.fromkeys(JOB_STATUSES, 0)
    for status, count in session.execute(query):
        counts[status] = int(count)
    return counts


def list_jobs(
    session: Session,
    *,
    batch_id: int | None = None,
    status: str | Iterable[str] | None = None,
    flagged: bool | None = None,
    worker: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    newest_first: bool = False,
) -> list[Job]:
    """Jobs matching the filters, ordered by id; page with `limit` + `offset` or `after_id`."""
    if not 1 <= limit <= MAX_LIST_LIMIT or offset < 0:
        raise ValueError(f"limit must be 1..{MAX_LIST_LIMIT} and offset >= 0")
    query = sa.select(Job)
    if batch_id is not None:
        query = query.where(Job.batch_id == batch_id)
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        unknown = set(statuses) - set(JOB_STATUSES)
        if unknown:
            raise ValueError(f"unknown job status {sorted(unknown)}")
        query = query.where(Job.status.in_(statuses))
    if flagged is not None:
        query = query.where(Job.flagged.is_(flagged))
    if worker is not None:
        query = query.where(Job.worker == worker)
    if after_id is not None:
        query = query.where(Job.id < after_id if newest_first else Job.id > after_id)
    order = Job.id.desc() if newest_first else Job.id.asc()
    return list(session.scalars(query.order_by(order).limit(limit).offset(offset)))


def output_uris(session: Session, *, batch_id: int, after_id: int = 0,
                limit: int = 1000) -> list[tuple[int, str]]:
    """(job id, output URI) of the batch's jobs that have an output, in id order, a page at a
    time (`after_id`: the last id of the previous page)."""
    query = (sa.select(Job.id, Job.output_uri)
             .where(Job.batch_id == batch_id, Job.id > after_id, Job.output_uri.is_not(None))
             .order_by(Job.id).limit(limit))
    return [(int(job_id), str(uri)) for job_id, uri in session.execute(query)]


def delete_batch(session: Session, *, batch_id: int) -> int:
    """Delete the batch row and every job row of it; returns how many jobs were deleted.
    Output objects are not touched."""
    deleted = session.execute(sa.delete(Job).where(Job.batch_id == batch_id))
    session.execute(sa.delete(Batch).where(Batch.id == batch_id))
    return int(deleted.rowcount or 0)


# ---------------------------------------------------------------------------- workers


def upsert_worker(
    session: Session,
    *,
    name: str,
    hostname: str,
    queues: str,
    pid: int | None,
    started_at: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """Announce a worker or refresh its heartbeat (`last_seen`); `started_at` when (re)started."""
    now = now or utcnow()
    row = {
        "name": name,
        "hostname": hostname,
        "queues": queues,
        "pid": pid,
        "started_at": started_at or now,
        "last_seen": now,
    }
    statement = _insert(session, Worker).values(**row)
    updates = {"hostname": hostname, "queues": queues, "pid": pid, "last_seen": now}
    if started_at is not None:
        updates["started_at"] = started_at
    session.execute(statement.on_conflict_do_update(index_elements=["name"], set_=updates))


def touch_worker(session: Session, *, name: str, now: datetime | None = None) -> bool:
    """Refresh `last_seen` of the worker's row (its heartbeat); False when it has no row."""
    result = session.execute(
        sa.update(Worker).where(Worker.name == name).values(last_seen=now or utcnow())
    )
    return _changed(result)


def list_workers(
    session: Session, *, seen_within: float | None = None, now: datetime | None = None
) -> list[Worker]:
    """Workers by name; only those seen in the last `seen_within` seconds when given."""
    query = sa.select(Worker).order_by(Worker.name)
    if seen_within is not None:
        query = query.where(Worker.last_seen >= (now or utcnow()) - timedelta(seconds=seen_within))
    return list(session.scalars(query))


# ---------------------------------------------------------------------------- helpers


def _changed(result: Any) -> bool:
    return bool(result.rowcount and result.rowcount > 0)


def _clip(text: str) -> str:
    """An error message short enough for the row (the full traceback belongs in logs)."""
    text = str(text)
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."

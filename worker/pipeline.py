"""One job from queued to done: the single code path of the Celery task and the embedded runner.

    process_job(job_id)
      read the row ─ done / cancelled / failed ─> skipped (nothing to do)
      claim it (atomic queued -> running) ─ running elsewhere ─> busy (try later)
      read image + mask (+ truth) through storage          read_ms
        (the batch options' mask_mode and fixed watermark apply, see job_io)
      Inpainter.inpaint                                     inference_ms
      encode, write to the deterministic output key         write_ms
      metrics, quality score, mark done

Failures: bad input (ImageInputError, DatasetError, a missing or unsafe object, a broken
mask spec) fails only this job, with a readable reason, and is not retried. Transient
faults (TransientStorageError, TransientDatabaseError) hand the claim back and propagate so
Celery retries with backoff. Anything else is recorded as an internal error on the job.
The output is written only after inference succeeded, always at the same key, so a rerun
produces the same object instead of a second one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session, sessionmaker

from inpaint_core.errors import ImageInputError
from scheduler.db import crud
from scheduler.db.models import Job, JobStatus
from scheduler.db.session import session_scope
from scheduler.errors import (
    DatasetError,
    OutputNotWritable,
    StorageError,
    StorageFull,
    StorageKeyError,
    StorageNotFound,
    StorageTimeout,
    TransientDatabaseError,
    TransientStorageError,
    UnbrandError,
)
from scheduler.options import BatchOptions, MaskSpec
from scheduler.quality import assess
from scheduler.settings import Settings
from scheduler.storage import Storage, UriResolver, confine
from worker.job_io import (
    DEFAULT_MAX_PIXELS,
    compute_metrics,
    encode_output,
    load_inputs,
    output_location,
)
from worker.services import heartbeats
from worker.watchdog import JobWatchdog, time_limit_reason

if TYPE_CHECKING:
    from inpaint_core.inference.inpainter import Inpainter

log = logging.getLogger(__name__)

InpainterProvider = Callable[[], "Inpainter"]

# Bad input: fail this job only, never retry.
# seconds a Celery worker waits past a job's time limit for its code to return before it
# exits so that its supervisor restarts it (worker/watchdog.py)
SOFT_LIMIT_GRACE = 30.0

PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    ImageInputError,
    DatasetError,
    StorageNotFound,
    StorageKeyError,
    StorageError,
)
# Worth another try later: Celery's autoretry handles these.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (TransientStorageError, TransientDatabaseError)


@dataclass(frozen=True)
class PipelineOptions:
    """Limits of one job run."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    heartbeat_interval: float = 10.0  # seconds between heartbeat_at updates while running
    stale_after: float = 60.0  # a running row without heartbeat this long may be taken over
    time_limit: float | None = None  # seconds; past it the watchdog fails the job
    max_attempts: int = 3  # attempts whose worker vanished before the job fails instead
    read_timeout: float | None = None  # seconds one read of an input may take
    exit_grace: float | None = None  # a worker still stuck this long past the limit exits

    @classmethod
    def from_settings(cls, settings: Settings, *, worker_process: bool = True) -> PipelineOptions:
        """The limits of this process's settings. A Celery worker process (`worker_process`)
        is ended when a job stays stuck past its time limit (its supervisor restarts it);
        the embedded runner only fails the job."""
        return cls(max_pixels=settings.max_pixels, heartbeat_interval=settings.heartbeat_interval,
                   stale_after=settings.stale_after, time_limit=settings.task_time_limit,
                   max_attempts=settings.max_attempts, read_timeout=settings.read_timeout,
                   exit_grace=SOFT_LIMIT_GRACE if worker_process else None)


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one job in this call.

    status: "done" / "failed" (the row says so too), "skipped" (already finished or
    cancelled: nothing done) or "busy" (another worker holds a fresh claim on it).
    """

    job_id: int
    status: str
    output_uri: str | None = None
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status, "output_uri": self.output_uri,
                "error": self.error, "timings": self.timings, "metrics": self.metrics}


@dataclass(frozen=True)
class Ticket:
    """A claimed job with everything needed to run it, read once from the database."""

    job_id: int
    batch_id: int
    input_uri: str
    mask_spec: dict[str, Any]
    batch_name: str
    source: str  # the dataset's URI: local reads of the job stay inside its folder
    output_root: str
    options: dict[str, Any]


def process_job(
    job_id: int,
    *,
    session_factory: sessionmaker[Session],
    inpainter_provider: InpainterProvider,
    storage_resolver: UriResolver,
    worker_name: str,
    options: PipelineOptions | None = None,
) -> JobOutcome:
    """Run job `job_id` to its end (see the module docstring); returns what happened."""
    options = options or PipelineOptions()
    claimed = claim(session_factory, job_id, worker_name=worker_name,
                    stale_after=options.stale_after, max_attempts=options.max_attempts)
    if isinstance(claimed, JobOutcome):
        return claimed
    watchdog = JobWatchdog(
        beat=lambda: _heartbeat(session_factory, job_id, worker_name),
        on_overrun=lambda: fail(session_factory, job_id, worker_name=worker_name,
                                reason=time_limit_reason(options.time_limit)),
        time_limit=options.time_limit, exit_grace=options.exit_grace)
    try:
        with heartbeats().track(watchdog.tick, options.heartbeat_interval):
            return _run(claimed, session_factory, inpainter_provider, storage_resolver,
                        worker_name, options)
    except TRANSIENT_ERRORS:  # before PERMANENT_ERRORS: TransientStorageError is a StorageError
        release(session_factory, job_id, worker_name=worker_name)
        raise
    except PERMANENT_ERRORS as exc:
        return fail(session_factory, job_id, reason=describe_error(exc), worker_name=worker_name)
    except SoftTimeLimitExceeded:  # it would run out of time again: fail it, say what to change
        return fail(session_factory, job_id, reason=time_limit_reason(options.time_limit),
                    worker_name=worker_name)
    except Exception as exc:  # a bug or a model fault: the job must still end with a reason
        log.exception("job %s failed with an unexpected error", job_id)
        reason = f"internal error: {type(exc).__name__}: {exc}"
        return fail(session_factory, job_id, reason=reason, worker_name=worker_name)
    finally:
        watchdog.finished()


def claim(
    factory: sessionmaker[Session], job_id: int, *, worker_name: str, stale_after: float,
    max_attempts: int | None = None,
) -> Ticket | JobOutcome:
    """Claim the job for this worker, or say why not (skipped / busy); a job whose worker
    vanished `max_attempts` times (a poison message) is failed instead of run again."""
    with session_scope(factory) as session:
        row = crud.get_job_and_batch(session, job_id=job_id)
        if row is None:
            return JobOutcome(job_id, "skipped", error="no such job (deleted?)")
        job, batch = row
        if job.status in (JobStatus.DONE, JobStatus.CANCELLED, JobStatus.FAILED):
            return JobOutcome(job_id, "skipped", output_uri=job.output_uri, error=job.error)
        if not crud.claim_job(session, job_id=job_id, worker=worker_name, stale_after=stale_after):
            return JobOutcome(job_id, "busy", error=f"running on {job.worker}")
        session.refresh(job)
        if max_attempts is not None and job.lost_attempts >= max_attempts:
            reason = lost_reason(job.lost_attempts)
            crud.mark_failed(session, job_id=job_id, error=reason, worker=worker_name)
            crud.finish_batch_if_complete(session, batch_id=batch.id)
            log.warning("job %s failed: %s", job_id, reason)
            return JobOutcome(job_id, "failed", error=reason)
        return Ticket(job_id=job_id, batch_id=batch.id, input_uri=job.input_uri,
                      mask_spec=dict(job.mask_spec or {}), batch_name=batch.name,
                      source=batch.source, output_root=batch.output_root,
                      options=dict(batch.options or {}))


def _run(
    ticket: Ticket,
    factory: sessionmaker[Session],
    inpainter_provider: InpainterProvider,
    storage_resolver: UriResolver,
    worker_name: str,
    options: PipelineOptions,
) -> JobOutcome:
    from inpaint_core.inference.remove import remove  # torch: only where jobs run

    inpainter = inpainter_provider()  # loads the model on a process's first job: not timed
    started = time.perf_counter()
    batch_options = BatchOptions.load(ticket.options)
    inputs = load_inputs(ticket.input_uri, MaskSpec.load(ticket.mask_spec),
                         confine(storage_resolver, ticket.source),  # no symlink leads out
                         options=batch_options, max_pixels=options.max_pixels,
                         read_timeout=options.read_timeout)
    read_done = time.perf_counter()
    removal = remove(inpainter, inputs.image.rgb, boxes=inputs.boxes, mask=inputs.pixel_mask,
                     mode=inputs.mode)
    inference_done = time.perf_counter()
    metrics = compute_metrics(inputs, removal)
    # None without discriminator weights
    realness = inpainter.realness(removal.output, removal.fill)
    if realness is not None:
        metrics["disc_realness"] = realness
    score, flagged = assess(metrics)
    data, ext, content_type = encode_output(removal.output, inputs.image,
                                            quality=batch_options.jpeg_quality)
    # the output is written last, and only while the job is still ours: a job cancelled or
    # failed (time limit) meanwhile gets no object
    if not _still_ours(factory, ticket.job_id, worker_name):
        return JobOutcome(ticket.job_id, "skipped", error="cancelled or taken over while running")
    encoded = time.perf_counter()
    storage, key = output_location(ticket.output_root, ticket.batch_name, inputs.rel_path, ext,
                                   storage_resolver, distinct=inputs.distinct_output)
    _write(storage, key, data, content_type, object_metadata(ticket, inpainter.model_version))
    timings = {
        "read_ms": 1000 * (read_done - started),
        "inference_ms": 1000 * (inference_done - read_done),
        "write_ms": 1000 * (time.perf_counter() - encoded),
    }
    output_uri = storage.uri_for(key)
    finished = _finish_or_remove(factory, ticket, storage, key, worker_name=worker_name,
                                 output_uri=output_uri, metrics=metrics, quality_score=score,
                                 flagged=flagged, model_version=inpainter.model_version,
                                 **timings)
    status = "done" if finished else "skipped"
    return JobOutcome(ticket.job_id, status, output_uri=output_uri if finished else None,
                      timings=timings, metrics=metrics)


def _write(storage: Storage, key: str, data: bytes, content_type: str,
           metadata: dict[str, str]) -> None:
    """Store the output; a refusal that is no outage and no full disk (a missing bucket, no
    permission) is about the output, not the input: OutputNotWritable."""
    try:
        storage.write_bytes(key, data, content_type=content_type, metadata=metadata)
    except (TransientStorageError, StorageFull):
        raise
    except StorageError as exc:  # e.g. NoSuchBucket
        raise OutputNotWritable(str(exc)) from exc


def _finish_or_remove(factory: sessionmaker[Session], ticket: Ticket, storage: Storage,
                      key: str, **fields: Any) -> bool:
    """Mark the job done; when that does not happen (the job stopped being ours in the last
    instant, or the database refused with a permanent error) the object just written is
    removed, so no job that is not done has an output. A transient database error keeps it:
    the retry writes the same object again and finishes."""
    try:
        finished = _finish(factory, ticket, **fields)
    except TRANSIENT_ERRORS:
        raise
    except BaseException:
        _remove_output(storage, key, ticket.job_id)
        raise
    if not finished:
        _remove_output(storage, key, ticket.job_id)
    return finished


def _remove_output(storage: Storage, key: str, job_id: int) -> None:
    try:
        storage.delete(key)
        log.warning("job %s: removed its output %s (the job did not end done)", job_id,
                    storage.uri_for(key))
    except StorageError as exc:
        log.error("job %s: could not remove its output %s: %s", job_id, storage.uri_for(key), exc)


def object_metadata(ticket: Ticket, model_version: str) -> dict[str, str]:
    """S3 user metadata of an output (x-amz-meta-unbrand-*): ASCII only, as S3 requires."""
    values = {"unbrand-job-id": str(ticket.job_id), "unbrand-batch": ticket.batch_name,
              "unbrand-model-version": model_version or "unknown"}
    return {key: value.encode("ascii", "replace").decode("ascii")
            for key, value in values.items()}


def _finish(factory: sessionmaker[Session], ticket: Ticket, *, worker_name: str,
            **fields: Any) -> bool:
    """Mark done (only if the job is still ours) and close the batch when it was the last."""
    with session_scope(factory) as session:
        done = crud.mark_done(session, job_id=ticket.job_id, worker=worker_name, **fields)
        if done:
            crud.finish_batch_if_complete(session, batch_id=ticket.batch_id)
        return done


def _heartbeat(factory: sessionmaker[Session], job_id: int, worker_name: str) -> None:
    with session_scope(factory) as session:
        crud.heartbeat(session, job_id=job_id, worker=worker_name)


def _still_ours(factory: sessionmaker[Session], job_id: int, worker_name: str) -> bool:
    """Whether the job is still running under this worker (a last heartbeat before writing:
    a job cancelled while it ran gets no output object)."""
    with session_scope(factory) as session:
        return crud.heartbeat(session, job_id=job_id, worker=worker_name)


def fail(factory: sessionmaker[Session], job_id: int, *, reason: str,
         worker_name: str | None = None) -> JobOutcome:
    """Mark the job failed with `reason` (readable, one line) and say so."""
    with session_scope(factory) as session:
        if crud.mark_failed(session, job_id=job_id, error=reason, worker=worker_name):
            job = session.get(Job, job_id)
            if job is not None:
                crud.finish_batch_if_complete(session, batch_id=job.batch_id)
    log.warning("job %s failed: %s", job_id, reason)
    return JobOutcome(job_id, "failed", error=reason)


def release(factory: sessionmaker[Session], job_id: int, *, worker_name: str) -> None:
    """Hand a claim back (running -> queued) before a retry; best effort."""
    try:
        with session_scope(factory) as session:
            crud.release_job(session, job_id=job_id, worker=worker_name)
    except UnbrandError as exc:
        log.warning("could not release job %s before retry: %s", job_id, exc)


def lost_reason(lost: int) -> str:
    """The job row's reason for a job that keeps killing its worker."""
    return (f"worker lost: the worker running this job vanished {lost} times (killed, out of "
            "memory?); it is not run again (UNBRAND_MAX_ATTEMPTS)")


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a job row, naming the kind of problem."""
    kind = {
        OutputNotWritable: "output not writable",
        ImageInputError: "bad image",
        DatasetError: "bad dataset entry",
        StorageNotFound: "input not found",
        StorageKeyError: "unsafe path",
        StorageFull: "storage full",
        StorageTimeout: "storage timeout",
        StorageError: "storage error",
    }
    label = next((text for cls, text in kind.items() if isinstance(exc, cls)), "error")
    message = " ".join(str(exc).split()) or type(exc).__name__
    return f"{label}: {message}"


"""The Celery task `unbrand.process_job`: takes a job id, runs the shared pipeline.

Retries: only transient faults (storage or database unreachable, Redis/SQL operational
errors) are retried, with exponential backoff and jitter; bad input is failed by the
pipeline and never retried. When the retries run out, `on_failure` records the last error
on the job row so nothing ends silently. A job held by another live worker ("busy") is
looked at again later, once that worker's heartbeat would have gone stale.

A job that ends `failed` ends its task as a Celery failure too (JobFailedError, declared in
`throws` and not in `autoretry_for`): task events, results and Flower count it as failed,
it is not retried, and its row keeps the pipeline's reason.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis.exceptions
from celery import Task
from sqlalchemy import exc as sa_exc

from scheduler.errors import (
    TransientDatabaseError,
    TransientQueueError,
    TransientStorageError,
    UnbrandError,
)
from scheduler.queue import TASK_NAME
from worker.batcher import SharedInpainter
from worker.celery_app import app, shares_model
from worker.model_cache import ModelSpec, process_cache
from worker.pipeline import PipelineOptions, fail, process_job
from worker.services import process_resources

log = logging.getLogger(__name__)

RETRY_ERRORS: tuple[type[BaseException], ...] = (
    TransientStorageError,
    TransientDatabaseError,
    TransientQueueError,
    sa_exc.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# Backoff is 2, 4, 8 ... s with full jitter (each wait drawn from 0..N): 5 retries could
# give up after a few seconds of a storage or database outage; 8 ride out minutes.
MAX_RETRIES = 8
BUSY_MAX_RETRIES = 50  # a busy job is re-checked at most this many times


class JobBusyError(Exception):
    """Another worker holds a fresh claim on the job."""


class JobFailedError(Exception):
    """The job ended `failed` (the reason is on its row): the task's outcome is a failure."""


class JobTask(Task):
    """Base of the job task: transient faults retry with backoff; final failures are recorded."""

    autoretry_for = RETRY_ERRORS
    max_retries = MAX_RETRIES
    retry_backoff = 2  # seconds before the first retry, doubling each time
    retry_backoff_max = 300
    retry_jitter = True
    acks_late = True
    reject_on_worker_lost = True
    throws = (JobFailedError,)  # an expected failure: logged without a traceback

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any,
                   einfo: Any) -> None:
        """The task gave up: write the reason on the job row (best effort)."""
        if isinstance(exc, JobBusyError):  # the other worker still owns the job and its outcome
            log.warning("job %s: still busy elsewhere, giving up watching it", args)
            return
        if isinstance(exc, JobFailedError):  # the pipeline recorded the reason already
            return
        job_id = int(args[0]) if args else int(kwargs.get("job_id", 0))
        tries = self.request.retries + 1
        reason = f"gave up after {tries} attempt(s): {type(exc).__name__}: {exc}"
        try:
            fail(process_resources().session_factory, job_id, reason=reason,
                 worker_name=self.request.hostname)
        except UnbrandError as db_exc:
            log.error("job %s: could not record failure (%s): %s", job_id, db_exc, reason)


def pipeline_options() -> PipelineOptions:
    settings = process_resources().settings
    return PipelineOptions.from_settings(settings)


_shared: SharedInpainter | None = None
_shared_lock = threading.Lock()


def provide_inpainter() -> Any:
    """The Inpainter of this process, loaded on the first job (see model_cache); under a
    threads pool one SharedInpainter batches the jobs' crops through it (worker/batcher.py)."""
    global _shared
    inpainter = process_cache().get(ModelSpec.from_settings(process_resources().settings))
    if not shares_model():
        return inpainter
    with _shared_lock:
        if _shared is None or _shared.inner is not inpainter:
            _shared = SharedInpainter(inpainter)
        return _shared


@app.task(name=TASK_NAME, bind=True, base=JobTask)
def process_job_task(self: JobTask, job_id: int) -> dict[str, Any]:
    """Run one job; the returned dict is informational (results are not stored). A job that
    ended `failed` raises JobFailedError with its reason."""
    resources = process_resources()
    outcome = process_job(
        int(job_id),
        session_factory=resources.session_factory,
        inpainter_provider=provide_inpainter,
        storage_resolver=resources.storage_resolver,
        worker_name=self.request.hostname or "worker",
        options=pipeline_options(),
    )
    if outcome.status == "busy":
        countdown = resources.settings.stale_after / 2
        raise self.retry(exc=JobBusyError(outcome.error or "busy"), countdown=countdown,
                         max_retries=BUSY_MAX_RETRIES)
    if outcome.status == "failed":
        raise JobFailedError(f"job {outcome.job_id} failed: {outcome.error}")
    return outcome.as_dict()

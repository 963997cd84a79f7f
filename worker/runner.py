"""The embedded default: one machine, nothing to start.

`run_embedded` submits the dataset into a SQLite file inside the output folder (or any
database URL), then executes the queued jobs in this process with the same
`process_job` the Celery workers use, writing outputs under the output folder.

Resumable: the batch name comes from the source, the submit is idempotent and done jobs
are skipped, so running it again after an interruption does only what is left. Jobs
left `running` by an interrupted run are put back in the queue first (an embedded run
is the only runner of its database; do not point two runs at the same one).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scheduler.db import crud
from scheduler.db.migrate import upgrade
from scheduler.db.models import Job, JobStatus
from scheduler.db.session import make_engine, make_session_factory, session_scope
from scheduler.errors import UnbrandError
from scheduler.options import BatchOptions
from scheduler.settings import Settings, get_settings
from scheduler.submit import SubmitReport, queued_ids, submit_dataset
from worker.batcher import SharedInpainter
from worker.model_cache import ModelSpec, check_weights, load_inpainter
from worker.pipeline import JobOutcome, PipelineOptions, process_job
from worker.services import StorageResolver

if TYPE_CHECKING:
    from inpaint_core.inference.inpainter import Inpainter

DB_FILE = "unbrand.db"
MAX_LISTED_FAILURES = 20
log = logging.getLogger(__name__)
EMBEDDED_WORKER = "embedded"


@dataclass
class RunSummary:
    """The end state of an embedded run."""

    batch_name: str
    output_dir: Path
    db_url: str
    counts: dict[str, int]
    processed: int  # jobs executed by this run (done or failed now)
    elapsed_s: float  # whole run, model loading and submit included
    processing_s: float  # executing jobs only
    submit: SubmitReport
    failures: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def images_per_s(self) -> float:
        return self.processed / self.processing_s if self.processing_s > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.counts.get(JobStatus.FAILED.value, 0) == 0


@dataclass
class RunHooks:
    """Callbacks for progress display: `start(total, remaining)`, `job(outcome)`."""

    start: Callable[[int, int], None] = lambda total, remaining: None
    job: Callable[[JobOutcome], None] = lambda outcome: None


def default_db_url(out_dir: Path) -> str:
    return f"sqlite:///{(out_dir / DB_FILE).resolve()}"


def run_embedded(
    source: str,
    *,
    out_dir: str | Path,
    format: str = "auto",
    split: str | None = None,
    classes: Sequence[str] | None = None,
    model: ModelSpec | None = None,
    db_url: str | None = None,
    name: str | None = None,
    settings: Settings | None = None,
    inpainter: Inpainter | None = None,
    hooks: RunHooks | None = None,
    options: BatchOptions | None = None,
    jobs: int = 1,
) -> RunSummary:
    """Submit `source` and process every job left to do, in this process.

    `options`: the batch's mask options (scheduler/options.py). `jobs` > 1: that many jobs at
    once, each job's reading, refinement and writing overlapping the model's work on the
    others, and their crops batched through one model (worker/batcher.py).
    """
    started = time.perf_counter()
    hooks = hooks or RunHooks()
    out = Path(out_dir).expanduser().resolve()
    settings = settings or get_settings()
    if inpainter is None:  # missing weights fail now; the model loads when a job needs it
        spec = model or ModelSpec.from_settings(settings)
        check_weights(spec)
        provider: Callable[[], Inpainter] = functools.cache(lambda: load_inpainter(spec))
    else:
        given = inpainter
        provider = lambda: given  # noqa: E731
    out.mkdir(parents=True, exist_ok=True)
    db_url = db_url or default_db_url(out)
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        factory = make_session_factory(engine)
        report = submit_dataset(
            source, output=str(out) + "/", session_factory=factory, settings=settings,
            name=name, format=format, split=split, classes=classes,
            queue="cpu", options=options, publish=False,
        )
        batch_id = int(report.batch_id or 0)
        processing_started = time.perf_counter()
        processed = _execute(factory, batch_id, provider, settings, hooks, jobs=jobs)
        now = time.perf_counter()
        return _summary(factory, report, out, db_url, processed, now - started,
                        now - processing_started)
    finally:
        engine.dispose()


def _execute(factory: Any, batch_id: int, provider: Callable[[], Inpainter],
             settings: Settings, hooks: RunHooks, *, jobs: int = 1) -> int:
    """Run every queued job of the batch, `jobs` at a time; returns how many were executed."""
    with session_scope(factory) as session:
        crud.requeue_stale(session, older_than=0, batch_id=batch_id)  # left by a dead run
        counts = crud.count_by_status(session, batch_id=batch_id)
    if counts[JobStatus.QUEUED.value]:
        provider()  # load the model now: a broken weights file stops the run, jobs stay queued
    hooks.start(sum(counts.values()), counts[JobStatus.QUEUED.value])
    options = PipelineOptions.from_settings(settings, worker_process=False)
    resolver = StorageResolver(settings)
    shared = SharedInpainter(provider()) if jobs > 1 and counts[JobStatus.QUEUED.value] else None

    def run_one(job_id: int) -> JobOutcome:
        return process_job(job_id, session_factory=factory,
                           inpainter_provider=(lambda: shared) if shared else provider,
                           storage_resolver=resolver, worker_name=EMBEDDED_WORKER,
                           options=options)

    ids = (job_id for page in queued_ids(factory, batch_id=batch_id) for job_id in page)
    processed = 0
    try:
        for outcome in _in_flight(run_one, ids, jobs):
            if outcome.status in ("done", "failed"):
                processed += 1
            hooks.job(outcome)
    finally:  # Ctrl-C, a full disk, a dead database: no job of this run stays `running`
        if shared is not None:
            shared.close()
        _release_own_jobs(factory, batch_id)
    return processed


def _in_flight(run_one: Callable[[int], JobOutcome], ids: Iterator[int],
               jobs: int) -> Iterator[JobOutcome]:
    """Outcomes of `run_one` over `ids`, at most `jobs` running at once (in threads when
    `jobs` > 1), in the order they finish. On an error or Ctrl-C no new job starts; the
    running ones finish first."""
    if jobs <= 1:
        yield from (run_one(job_id) for job_id in ids)
        return
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="job") as pool:
        running = {pool.submit(run_one, job_id) for job_id in islice(ids, jobs)}
        try:
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
                    running |= {pool.submit(run_one, job_id) for job_id in islice(ids, 1)}
        finally:
            wait(running)


def _release_own_jobs(factory: Any, batch_id: int) -> None:
    """Hand back (running -> queued) every job this run still holds; best effort."""
    try:
        with session_scope(factory) as session:
            released = crud.release_worker_jobs(session, worker=EMBEDDED_WORKER, batch_id=batch_id)
        if released:
            log.warning("handed %d unfinished job(s) back to the queue: %s", len(released),
                        released)
    except UnbrandError as exc:
        log.error("could not hand unfinished jobs back (the next run takes them): %s", exc)


def _summary(factory: Any, report: SubmitReport, out: Path, db_url: str, processed: int,
             elapsed: float, processing: float) -> RunSummary:
    batch_id = int(report.batch_id or 0)
    with session_scope(factory) as session:
        counts = crud.count_by_status(session, batch_id=batch_id)
        failed = crud.list_jobs(session, batch_id=batch_id, status=JobStatus.FAILED.value,
                                limit=MAX_LISTED_FAILURES)
        failures = [(_input_name(job), job.error or "") for job in failed]
    return RunSummary(batch_name=report.batch_name, output_dir=out, db_url=db_url,
                      counts=counts, processed=processed, elapsed_s=elapsed,
                      processing_s=processing, submit=report,
                      failures=failures)


def _input_name(job: Job) -> str:
    spec = job.mask_spec or {}
    return str(spec.get("rel_path") or job.input_uri)

"""Submit a dataset: one job row per image, committed, then published to the workers.

    read_dataset(source) -> rows -> [batch row + bulk insert, commit] -> publish queued ids

Re-submitting the same dataset under the same batch name inserts nothing new (the
database refuses a second (batch, input) pair) and re-publishes only the jobs that are
still queued, so an interrupted submit can simply be run again. A dataset item that
cannot be used (unreadable annotation, inverted box...) becomes a job that is already
`failed` with the reason, so it shows up in `status` instead of disappearing.
Publishing happens strictly after the commit: a worker never gets an id it cannot read.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from scheduler.datasets import DatasetItem, read_dataset
from scheduler.db import crud
from scheduler.db.models import Batch, JobStatus
from scheduler.db.session import session_scope
from scheduler.errors import (
    BatchExistsError,
    ConfigError,
    DatasetError,
    StorageError,
    StorageNotFound,
)
from scheduler.options import BatchOptions
from scheduler.queue import DEFAULT_QUEUE, check_queue, make_client, publish_jobs
from scheduler.settings import Settings
from scheduler.storage import join_key, normalise_location, open_storage

ID_PAGE = 10_000  # queued ids read per query when publishing
WRITE_PROBE = ".unbrand-write-check-"  # name of the object check_output writes and deletes
SAMPLE_SIZE = 5  # items shown by a dry run
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LAST_PARENS = re.compile(r"\(([^()]*)\)\s*$")


@dataclass
class SubmitReport:
    """What a submit did (or, for a dry run, would do)."""

    batch_name: str
    source: str
    output_root: str
    queue: str
    dry_run: bool = False
    batch_id: int | None = None
    batch_created: bool = False
    items: int = 0  # dataset items read
    invalid: int = 0  # items recorded as failed jobs (reason in the row)
    inserted: int = 0  # new job rows
    existing: int = 0  # items the batch already had (re-submit)
    published: int = 0  # messages sent to the queue
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # first few item errors, for the CLI
    sample: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # read_s, insert_s, publish_s

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def batch_name_for(source: str, *, split: str | None = None,
                   classes: Sequence[str] | None = None) -> str:
    """A readable, deterministic batch name for a dataset location (and its split/classes):
    "<last folder name>-<8 hex digest>", so the same selection always maps to one batch."""
    normalised = normalise_location(source, folder=False).rstrip("/")
    tail = normalised.rsplit("/", 1)[-1] or "dataset"
    label = _NAME_UNSAFE.sub("_", tail).strip("._-")[:60] or "dataset"
    key = normalised
    if split or classes:
        key += f"|split={split or ''}|classes={','.join(sorted(classes or ()))}"
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
    return f"{label}-{digest}"


def job_row(item: DatasetItem) -> dict[str, Any]:
    """The insert mapping of one dataset item (failed with its reason when it has an error)."""
    row: dict[str, Any] = {"input_uri": item.input_uri, "mask_spec": item.mask_spec().stored()}
    if item.error:
        row["status"] = JobStatus.FAILED.value
        row["error"] = f"bad dataset entry: {item.error}"
    return row


def submit_dataset(
    source: str,
    *,
    output: str,
    session_factory: sessionmaker[Session],
    settings: Settings,
    name: str | None = None,
    format: str = "auto",
    split: str | None = None,
    classes: Sequence[str] | None = None,
    queue: str = DEFAULT_QUEUE,
    options: BatchOptions | None = None,
    publish: bool = True,
    dry_run: bool = False,
    client: Celery | None = None,
) -> SubmitReport:
    """Create (or reuse) the batch, insert one job per dataset item, commit, then publish.

    `publish=False` leaves the jobs queued in the database (the embedded runner executes
    them itself). `options`: the batch's mask options (scheduler/options.py); with fixed
    boxes / mask, a folder of no known layout is read as plain images.
    Raises BatchExistsError when `name` belongs to a batch with another source, output or
    mask options, ConfigError / DatasetError for unusable arguments.
    """
    check_queue(queue)
    fixed = bool(options is not None and options.fixed)
    if format == "images" and not fixed:
        raise DatasetError("the 'images' format has no annotations: give fixed --box or --mask")
    source = normalise_location(source, folder=False)
    report = SubmitReport(
        batch_name=name or batch_name_for(source, split=split, classes=classes),
        source=source,
        output_root=normalise_location(output, folder=True),
        queue=queue,
        dry_run=dry_run,
    )
    check_output(report.output_root, settings=settings, write=not dry_run)
    started = time.perf_counter()
    items = read_dataset(source, format=format, split=split,
                         classes=list(classes) if classes else None, settings=settings,
                         images_fallback=fixed, notes=report.warnings,
                         min_confidence=options.min_confidence if options else None)
    rows = list(_rows(_outside(items, report), report))
    report.timings["read_s"] = time.perf_counter() - started
    batch_options = (options or BatchOptions()).model_copy(update={
        "queue": queue, "split": split, "classes": list(classes) if classes else None,
        "embedded": not publish})
    if dry_run:
        _preview(session_factory, report, rows, options=batch_options)
        return report
    started = time.perf_counter()
    with session_scope(session_factory) as session:
        batch = _batch(session, report, format=format, options=batch_options)
        new_ids = crud.bulk_insert_jobs(session, batch_id=batch.id, jobs=rows)
        report.inserted = len(new_ids)
        report.existing = len(rows) - len(new_ids)
        counts = crud.count_by_status(session, batch_id=batch.id)
        if counts[JobStatus.QUEUED.value] or counts[JobStatus.RUNNING.value]:
            batch.finished_at = None  # jobs left to do: a finished batch is open again
        else:
            crud.finish_batch_if_complete(session, batch_id=batch.id)
    report.timings["insert_s"] = time.perf_counter() - started
    if publish:  # strictly after the commit above
        started = time.perf_counter()
        report.published = publish_queued(session_factory, batch_id=report.batch_id or 0,
                                          queue=queue, settings=settings, client=client)
        report.timings["publish_s"] = time.perf_counter() - started
    return report


def check_output(output_root: str, *, settings: Settings, write: bool = True) -> None:
    """ConfigError naming the output when jobs could not write there (a missing bucket, no
    permission, a file where the folder should be, an unreachable endpoint), before any job
    exists. A small probe object is written and deleted; `write=False` (a dry run) only lists
    the output."""
    probe_uri = ""
    try:
        storage, prefix = open_storage(output_root, settings=settings)
        if write:
            probe = join_key(prefix, f"{WRITE_PROBE}{uuid.uuid4().hex}")
            probe_uri = storage.uri_for(probe)
            storage.write_bytes(probe, b"", content_type="application/octet-stream")
            storage.delete(probe)
        else:
            next(iter(storage.iter_keys(join_key(prefix) + "/" if prefix else "")), None)
    except StorageNotFound as exc:
        code = _LAST_PARENS.search(str(exc))
        detail = f" ({code.group(1)})" if code else ""
        raise ConfigError(f"the output {output_root} cannot be written: its bucket or folder "
                          f"does not exist{detail}") from exc
    except StorageError as exc:
        detail = str(exc).replace(probe_uri, "a test object") if probe_uri else str(exc)
        raise ConfigError(f"the output {output_root} is not writable: {detail}") from exc


def _outside(items: Iterator[DatasetItem], report: SubmitReport) -> Iterator[DatasetItem]:
    """The items that are not outputs: an output folder inside the dataset folder (plain images
    read recursively) must not feed a rerun with its own results."""
    root = report.output_root
    prefix = root.rstrip("/") + "/" if "://" in root else Path(root).as_uri().rstrip("/") + "/"
    skipped = 0
    for item in items:
        if item.input_uri.startswith(prefix):
            skipped += 1
            continue
        yield item
    if skipped:
        report.warnings.append(f"{skipped} images inside the output folder {root} were skipped")


def _rows(items: Iterator[DatasetItem], report: SubmitReport) -> Iterator[dict[str, Any]]:
    for item in items:
        report.items += 1
        if item.error:
            report.invalid += 1
            if len(report.errors) < SAMPLE_SIZE:
                report.errors.append(f"{item.rel_path}: {item.error}")
        if item.warnings and len(report.warnings) < SAMPLE_SIZE:
            report.warnings.extend(f"{item.rel_path}: {w}" for w in item.warnings)
        row = job_row(item)
        if len(report.sample) < SAMPLE_SIZE:
            report.sample.append(row)
        yield row


def _batch(session: Session, report: SubmitReport, *, format: str,
           options: BatchOptions) -> Batch:
    """The batch row: created, or the existing one when it has the same source and output."""
    batch = crud.get_batch_by_name(session, name=report.batch_name)
    if batch is None:
        batch = crud.create_batch(session, name=report.batch_name, source=report.source,
                                  output_root=report.output_root, format=format,
                                  options=options.stored())
        report.batch_created = True
    elif (batch.source, batch.output_root) != (report.source, report.output_root):
        raise BatchExistsError(
            f"batch {report.batch_name!r} already exists for source {batch.source!r} and "
            f"output {batch.output_root!r}; choose another --name"
        )
    else:
        _refuse_other_mask_options(batch, report, options)
    report.batch_id = batch.id
    return batch


def _refuse_other_mask_options(batch: Batch, report: SubmitReport,
                               options: BatchOptions) -> None:
    """BatchExistsError when the existing batch was submitted with other mask options."""
    if changes := BatchOptions.load(batch.options).mask_differences(options):
        raise BatchExistsError(
            f"batch {report.batch_name!r} already exists with other options ({changes}); "
            "its jobs keep the options they were submitted with: choose another --name"
        )


def _preview(factory: sessionmaker[Session], report: SubmitReport,
             rows: list[dict[str, Any]], *, options: BatchOptions) -> None:
    """Fill the counts of a dry run from the database without writing anything."""
    with session_scope(factory) as session:
        batch = crud.get_batch_by_name(session, name=report.batch_name)
        known: set[str] = set()
        if batch is not None:
            _refuse_other_mask_options(batch, report, options)
            report.batch_id = batch.id
            known = crud.input_uris(session, batch_id=batch.id)
            queued = crud.count_by_status(session, batch_id=batch.id)[JobStatus.QUEUED.value]
        else:
            report.batch_created = True
            queued = 0
    report.existing = sum(1 for row in rows if row["input_uri"] in known)
    report.inserted = len(rows) - report.existing
    new_queued = sum(1 for row in rows
                     if row["input_uri"] not in known and "status" not in row)
    report.published = queued + new_queued


def queued_ids(factory: sessionmaker[Session], *, batch_id: int) -> Iterator[list[int]]:
    """Pages of ids of the batch's queued jobs, in id order."""
    after = 0
    while True:
        with session_scope(factory) as session:
            page = crud.queued_job_ids(session, batch_id=batch_id, after_id=after, limit=ID_PAGE)
        if not page:
            return
        yield page
        after = page[-1]


def publish_queued(
    factory: sessionmaker[Session],
    *,
    batch_id: int,
    queue: str,
    settings: Settings,
    client: Celery | None = None,
) -> int:
    """Publish every job of the batch that is still queued; returns how many messages."""
    app = client or make_client(settings)
    sent = 0
    try:
        for page in queued_ids(factory, batch_id=batch_id):
            sent += publish_jobs(page, queue=queue, settings=settings, client=app)
    finally:
        if client is None:
            app.close()
    return sent

"""`unbrand submit / status / wait / retry / cancel / requeue-stale`: batches on the shared
database and broker.

Torch-free: these commands only talk to the database and send tasks by name. Exit codes
are listed in unbrand/cli/exits.py (`wait`: 0 all done, 1 some failed, 2 timeout).
"""

from __future__ import annotations

import json
import time
from typing import Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from scheduler.options import BatchOptions
from scheduler.settings import Settings
from unbrand.cli.database import db_option, open_database
from unbrand.cli.exits import EXIT_JOBS_FAILED, EXIT_TIMEOUT, errors_to_exit, fail
from unbrand.cli.mask_flags import (
    ANCHOR_HELP,
    BOX_HELP,
    KEEP_ASPECT_HELP,
    MASK_HELP,
    MASK_MODE_HELP,
    REFERENCE_HELP,
    SCALE_HELP,
    Anchor,
    MaskMode,
    batch_mask_options,
)
from unbrand.cli.options import (
    DatasetFormat,
    QueueName,
    class_list,
    classes_option,
    format_option,
    name_option,
    out_option,
    quality_option,
    split_option,
)

QUEUE_HELP = "Worker queue: gpu or cpu."


def register(app: typer.Typer) -> None:
    """Add the batch commands to the app."""
    app.command("submit")(submit)
    app.command("status")(status)
    app.command("wait")(wait)
    app.command("retry")(retry)
    app.command("cancel")(cancel)
    app.command("requeue-stale")(requeue_stale)


def batch_id_for(factory: sessionmaker[Session], name: str) -> tuple[int, BatchOptions]:
    """The id and options of batch `name`; exit 2 when there is none."""
    from scheduler.db import crud
    from scheduler.db.session import session_scope

    with session_scope(factory) as session:
        batch = crud.get_batch_by_name(session, name=name)
        if batch is None:
            fail(f"no batch named {name!r} (unbrand status lists them)")
        return batch.id, BatchOptions.load(batch.options)


def _republish_target(factory: sessionmaker[Session], settings: Settings, name: str,
                      queue: QueueName | None) -> tuple[int, str]:
    """The batch id and the queue to publish its jobs to again (`queue`, else the batch's);
    fails unless the broker answers, before anything in the database changes."""
    from scheduler.queue import DEFAULT_QUEUE, check_queue, require_broker

    batch_id, options = batch_id_for(factory, name)
    target = check_queue(queue.value if queue else options.queue or DEFAULT_QUEUE)
    require_broker(settings)
    return batch_id, target


def submit(
    source: str = typer.Argument(..., help="Dataset: folder, manifest (.csv/.jsonl), s3:// URI."),
    out: str = out_option("Where outputs go: s3://bucket/prefix or a folder every worker can "
                          "write to (checked now).", "--output"),
    name: str | None = name_option(),
    format: DatasetFormat = format_option(),
    split: str | None = split_option(),
    classes: str | None = classes_option(),
    queue: QueueName = typer.Option(QueueName.gpu, "--queue", "-Q", help=QUEUE_HELP),
    quality: int | None = quality_option(),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would happen; change nothing."
    ),
    db: str | None = db_option(),
    mask_mode: MaskMode = typer.Option(MaskMode.box, "--mask-mode", help=MASK_MODE_HELP),
    box: list[str] | None = typer.Option(None, "--box", "-b", help=BOX_HELP),
    mask: str | None = typer.Option(
        None, "--mask", "-m",
        help=MASK_HELP + " An s3:// URI, or a path every worker can read at the same place.",
    ),
    scale_with_image: bool = typer.Option(False, "--scale-with-image", help=SCALE_HELP),
    reference_size: str | None = typer.Option(None, "--reference-size", help=REFERENCE_HELP),
    anchor: Anchor = typer.Option(Anchor.top_left, "--anchor", help=ANCHOR_HELP),
    keep_aspect: bool = typer.Option(False, "--keep-aspect", help=KEEP_ASPECT_HELP),
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0,
        help="Skip annotated logos whose <confidence> (written by find-logo) is below this; "
        "objects without one are kept."),
) -> None:
    """Record one job per image, then queue them for the workers (safe to repeat)."""
    from scheduler.db.migrate import upgrade
    from scheduler.queue import require_broker
    from scheduler.submit import submit_dataset

    with open_database(db, existing=False) as (settings, factory), errors_to_exit():
        options = batch_mask_options(
            mask_mode=mask_mode, boxes=box, mask=mask, scale_with_image=scale_with_image,
            reference_size=reference_size, anchor=anchor, keep_aspect=keep_aspect,
            jpeg_quality=quality, min_confidence=min_confidence, settings=settings)
        _note_local_mask(options)
        if not dry_run:
            require_broker(settings)
            upgrade(settings.database_url)
        report = submit_dataset(source, output=out, session_factory=factory,
                                settings=settings, name=name, format=format.value, split=split,
                                classes=class_list(classes), queue=queue.value, options=options,
                                dry_run=dry_run)
    verb = "would" if dry_run else ""
    typer.echo(f"batch {report.batch_name} ({'new' if report.batch_created else 'existing'})")
    typer.echo(f"  source {report.source} -> output {report.output_root}")
    typer.echo(f"  {report.items} images read, {report.invalid} unusable (recorded as failed)")
    typer.echo(f"  {verb + ' ' if verb else ''}insert {report.inserted} new jobs, "
               f"{report.existing} already known")
    typer.echo(f"  {verb + ' ' if verb else ''}publish {report.published} to queue "
               f"{queue.value}")
    for line in report.errors:
        typer.echo(f"  unusable: {line}")
    for line in report.warnings:
        typer.echo(f"  note: {line}")
    if dry_run:
        for row in report.sample:
            typer.echo(f"  e.g. {row['input_uri']} {json.dumps(row['mask_spec'])[:160]}")


def _note_local_mask(options: BatchOptions) -> None:
    """Remind that workers read a local fixed mask at the same path."""
    uri = (options.fixed or {}).get("mask_uri") or ""
    if uri and not uri.startswith("s3://"):
        typer.echo(f"note: workers read the fixed mask at {uri}; every worker must see that "
                   "path (use an s3:// URI for workers on other machines)", err=True)


def status(
    name: str | None = typer.Argument(None, help="Batch name (default: every batch)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    db: str | None = db_option(),
) -> None:
    """Counts per status, throughput, ETA and failure reasons of batches."""
    from scheduler.db.session import session_scope
    from scheduler.db.stats import summarise_batches

    with open_database(db) as (_, factory), errors_to_exit():
        with session_scope(factory) as session:
            summaries = summarise_batches(session, names=[name] if name else None)
    if name and not summaries:
        fail(f"no batch named {name!r}")
    documents = [status_document(summary) for summary in summaries]
    if as_json:
        typer.echo(json.dumps(documents[0] if name else documents, indent=2))
        return
    if not documents:
        typer.echo("no batches yet (unbrand submit or unbrand run)")
    for document in documents:
        _print_status(document)


def status_document(summary: Any) -> dict[str, Any]:
    """The `status --json` object of one batch (stats.BatchSummary)."""
    document = summary.status_json()
    document.update(
        source=summary.source,
        output_root=summary.output_root,
        created_at=summary.created_at.isoformat(),
        finished_at=summary.finished_at.isoformat() if summary.finished_at else None,
        flagged=summary.flagged,
        mean_quality=_finite(summary.mean_quality),
        throughput_per_min=round(summary.throughput_per_min, 3),
        eta_seconds=summary.eta_seconds,
        failures=[{"reason": g.reason, "count": g.count, "example": g.example}
                  for g in summary.failures],
    )
    return document


def _finite(value: float | None) -> float | None:
    """None for a missing or NaN figure (JSON has no NaN)."""
    return None if value is None or value != value else round(float(value), 4)


def _print_status(document: dict[str, Any]) -> None:
    counts = document["counts"]
    parts = ", ".join(f"{counts[key]} {key}" for key in counts if counts[key])
    state = "finished" if document["finished_at"] else "in progress"
    typer.echo(f"{document['name']}: {document['total']} jobs ({parts or 'none'}), {state}")
    if not document["finished_at"]:
        eta = document["eta_seconds"]
        eta_text = f", ETA {eta / 60:.1f} min" if eta is not None else ""
        typer.echo(f"  {document['throughput_per_min']:.1f} jobs/min while active{eta_text}")
    elif document["throughput_per_min"]:
        typer.echo(f"  ran at {document['throughput_per_min']:.1f} jobs/min")
    if document["flagged"]:
        typer.echo(f"  {document['flagged']} flagged for review")
    for group in document["failures"][:10]:
        typer.echo(f"  {group['count']} failed: {group['example'] or group['reason']}")


def wait(
    name: str = typer.Argument(..., help="Batch name."),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Give up after S seconds (exit 2)."
    ),
    interval: float = typer.Option(2.0, "--interval", min=0.05, help="Seconds between checks."),
    db: str | None = db_option(),
) -> None:
    """Block until every job of the batch ended: exit 0 all done, 1 some failed, 2 timeout."""
    from scheduler.db import crud
    from scheduler.db.session import session_scope

    deadline = None if timeout is None else time.monotonic() + timeout
    with open_database(db) as (_, factory):
        batch_id, _ = batch_id_for(factory, name)
        last: dict[str, int] | None = None
        while True:
            with errors_to_exit(), session_scope(factory) as session:
                counts = crud.count_by_status(session, batch_id=batch_id)
            if counts != last:
                typer.echo(", ".join(f"{v} {k}" for k, v in counts.items()), err=True)
                last = counts
            if counts["queued"] == 0 and counts["running"] == 0:
                break
            if deadline is not None and time.monotonic() >= deadline:
                fail(f"timed out after {timeout:g} s with {counts['queued']} queued and "
                     f"{counts['running']} running", EXIT_TIMEOUT)
            time.sleep(interval)
    if counts["failed"]:
        typer.echo(f"{counts['failed']} job(s) failed (unbrand status {name})")
        raise typer.Exit(EXIT_JOBS_FAILED)
    cancelled = f", {counts['cancelled']} cancelled" if counts["cancelled"] else ""
    typer.echo(f"finished: {counts['done']} done{cancelled}, none failed")


def retry(
    name: str = typer.Argument(..., help="Batch name."),
    queue: QueueName | None = typer.Option(
        None, "--queue", "-Q", help="Queue (default: the batch's)."
    ),
    db: str | None = db_option(),
) -> None:
    """Put the batch's failed jobs back in the queue and publish every queued job."""
    from scheduler.db import crud
    from scheduler.db.session import session_scope
    from scheduler.submit import publish_queued

    with open_database(db) as (settings, factory), errors_to_exit():
        batch_id, options = batch_id_for(factory, name)
        if options.embedded:  # its jobs run in `unbrand run`, never through a broker
            with session_scope(factory) as session:
                requeued = crud.requeue_failed(session, batch_id=batch_id)
            typer.echo(f"{len(requeued)} failed job(s) requeued in the database; batch {name} "
                       "runs embedded: run the same `unbrand run` command again to process them")
            return
        batch_id, target = _republish_target(factory, settings, name, queue)
        with session_scope(factory) as session:
            requeued = crud.requeue_failed(session, batch_id=batch_id)
        sent = publish_queued(factory, batch_id=batch_id, queue=target, settings=settings)
    typer.echo(f"{len(requeued)} failed job(s) requeued; {sent} published to queue {target}")


def cancel(
    name: str = typer.Argument(..., help="Batch name."),
    db: str | None = db_option(),
) -> None:
    """Cancel every queued or running job of the batch (workers skip them)."""
    from scheduler.db import crud
    from scheduler.db.session import session_scope

    with open_database(db) as (_, factory), errors_to_exit():
        batch_id, _ = batch_id_for(factory, name)
        with session_scope(factory) as session:
            cancelled = crud.cancel_batch(session, batch_id=batch_id)
            crud.finish_batch_if_complete(session, batch_id=batch_id)
    typer.echo(f"{cancelled} job(s) cancelled")



def requeue_stale(
    name: str = typer.Argument(..., help="Batch name."),
    older_than: float | None = typer.Option(
        None, "--older-than", min=0,
        help="Seconds without a heartbeat before a running job counts as abandoned "
             "(default: UNBRAND_STALE_AFTER).",
    ),
    queue: QueueName | None = typer.Option(
        None, "--queue", "-Q", help="Queue (default: the batch's)."
    ),
    db: str | None = db_option(),
) -> None:
    """Put running jobs whose worker vanished (no heartbeat) back in the queue and publish them."""
    from scheduler.db import crud
    from scheduler.db.session import session_scope
    from scheduler.queue import publish_jobs

    with open_database(db) as (settings, factory), errors_to_exit():
        if batch_id_for(factory, name)[1].embedded:
            fail(f"batch {name} runs embedded: run the same `unbrand run` command again (it "
                 "takes back jobs a dead run left running)")
        batch_id, target = _republish_target(factory, settings, name, queue)
        cutoff = settings.stale_after if older_than is None else older_than
        with session_scope(factory) as session:
            requeued = crud.requeue_stale(session, older_than=cutoff, batch_id=batch_id)
        sent = publish_jobs(requeued, queue=target, settings=settings) if requeued else 0
    typer.echo(f"{len(requeued)} stale job(s) (no heartbeat for {cutoff:g} s) requeued; "
               f"{sent} published to queue {target}")

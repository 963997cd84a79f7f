"""`unbrand jobs NAME` (list a batch's jobs) and `unbrand delete NAME` (remove a batch).

Torch-free, like the other batch commands. Exit codes: 0 done, 2 unknown batch or bad value,
1 `delete --outputs` could not remove some objects (the rows are then kept, so it can be
run again).
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from unbrand.cli.batches import batch_id_for
from unbrand.cli.database import db_option, open_database
from unbrand.cli.exits import EXIT_JOBS_FAILED, errors_to_exit, fail

OUTPUT_PAGE = 500  # output URIs read per query when deleting outputs


class JobStatusChoice(StrEnum):
    """Job statuses (scheduler.db.models.JobStatus)."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


def register(app: typer.Typer) -> None:
    """Add `jobs` and `delete` to the app."""
    app.command("jobs")(jobs)
    app.command("delete")(delete)


def jobs(
    name: str = typer.Argument(..., help="Batch name."),
    status: list[JobStatusChoice] | None = typer.Option(
        None, "--status", "-s", help="Only jobs in this status (repeat for several)."
    ),
    flagged: bool = typer.Option(False, "--flagged", help="Only jobs flagged for review."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000, help="At most this many jobs."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of lines."),
    db: str | None = db_option(),
) -> None:
    """List the jobs of a batch: id, status, input, then the output or the failure reason."""
    from scheduler.db import crud
    from scheduler.db.session import session_scope

    with open_database(db) as (_, factory), errors_to_exit():
        batch_id, _ = batch_id_for(factory, name)
        with session_scope(factory) as session:
            rows = crud.list_jobs(session, batch_id=batch_id,
                                  status=[s.value for s in status] if status else None,
                                  flagged=True if flagged else None, limit=limit)
            documents = [job_document(job) for job in rows]
    if as_json:
        typer.echo(json.dumps(documents, indent=2))
        return
    if not documents:
        typer.echo("no jobs match", err=True)
    for document in documents:
        typer.echo(_job_line(document))


def job_document(job: Any) -> dict[str, Any]:
    """The `jobs --json` object of one job row."""
    spec = job.mask_spec or {}
    return {
        "id": job.id,
        "status": job.status,
        "input": spec.get("rel_path") or job.input_uri,
        "input_uri": job.input_uri,
        "output_uri": job.output_uri,
        "error": job.error,
        "attempts": job.attempts,
        "worker": job.worker,
        "quality_score": job.quality_score,
        "flagged": bool(job.flagged),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _job_line(document: dict[str, Any]) -> str:
    detail = document["error"] if document["status"] == "failed" else document["output_uri"]
    return (f"{document['id']:>8}  {document['status']:<9} {document['input']}"
            + (f"  {detail}" if detail else ""))


def delete(
    name: str = typer.Argument(..., help="Batch name."),
    outputs: bool = typer.Option(
        False, "--outputs", help="Also delete the batch's output files / objects."
    ),
    force: bool = typer.Option(
        False, "--force", help="Delete even when jobs are still queued or running."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    db: str | None = db_option(),
) -> None:
    """Delete a batch and its job rows (outputs stay unless --outputs)."""
    from scheduler.db import crud
    from scheduler.db.session import session_scope

    with open_database(db) as (settings, factory), errors_to_exit():
        batch_id, _ = batch_id_for(factory, name)
        with session_scope(factory) as session:
            counts = crud.count_by_status(session, batch_id=batch_id)
        active = counts["queued"] + counts["running"]
        if active and not force:
            fail(f"batch {name!r} still has {active} queued or running job(s): "
                 f"`unbrand cancel {name}` first, or pass --force")
        what = f"batch {name!r} and its {sum(counts.values())} job rows"
        if outputs:
            what += f", and the outputs of its {counts['done']} done job(s)"
        if not yes and not typer.confirm(f"Delete {what}?"):
            raise typer.Abort()
        removed, problems = (_delete_outputs(factory, batch_id, settings) if outputs
                             else (0, []))
        if problems:
            for problem in problems[:10]:
                typer.echo(f"error: {problem}", err=True)
            fail(f"{len(problems)} output(s) could not be deleted; the batch is kept, run "
                 "the command again", EXIT_JOBS_FAILED)
        with session_scope(factory) as session:
            deleted = crud.delete_batch(session, batch_id=batch_id)
    extra = f", {removed} output(s) deleted" if outputs else " (outputs kept)"
    typer.echo(f"deleted batch {name}: {deleted} job row(s){extra}")


def _delete_outputs(factory: sessionmaker[Session], batch_id: int,
                    settings: Any) -> tuple[int, list[str]]:
    """Delete every output object of the batch; (how many, problems)."""
    from scheduler.db import crud
    from scheduler.db.session import session_scope
    from scheduler.errors import StorageError
    from scheduler.storage import open_storage

    removed, problems, after = 0, [], 0
    while True:
        with session_scope(factory) as session:
            page = crud.output_uris(session, batch_id=batch_id, after_id=after,
                                    limit=OUTPUT_PAGE)
        if not page:
            return removed, problems
        for job_id, uri in page:
            try:
                storage, key = open_storage(uri, settings=settings)
                storage.delete(key)
                removed += 1
            except StorageError as exc:
                problems.append(f"job {job_id}: {exc}")
        after = page[-1][0]

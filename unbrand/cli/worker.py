"""`unbrand worker`: start a Celery worker that processes jobs from the gpu and/or cpu queue."""

from __future__ import annotations

import os

import typer

from unbrand.cli.exits import errors_to_exit, fail
from unbrand.cli.options import (
    Device,
    Pool,
    Precision,
    device_option,
    precision_option,
    value,
)


def register(app: typer.Typer) -> None:
    """Add `worker` to the app."""
    app.command("worker")(worker)


def worker(
    queues: str = typer.Option(
        "gpu,cpu", "--queues", "--queue", "-Q", help="Comma-separated queues to consume: gpu, cpu."
    ),
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1,
        help="Processes (prefork) or threads working at once (default: 1). Not with --pool "
        "solo, which runs one job at a time in the worker's own process.",
    ),
    pool: Pool = typer.Option(
        Pool.prefork, "--pool", "-P",
        help="prefork (processes; CPU workers), solo (one job at a time in this process; "
        "a GPU) or threads.",
    ),
    name: str | None = typer.Option(
        None, "--name", "-n", help="Node name, e.g. gpu1@%h (default: celery@<hostname>)."
    ),
    weights: str | None = typer.Option(
        None, "--weights", "-w", help="Generator checkpoint; overrides UNBRAND_MODEL_WEIGHTS."
    ),
    device: Device | None = device_option(
        None, help="auto, cpu or cuda; overrides UNBRAND_DEVICE. Pick a GPU with "
        "CUDA_VISIBLE_DEVICES."),
    precision: Precision | None = precision_option(
        None, help="auto, fp32, bf16 or fp16; overrides UNBRAND_PRECISION."),
    events: bool = typer.Option(
        True, "--events/--no-events", "-E",
        help="Send task events (Celery's -E), which Flower and `celery events` show.",
    ),
    loglevel: str = typer.Option("INFO", "--loglevel", "-l", help="Celery log level."),
) -> None:
    """Run a worker until stopped (Ctrl-C or SIGTERM finish the current job first)."""
    from inpaint_core.errors import InpaintError
    from scheduler.queue import QUEUES, require_broker
    from scheduler.settings import get_settings
    from worker.model_cache import ModelSpec, check_weights

    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(wanted) - set(QUEUES))
    if not wanted or unknown:
        fail(f"unknown queue(s) {', '.join(unknown) or '(none)'}; use {', '.join(QUEUES)}")
    if pool is Pool.solo and (concurrency or 1) > 1:
        fail("--pool solo runs one job at a time: drop --concurrency, or use --pool prefork "
             "(or threads) for several")
    # The Celery app and its child processes read the model choice from the environment.
    overrides = {"UNBRAND_MODEL_WEIGHTS": weights, "UNBRAND_DEVICE": value(device),
                 "UNBRAND_PRECISION": value(precision)}
    os.environ.update({key: text for key, text in overrides.items() if text is not None})
    with errors_to_exit(InpaintError):
        settings = get_settings()
        require_broker(settings)
        check_weights(ModelSpec.from_settings(settings))
        _check_schema(settings.database_url)
    from worker.celery_app import app

    argv = ["worker", "--queues", ",".join(wanted), "--pool", pool.value,
            "--loglevel", loglevel]
    if pool is not Pool.solo:
        argv += ["--concurrency", str(concurrency or 1)]
    if events:
        argv.append("--task-events")
    if name:
        argv += ["--hostname", name]
    app.worker_main(argv)


def _check_schema(url: str) -> None:
    """Exit 2 when the job database exists but was never migrated (or is a missing SQLite
    file): every job would fail with `no such table`. An unreachable server is left to the
    worker, which waits for it at start-up."""
    from scheduler.db.migrate import require_schema
    from scheduler.db.session import require_existing_database
    from scheduler.errors import ConfigError, TransientDatabaseError
    from scheduler.settings import redact_url

    try:
        require_existing_database(url)
        require_schema(url)
    except TransientDatabaseError:
        return
    except ConfigError as exc:
        fail(f"{exc}: run `unbrand db upgrade --db '{redact_url(url)}'` first")

"""`unbrand worker`: start a Celery worker that processes jobs from the gpu and/or cpu queue."""

from __future__ import annotations

import os

import typer

from unbrand.cli.exits import errors_to_exit, fail

POOLS = ("prefork", "solo", "threads")


def register(app: typer.Typer) -> None:
    """Add `worker` to the app."""
    app.command("worker")(worker)


def worker(
    queues: str = typer.Option(
        "gpu,cpu", "--queues", "-Q", help="Comma-separated queues to consume: gpu, cpu."
    ),
    concurrency: int = typer.Option(
        1, "--concurrency", "-c", min=1, help="Processes (prefork) or threads working at once."
    ),
    pool: str = typer.Option(
        "prefork", "--pool", "-P", help="prefork (processes), solo (one, in-process) or threads."
    ),
    name: str | None = typer.Option(
        None, "--name", "-n", help="Node name, e.g. gpu1@%h (default: celery@<hostname>)."
    ),
    weights: str | None = typer.Option(
        None, "--weights", help="Generator checkpoint; overrides UNBRAND_MODEL_WEIGHTS."
    ),
    device: str | None = typer.Option(
        None, "--device", help="auto, cpu or cuda; overrides UNBRAND_DEVICE."
    ),
    precision: str | None = typer.Option(
        None, "--precision", help="auto, fp32, bf16 or fp16; overrides UNBRAND_PRECISION."
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
    if pool not in POOLS:
        fail(f"unknown pool {pool!r}; use {', '.join(POOLS)}")
    # The Celery app and its child processes read the model choice from the environment.
    overrides = {"UNBRAND_MODEL_WEIGHTS": weights, "UNBRAND_DEVICE": device,
                 "UNBRAND_PRECISION": precision}
    os.environ.update({key: value for key, value in overrides.items() if value is not None})
    with errors_to_exit(InpaintError):
        settings = get_settings()
        require_broker(settings)
        check_weights(ModelSpec.from_settings(settings))
    from worker.celery_app import app

    argv = ["worker", "--queues", ",".join(wanted), "--concurrency", str(concurrency),
            "--pool", pool, "--loglevel", loglevel]
    if name:
        argv += ["--hostname", name]
    app.worker_main(argv)

"""`unbrand doctor`: check what a run or a worker needs, and say what to fix; `unbrand config`:
check and show the settings alone.

    database   reachable, migrated to the newest revision
    broker     Redis answers PING (needed by submit and workers; skipped when not set)
    output     writable: a probe object is written and deleted (with --out)
    weights    the generator loads on the chosen device and precision
    compute    the device and precision that "auto" picks; CPU cores, GPUs

Exit codes: 0 every check passed or was skipped, 1 some check failed (each failure says
what to change), 2 the settings themselves are invalid.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import typer

from unbrand.cli.database import db_option, settings_for
from unbrand.cli.exits import EXIT_JOBS_FAILED
from unbrand.cli.options import Device, Precision, device_option, precision_option, value

BROKER_TIMEOUT_S = 3.0
DATABASE_TIMEOUT_S = 5


@dataclass(frozen=True)
class Check:
    """One line of the report: ok / skip / FAIL, what was found, what to do about it."""

    name: str
    state: str  # "ok", "skip" or "FAIL"
    detail: str
    fix: str = ""


def register(app: typer.Typer) -> None:
    """Add `doctor` and `config` to the app."""
    app.command("doctor")(doctor)
    app.command("config")(config)


def config() -> None:
    """Check the UNBRAND_* settings of this environment and print them, passwords hidden.

    Exit 2 with the reason when one is invalid or a secret is a placeholder such as
    "changeme" (docker-compose runs this before PostgreSQL and the S3 server first store
    their passwords)."""
    from scheduler.settings import redact_url

    settings = settings_for(None)
    for name, shown in settings.model_dump(exclude={"aws_secret_access_key"}).items():
        if name.endswith("_url") and isinstance(shown, str):
            shown = redact_url(shown)
        typer.echo(f"UNBRAND_{name.upper()}={'' if shown is None else shown}")


def doctor(
    db: str | None = db_option(),
    out: str | None = typer.Option(
        None, "--out", "--output", "-o",
        help="An output location to check for writing: s3://bucket/prefix or a folder.",
    ),
    weights: str | None = typer.Option(
        None, "--weights", "-w", help="Generator checkpoint (default: UNBRAND_MODEL_WEIGHTS, "
        "else the shipped weights)."
    ),
    device: Device | None = device_option(None, help="Device to check (default: "
                                          "UNBRAND_DEVICE, else auto)."),
    precision: Precision | None = precision_option(None, help="Precision to check (default: "
                                                   "UNBRAND_PRECISION, else auto)."),
) -> None:
    """Check the database, the broker, an output, the weights and the CPU/GPU; say what to fix."""
    overrides = {key: text for key, text in (("model_weights", weights),
                                             ("device", value(device)),
                                             ("precision", value(precision))) if text}
    settings = settings_for(db)
    if overrides:
        settings = settings.model_copy(update=overrides)
    checks: list[Callable[[], Check]] = [
        lambda: check_database(settings),
        lambda: check_broker(settings),
        lambda: check_output_location(settings, out),
        lambda: check_model(settings),
        check_compute,
    ]
    failed = 0
    for run_check in checks:
        result = run_check()
        failed += result.state == "FAIL"
        colour = {"ok": typer.colors.GREEN, "skip": typer.colors.YELLOW}.get(
            result.state, typer.colors.RED)
        typer.secho(f"{result.state:>4}  {result.name:<9}", fg=colour, nl=False)
        typer.echo(f" {result.detail}")
        if result.fix:
            typer.echo(f"{'':15}fix: {result.fix}")
    if failed:
        typer.echo(f"{failed} check(s) failed", err=True)
        raise typer.Exit(EXIT_JOBS_FAILED)


def check_database(settings: object) -> Check:
    """Reachable and at the newest schema revision."""
    from scheduler.db import migrate
    from scheduler.db.session import sqlite_file
    from scheduler.errors import UnbrandError
    from scheduler.settings import redact_url

    url = settings.database_url  # type: ignore[attr-defined]
    shown = redact_url(url)
    try:
        path = sqlite_file(url)
        if path is not None and not path.is_file():
            return Check("database", "skip", f"no SQLite file yet at {path}",
                         "`unbrand run` creates it, or `unbrand db upgrade --db URL`; "
                         "elsewhere pass --db or set UNBRAND_DATABASE_URL")
        now = migrate.current_revision(url)
        head = migrate.head_revision()
    except UnbrandError as exc:
        return Check("database", "FAIL", f"{shown}: {exc}",
                     "check UNBRAND_DATABASE_URL / --db (postgresql://USER:PASSWORD@HOST/DB "
                     "or sqlite:///FILE.db) and that the server runs")
    if now != head:
        return Check("database", "FAIL", f"{shown}: schema at {now or 'no tables'}, "
                     f"newest is {head}", f"unbrand db upgrade --db '{shown}'")
    return Check("database", "ok", f"{shown}: schema at {now} (newest)")


def check_broker(settings: object) -> Check:
    """Redis answers PING within a few seconds."""
    import redis

    from scheduler.settings import redact_url

    url = settings.broker_url  # type: ignore[attr-defined]
    if not url:
        return Check("broker", "skip", "UNBRAND_BROKER_URL is not set (only submit and "
                     "workers need it)", "export UNBRAND_BROKER_URL=redis://HOST:6379/0")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=BROKER_TIMEOUT_S,
                                      socket_timeout=BROKER_TIMEOUT_S)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.exceptions.RedisError, ValueError) as exc:
        return Check("broker", "FAIL", f"{redact_url(url)}: {exc}",
                     "start Redis, or fix UNBRAND_BROKER_URL (host, port, password)")
    return Check("broker", "ok", f"{redact_url(url)} answers PING")


def check_output_location(settings: object, out: str | None) -> Check:
    """A probe object can be written and deleted at `out`."""
    from scheduler.errors import UnbrandError
    from scheduler.storage import normalise_location
    from scheduler.submit import check_output

    if not out:
        return Check("output", "skip", "no --out given", "unbrand doctor --out "
                     "s3://BUCKET/PREFIX (or a folder) checks that jobs can write there")
    try:
        root = normalise_location(out, folder=True)
        check_output(root, settings=settings)  # type: ignore[arg-type]
    except UnbrandError as exc:
        return Check("output", "FAIL", str(exc), "create the bucket or folder, or fix the "
                     "AWS_* credentials / UNBRAND_S3_ENDPOINT_URL")
    return Check("output", "ok", f"{root} is writable")


def check_model(settings: object) -> Check:
    """The weights load on the chosen device at the chosen precision."""
    from inpaint_core.errors import InpaintError
    from worker.model_cache import ModelSpec, check_weights, load_inpainter

    spec = ModelSpec.from_settings(settings)  # type: ignore[arg-type]
    try:
        check_weights(spec)
        inpainter = load_inpainter(spec)
    except InpaintError as exc:
        return Check("weights", "FAIL", str(exc), "pass --weights PATH (or set "
                     "UNBRAND_MODEL_WEIGHTS), or --device / --precision the machine has")
    source = spec.weights or "the shipped default weights"
    return Check("weights", "ok", f"{source}: model {inpainter.model_version}, "
                 f"{inpainter.precision} on {inpainter.device}")


def check_compute() -> Check:
    """What "auto" picks here, and the hardware it picked from."""
    import torch

    from inpaint_core.model.device import cpu_has_fast_bf16, resolve_device, resolve_precision

    cores = os.cpu_count() or 1
    parts = [f"{cores} CPU core(s), bf16 {'fast' if cpu_has_fast_bf16() else 'slow'} on CPU"]
    # read when torch loaded; inpaint_core sets PASSIVE unless the environment chose
    waiting = os.environ.get("OMP_WAIT_POLICY", "libgomp's default (spinning)")
    parts.append(f"{torch.get_num_threads()} CPU thread(s) per process, waiting "
                 f"{waiting.lower()} (OMP_WAIT_POLICY)")
    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        parts.append(f"{len(names)} GPU(s): {', '.join(names)}")
    device = resolve_device("auto")
    parts.append(f"auto picks {device.type}, {resolve_precision('auto', device)}")
    fix = ""
    if device.type == "cpu":
        build = "CUDA " + torch.version.cuda if torch.version.cuda else "CPU-only"
        fix = (f"no GPU visible (PyTorch {torch.__version__}, {build} build): fine for small "
               "batches; for a GPU install a CUDA build of PyTorch and its driver")
    return Check("compute", "ok", "; ".join(parts), fix)

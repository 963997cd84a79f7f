"""`unbrand dashboard`: serve the web dashboard, JSON API and /metrics with uvicorn."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("dashboard")(dashboard)


def dashboard(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port to listen on."),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Job database URL (default: UNBRAND_DATABASE_URL / sqlite:///unbrand.db).",
    ),
    window: float = typer.Option(
        10.0, "--window", min=0.5, help="Minutes over which throughput and ETA are measured."
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the dashboard: batches, progress, thumbnails, quality filters, API, metrics."""
    import uvicorn
    from sqlalchemy.exc import ArgumentError

    from scheduler.dashboard.app import make_app
    from scheduler.db.session import make_engine, make_session_factory
    from scheduler.errors import UnbrandError
    from scheduler.settings import get_settings, redact_text, redact_url

    try:
        settings = get_settings(**({"database_url": db} if db else {}))
        engine = make_engine(settings.database_url)
        web = make_app(
            session_factory=make_session_factory(engine),
            settings=settings,
            window_minutes=window,
        )
    except (UnbrandError, ArgumentError) as exc:  # ArgumentError: unknown database driver
        typer.echo(f"error: {redact_text(str(exc))}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"dashboard on http://{host}:{port}/ reading {redact_url(settings.database_url)}")
    uvicorn.run(web, host=host, port=port, log_level=log_level)

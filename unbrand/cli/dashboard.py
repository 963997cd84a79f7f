"""`unbrand dashboard`: serve the web dashboard, JSON API and /metrics with uvicorn."""

from __future__ import annotations

import typer

from unbrand.cli.database import db_option, open_database
from unbrand.cli.exits import errors_to_exit


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("dashboard")(dashboard)


def dashboard(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port to listen on."),
    db: str | None = db_option(),
    window: float = typer.Option(
        10.0, "--window", min=0.5, help="Minutes over which throughput and ETA are measured."
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the dashboard: batches, progress, thumbnails, quality filters, API, metrics."""
    import uvicorn

    from scheduler.dashboard.app import make_app
    from scheduler.settings import redact_url

    with open_database(db) as (settings, factory):
        with errors_to_exit():
            web = make_app(session_factory=factory, settings=settings, window_minutes=window)
        typer.echo(f"dashboard on http://{host}:{port}/ reading "
                   f"{redact_url(settings.database_url)}")
        uvicorn.run(web, host=host, port=port, log_level=log_level)

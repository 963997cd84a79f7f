"""`unbrand db upgrade | downgrade | current`: the job database schema through Alembic.

Exit codes: 0 success, 2 the database is unreachable or the migration failed (one line
on stderr, password hidden).
"""

from __future__ import annotations

import typer

from scheduler.errors import UnbrandError
from unbrand.cli.database import db_option
from unbrand.cli.exits import fail

EXIT_FAILED = 2


def register(app: typer.Typer) -> None:
    """Add the `db` command group to the app."""
    group = typer.Typer(help="Create or migrate the job database schema.", no_args_is_help=True)
    group.command("upgrade")(upgrade)
    group.command("downgrade")(downgrade)
    group.command("current")(current)
    app.add_typer(group, name="db")


def _url(url: str | None) -> str:
    from scheduler.settings import get_settings

    return url or get_settings().database_url


def upgrade(
    revision: str = typer.Option("head", "--revision", help="Target revision (default: head)."),
    url: str | None = db_option("--url"),
    wait: float = typer.Option(
        0.0, "--wait", min=0.0, help="Seconds to wait for the database to accept connections."
    ),
) -> None:
    """Bring the schema up to REVISION (creates the tables on an empty database)."""
    from scheduler.db import migrate
    from scheduler.db.session import make_engine, wait_for_database
    from scheduler.settings import redact_url

    try:
        target = _url(url)
        if wait > 0:
            engine = make_engine(target)
            try:
                wait_for_database(engine, timeout=wait)
            finally:
                engine.dispose()
        migrate.upgrade(target, revision)
        typer.echo(f"{redact_url(target)}: at revision {migrate.current_revision(target)}")
    except UnbrandError as exc:
        fail(str(exc), EXIT_FAILED)


def downgrade(
    revision: str = typer.Argument(..., help="Target revision, e.g. 'base' to drop every table."),
    url: str | None = db_option("--url"),
) -> None:
    """Take the schema down to REVISION (data in dropped tables is lost)."""
    from scheduler.db import migrate
    from scheduler.settings import redact_url

    try:
        target = _url(url)
        migrate.downgrade(target, revision)
        now = migrate.current_revision(target) or "base (no tables)"
        typer.echo(f"{redact_url(target)}: at revision {now}")
    except UnbrandError as exc:
        fail(str(exc), EXIT_FAILED)


def current(url: str | None = db_option("--url")) -> None:
    """Print the database's revision and the newest one available."""
    from scheduler.db import migrate
    from scheduler.settings import redact_url

    try:
        target = _url(url)
        now = migrate.current_revision(target) or "none (never migrated)"
        typer.echo(f"{redact_url(target)}: at revision {now}; head is {migrate.head_revision()}")
    except UnbrandError as exc:
        fail(str(exc), EXIT_FAILED)

"""The `--db` option every verb shares, and opening the job database it names.

Commands that only read or change existing batches (status, jobs, wait, retry, cancel,
delete, requeue-stale, report, dashboard) refuse a database that is not there instead of
creating an empty SQLite file, and say where they looked and how to point elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session, sessionmaker

from scheduler.errors import ConfigError
from scheduler.settings import Settings, get_settings
from unbrand.cli.exits import errors_to_exit, fail

DB_HELP = "Job database URL (default: UNBRAND_DATABASE_URL, else sqlite:///unbrand.db here)."
DB_OPTION_NAMES = ("--db",)


def db_option(*aliases: str, help: str = DB_HELP) -> str | None:
    """The `--db URL` option (plus old `aliases`, e.g. "--url")."""
    return typer.Option(None, *DB_OPTION_NAMES, *aliases, help=help)  # type: ignore[no-any-return]


def settings_for(db: str | None) -> Settings:
    """The settings with `db` as the database URL when given (exit 2 on a bad setting)."""
    with errors_to_exit():
        return get_settings(**({"database_url": db} if db else {}))


def where_it_looked(settings: Settings, db: str | None) -> str:
    """How the URL was chosen, for messages: the flag, the environment or the default."""
    if db:
        return "given with --db"
    if os.environ.get("UNBRAND_DATABASE_URL"):
        return "from UNBRAND_DATABASE_URL"
    return f"the default {settings.database_url}, relative to this folder"


def check_existing(settings: Settings, db: str | None) -> None:
    """Exit 2, creating nothing, when the database is missing or was never migrated (other
    database errors, e.g. unreachable, propagate)."""
    from scheduler.db.migrate import require_schema
    from scheduler.db.session import require_existing_database

    hint = ("pass --db URL (after `unbrand run --out OUT`: --db sqlite:///OUT/unbrand.db) "
            "or set UNBRAND_DATABASE_URL")
    try:
        require_existing_database(settings.database_url)
        require_schema(settings.database_url)
    except ConfigError as exc:
        fail(f"{exc} ({where_it_looked(settings, db)}); {hint}")


@contextmanager
def open_database(
    db: str | None, *, existing: bool = True
) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    """Settings and a session factory on `db` (or the configured database). With `existing`,
    a missing or never-migrated database stops the command (exit 2) before anything is
    created."""
    from scheduler.db.session import make_engine, make_session_factory

    settings = settings_for(db)
    if existing:
        with errors_to_exit():
            check_existing(settings, db)
    with errors_to_exit():
        engine = make_engine(settings.database_url)
    try:
        yield settings, make_session_factory(engine)
    finally:
        engine.dispose()

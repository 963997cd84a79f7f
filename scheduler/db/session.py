"""Engines, session factories and the transaction scope, for PostgreSQL and SQLite.

`session_scope` commits on success, rolls back on error and translates SQLAlchemy
errors into the scheduler tree: connection problems, deadlocks and SQLite's "database
is locked" become TransientDatabaseError (retry), everything else DatabaseError.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from scheduler.errors import ConfigError, DatabaseError, TransientDatabaseError
from scheduler.polling import poll_until
from scheduler.settings import redact_text, redact_url

SQLITE_BUSY_TIMEOUT_S = 30.0  # embedded runner + dashboard share one file
SUPPORTED_BACKENDS = ("postgresql", "sqlite")
URL_EXAMPLES = "postgresql://USER:PASSWORD@HOST:5432/DB or sqlite:///FILE.db"
# The pip package that provides each PostgreSQL driver module SQLAlchemy may ask for.
DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary"}


def parse_database_url(url: str) -> sa.URL:
    """The parsed URL of a PostgreSQL or SQLite database; ConfigError (one line, password
    hidden) for anything else: not a URL, a bad port, another database."""
    shown = redact_url(url)
    try:
        parsed = sa.make_url(url)
        parsed.port  # noqa: B018  (a non-numeric port only fails when read)
    except (sa_exc.ArgumentError, ValueError) as exc:
        raise ConfigError(f"invalid database URL {shown!r}; expected {URL_EXAMPLES}") from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ConfigError(f"unsupported database {backend!r} in {shown!r}; unbrand keeps its "
                          f"jobs in PostgreSQL or SQLite: {URL_EXAMPLES}")
    return parsed


def sqlite_file(url: str) -> Path | None:
    """The file of a file-backed SQLite URL (absolute; a relative one is taken from the working
    directory, as SQLite does), or None for other databases and in-memory SQLite."""
    parsed = parse_database_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):  # a SQLite URI filename: leave it to SQLite
        return None
    return Path(database).expanduser().absolute()


def require_existing_database(url: str) -> None:
    """ConfigError when `url` is a SQLite file that does not exist: connecting would create an
    empty one, and every query would then fail with "no such table"."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise ConfigError(f"no job database at {path}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An Engine for `url`; SQLite gets foreign keys, WAL and a busy timeout, others pre-ping.

    ConfigError for a URL that is not a PostgreSQL or SQLite one, an unknown driver
    (`postgresql+nodriver://`) or a driver that is not installed.
    """
    parsed = parse_database_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, **kwargs.pop("connect_args", {})}
            engine = sa.create_engine(parsed, connect_args=connect_args, **kwargs)
            sa.event.listen(engine, "connect", _sqlite_on_connect(parsed.database))
            return engine
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, **kwargs)
    except sa_exc.NoSuchModuleError as exc:
        raise ConfigError(f"unknown database driver {parsed.drivername!r} in "
                          f"{redact_url(url)!r}; expected {URL_EXAMPLES}") from exc
    except ImportError as exc:
        module = (exc.name or "").split(".")[0]
        package = DRIVER_PACKAGES.get(module, module or "the driver")
        raise ConfigError(f"the database driver {module!r} for {parsed.drivername!r} URLs is "
                          f"not installed: pip install '{package}'") from exc


def _sqlite_on_connect(database: str | None) -> Any:
    """A connect hook enabling foreign keys (for ON DELETE CASCADE) and WAL for file databases."""
    in_memory = not database or database == ":memory:" or database.startswith("file::memory:")

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return on_connect


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to `engine`; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: commit on success, rollback on any error.

    SQLAlchemy errors are re-raised as DatabaseError / TransientDatabaseError.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except sa_exc.SQLAlchemyError as exc:
        session.rollback()
        raise translate_db_error(exc) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def translate_db_error(exc: sa_exc.SQLAlchemyError) -> DatabaseError:
    """The scheduler error for a SQLAlchemy error (transient when a retry may succeed)."""
    message = _short_message(exc)
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return TransientDatabaseError(f"database connection lost: {message}")
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return TransientDatabaseError(f"database unavailable: {message}")
    if isinstance(exc, sa_exc.DBAPIError) and _is_transient_pg(exc):
        return TransientDatabaseError(f"database conflict, retry: {message}")
    return DatabaseError(message)


def _is_transient_pg(exc: sa_exc.DBAPIError) -> bool:
    """Serialization failures and deadlocks (SQLSTATE 40001 / 40P01) are worth a retry."""
    orig = exc.orig  # psycopg2 names the SQLSTATE pgcode, psycopg 3 sqlstate
    code = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    return code in {"40001", "40P01"}


def _short_message(exc: Exception) -> str:
    """The driver's message without SQLAlchemy's SQL/parameter dump (parameters may be large)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return redact_text(text.splitlines()[0]) if text else type(exc).__name__


def wait_for_database(engine: Engine, *, timeout: float = 60.0, interval: float = 1.0) -> None:
    """Block until `SELECT 1` succeeds (start-up of workers and services).

    Raises TransientDatabaseError when the database is still unreachable after `timeout`.
    """
    def select_one() -> None:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def unreachable(exc: Exception) -> Exception:
        return TransientDatabaseError(
            f"database {redact_url(engine.url.render_as_string())} not reachable "
            f"after {timeout:.0f} s: {_short_message(exc)}"
        )

    poll_until(select_one, retry_on=sa_exc.SQLAlchemyError, give_up=unreachable,
               timeout=timeout, interval=interval)

"""Programmatic Alembic: upgrade / downgrade / current revision for a database URL.

Used by `unbrand db ...` and the embedded runner. The migrations folder sits at the top
of the repository (beside `scheduler/`) and is located from this file, so the working
directory does not matter.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import exc as sa_exc

from scheduler.db.session import make_engine, translate_db_error
from scheduler.errors import ConfigError, DatabaseError

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = REPO_ROOT / "migrations"


def make_alembic_config(url: str) -> Config:
    """An Alembic Config pointing at the migrations folder, migrating `url`."""
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise ConfigError(f"migrations folder not found at {MIGRATIONS_DIR}")
    ini = REPO_ROOT / "alembic.ini"
    config = Config(str(ini)) if ini.is_file() else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url  # attributes avoid ConfigParser's '%' interpolation
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (default: the latest)."""
    _run(command.upgrade, url, revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` down to `revision` ("base" removes every table)."""
    _run(command.downgrade, url, revision)


def _run(action: object, url: str, revision: str) -> None:
    config = make_alembic_config(url)
    try:
        action(config, revision)  # type: ignore[operator]
    except CommandError as exc:
        raise DatabaseError(f"migration to {revision!r} failed: {exc}") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise translate_db_error(exc) from exc


def head_revision() -> str:
    """The newest revision in the migrations folder."""
    script = ScriptDirectory.from_config(make_alembic_config("sqlite://"))
    head = script.get_current_head()
    if head is None:
        raise ConfigError("the migrations folder holds no revision")
    return head


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at (None: never migrated)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except sa_exc.SQLAlchemyError as exc:
        raise translate_db_error(exc) from exc
    finally:
        engine.dispose()

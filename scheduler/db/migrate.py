"""Programmatic Alembic: upgrade / downgrade / current revision for a database URL.

Used by `unbrand db ...` and the embedded runner. In a checkout the migrations folder and
alembic.ini sit at the top of the repository (beside `scheduler/`); an installed package
carries copies of both in `scheduler/db/` (setup.py puts them there). They are located from
this file, so the working directory does not matter.
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
from scheduler.settings import redact_url

PACKAGE_DIR = Path(__file__).resolve().parent  # installed: scheduler/db/{migrations,alembic.ini}
REPO_ROOT = PACKAGE_DIR.parents[1]  # a checkout: <repo>/{migrations,alembic.ini}
SEARCH_DIRS = (PACKAGE_DIR, REPO_ROOT)


def find_migrations(search: tuple[Path, ...] = SEARCH_DIRS) -> tuple[Path, Path | None]:
    """(migrations folder, alembic.ini or None) from the first place that holds a migrations
    folder; ConfigError naming every place looked at when none does."""
    for folder in search:
        migrations = folder / "migrations"
        if (migrations / "env.py").is_file():
            ini = folder / "alembic.ini"
            return migrations, ini if ini.is_file() else None
    places = " or ".join(str(folder / "migrations") for folder in search)
    raise ConfigError(f"migrations folder not found at {places}: this install of unbrand "
                      "is incomplete; reinstall it")


def make_alembic_config(url: str) -> Config:
    """An Alembic Config pointing at the migrations folder, migrating `url`."""
    migrations, ini = find_migrations()
    config = Config(str(ini)) if ini is not None else Config()
    config.set_main_option("script_location", str(migrations))
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


def require_schema(url: str) -> None:
    """ConfigError when the database at `url` was never migrated (it has no unbrand tables)."""
    if current_revision(url) is None:
        raise ConfigError(f"the database {redact_url(url)} has no unbrand tables "
                          "(never migrated)")

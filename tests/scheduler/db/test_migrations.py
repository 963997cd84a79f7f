"""Alembic: upgrade to head matches the models exactly; downgrade removes everything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from scheduler.db.migrate import current_revision, downgrade, head_revision, upgrade
from scheduler.db.models import Base
from scheduler.db.session import make_engine

REPO_ROOT = Path(__file__).resolve().parents[3]
TABLES = {"batches", "jobs", "workers"}


def _schema_diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_matches_models_and_downgrade_removes(db_url: str) -> None:
    assert current_revision(db_url) is None
    upgrade(db_url)
    assert current_revision(db_url) == head_revision() == "0002_lost_attempts"
    assert TABLES <= _tables(db_url)
    assert _schema_diff(db_url) == []

    engine = make_engine(db_url)
    inspector = sa.inspect(engine)
    index_names = {index["name"] for index in inspector.get_indexes("jobs")}
    assert {"ix_jobs_batch_id_status", "ix_jobs_status"} <= index_names
    uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("jobs")}
    assert ("batch_id", "input_uri") in uniques
    engine.dispose()

    downgrade(db_url, "base")
    assert current_revision(db_url) is None
    assert _tables(db_url) & TABLES == set()

    upgrade(db_url)  # and up again: the downgrade left nothing behind that blocks it
    assert _schema_diff(db_url) == []


def test_alembic_command_line_uses_x_url(sqlite_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url={sqlite_url}", "upgrade", "head"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert current_revision(sqlite_url) == "0002_lost_attempts"


def test_alembic_command_line_reads_settings(sqlite_url: str) -> None:
    env = {**os.environ, "UNBRAND_DATABASE_URL": sqlite_url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert current_revision(sqlite_url) == "0002_lost_attempts"


def test_offline_sql_has_every_table(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-x",
            "url=postgresql://u@127.0.0.1/x",
            "upgrade",
            "head",
            "--sql",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for table in TABLES:
        assert f"CREATE TABLE {table}" in result.stdout
    assert "ON DELETE CASCADE" in result.stdout
    assert "BIGSERIAL" in result.stdout

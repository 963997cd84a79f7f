"""`unbrand db upgrade / downgrade / current` through Typer's CliRunner on real databases."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from scheduler.db.migrate import current_revision
from scheduler.db.session import make_engine
from unbrand.cli import db as db_cli

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    db_cli.register(app)

    @app.command("noop", hidden=True)
    def _noop() -> None:  # a second command keeps `db` a sub-command group
        """Nothing."""

    return app


def test_upgrade_current_downgrade(db_url: str) -> None:
    app = _app()
    result = runner.invoke(app, ["db", "current", "--url", db_url])
    assert result.exit_code == 0, result.output
    assert "never migrated" in result.output and "head is 0002_lost_attempts" in result.output

    result = runner.invoke(app, ["db", "upgrade", "--url", db_url, "--wait", "5"])
    assert result.exit_code == 0, result.output
    assert "at revision 0002_lost_attempts" in result.output
    assert current_revision(db_url) == "0002_lost_attempts"

    result = runner.invoke(app, ["db", "downgrade", "0001_initial", "--url", db_url])
    assert result.exit_code == 0, result.output  # one step down, then back up: both directions
    engine = make_engine(db_url)
    assert "lost_attempts" not in {c["name"] for c in sa.inspect(engine).get_columns("jobs")}
    engine.dispose()
    assert runner.invoke(app, ["db", "upgrade", "--url", db_url]).exit_code == 0

    result = runner.invoke(app, ["db", "downgrade", "base", "--url", db_url])
    assert result.exit_code == 0, result.output
    assert "base (no tables)" in result.output
    engine = make_engine(db_url)
    assert not {"jobs", "batches", "workers"} & set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_url_from_environment(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNBRAND_DATABASE_URL", sqlite_url)
    result = runner.invoke(_app(), ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert current_revision(sqlite_url) == "0002_lost_attempts"


def test_unreachable_database_exits_2_without_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg2://app:hunter2@127.0.0.1:{port}/x"
    result = runner.invoke(_app(), ["db", "upgrade", "--url", url, "--wait", "1"])
    assert result.exit_code == 2
    assert "not reachable" in result.output and "hunter2" not in result.output


def test_unknown_revision_exits_2(sqlite_url: str) -> None:
    result = runner.invoke(_app(), ["db", "downgrade", "nonexistent", "--url", sqlite_url])
    assert result.exit_code == 2
    assert "error:" in result.output


def test_registered_in_the_unbrand_cli() -> None:
    from unbrand.cli.app import make_app

    result = runner.invoke(make_app(), ["db", "--help"])
    assert result.exit_code == 0, result.output
    for command in ("upgrade", "downgrade", "current"):
        assert command in result.output

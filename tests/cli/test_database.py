"""Database URLs and where commands look for the job database: conventional postgresql:// URLs
work (psycopg 3), +psycopg2 ones too; every bad URL, unknown dialect or driver, or bad S3
endpoint is one line and exit 2; a folder without a database is reported, not filled with an
empty unbrand.db."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from scheduler.db import crud
from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine, make_session_factory, session_scope
from scheduler.errors import ConfigError
from unbrand.cli.app import make_app

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str, env: dict[str, str | None] | None = None) -> object:
    return CliRunner().invoke(make_app(), list(args), env=env)


def _one_line_error(result: object) -> str:
    output = result.output  # type: ignore[attr-defined]
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize("url,expected", [
    ("notaurl", "invalid database URL 'notaurl'"),
    ("postgresql://u:hunter2@h:abc/db", "invalid database URL 'postgresql://u:***@"),
    ("foo://x/y", "unsupported database 'foo'"),
    ("mysql://root@127.0.0.1/test", "unsupported database 'mysql'"),
    ("postgresql+nodriver://h/d", "unknown database driver 'postgresql+nodriver'"),
])
def test_bad_database_urls_are_one_line_and_exit_2(url: str, expected: str) -> None:
    for verb in (["status"], ["db", "upgrade"], ["jobs", "b"], ["report", "b", "-o", "r"]):
        result = invoke(*verb, "--db", url)
        assert result.exit_code == 2, (verb, result.output)  # type: ignore[attr-defined]
        assert expected in _one_line_error(result)
        assert "hunter2" not in result.output  # type: ignore[attr-defined]


def test_a_missing_driver_says_which_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if psycopg 3 were not installed
    with pytest.raises(ConfigError, match=r"driver 'psycopg'.*pip install 'psycopg\[binary\]'"):
        make_engine("postgresql+psycopg://u@127.0.0.1/db")


@pytest.mark.parametrize("endpoint", ["notaurl", "http://h:port", "ftp://minio:9000"])
def test_a_bad_s3_endpoint_is_one_line_and_exit_2(endpoint: str, tmp_path: Path) -> None:
    result = invoke("submit", str(REPO / "demo"), "-o", "s3://b/out", "--dry-run",
                    "--db", f"sqlite:///{tmp_path / 'x.db'}",
                    env={"UNBRAND_S3_ENDPOINT_URL": endpoint})
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "is not an http:// or https:// URL" in _one_line_error(result)


@pytest.mark.parametrize("driver", ["postgresql", "postgresql+psycopg", "postgresql+psycopg2"])
def test_postgresql_urls_work_with_either_driver(postgres_url: str, driver: str) -> None:
    url = sa.make_url(postgres_url).set(drivername=driver).render_as_string(hide_password=False)
    upgrade(url)
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            batch = crud.create_batch(session, name="b", source="s", output_root="o")
            [job_id] = crud.bulk_insert_jobs(session, batch_id=batch.id,
                                             jobs=[{"input_uri": "a", "mask_spec": {}}])
        with session_scope(factory) as session:
            assert crud.claim_job(session, job_id=job_id, worker="w")
        expected = {"postgresql": "psycopg", "postgresql+psycopg": "psycopg",
                    "postgresql+psycopg2": "psycopg2"}[driver]
        assert engine.dialect.driver == expected
    finally:
        engine.dispose()


def test_status_in_a_folder_without_a_database_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("UNBRAND_DATABASE_URL", raising=False)

    results = [invoke(*verb) for verb in (["status"], ["wait", "b"], ["jobs", "b"],
                                          ["cancel", "b"], ["report", "b", "-o", "r"])]

    for result in results:
        assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
        line = _one_line_error(result)
        assert f"no job database at {tmp_path / 'unbrand.db'}" in line
        assert "the default sqlite:///unbrand.db" in line and "--db" in line
    assert list(tmp_path.iterdir()) == []  # no stray empty unbrand.db, no report folder


def test_a_database_given_with_db_that_does_not_exist_or_was_never_migrated(
    tmp_path: Path,
) -> None:
    missing = invoke("status", "--db", f"sqlite:///{tmp_path / 'nope.db'}")
    assert missing.exit_code == 2  # type: ignore[attr-defined]
    assert "(given with --db)" in _one_line_error(missing)
    assert not (tmp_path / "nope.db").exists()

    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()  # a file with no tables
    never = invoke("status", "--db", f"sqlite:///{empty}")
    assert never.exit_code == 2  # type: ignore[attr-defined]
    assert "has no unbrand tables (never migrated)" in _one_line_error(never)

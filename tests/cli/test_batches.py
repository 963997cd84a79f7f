"""`unbrand submit / status / wait / retry / cancel` through CliRunner on real databases + Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from typer.testing import CliRunner

from scheduler.db.migrate import upgrade
from unbrand.cli.app import make_app

STATUSES = {"queued", "running", "done", "failed", "cancelled"}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A manifest of five images (the files need not exist: nothing is processed here)."""
    folder = tmp_path / "data"
    folder.mkdir()
    rows = "".join(f"img{i}.png,1 1 8 8\n" for i in range(5))
    (folder / "list.csv").write_text("image,boxes\n" + rows)
    return folder / "list.csv"


def invoke(*args: str, env: dict[str, str] | None = None) -> object:
    return CliRunner().invoke(make_app(), list(args), env=env)


def set_status(db: str, status: str, *, ids: list[int] | None = None, error: str | None = None
               ) -> None:
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        query = "UPDATE jobs SET status = :s, error = :e"
        if ids:
            query += f" WHERE id IN ({', '.join(str(i) for i in ids)})"
        conn.execute(sa.text(query), {"s": status, "e": error})
    engine.dispose()


def queue_length(url: str, queue: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.llen(queue))
    finally:
        client.close()


@pytest.fixture
def submitted(db_url: str, redis_url: str, dataset: Path, tmp_path: Path) -> str:
    """Database URL holding batch "b" with five queued jobs, published to the cpu queue."""
    result = invoke("submit", str(dataset), "--output", str(tmp_path / "out"), "--name", "b",
                    "--queue", "cpu", "--db", db_url, env={"UNBRAND_BROKER_URL": redis_url})
    assert result.exit_code == 0, result.output
    assert "insert 5 new jobs, 0 already known" in result.output
    assert "publish 5 to queue cpu" in result.output
    assert queue_length(redis_url, "cpu") == 5
    return db_url


def test_status_json_has_the_documented_shape_with_real_counts(submitted: str) -> None:
    set_status(submitted, "done", ids=[1, 2, 3])
    set_status(submitted, "failed", ids=[4], error="bad image: cannot identify image file")

    single = invoke("status", "b", "--json", "--db", submitted)
    listing = invoke("status", "--json", "--db", submitted)

    assert single.exit_code == 0, single.output
    document = json.loads(single.output)
    assert document["name"] == "b" and document["total"] == 5
    assert document["counts"] == {"queued": 1, "running": 0, "done": 3, "failed": 1,
                                  "cancelled": 0}
    assert document["failures"][0]["count"] == 1
    assert document["failures"][0]["example"] == "bad image: cannot identify image file"
    assert json.loads(listing.output) == [document]


def test_submit_needs_a_broker_unless_it_is_a_dry_run(sqlite_url: str, dataset: Path,
                                                       tmp_path: Path) -> None:
    upgrade(sqlite_url)
    args = ["submit", str(dataset), "--output", str(tmp_path / "o"), "--db", sqlite_url]
    refused = invoke(*args, env={"UNBRAND_BROKER_URL": ""})
    dry = invoke(*args, "--dry-run", env={"UNBRAND_BROKER_URL": ""})
    assert refused.exit_code == 2 and "UNBRAND_BROKER_URL" in refused.output
    assert dry.exit_code == 0, dry.output
    assert "would insert 5 new jobs" in dry.output and "would publish 5" in dry.output
    listing = invoke("status", "--json", "--db", sqlite_url)
    assert json.loads(listing.output) == []


def test_unknown_batch_and_bad_queue_exit_2(submitted: str, dataset: Path, tmp_path: Path) -> None:
    assert invoke("status", "nope", "--db", submitted).exit_code == 2
    assert invoke("wait", "nope", "--db", submitted).exit_code == 2
    bad_queue = invoke("submit", str(dataset), "--output", str(tmp_path), "--queue", "tpu",
                       "--db", submitted, "--dry-run")
    assert bad_queue.exit_code == 2 and "'tpu' is not one of" in bad_queue.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_wait_exit_codes(submitted: str) -> None:
    timed_out = invoke("wait", "b", "--timeout", "0.3", "--interval", "0.1", "--db", submitted)
    assert timed_out.exit_code == 2 and "timed out" in timed_out.output

    set_status(submitted, "done")
    set_status(submitted, "failed", ids=[2], error="bad image: x")
    failed = invoke("wait", "b", "--db", submitted)
    assert failed.exit_code == 1 and "1 job(s) failed" in failed.output

    set_status(submitted, "done", ids=[2])
    done = invoke("wait", "b", "--db", submitted)
    assert done.exit_code == 0 and "finished: 5 done, none failed" in done.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_retry_requeues_failed_jobs_and_publishes_them(submitted: str, redis_url: str) -> None:
    set_status(submitted, "done")
    set_status(submitted, "failed", ids=[2, 5], error="internal error: boom")

    result = invoke("retry", "b", "--db", submitted, env={"UNBRAND_BROKER_URL": redis_url})

    assert result.exit_code == 0, result.output
    assert "2 failed job(s) requeued; 2 published to queue cpu" in result.output
    assert queue_length(redis_url, "cpu") == 5 + 2
    counts = json.loads(invoke("status", "b", "--json", "--db", submitted).output)["counts"]
    assert (counts["queued"], counts["done"], counts["failed"]) == (2, 3, 0)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cancel_ends_every_open_job(submitted: str) -> None:
    set_status(submitted, "done", ids=[1])
    set_status(submitted, "running", ids=[2])

    result = invoke("cancel", "b", "--db", submitted)

    assert result.exit_code == 0 and "4 job(s) cancelled" in result.output
    document = json.loads(invoke("status", "b", "--json", "--db", submitted).output)
    assert document["counts"]["cancelled"] == 4 and document["finished_at"] is not None
    finished = invoke("wait", "b", "--db", submitted)
    assert finished.exit_code == 0 and "1 done, 4 cancelled" in finished.output
    assert set(document["counts"]) == STATUSES

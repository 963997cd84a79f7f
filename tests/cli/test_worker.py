"""`unbrand worker` follows Celery's conventions (task events, honest queue routing, no
--concurrency with the solo pool) and `unbrand doctor` says what works and what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scheduler.db.migrate import upgrade
from scheduler.queue import make_client
from scheduler.settings import get_settings
from unbrand.cli.app import make_app


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tiny_weights: Path,
            sqlite_url: str) -> list[list[str]]:
    """The argv `unbrand worker` would hand to Celery (nothing is started)."""
    from worker.celery_app import app

    calls: list[list[str]] = []
    monkeypatch.setattr(app, "worker_main", lambda argv: calls.append(list(argv)))
    monkeypatch.setenv("UNBRAND_BROKER_URL", "redis://127.0.0.1:6379/9")
    monkeypatch.setenv("UNBRAND_MODEL_WEIGHTS", str(tiny_weights))
    monkeypatch.setenv("UNBRAND_DATABASE_URL", sqlite_url)
    upgrade(sqlite_url)
    return calls


def test_a_worker_on_a_database_without_tables_says_to_migrate(
    started: list[list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to start and log `no such table: workers` for every job."""
    empty = tmp_path / "fresh.db"
    empty.write_bytes(b"")
    monkeypatch.setenv("UNBRAND_DATABASE_URL", f"sqlite:///{empty}")

    result = CliRunner().invoke(make_app(), ["worker", "-Q", "cpu"])

    assert result.exit_code == 2 and started == []
    assert "has no unbrand tables (never migrated)" in result.output
    assert "run `unbrand db upgrade --db" in result.output


def test_the_worker_sends_task_events_unless_told_not_to(started: list[list[str]]) -> None:
    assert CliRunner().invoke(make_app(), ["worker", "-Q", "cpu"]).exit_code == 0
    assert CliRunner().invoke(make_app(), ["worker", "--no-events"]).exit_code == 0
    assert "--task-events" in started[0]
    assert "--task-events" not in started[1]
    assert started[0][started[0].index("--concurrency") + 1] == "1"


def test_solo_refuses_a_concurrency_it_would_ignore(started: list[list[str]]) -> None:
    refused = CliRunner().invoke(make_app(), ["worker", "-P", "solo", "-c", "4"])
    solo = CliRunner().invoke(make_app(), ["worker", "-P", "solo", "-Q", "gpu"])

    assert refused.exit_code == 2 and "--pool solo runs one job at a time" in refused.output
    assert solo.exit_code == 0 and len(started) == 1
    assert "--concurrency" not in started[0]  # nothing for Celery to ignore
    assert started[0][started[0].index("--pool") + 1] == "solo"


def test_each_queue_is_routed_through_its_own_exchange() -> None:
    """The banner used to say `cpu exchange=gpu(direct)`: every queue shared the default
    exchange of the gpu queue. Client and worker now declare the same queues."""
    from worker.celery_app import app

    banner = app.amqp.queues.format()
    assert "cpu              exchange=cpu(direct) key=cpu" in banner
    assert "gpu              exchange=gpu(direct) key=gpu" in banner
    client = make_client(get_settings(broker_url="redis://127.0.0.1:6379/9"))
    for name in ("gpu", "cpu"):
        route = client.amqp.router.route({"queue": name}, "unbrand.process_job")
        assert route["queue"].exchange.name == name and route["queue"].routing_key == name
        assert client.amqp.queues[name] == app.amqp.queues[name]


def test_doctor_passes_on_a_working_setup(sqlite_url: str, redis_url: str, tmp_path: Path,
                                          tiny_weights: Path) -> None:
    upgrade(sqlite_url)
    result = CliRunner().invoke(make_app(), [
        "doctor", "--db", sqlite_url, "-o", str(tmp_path / "out"), "-w", str(tiny_weights),
        "--device", "cpu", "--precision", "fp32"], env={"UNBRAND_BROKER_URL": redis_url})

    assert result.exit_code == 0, result.output
    lines = _states(result.output)
    assert lines == {"database": "ok", "broker": "ok", "output": "ok", "weights": "ok",
                     "compute": "ok"}
    assert "tiny-test" in result.output and "fp32 on cpu" in result.output
    assert "waiting passive (OMP_WAIT_POLICY)" in result.output


def test_doctor_names_every_problem_and_its_fix(tmp_path: Path) -> None:
    never_migrated = tmp_path / "jobs.db"
    never_migrated.write_bytes(b"")
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")

    result = CliRunner().invoke(make_app(), [
        "doctor", "--db", f"sqlite:///{never_migrated}", "-o", str(blocker),
        "-w", str(tmp_path / "missing.safetensors")],
        env={"UNBRAND_BROKER_URL": "redis://127.0.0.1:1/0"})

    assert result.exit_code == 1, result.output
    assert _states(result.output) == {"database": "FAIL", "broker": "FAIL", "output": "FAIL",
                                      "weights": "FAIL", "compute": "ok"}
    assert "fix: unbrand db upgrade --db" in result.output
    assert "fix: start Redis" in result.output
    assert "weights file not found" in result.output
    assert "4 check(s) failed" in result.output


def _states(output: str) -> dict[str, Any]:
    states = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("ok", "skip", "FAIL"):
            states[parts[1]] = parts[0]
    return states

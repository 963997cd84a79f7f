"""Workers killed and services broken mid-batch, with real Celery worker processes.

Every scenario ends the same way: every job `done` (or a final state with a reason), no job
left `running`, exactly one output object per done job and no stray objects.

Kill scenarios use a short Redis visibility timeout (5 s) so the message of a killed worker
comes back quickly; the replacement worker restores it when it starts.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.faults.conftest import BUCKET, Services, assert_nothing_lost
from tests.faults.data import upload_manifest
from unbrand.cli.app import make_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SHORT = {"UNBRAND_VISIBILITY_TIMEOUT": "5", "UNBRAND_TASK_TIME_LIMIT": "4"}


def submit(services: Services, source: str, name: str, *, short: bool = True) -> None:
    result = CliRunner().invoke(make_app(), [
        "submit", source, "--output", f"s3://{BUCKET}/out", "--name", name, "--queue", "cpu"],
        env=services.cli_env(**(SHORT if short else {})))
    assert result.exit_code == 0, result.output


def running_on(name: str) -> Any:
    return lambda rows: any(r["status"] == "running" and r["worker"] == name for r in rows)


def test_workers_sigkilled_mid_job_three_times_lose_nothing(services: Services) -> None:
    source = upload_manifest(services, "kill", big=3, small=4)
    name = "k0@faults"
    services.start_worker(name, **SHORT)
    submit(services, source, "kill")
    victims = []
    for round_ in range(1, 4):
        rows = services.wait_until(running_on(name), 300, f"a job running on {name}")
        victims += [r["id"] for r in rows if r["status"] == "running" and r["worker"] == name]
        services.workers[-1].kill()
        time.sleep(5)  # past the visibility timeout: the next worker restores the message
        name = f"k{round_}@faults"
        services.start_worker(name, **SHORT)

    rows = services.wait_final(300)

    assert [r["status"] for r in rows] == ["done"] * 7
    attempts = {r["id"]: r["attempts"] for r in rows}
    assert all(attempts[v] >= 2 for v in victims), attempts  # restarted, not lost
    assert_nothing_lost(services, rows, "out/")


def test_pool_child_killed_like_oom_is_redelivered(services: Services) -> None:
    source = upload_manifest(services, "oom", big=1, small=2)
    # default limits: a prefork pool enforces the time limit, and the short one of the
    # other scenarios would end slow jobs; a lost child is requeued at once anyway
    worker = services.start_worker("oom@faults", pool="prefork")
    submit(services, source, "oom", short=False)
    services.wait_until(running_on("oom@faults"), 300, "the big job to start")
    [child] = worker.children()
    os.kill(child, signal.SIGKILL)  # what the kernel's OOM killer does to the pool child

    rows = services.wait_final(300)

    assert [r["status"] for r in rows] == ["done"] * 3, [(r["status"], r["error"]) for r in rows]
    assert rows[0]["attempts"] == 2 and rows[0]["input_uri"].endswith("big0.jpg")
    assert worker.process.poll() is None  # the main process survived and replaced its child
    assert_nothing_lost(services, rows, "out/")


def test_redis_restarted_mid_batch(services: Services) -> None:
    source = upload_manifest(services, "redis", big=1, small=6)
    services.start_worker("r@faults", **SHORT)
    submit(services, source, "redis")
    services.wait_until(running_on("r@faults"), 300, "a job to start")
    services.redis.stop()
    time.sleep(3)
    services.redis.start()  # same port, queue restored from the append-only file

    rows = services.wait_final(300)

    assert [r["status"] for r in rows] == ["done"] * 7
    assert_nothing_lost(services, rows, "out/")


def test_database_connection_dropped_for_a_few_seconds(services: Services) -> None:
    source = upload_manifest(services, "db", big=1, small=6)
    services.start_worker("d@faults", **SHORT)
    submit(services, source, "db")
    services.wait_until(running_on("d@faults"), 300, "a job to start")
    services.proxy.cut()  # every worker connection dies, new ones are refused
    time.sleep(4)
    services.proxy.restore()

    rows = services.wait_final(300)

    assert [r["status"] for r in rows] == ["done"] * 7
    assert_nothing_lost(services, rows, "out/")


def test_s3_down_for_twenty_seconds(services: Services) -> None:
    source = upload_manifest(services, "s3", big=1, small=3)
    services.start_worker("s@faults", **SHORT)
    submit(services, source, "s3")
    services.wait_until(running_on("s@faults"), 300, "a job to start")
    services.s3.stop()
    time.sleep(20)
    services.s3.start()  # same port; moto keeps the buckets in process memory

    rows = services.wait_final(400)

    assert [r["status"] for r in rows] == ["done"] * 4, [r["error"] for r in rows]
    assert_nothing_lost(services, rows, "out/")

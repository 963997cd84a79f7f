"""Workers killed and services broken mid-batch, with real Celery worker processes.

Every scenario ends the same way: every job `done` (or a final state with a reason), no job
left `running`, exactly one output object per done job and no stray objects.

A killed worker's job comes back through the live workers' sweep once its heartbeat is older
than UNBRAND_STALE_AFTER (4 s here), long before the Redis visibility timeout (300 s here).
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

def submit(services: Services, source: str, name: str) -> None:
    result = CliRunner().invoke(make_app(), [
        "submit", source, "--output", f"s3://{BUCKET}/out", "--name", name, "--queue", "cpu"],
        env=services.cli_env())
    assert result.exit_code == 0, result.output


def running_on(name: str) -> Any:
    return lambda rows: any(r["status"] == "running" and r["worker"] == name for r in rows)


def test_workers_sigkilled_mid_job_three_times_lose_nothing(services: Services) -> None:
    source = upload_manifest(services, "kill", big=3, small=4)
    name = "k0@faults"
    services.start_worker(name)
    submit(services, source, "kill")
    victims = []
    for round_ in range(1, 4):
        rows = services.wait_until(running_on(name), 300, f"a job running on {name}")
        victims += [r["id"] for r in rows if r["status"] == "running" and r["worker"] == name]
        services.workers[-1].kill()
        name = f"k{round_}@faults"
        services.start_worker(name)

    rows = services.wait_final(300)

    assert [r["status"] for r in rows] == ["done"] * 7
    attempts = {r["id"]: r["attempts"] for r in rows}
    assert all(attempts[v] >= 2 for v in victims), attempts  # restarted, not lost
    assert_nothing_lost(services, rows, "out/")


def test_pool_child_killed_like_oom_is_redelivered(services: Services) -> None:
    source = upload_manifest(services, "oom", big=1, small=2)
    # a lost child's task is requeued by its parent at once; the job is taken over once the
    # dead child's heartbeat is stale
    worker = services.start_worker("oom@faults", pool="prefork")
    submit(services, source, "oom")
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
    services.start_worker("r@faults")
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
    services.start_worker("d@faults")
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
    services.start_worker("s@faults")
    submit(services, source, "s3")
    services.wait_until(running_on("s@faults"), 300, "a job to start")
    services.s3.stop()
    time.sleep(20)
    services.s3.start()  # same port; moto keeps the buckets in process memory

    rows = services.wait_final(400)

    assert [r["status"] for r in rows] == ["done"] * 4, [r["error"] for r in rows]
    assert_nothing_lost(services, rows, "out/")


def test_a_killed_workers_job_comes_back_by_the_sweep_not_the_visibility_timeout(
    services: Services,
) -> None:
    # visibility timeout 300 s: Redis would hand the message back after five minutes; the live
    # worker's sweep requeues the job once its heartbeat is older than UNBRAND_STALE_AFTER (4 s)
    source = upload_manifest(services, "sweep", big=2, small=2)
    services.start_worker("s0@faults")
    services.start_worker("s1@faults")
    submit(services, source, "sweep")
    rows = services.wait_until(running_on("s0@faults"), 300, "a job running on s0")
    victim = next(r["id"] for r in rows if r["status"] == "running" and r["worker"] == "s0@faults")
    services.workers[0].kill()
    killed = time.monotonic()

    rows = services.wait_final(120)

    assert time.monotonic() - killed < 120  # far below the 300 s visibility timeout
    assert [r["status"] for r in rows] == ["done"] * 4, [(r["status"], r["error"]) for r in rows]
    again = next(r for r in rows if r["id"] == victim)
    assert again["worker"] == "s1@faults" and again["lost_attempts"] == 1
    assert_nothing_lost(services, rows, "out/")


def test_a_job_that_keeps_killing_its_worker_fails_with_the_reason(services: Services) -> None:
    source = upload_manifest(services, "poison", big=1, small=0)
    worker = services.start_worker("p@faults", pool="prefork", UNBRAND_MAX_ATTEMPTS="2")
    submit(services, source, "poison")
    for lost in range(2):  # the job takes its pool child down every time it runs (OOM-like)
        services.wait_until(lambda rows, lost=lost: rows[0]["status"] == "running"
                            and rows[0]["lost_attempts"] == lost, 300, f"attempt {lost + 1}")
        [child] = worker.children()
        os.kill(child, signal.SIGKILL)

    rows = services.wait_final(180)

    assert rows[0]["status"] == "failed", rows[0]
    assert rows[0]["error"].startswith("worker lost: the worker running this job vanished 2")
    assert worker.process.poll() is None  # the worker itself is still alive
    assert_nothing_lost(services, rows, "out/")

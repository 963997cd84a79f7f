"""Delivery faults with real Celery workers: duplicate messages, racing workers, a batch
submitted twice, cancel while processing, and the Redis visibility-timeout pitfall
(a long task redelivered to a second worker while the first still runs: Celery #5935, #5306)."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from inpaint_core.model.checkpoint import default_weights_path
from scheduler.queue import publish_jobs
from scheduler.settings import get_settings
from tests.faults.conftest import BUCKET, Services, assert_nothing_lost
from tests.faults.data import upload_manifest
from unbrand.cli.app import make_app

pytestmark = pytest.mark.integration


def cli(services: Services, *args: str, **env: str) -> object:
    result = CliRunner().invoke(make_app(), list(args), env=services.cli_env(**env))
    return result


def submit(services: Services, source: str, name: str, **env: str) -> object:
    return cli(services, "submit", source, "--output", f"s3://{BUCKET}/out", "--name", name,
               "--queue", "cpu", **env)


def received(worker_log: str) -> int:
    return worker_log.count("Task unbrand.process_job[")  # "... received" lines


@pytest.mark.slow
def test_visibility_timeout_redelivery_cannot_make_two_outputs(services: Services) -> None:
    # A job can outlive the visibility timeout only when workers disagree on it (one limit per
    # worker): the second worker, configured with a 2 s timeout, hands the unacknowledged
    # message of the job the first is still running to itself.
    # The first worker runs the SHIPPED weights: with the fixture's tiny network 40 boxes took
    # 1.4-1.7 s (4 s with the 6000x4000 JPEG's I/O), and the job was done by the time the second
    # worker was ready (seen in CI on a loaded 2-core EPYC). The shipped weights take 19 s for
    # them on a 2-core AVX2 EPYC (about 10 s on an AMX Xeon): long enough for the second worker
    # to start while the first still holds the message, on a fast machine too.
    source = upload_manifest(services, "vis", big=1, big_boxes=40)
    first = services.start_worker("first@faults", UNBRAND_TASK_TIME_LIMIT="180",
                                  UNBRAND_VISIBILITY_TIMEOUT="600",
                                  UNBRAND_MODEL_WEIGHTS=str(default_weights_path()))
    assert submit(services, source, "vis").exit_code == 0
    services.wait_until(lambda rows: rows[0]["status"] == "running", 120, "the job to start")
    time.sleep(2.5)  # the message is now older than the second worker's visibility timeout
    second = services.start_worker("second@faults", UNBRAND_TASK_TIME_LIMIT="1",
                                   UNBRAND_VISIBILITY_TIMEOUT="2")

    rows = services.wait_final(300)

    logs = first.output(), second.output()
    assert all("received" in log for log in logs), logs  # the redelivery really happened
    assert sum(received(log) for log in logs) >= 2
    [row] = rows
    assert row["status"] == "done" and row["error"] is None
    assert row["attempts"] >= 1 and row["worker"] in ("first@faults", "second@faults")
    assert_nothing_lost(services, rows, "out/")
    assert services.output_keys("out/") == ["out/vis/big0.jpg"]


@pytest.mark.slow
def test_duplicates_resubmit_and_racing_workers_give_one_output_per_job(
    services: Services,
) -> None:
    source = upload_manifest(services, "dup", small=8)
    services.start_worker("a@faults")
    services.start_worker("b@faults")
    first = submit(services, source, "dup")
    again = submit(services, source, "dup")  # the same batch submitted twice
    assert first.exit_code == 0 and again.exit_code == 0, again.output
    assert "insert 8 new jobs" in first.output and "insert 0 new jobs, 8 already known" \
        in again.output
    ids = [row["id"] for row in services.jobs()]
    settings = get_settings(broker_url=services.redis.url, database_url=services.db)
    publish_jobs(ids + ids, queue="cpu", settings=settings)  # every message twice more

    rows = services.wait_final(240)

    assert [row["status"] for row in rows] == ["done"] * 8
    assert [row["attempts"] for row in rows] == [1] * 8  # never processed twice
    assert_nothing_lost(services, rows, "out/")
    assert len(services.output_keys("out/dup/")) == 8


@pytest.mark.slow
def test_cancel_while_processing_leaves_no_output_for_the_cancelled_job(
    services: Services,
) -> None:
    source = upload_manifest(services, "cancel", big=1, small=3)
    services.start_worker("c@faults")
    assert submit(services, source, "cancel").exit_code == 0
    services.wait_until(lambda rows: any(r["status"] == "running" for r in rows), 120,
                        "a job to start")
    cancelled = cli(services, "cancel", "cancel")
    assert cancelled.exit_code == 0, cancelled.output

    rows = services.wait_final(60)
    # the worker finishes the big job it holds, but must neither record nor store it
    services.wait_until(lambda _: "succeeded" in services.workers[0].output(), 240,
                        "the worker to finish its job")
    rows = services.jobs()
    assert [row["status"] for row in rows] == ["cancelled"] * 4
    assert rows[0]["input_uri"].endswith("/big0.jpg") and rows[0]["attempts"] == 1
    assert_nothing_lost(services, rows, "out/")
    assert services.output_keys("out/") == []

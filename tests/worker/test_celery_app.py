"""The Celery app's delivery settings, the task's retry policy, and `unbrand worker`'s checks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import Retry
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from inpaint_core.errors import ImageInputError
from scheduler.db.models import Job
from scheduler.db.session import session_scope
from scheduler.errors import TransientStorageError
from scheduler.settings import get_settings
from scheduler.storage import LocalStorage, Storage
from tests.fixtures.images import encode, photo
from worker.celery_app import configure, make_celery
from worker.model_cache import ModelSpec, process_cache
from worker.services import WorkerResources, use_process_resources
from worker.tasks import (
    BUSY_MAX_RETRIES,
    MAX_RETRIES,
    RETRY_ERRORS,
    JobFailedError,
    process_job_task,
)


def test_delivery_rules_and_limits_come_from_settings() -> None:
    settings = get_settings(broker_url="redis://127.0.0.1:6379/9", task_time_limit=120,
                            visibility_timeout=900)
    app = make_celery(settings)
    conf = app.conf
    assert conf.broker_url == "redis://127.0.0.1:6379/9"
    assert (conf.task_serializer, conf.result_serializer) == ("json", "json")
    assert list(conf.accept_content) == ["json"]
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == 900
    assert conf.task_time_limit == 120 and conf.task_soft_time_limit == 108  # 10 % before
    assert sorted(q.name for q in conf.task_queues) == ["cpu", "gpu"]
    assert "unacked_restore_interval" not in conf.broker_transport_options  # kombu's defaults


def test_short_visibility_timeout_sweeps_for_lost_messages_often() -> None:
    """kombu restores unacked messages only every 10 x 10 s by default: too late for an 8 s
    timeout."""
    settings = get_settings(broker_url="redis://127.0.0.1:6379/9", task_time_limit=6,
                            visibility_timeout=8)
    options = make_celery(settings).conf.broker_transport_options
    assert options["visibility_timeout"] == 8
    assert (options["unacked_restore_interval"], options["unacked_restore_throttle"]) == (4, 1)


def test_no_broker_url_is_hard_coded() -> None:
    app = make_celery(get_settings(broker_url=None))
    assert app.conf.broker_url is None  # Celery's amqp://localhost default is never filled in
    configure(app, get_settings(broker_url="redis://10.0.0.5:6379/0"))
    assert app.conf.broker_url == "redis://10.0.0.5:6379/0"


def test_task_is_registered_by_name_and_retries_only_transient_faults() -> None:
    assert process_job_task.name == "unbrand.process_job"
    from worker.celery_app import app
    from worker.tasks import JobTask

    assert isinstance(app.tasks["unbrand.process_job"], JobTask)
    assert issubclass(TransientStorageError, RETRY_ERRORS)
    assert not issubclass(ImageInputError, RETRY_ERRORS)
    assert process_job_task.max_retries == MAX_RETRIES
    assert process_job_task.retry_backoff and process_job_task.retry_jitter
    assert process_job_task.acks_late and process_job_task.reject_on_worker_lost


class DownStorage(LocalStorage):
    """A real LocalStorage standing for an object store that is unreachable: reads fail."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads = 0

    def read_bytes(self, key: str) -> bytes:
        self.reads += 1
        raise TransientStorageError("endpoint unreachable")


@pytest.fixture
def resources(session_factory: sessionmaker[Session], sqlite_url: str, tiny_inpainter: Any,
              tmp_path: Path) -> Iterator[WorkerResources]:
    """Process resources on the test database; the tiny model pre-loaded in the cache."""
    settings = get_settings(database_url=sqlite_url)
    down = DownStorage(tmp_path / "in")
    outputs = LocalStorage(tmp_path / "out")

    def resolve(uri: str) -> tuple[Storage, str]:
        if uri.startswith("down://"):
            return down, uri.removeprefix("down://")
        return (outputs, "") if "out" in uri else (LocalStorage(tmp_path / "in"), uri)

    created = WorkerResources(settings, storage_resolver=resolve)
    created.down = down  # type: ignore[attr-defined]
    previous = use_process_resources(created)
    process_cache().put(ModelSpec.from_settings(settings), tiny_inpainter)
    yield created
    process_cache().clear()
    use_process_resources(previous)


def job(factory: sessionmaker[Session], job_id: int) -> Job:
    with session_scope(factory) as session:
        row = session.get(Job, job_id)
        session.expunge(row)
        return row


def test_transient_faults_are_retried_then_recorded(
    resources: WorkerResources, add_jobs: Any, session_factory: sessionmaker[Session]
) -> None:
    [job_id] = add_jobs([{"input_uri": "down://a.png", "mask_spec": {"boxes": [[1, 1, 5, 5]]}}])

    result = process_job_task.apply(args=[job_id])  # eager: retries run at once

    assert result.failed() and isinstance(result.result, TransientStorageError)
    assert resources.down.reads == MAX_RETRIES + 1  # type: ignore[attr-defined]
    row = job(session_factory, job_id)
    assert row.status == "failed" and row.attempts == MAX_RETRIES + 1
    assert row.error == (f"gave up after {MAX_RETRIES + 1} attempt(s): "
                         "TransientStorageError: endpoint unreachable")


def test_bad_input_is_not_retried(
    resources: WorkerResources, add_jobs: Any, session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"not an image")
    (tmp_path / "in" / "b.png").write_bytes(encode(photo()))
    bad, good = add_jobs([{"input_uri": name, "mask_spec": {"boxes": [[1, 1, 5, 5]]}}
                          for name in ("a.png", "b.png")])

    results = [process_job_task.apply(args=[job_id]) for job_id in (bad, good)]

    # a failed job is a failed task (task events and Flower count it), retried zero times
    assert results[0].failed() and isinstance(results[0].result, JobFailedError)
    assert "bad image:" in str(results[0].result)
    assert results[1].successful() and results[1].result["status"] == "done"
    assert job(session_factory, bad).attempts == 1
    assert job(session_factory, bad).error.startswith("bad image:")  # the pipeline's reason


def test_a_job_busy_elsewhere_is_looked_at_again_later(
    resources: WorkerResources, add_jobs: Any, session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    from scheduler.db import crud

    [job_id] = add_jobs([{"input_uri": "b.png", "mask_spec": {"boxes": [[1, 1, 5, 5]]}}])
    with session_scope(session_factory) as session:
        crud.claim_job(session, job_id=job_id, worker="elsewhere")
    task = process_job_task
    task.push_request(args=[job_id], hostname="here", retries=0, called_directly=False,
                      is_eager=True)  # eager: retry() raises Retry instead of publishing
    try:
        with pytest.raises(Retry) as raised:
            task.run(job_id)
    finally:
        task.pop_request()
    assert raised.value.when == resources.settings.stale_after / 2
    assert job(session_factory, job_id).worker == "elsewhere"  # untouched

    result = process_job_task.apply(args=[job_id])  # every retry finds it busy: give up quietly
    assert result.failed() and type(result.result).__name__ == "JobBusyError"
    row = job(session_factory, job_id)
    assert (row.status, row.worker, row.error) == ("running", "elsewhere", None)
    assert BUSY_MAX_RETRIES > MAX_RETRIES


def test_worker_command_refuses_bad_options_before_starting() -> None:
    from unbrand.cli.app import make_app

    runner = CliRunner()
    weights_before = os.environ.get("UNBRAND_MODEL_WEIGHTS")
    unknown_queue = runner.invoke(make_app(), ["worker", "--queues", "gpu,tpu"])
    bad_pool = runner.invoke(make_app(), ["worker", "--pool", "eventlet"])
    no_broker = runner.invoke(make_app(), ["worker"], env={"UNBRAND_BROKER_URL": ""})
    # naming UNBRAND_MODEL_WEIGHTS in env makes CliRunner restore it after the command set it
    missing = runner.invoke(make_app(), ["worker", "--weights", "/nonexistent/w.safetensors"],
                            env={"UNBRAND_BROKER_URL": "redis://127.0.0.1:6379/9",
                                 "UNBRAND_MODEL_WEIGHTS": None})
    assert unknown_queue.exit_code == 2 and "unknown queue(s) tpu" in unknown_queue.output
    assert bad_pool.exit_code == 2 and "'eventlet' is not one of" in bad_pool.output
    assert no_broker.exit_code == 2 and "UNBRAND_BROKER_URL" in no_broker.output
    assert missing.exit_code == 2 and "weights file not found" in missing.output
    assert os.environ.get("UNBRAND_MODEL_WEIGHTS") == weights_before

"""The pipeline's limits and last-resort rules (#18): poison jobs, time limits, hung reads,
a full disk, do-nothing results, and no output for a job that did not end done."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db import crud
from scheduler.db.models import Job
from scheduler.db.session import make_engine, make_session_factory, session_scope
from scheduler.quality import flag_reasons
from scheduler.settings import get_settings
from scheduler.storage import LocalStorage
from tests.fixtures.images import encode, photo
from tests.fixtures.services import service_missing
from worker.pipeline import PipelineOptions, claim, process_job
from worker.services import StorageResolver

BOX = [10, 8, 30, 24]


def run(job_id: int, factory: sessionmaker[Session], inpainter: Any, **options: Any) -> Any:
    return process_job(job_id, session_factory=factory, inpainter_provider=lambda: inpainter,
                       storage_resolver=StorageResolver(get_settings()), worker_name="live",
                       options=PipelineOptions(**options))


def job_row(factory: sessionmaker[Session], job_id: int) -> Job:
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def one_job(add_jobs: Any, folder: Path, name: str = "a.png") -> int:
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(encode(photo()))
    [job_id] = add_jobs([{"input_uri": str(folder / name), "mask_spec": {"boxes": [BOX]}}])
    return job_id


def outputs(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_a_job_that_keeps_losing_its_worker_fails_after_the_cap(
    session_factory: sessionmaker[Session], add_jobs: Any, tmp_path: Path, tiny_inpainter: Any,
) -> None:
    job_id = one_job(add_jobs, tmp_path / "in")
    for dead in ("dead1", "dead2"):  # each worker claims the job and vanishes with it
        assert not isinstance(claim(session_factory, job_id, worker_name=dead,
                                    stale_after=0.05), type(None))
        time.sleep(0.1)

    outcome = run(job_id, session_factory, tiny_inpainter, stale_after=0.05, max_attempts=2)

    job = job_row(session_factory, job_id)
    assert outcome.status == "failed" and job.status == "failed" and job.lost_attempts == 2
    assert job.error.startswith("worker lost: the worker running this job vanished 2 times")
    assert outputs(tmp_path) == []


def test_a_job_below_the_cap_is_run_again(
    session_factory: sessionmaker[Session], add_jobs: Any, tmp_path: Path, tiny_inpainter: Any,
) -> None:
    job_id = one_job(add_jobs, tmp_path / "in")
    claim(session_factory, job_id, worker_name="dead", stale_after=0.05)
    time.sleep(0.1)
    assert run(job_id, session_factory, tiny_inpainter, stale_after=0.05,
               max_attempts=2).status == "done"
    job = job_row(session_factory, job_id)
    assert (job.attempts, job.lost_attempts) == (2, 1)


class Sleepy:
    """The tiny Inpainter, taking `pause` seconds longer (a slow or stuck model)."""

    def __init__(self, inner: Any, pause: float) -> None:
        self.inner, self.pause = inner, pause

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def fill(self, *args: Any, **kwargs: Any) -> Any:
        time.sleep(self.pause)
        return self.inner.fill(*args, **kwargs)


def test_the_watchdog_fails_a_job_past_its_time_limit_in_any_pool(
    session_factory: sessionmaker[Session], add_jobs: Any, tmp_path: Path, tiny_inpainter: Any,
) -> None:
    job_id = one_job(add_jobs, tmp_path / "in")
    started = time.monotonic()

    outcome = run(job_id, session_factory, Sleepy(tiny_inpainter, 2.5), time_limit=1.5,
                  heartbeat_interval=0.1, stale_after=5)

    job = job_row(session_factory, job_id)
    assert job.status == "failed" and job.error.startswith(
        "time limit: the job ran longer than the task time limit (1.5 s)")
    assert outcome.status == "skipped"  # the model returned later: nothing was written
    assert outputs(tmp_path) == [] and time.monotonic() - started < 10


def test_a_named_pipe_fails_its_job_instead_of_hanging(
    session_factory: sessionmaker[Session], add_jobs: Any, tmp_path: Path, tiny_inpainter: Any,
) -> None:
    (tmp_path / "in").mkdir()
    os.mkfifo(tmp_path / "in" / "pipe.png")
    [job_id] = add_jobs([{"input_uri": str(tmp_path / "in" / "pipe.png"),
                          "mask_spec": {"boxes": [BOX]}}])

    started = time.monotonic()
    outcome = run(job_id, session_factory, tiny_inpainter, read_timeout=30)

    assert outcome.status == "failed" and time.monotonic() - started < 10
    assert "is not a file" in job_row(session_factory, job_id).error


class HungStorage(LocalStorage):
    """A folder whose reads never return: a hung network file system or object store."""

    def read_bytes(self, key: str) -> bytes:
        threading.Event().wait(60)
        return super().read_bytes(key)


def test_a_hung_read_fails_its_job_after_the_read_timeout(
    session_factory: sessionmaker[Session], add_jobs: Any, tmp_path: Path, tiny_inpainter: Any,
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(encode(photo()))
    [job_id] = add_jobs([{"input_uri": "hung://in/a.png", "mask_spec": {"boxes": [BOX]}}])
    hung = HungStorage(tmp_path / "in")

    outcome = process_job(job_id, session_factory=session_factory,
                          inpainter_provider=lambda: tiny_inpainter,
                          storage_resolver=lambda uri: (hung, uri.rsplit("/", 1)[-1]),
                          worker_name="live", options=PipelineOptions(read_timeout=0.5))

    assert outcome.status == "failed"
    assert job_row(session_factory, job_id).error.startswith("storage timeout: reading ")
    assert outputs(tmp_path) == []


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 96 KiB tmpfs: a real 'No space left on device' (needs root, as CI has)."""
    folder = tmp_path / "full"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        service_missing(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_fails_the_job_clearly_and_retry_recovers_it(
    session_factory: sessionmaker[Session], tmp_path: Path, tiny_inpainter: Any, tiny_disk: Path,
) -> None:
    (tiny_disk / "filler").write_bytes(b"\0" * 90 * 1024)
    big = photo(200, 150)  # a ~60 KB PNG: it fits once the filler is gone
    (tmp_path / "a.png").write_bytes(encode(big))
    with session_scope(session_factory) as session:
        batch = crud.create_batch(session, name="full", source=str(tmp_path),
                                  output_root=str(tiny_disk) + "/", options={})
        [job_id] = crud.bulk_insert_jobs(session, batch_id=batch.id, jobs=[
            {"input_uri": str(tmp_path / "a.png"), "mask_spec": {"boxes": [BOX]}}])

    assert run(job_id, session_factory, tiny_inpainter).status == "failed"
    assert job_row(session_factory, job_id).error.startswith("storage full: no space left")
    assert not [p for p in tiny_disk.rglob("*") if p.name != "filler" and p.is_file()]

    (tiny_disk / "filler").unlink()
    with session_scope(session_factory) as session:
        crud.requeue_failed(session, batch_id=batch.id)
    assert run(job_id, session_factory, tiny_inpainter).status == "done"


def test_a_job_whose_done_row_is_refused_leaves_no_output(
    postgres_url: str, tmp_path: Path, tiny_inpainter: Any,
) -> None:
    from scheduler.db.migrate import upgrade

    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    (tmp_path / "a.png").write_bytes(encode(photo()))
    with session_scope(factory) as session:
        batch = crud.create_batch(session, name="b", source=str(tmp_path),
                                  output_root=str(tmp_path / "out") + "/", options={})
        [job_id] = crud.bulk_insert_jobs(session, batch_id=batch.id, jobs=[
            {"input_uri": str(tmp_path / "a.png"), "mask_spec": {"boxes": [BOX]}}])

    class LongName:  # PostgreSQL refuses the done row: model_version is VARCHAR(128)
        model_version = "x" * 300

        def __getattr__(self, name: str) -> Any:
            return getattr(tiny_inpainter, name)

    try:
        outcome = run(job_id, factory, LongName())
        assert outcome.status == "failed"
        assert job_row(factory, job_id).status == "failed"
        assert outputs(tmp_path) == []  # written, then removed: a failed job has no output
    finally:
        engine.dispose()


def test_do_nothing_results_are_flagged() -> None:
    assert flag_reasons({"mask_ratio": 0.0, "fill_ratio": 0.0, "seam_score": 1.0}) == [
        "empty mask: nothing was removed"]
    whole = flag_reasons({"mask_ratio": 0.97, "fill_change": 0.3, "seam_score": 1.0})
    assert whole == ["mask covers 97% of the image (> 50%)"]
    same = flag_reasons({"mask_ratio": 0.05, "fill_change": 0.001, "seam_score": 1.0})
    assert same and same[0].startswith("output barely differs from the input")
    assert flag_reasons({"mask_ratio": 0.05, "fill_change": 0.2, "seam_score": 1.0}) == []


def test_the_pipeline_records_how_much_the_fill_changed(
    session_factory: sessionmaker[Session], add_jobs: Any, tmp_path: Path, tiny_inpainter: Any,
) -> None:
    image = photo()
    image[BOX[1]:BOX[3], BOX[0]:BOX[2]] = (255, 0, 255)  # a logo that has to go
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(encode(image))
    [job_id] = add_jobs([{"input_uri": str(tmp_path / "in" / "a.png"),
                          "mask_spec": {"boxes": [BOX]}}])
    assert run(job_id, session_factory, tiny_inpainter).status == "done"
    change = job_row(session_factory, job_id).metrics["fill_change"]
    assert 0.05 < change <= 1.0 and np.isfinite(change)

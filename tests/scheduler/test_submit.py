"""Submit against real databases (SQLite and PostgreSQL) and a real Redis broker."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db.models import Batch, Job
from scheduler.db.session import session_scope
from scheduler.errors import BatchExistsError, TransientQueueError
from scheduler.settings import get_settings
from scheduler.submit import batch_name_for, normalise_location, submit_dataset

REPO = Path(__file__).resolve().parents[2]
OPENLOGO = REPO.parent / "shared" / "data" / "flickrlogos27-openlogo"
OPENLOGO_IMAGES = 135


@pytest.fixture
def openlogo() -> Path:
    if not (OPENLOGO / "Annotations").is_dir():
        pytest.skip(f"shared data not found at {OPENLOGO}")
    return OPENLOGO


def messages(url: str, queue: str) -> list[dict]:
    """The task messages waiting in a Redis queue (oldest first)."""
    client = redis.Redis.from_url(url)
    raw = client.lrange(queue, 0, -1)
    client.close()
    return [json.loads(item) for item in reversed(raw)]


def job_ids_in(found: list[dict]) -> list[int]:
    ids = []
    for message in found:
        assert message["headers"]["task"] == "unbrand.process_job"
        assert message["content-type"] == "application/json"
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        assert kwargs == {}
        ids.append(args[0])
    return ids


def all_jobs(factory: sessionmaker[Session]) -> list[Job]:
    with session_scope(factory) as session:
        return list(session.scalars(sa.select(Job).order_by(Job.id)))


def test_submit_inserts_every_image_then_publishes_each_job_once(
    db_session_factory: sessionmaker[Session], redis_url: str, openlogo: Path, tmp_path: Path
) -> None:
    settings = get_settings(broker_url=redis_url)

    report = submit_dataset(str(openlogo), output=str(tmp_path / "out"),
                            session_factory=db_session_factory, settings=settings, queue="cpu")

    assert (report.items, report.inserted, report.existing, report.invalid) == (135, 135, 0, 0)
    assert report.published == OPENLOGO_IMAGES and report.batch_created
    jobs = all_jobs(db_session_factory)
    assert sorted(job_ids_in(messages(redis_url, "cpu"))) == [job.id for job in jobs]
    assert messages(redis_url, "gpu") == []
    first = jobs[0]
    assert first.status == "queued" and first.input_uri.startswith("file://")
    assert first.mask_spec["rel_path"].startswith("JPEGImages/")
    assert first.mask_spec["boxes"] and all(len(box) == 4 for box in first.mask_spec["boxes"])
    with session_scope(db_session_factory) as session:
        batch = session.scalar(sa.select(Batch))
        assert batch.name == batch_name_for(str(openlogo)) == report.batch_name
        assert batch.output_root == str((tmp_path / "out").resolve()) + "/"
        assert batch.options["queue"] == "cpu" and batch.finished_at is None


def test_resubmit_inserts_nothing_and_republishes_only_queued_jobs(
    db_session_factory: sessionmaker[Session], redis_url: str, openlogo: Path, tmp_path: Path
) -> None:
    settings = get_settings(broker_url=redis_url)
    kwargs = {"output": str(tmp_path / "out"), "session_factory": db_session_factory,
              "settings": settings, "queue": "gpu"}
    submit_dataset(str(openlogo), **kwargs)
    ids = [job.id for job in all_jobs(db_session_factory)]
    with session_scope(db_session_factory) as session:  # workers finished 100 of them
        session.execute(sa.update(Job).where(Job.id.in_(ids[:100])).values(status="done"))

    again = submit_dataset(str(openlogo) + "/", **kwargs)  # same folder, spelled differently

    assert (again.inserted, again.existing, again.published) == (0, 135, 35)
    assert not again.batch_created and len(all_jobs(db_session_factory)) == 135
    published = job_ids_in(messages(redis_url, "gpu"))
    assert len(published) == 135 + 35
    assert sorted(published[135:]) == ids[100:]


def test_dry_run_writes_nothing_and_says_what_would_happen(
    db_session_factory: sessionmaker[Session], redis_url: str, openlogo: Path, tmp_path: Path
) -> None:
    settings = get_settings(broker_url=redis_url)
    kwargs = {"output": str(tmp_path / "out"), "session_factory": db_session_factory,
              "settings": settings}

    dry = submit_dataset(str(openlogo), dry_run=True, **kwargs)

    assert (dry.inserted, dry.existing, dry.published, dry.batch_created) == (135, 0, 135, True)
    assert len(dry.sample) == 5 and all_jobs(db_session_factory) == []
    assert messages(redis_url, "gpu") == []
    submit_dataset(str(openlogo), **kwargs)
    dry_again = submit_dataset(str(openlogo), dry_run=True, **kwargs)
    assert (dry_again.inserted, dry_again.existing, dry_again.published) == (0, 135, 135)
    assert len(messages(redis_url, "gpu")) == 135


def test_a_name_taken_by_another_dataset_is_refused(
    db_session_factory: sessionmaker[Session], redis_url: str, openlogo: Path, tmp_path: Path
) -> None:
    settings = get_settings(broker_url=redis_url)
    manifest = tmp_path / "m.csv"
    manifest.write_text("image,boxes\na.png,1 1 5 5\n")
    submit_dataset(str(openlogo), output=str(tmp_path / "o"), name="shared",
                   session_factory=db_session_factory, settings=settings)
    with pytest.raises(BatchExistsError, match="choose another --name"):
        submit_dataset(str(manifest), output=str(tmp_path / "o"), name="shared",
                       session_factory=db_session_factory, settings=settings)


def test_unusable_rows_become_failed_jobs_with_reasons(
    db_session_factory: sessionmaker[Session], redis_url: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "data" / "list.csv"
    manifest.parent.mkdir()
    manifest.write_text("image,boxes\n"
                        "a.png,1 1 5 5\n"
                        "b.png,9 9 2 2\n"  # inverted box
                        "../escape.png,1 1 5 5\n"
                        "c.png,\"[[0, 0, 4, 4], [10, 10, 20, 20]]\"\n")
    settings = get_settings(broker_url=redis_url)

    report = submit_dataset(str(manifest), output=str(tmp_path / "out"),
                            session_factory=db_session_factory, settings=settings)

    assert (report.items, report.invalid, report.inserted, report.published) == (4, 2, 4, 2)
    jobs = {job.mask_spec.get("rel_path"): job for job in all_jobs(db_session_factory)}
    assert jobs["a.png"].status == jobs["c.png"].status == "queued"
    assert jobs["c.png"].mask_spec["boxes"] == [[0, 0, 4, 4], [10, 10, 20, 20]]
    failed = [job for job in jobs.values() if job.status == "failed"]
    assert len(failed) == 2
    assert all(job.error.startswith("bad dataset entry: ") for job in failed)
    assert any("inverted" in job.error for job in failed)
    assert sorted(job_ids_in(messages(redis_url, "gpu"))) == sorted(
        [jobs["a.png"].id, jobs["c.png"].id])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_rows_are_committed_before_publishing_and_a_later_submit_publishes_them(
    db_session_factory: sessionmaker[Session], redis_url: str, openlogo: Path, tmp_path: Path
) -> None:
    down = get_settings(broker_url=f"redis://127.0.0.1:{_closed_port()}/0")
    kwargs = {"output": str(tmp_path / "out"), "session_factory": db_session_factory}

    with pytest.raises(TransientQueueError, match="unreachable"):
        submit_dataset(str(openlogo), settings=down, **kwargs)
    assert [job.status for job in all_jobs(db_session_factory)] == ["queued"] * 135

    report = submit_dataset(str(openlogo), settings=get_settings(broker_url=redis_url), **kwargs)
    assert (report.inserted, report.published) == (0, 135)
    assert len(messages(redis_url, "gpu")) == 135


def test_locations_and_batch_names_are_stable(tmp_path: Path) -> None:
    folder = tmp_path / "my data"
    folder.mkdir()
    assert normalise_location(str(folder) + "/", folder=False) == str(folder.resolve())
    assert normalise_location(str(folder), folder=True) == str(folder.resolve()) + "/"
    assert normalise_location("s3://bucket/prefix/", folder=True) == "s3://bucket/prefix"
    assert normalise_location("S3://bucket", folder=False) == "s3://bucket"
    name = batch_name_for(str(folder))
    assert name == batch_name_for(str(folder) + "/") and name.startswith("my_data-")
    assert batch_name_for("s3://b/x/openlogo") != batch_name_for("s3://c/x/openlogo")
    test_split = batch_name_for("s3://b/openlogo", split="test", classes=["nike", "adidas"])
    assert test_split == batch_name_for("s3://b/openlogo", split="test", classes=["adidas", "nike"])
    assert test_split != batch_name_for("s3://b/openlogo", split="train")
    assert test_split != batch_name_for("s3://b/openlogo")

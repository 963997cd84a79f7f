"""crud on SQLite and PostgreSQL: idempotent bulk insert, atomic claims, state changes, queries."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db import crud
from scheduler.db.models import Batch, Job, Worker
from scheduler.db.session import session_scope
from scheduler.errors import BatchExistsError, DatabaseError

Factory = sessionmaker[Session]
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _specs(n: int, start: int = 0) -> list[dict[str, object]]:
    return [
        {"input_uri": f"s3://b/img/{i:06d}.jpg", "mask_spec": {"boxes": [[0, 0, 8, 8]]}}
        for i in range(start, start + n)
    ]


def _batch_with_jobs(factory: Factory, n: int, name: str = "b") -> tuple[int, list[int]]:
    with session_scope(factory) as session:
        batch = crud.create_batch(session, name=name, source="s3://b/img", output_root="s3://b/out")
        ids = crud.bulk_insert_jobs(session, batch_id=batch.id, jobs=_specs(n))
        return batch.id, ids


def _job(factory: Factory, job_id: int) -> Job:
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_create_batch_and_duplicate_name(db_session_factory: Factory) -> None:
    with session_scope(db_session_factory) as session:
        batch = crud.create_batch(
            session,
            name="b",
            source="src",
            output_root="out",
            format="openlogo",
            options={"output_format": "png"},
        )
        assert batch.id is not None
    with pytest.raises(BatchExistsError, match="'b'"), session_scope(db_session_factory) as session:
        crud.create_batch(session, name="b", source="x", output_root="y")
    with session_scope(db_session_factory) as session:
        found = crud.get_batch_by_name(session, name="b")
        assert found is not None and found.options == {"output_format": "png"}
        assert found.format == "openlogo"
        assert crud.get_batch_by_name(session, name="missing") is None


def test_bulk_insert_is_idempotent(db_session_factory: Factory) -> None:
    batch_id, ids = _batch_with_jobs(db_session_factory, 1200)  # spans several pages
    assert len(ids) == 1200 and len(set(ids)) == 1200
    with session_scope(db_session_factory) as session:  # re-submit + 10 new inputs
        again = crud.bulk_insert_jobs(session, batch_id=batch_id, jobs=_specs(1210))
    assert len(again) == 10 and min(again) > max(ids)
    with session_scope(db_session_factory) as session:
        assert crud.count_by_status(session, batch_id=batch_id)["queued"] == 1210
        job = session.get(Job, ids[5])
        assert job is not None and job.input_uri == "s3://b/img/000005.jpg"
        assert job.mask_spec == {"boxes": [[0, 0, 8, 8]]} and job.metrics == {}


def test_bulk_insert_failed_items(db_session_factory: Factory) -> None:
    with session_scope(db_session_factory) as session:
        batch = crud.create_batch(session, name="b", source="s", output_root="o")
        specs = [
            {"input_uri": "a.jpg", "mask_spec": {}},
            {"input_uri": "b.jpg", "mask_spec": {}, "status": "failed", "error": "bad XML"},
        ]
        ids = crud.bulk_insert_jobs(session, batch_id=batch.id, jobs=specs)
    bad = _job(db_session_factory, ids[1])
    assert (bad.status, bad.error) == ("failed", "bad XML") and bad.finished_at is not None
    with (
        pytest.raises(DatabaseError, match="longer than 1024"),
        session_scope(db_session_factory) as s,
    ):
        crud.bulk_insert_jobs(s, batch_id=batch.id, jobs=[{"input_uri": "s3://b/" + "x" * 1020}])
    with pytest.raises(ValueError, match="running"), session_scope(db_session_factory) as s:
        crud.bulk_insert_jobs(s, batch_id=batch.id, jobs=[{"input_uri": "c", "status": "running"}])


def test_claim_is_exclusive_and_counts_attempts(db_session_factory: Factory) -> None:
    _, (job_id, *_) = _batch_with_jobs(db_session_factory, 2)
    with session_scope(db_session_factory) as session:
        assert crud.claim_job(session, job_id=job_id, worker="w1", now=T0)
    with session_scope(db_session_factory) as session:
        assert not crud.claim_job(session, job_id=job_id, worker="w2", stale_after=300, now=T0)
    job = _job(db_session_factory, job_id)
    assert (job.status, job.worker, job.attempts) == ("running", "w1", 1)
    assert job.started_at == T0 and job.heartbeat_at == T0

    later = T0 + timedelta(seconds=200)
    with session_scope(db_session_factory) as session:  # heartbeat keeps it alive
        assert crud.heartbeat(session, job_id=job_id, worker="w1", now=later)
        assert not crud.heartbeat(session, job_id=job_id, worker="w2", now=later)
    with session_scope(db_session_factory) as session:
        assert not crud.claim_job(
            session, job_id=job_id, worker="w2", stale_after=300, now=later + timedelta(seconds=299)
        )
        assert crud.claim_job(  # heartbeat 301 s old: stale, taken over
            session, job_id=job_id, worker="w2", stale_after=300, now=later + timedelta(seconds=301)
        )
    job = _job(db_session_factory, job_id)
    assert (job.status, job.worker, job.attempts) == ("running", "w2", 2)
    with session_scope(db_session_factory) as session:  # the old owner cannot finish it now
        assert not crud.mark_done(session, job_id=job_id, output_uri="x", worker="w1")
        assert not crud.heartbeat(session, job_id=job_id, worker="w1")


def test_concurrent_claims_have_one_winner(db_session_factory: Factory) -> None:
    _, (job_id,) = _batch_with_jobs(db_session_factory, 1)
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def attempt(name: str) -> None:
        barrier.wait()
        with session_scope(db_session_factory) as session:
            results.append(crud.claim_job(session, job_id=job_id, worker=name))

    threads = [threading.Thread(target=attempt, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False] * 5 + [True]
    assert _job(db_session_factory, job_id).attempts == 1


def test_done_and_failed(db_session_factory: Factory) -> None:
    batch_id, (a, b, c) = _batch_with_jobs(db_session_factory, 3)
    with session_scope(db_session_factory) as session:
        crud.claim_job(session, job_id=a, worker="w1")
        crud.claim_job(session, job_id=b, worker="w1")
        assert crud.mark_done(
            session,
            job_id=a,
            worker="w1",
            output_uri="s3://b/out/a.png",
            model_version="m1",
            read_ms=1.5,
            inference_ms=20.0,
            write_ms=2.0,
            metrics={"seam_score": 0.1},
            quality_score=0.9,
            flagged=False,
        )
        assert crud.mark_failed(session, job_id=b, worker="w1", error="bad image: " + "x" * 5000)
        assert not crud.mark_done(session, job_id=a, worker="w1", output_uri="again")
        assert crud.mark_failed(session, job_id=c, error="never claimed")  # queued -> failed
        assert crud.finish_batch_if_complete(session, batch_id=batch_id)
    done, failed = _job(db_session_factory, a), _job(db_session_factory, b)
    assert (done.status, done.output_uri, done.inference_ms) == ("done", "s3://b/out/a.png", 20.0)
    assert done.metrics == {"seam_score": 0.1} and done.finished_at is not None
    assert failed.status == "failed" and len(failed.error or "") == crud.MAX_ERROR_CHARS
    with session_scope(db_session_factory) as session:
        batch = session.get(Batch, batch_id)
        assert batch is not None and batch.finished_at is not None


def test_release_returns_claim(db_session_factory: Factory) -> None:
    _, (job_id,) = _batch_with_jobs(db_session_factory, 1)
    with session_scope(db_session_factory) as session:
        crud.claim_job(session, job_id=job_id, worker="w1")
        assert not crud.release_job(session, job_id=job_id, worker="w2")
        assert crud.release_job(session, job_id=job_id, worker="w1")
        assert crud.claim_job(session, job_id=job_id, worker="w2")
    assert _job(db_session_factory, job_id).attempts == 2


def test_cancel_and_requeue(db_session_factory: Factory) -> None:
    batch_id, ids = _batch_with_jobs(db_session_factory, 5)
    with session_scope(db_session_factory) as session:
        crud.claim_job(session, job_id=ids[0], worker="w")
        crud.mark_failed(session, job_id=ids[0], worker="w", error="boom")
        crud.claim_job(session, job_id=ids[1], worker="w")
        crud.mark_done(session, job_id=ids[1], worker="w", output_uri="o")
        crud.claim_job(session, job_id=ids[2], worker="w")
        assert crud.cancel_batch(session, batch_id=batch_id, include_running=False) == 2
        assert crud.cancel_batch(session, batch_id=batch_id) == 1  # the running one
        assert crud.finish_batch_if_complete(session, batch_id=batch_id)
        assert not crud.mark_done(session, job_id=ids[2], worker="w", output_uri="late")
        assert crud.count_by_status(session, batch_id=batch_id) == {
            "queued": 0,
            "running": 0,
            "done": 1,
            "failed": 1,
            "cancelled": 3,
        }
    with session_scope(db_session_factory) as session:
        assert crud.requeue_failed(session, batch_id=batch_id) == [ids[0]]
        assert crud.requeue_failed(session, job_ids=ids[2:4], include_cancelled=True) == ids[2:4]
        batch = session.get(Batch, batch_id)
        assert batch is not None
        session.refresh(batch)
        assert batch.finished_at is None  # reopened
    job = _job(db_session_factory, ids[0])
    assert (job.status, job.error, job.finished_at, job.attempts) == ("queued", None, None, 1)


def test_requeue_stale(db_session_factory: Factory) -> None:
    _, ids = _batch_with_jobs(db_session_factory, 3)
    with session_scope(db_session_factory) as session:
        crud.claim_job(session, job_id=ids[0], worker="dead", now=T0)
        crud.claim_job(session, job_id=ids[1], worker="alive", now=T0)
        crud.heartbeat(session, job_id=ids[1], worker="alive", now=T0 + timedelta(seconds=500))
    with session_scope(db_session_factory) as session:
        now = T0 + timedelta(seconds=600)
        assert crud.requeue_stale(session, older_than=300, now=now) == [ids[0]]
        assert crud.requeue_stale(session, older_than=300, now=now) == []
    assert _job(db_session_factory, ids[0]).status == "queued"
    assert _job(db_session_factory, ids[1]).status == "running"


def test_list_jobs_filters_and_pages(db_session_factory: Factory) -> None:
    batch_id, ids = _batch_with_jobs(db_session_factory, 25)
    other_id, _ = _batch_with_jobs(db_session_factory, 3, name="other")
    with session_scope(db_session_factory) as session:
        for job_id in ids[:4]:
            crud.claim_job(session, job_id=job_id, worker="w")
            crud.mark_done(
                session, job_id=job_id, worker="w", output_uri="o", flagged=job_id % 2 == 0
            )
    with session_scope(db_session_factory) as session:
        page1 = crud.list_jobs(session, batch_id=batch_id, limit=10)
        page2 = crud.list_jobs(session, batch_id=batch_id, limit=10, after_id=page1[-1].id)
        page3 = crud.list_jobs(session, batch_id=batch_id, limit=10, offset=20)
        assert [j.id for j in page1 + page2 + page3] == ids
        assert [j.id for j in crud.list_jobs(session, status="done")] == ids[:4]
        flagged = crud.list_jobs(session, status=["done"], flagged=True)
        assert [j.id for j in flagged] == [i for i in ids[:4] if i % 2 == 0]
        newest = crud.list_jobs(session, limit=2, newest_first=True)
        assert [j.batch_id for j in newest] == [other_id, other_id]
        assert len(crud.list_jobs(session, status="queued", limit=100)) == 21 + 3
        with pytest.raises(ValueError, match="unknown job status"):
            crud.list_jobs(session, status="lost")
        with pytest.raises(ValueError):
            crud.list_jobs(session, limit=0)


def test_upsert_worker(db_session_factory: Factory) -> None:
    with session_scope(db_session_factory) as session:
        crud.upsert_worker(session, name="w@h", hostname="h", queues="gpu", pid=10, now=T0)
    with session_scope(db_session_factory) as session:
        later = T0 + timedelta(seconds=30)
        crud.upsert_worker(session, name="w@h", hostname="h", queues="gpu,cpu", pid=10, now=later)
    with session_scope(db_session_factory) as session:
        worker = session.get(Worker, "w@h")
        assert worker is not None
        assert (worker.queues, worker.started_at, worker.last_seen) == ("gpu,cpu", T0, later)
        assert session.scalar(sa.select(sa.func.count()).select_from(Worker)) == 1
        recent = crud.list_workers(session, seen_within=60, now=T0 + timedelta(seconds=60))
        assert [w.name for w in recent] == ["w@h"]
        assert crud.list_workers(session, seen_within=10, now=T0 + timedelta(seconds=60)) == []


def test_mark_cancelled_single_job(db_session_factory: Factory) -> None:
    _, (a, b) = _batch_with_jobs(db_session_factory, 2)
    with session_scope(db_session_factory) as session:
        crud.claim_job(session, job_id=b, worker="w")
        crud.mark_done(session, job_id=b, worker="w", output_uri="o")
        assert crud.mark_cancelled(session, job_id=a)
        assert not crud.mark_cancelled(session, job_id=a)  # already cancelled
        assert not crud.mark_cancelled(session, job_id=b)  # done stays done
        assert not crud.claim_job(session, job_id=a, worker="w")
    assert _job(db_session_factory, a).status == "cancelled"
    assert _job(db_session_factory, b).status == "done"

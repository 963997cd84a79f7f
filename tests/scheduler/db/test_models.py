"""Models and sessions on SQLite and PostgreSQL: round trips, constraints, error translation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db.models import Batch, Job, JobStatus, Worker
from scheduler.db.session import make_engine, make_session_factory, session_scope
from scheduler.errors import ConfigError, DatabaseError, TransientDatabaseError


def _batch(session: Session, name: str = "b1") -> Batch:
    batch = Batch(name=name, source="file:///data", output_root="file:///out", format="openlogo")
    session.add(batch)
    session.flush()
    return batch


def test_round_trip_json_and_aware_times(db_session_factory: sessionmaker[Session]) -> None:
    started = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    spec = {"boxes": [[1, 2, 30, 40]], "mask_uri": None, "truth_uri": None, "labels": ["intel"]}
    with session_scope(db_session_factory) as session:
        batch = _batch(session)
        job = Job(
            batch_id=batch.id,
            input_uri="file:///data/a.jpg",
            mask_spec=spec,
            started_at=started,
            metrics={"psnr": 31.5},
        )
        session.add(job)
        session.flush()
        job_id = job.id
    with session_scope(db_session_factory) as session:
        job = session.get(Job, job_id)
        assert job is not None
        assert job.mask_spec == spec and job.metrics == {"psnr": 31.5}
        assert job.status == JobStatus.QUEUED and job.attempts == 0 and job.flagged is False
        assert job.started_at == started and job.started_at.tzinfo == UTC
        assert job.started_at.hour == 10  # stored as UTC
        assert job.created_at.tzinfo == UTC
        assert abs(job.created_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert job.batch.name == "b1"


def test_unique_input_per_batch(db_session_factory: sessionmaker[Session]) -> None:
    with session_scope(db_session_factory) as session:
        batch_id = _batch(session).id
        session.add(Job(batch_id=batch_id, input_uri="x.jpg", mask_spec={}))
    with pytest.raises(DatabaseError) as info, session_scope(db_session_factory) as session:
        session.add(Job(batch_id=batch_id, input_uri="x.jpg", mask_spec={}))
    assert not isinstance(info.value, TransientDatabaseError)
    with session_scope(db_session_factory) as session:  # the failed transaction left nothing
        assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1


def test_status_check_constraint(db_session_factory: sessionmaker[Session]) -> None:
    with session_scope(db_session_factory) as session:
        batch_id = _batch(session).id
    with pytest.raises(DatabaseError, match="(?i)check|constraint"):
        with session_scope(db_session_factory) as session:
            session.add(Job(batch_id=batch_id, input_uri="x.jpg", mask_spec={}, status="lost"))


def test_deleting_a_batch_cascades_in_the_database(
    db_session_factory: sessionmaker[Session],
) -> None:
    with session_scope(db_session_factory) as session:
        batch = _batch(session)
        session.add_all(
            Job(batch_id=batch.id, input_uri=f"{i}.jpg", mask_spec={}) for i in range(3)
        )
    with session_scope(db_session_factory) as session:  # a Core DELETE: only the FK can cascade
        session.execute(sa.delete(Batch).where(Batch.name == "b1"))
    with session_scope(db_session_factory) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_worker_row(db_session_factory: sessionmaker[Session]) -> None:
    with session_scope(db_session_factory) as session:
        session.add(Worker(name="w1@host", hostname="host", queues="gpu,cpu", pid=42))
    with session_scope(db_session_factory) as session:
        worker = session.get(Worker, "w1@host")
        assert worker is not None and worker.pid == 42 and worker.last_seen.tzinfo == UTC


def test_unreachable_database_is_transient() -> None:
    engine = make_engine(
        "postgresql+psycopg2://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    factory = make_session_factory(engine)
    with pytest.raises(TransientDatabaseError, match="unavailable"):
        with session_scope(factory) as session:
            session.execute(sa.text("SELECT 1"))
    engine.dispose()


def test_invalid_url_is_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid database URL"):
        make_engine("not a url at all")


def test_non_database_errors_pass_through_and_roll_back(
    db_session_factory: sessionmaker[Session],
) -> None:
    with pytest.raises(KeyError), session_scope(db_session_factory) as session:
        _batch(session, "rolled-back")
        raise KeyError("boom")
    with session_scope(db_session_factory) as session:
        assert session.scalar(sa.select(Batch).where(Batch.name == "rolled-back")) is None

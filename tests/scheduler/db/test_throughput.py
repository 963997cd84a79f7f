"""Throughput is measured over the time a batch was worked on, not over a fixed 10 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db import crud
from scheduler.db.models import Job
from scheduler.db.session import session_scope
from scheduler.db.stats import get_summary, throughput

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _batch(factory: sessionmaker[Session], *, done: int, every_s: float, ended_ago_s: float,
           queued: int = 0, failed_at_submit: int = 0) -> int:
    """A batch whose `done` jobs ran back to back, one every `every_s` seconds, the last ending
    `ended_ago_s` before NOW; plus `queued` jobs left and rows failed at submit."""
    with session_scope(factory) as session:
        batch = crud.create_batch(session, name="b", source="s", output_root="o")
        end = NOW - timedelta(seconds=ended_ago_s)
        for index in range(done):
            finished = end - timedelta(seconds=every_s * (done - 1 - index))
            session.add(Job(batch_id=batch.id, input_uri=f"d{index}", mask_spec={},
                            status="done", attempts=1, worker="w",
                            started_at=finished - timedelta(seconds=every_s),
                            finished_at=finished))
        for index in range(queued):
            session.add(Job(batch_id=batch.id, input_uri=f"q{index}", mask_spec={}))
        for index in range(failed_at_submit):
            session.add(Job(batch_id=batch.id, input_uri=f"f{index}", mask_spec={},
                            status="failed", error="bad dataset entry: x", attempts=0,
                            finished_at=NOW - timedelta(hours=1)))
        return batch.id


def test_a_short_finished_batch_reports_the_rate_it_ran_at(
    db_session_factory: sessionmaker[Session],
) -> None:
    """6 jobs, one every 2.5 s (24/min), finished a minute ago: not 6 / 10 min = 0.6."""
    batch_id = _batch(db_session_factory, done=6, every_s=2.5, ended_ago_s=60,
                      failed_at_submit=2)

    with session_scope(db_session_factory) as session:
        summary = get_summary(session, "b", now=NOW)
        rate = throughput(session, batch_id=batch_id, now=NOW, finished=True)

    assert rate == pytest.approx(24.0)
    assert summary is not None and summary.throughput_per_min == pytest.approx(24.0)
    assert summary.eta_seconds == 0.0


def test_a_running_batch_counts_the_window_from_its_first_job_on(
    db_session_factory: sessionmaker[Session],
) -> None:
    """Started 2 minutes ago at 6/min with 12 jobs left: 6/min and ETA 2 min, not 1.2/min."""
    batch_id = _batch(db_session_factory, done=12, every_s=10.0, ended_ago_s=0, queued=12)

    with session_scope(db_session_factory) as session:
        summary = get_summary(session, "b", now=NOW)
        long_ago = throughput(session, batch_id=batch_id, now=NOW + timedelta(hours=1))

    assert summary is not None
    assert summary.throughput_per_min == pytest.approx(6.0)
    assert summary.eta_seconds == pytest.approx(120.0)
    assert long_ago == 0.0  # an open batch nobody worked on for an hour: no current speed


def test_status_prints_the_rate_of_a_finished_batch(
    db_session_factory: sessionmaker[Session], db_url: str,
) -> None:
    from typer.testing import CliRunner

    from unbrand.cli.app import make_app

    batch_id = _batch(db_session_factory, done=6, every_s=2.5, ended_ago_s=1)
    with session_scope(db_session_factory) as session:
        crud.finish_batch_if_complete(session, batch_id=batch_id)

    result = CliRunner().invoke(make_app(), ["status", "b", "--db", db_url])

    assert result.exit_code == 0, result.output
    assert "ran at 24.0 jobs/min" in result.output

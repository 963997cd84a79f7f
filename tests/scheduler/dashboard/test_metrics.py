"""/metrics: the exposition text holds the job gauges, duration histogram and worker heartbeats."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from scheduler.dashboard.app import make_app
from scheduler.db.models import Job, Worker
from scheduler.db.session import session_scope
from tests.fixtures.dashboard_data import WORKER_SEEN, seed


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _scrape(client: TestClient) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


def test_metrics_match_the_database(
    db_session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    seed(db_session_factory, tmp_path)
    client = TestClient(make_app(session_factory=db_session_factory))
    samples = _scrape(client)
    jobs = {
        (dict(labels)["batch"], dict(labels)["status"]): value
        for (name, labels), value in samples.items()
        if name == "unbrand_jobs"
    }
    assert jobs[("alpha", "done")] == 4 and jobs[("alpha", "failed")] == 3
    assert jobs[("alpha", "queued")] == 2 and jobs[("alpha", "running")] == 1
    assert jobs[("alpha", "cancelled")] == 0 and jobs[("beta", "cancelled")] == 1
    assert all(jobs[("empty", status)] == 0 for status in ("queued", "done", "failed"))
    assert len(jobs) == 15  # 3 batches x 5 statuses

    # done jobs of alpha last 0.09, 0.40, 1.70 and 6.50 s
    bucket = {
        dict(labels)["le"]: value
        for (name, labels), value in samples.items()
        if name == "unbrand_job_duration_seconds_bucket" and dict(labels)["batch"] == "alpha"
    }
    assert bucket["0.1"] == 1 and bucket["0.25"] == 1 and bucket["0.5"] == 2
    assert bucket["1.0"] == 2 and bucket["2.5"] == 3 and bucket["5.0"] == 3
    assert bucket["10.0"] == 4 and bucket["300.0"] == 4 and bucket["+Inf"] == 4
    alpha = (("batch", "alpha"),)
    assert samples[("unbrand_job_duration_seconds_count", alpha)] == 4
    assert samples[("unbrand_job_duration_seconds_sum", alpha)] == pytest.approx(8.69)
    assert ("unbrand_job_duration_seconds_count", (("batch", "beta"),)) not in samples

    assert samples[("unbrand_jobs_flagged", alpha)] == 2
    assert samples[("unbrand_worker_last_seen_seconds", (("worker", "gpu-1@host"),))] == (
        WORKER_SEEN.timestamp()
    )
    assert WORKER_SEEN.timestamp() == 1735732800.0


def test_metrics_are_read_at_scrape_time(
    db_session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    seeded = seed(db_session_factory, tmp_path)
    client = TestClient(make_app(session_factory=db_session_factory))
    before = _scrape(client)
    with session_scope(db_session_factory) as session:
        job = session.get(Job, seeded.job_ids["wait0.png"])
        job.status, job.read_ms, job.inference_ms, job.write_ms = "done", 100.0, 20000.0, 400.0
        worker = session.get(Worker, "gpu-1@host")
        worker.last_seen = WORKER_SEEN + timedelta(seconds=90)
    after = _scrape(client)
    key = ("unbrand_jobs", (("batch", "alpha"), ("status", "done")))
    assert (before[key], after[key]) == (4, 5)
    queued = ("unbrand_jobs", (("batch", "alpha"), ("status", "queued")))
    assert (before[queued], after[queued]) == (2, 1)
    le30 = ("unbrand_job_duration_seconds_bucket", (("batch", "alpha"), ("le", "30.0")))
    le10 = ("unbrand_job_duration_seconds_bucket", (("batch", "alpha"), ("le", "10.0")))
    assert (after[le10], after[le30]) == (4, 5)  # the new 20.5 s job
    total = ("unbrand_job_duration_seconds_sum", (("batch", "alpha"),))
    assert after[total] - before[total] == pytest.approx(20.5)
    seen = ("unbrand_worker_last_seen_seconds", (("worker", "gpu-1@host"),))
    assert after[seen] - before[seen] == 90.0

"""Prometheus metrics at /metrics, read from the job database at scrape time.

    unbrand_jobs{batch, status}                 gauge: jobs per batch and status
    unbrand_job_duration_seconds{batch}         histogram: read + inference + write of done jobs
    unbrand_jobs_flagged{batch}                 gauge: jobs flagged for quality review
    unbrand_worker_last_seen_seconds{worker}    gauge: unix time of each worker's last heartbeat

A custom collector (no counters kept in the process) so any number of dashboard
replicas report the same numbers, and a restart loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db import stats
from scheduler.db.session import session_scope

# Upper bounds in seconds; +Inf is added by the exposition.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class DatabaseCollector(Collector):
    """Builds every unbrand metric from a few aggregate queries per scrape."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def describe(self) -> Iterator[Metric]:
        """Names only, so registering does not query the database."""
        yield GaugeMetricFamily(
            "unbrand_jobs", "Jobs per batch and status", labels=["batch", "status"]
        )
        yield HistogramMetricFamily(
            "unbrand_job_duration_seconds", "Job time (read+inference+write)", labels=["batch"]
        )
        yield GaugeMetricFamily("unbrand_jobs_flagged", "Flagged jobs", labels=["batch"])
        yield GaugeMetricFamily(
            "unbrand_worker_last_seen_seconds", "Worker heartbeat", labels=["worker"]
        )

    def collect(self) -> Iterator[Metric]:
        with session_scope(self.session_factory) as session:
            metrics = [
                self._jobs(session),
                self._durations(session),
                self._flagged(session),
                self._workers(session),
            ]
        yield from metrics

    def _jobs(self, session: Session) -> Metric:
        family = GaugeMetricFamily(
            "unbrand_jobs", "Jobs per batch and status", labels=["batch", "status"]
        )
        counts = stats.jobs_per_batch_and_status(session)
        for name in sorted(counts):
            for status, count in counts[name].items():
                family.add_metric([name, status], count)
        return family

    def _durations(self, session: Session) -> Metric:
        family = HistogramMetricFamily(
            "unbrand_job_duration_seconds",
            "Time of done jobs: read + inference + write, seconds",
            labels=["batch"],
        )
        for row in stats.done_duration_histogram(session, bounds=DURATION_BUCKETS):
            pairs = zip(DURATION_BUCKETS, row.cumulative, strict=True)
            buckets = [(_le(bound), n) for bound, n in pairs]
            buckets.append(("+Inf", row.count))
            family.add_metric([row.batch], buckets, row.total_seconds)
        return family

    def _flagged(self, session: Session) -> Metric:
        family = GaugeMetricFamily(
            "unbrand_jobs_flagged", "Jobs flagged for quality review", labels=["batch"]
        )
        for name, count in stats.flagged_per_batch(session).items():
            family.add_metric([name], count)
        return family

    def _workers(self, session: Session) -> Metric:
        family = GaugeMetricFamily(
            "unbrand_worker_last_seen_seconds",
            "Unix time of the worker's last heartbeat",
            labels=["worker"],
        )
        for name, last_seen in stats.workers_last_seen(session).items():
            family.add_metric([name], last_seen.timestamp())
        return family


def _le(bound: float) -> str:
    return repr(float(bound))


def make_registry(session_factory: sessionmaker[Session]) -> CollectorRegistry:
    """A registry of its own (not the global one) holding the database collector."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(DatabaseCollector(session_factory))
    return registry


def make_router(session_factory: sessionmaker[Session]) -> APIRouter:
    """The /metrics route serving the text exposition format."""
    registry = make_registry(session_factory)
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router

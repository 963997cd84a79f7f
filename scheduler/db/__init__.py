"""The job database: models (schema), sessions, data-access functions (crud), migrations."""

from __future__ import annotations

from scheduler.db.models import Base, Batch, Job, JobStatus, Worker
from scheduler.db.session import make_engine, make_session_factory, session_scope

__all__ = [
    "Base",
    "Batch",
    "Job",
    "JobStatus",
    "Worker",
    "make_engine",
    "make_session_factory",
    "session_scope",
]

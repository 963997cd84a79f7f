"""The job database schema (SQLAlchemy 2.0): batches, jobs, workers.

The schema only changes through Alembic (migrations/); these classes must match the
latest revision exactly (tests/scheduler/db/test_migrations.py compares them).
Works on PostgreSQL and SQLite: JSON columns use `sa.JSON`; every timestamp is
timezone-aware UTC (`UTCDateTime` restores the zone that SQLite does not keep).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class JobStatus(enum.StrEnum):
    """Life cycle of a job: queued -> running -> done | failed; cancelled from queued/running."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


JOB_STATUSES: tuple[str, ...] = tuple(status.value for status in JobStatus)
FINISHED_STATUSES: tuple[str, ...] = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that always stores UTC and always returns aware UTC values.

    Naive values given to it are taken as UTC. On SQLite (no time zones) values are
    stored as naive UTC text, so comparisons stay correct there too.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base holding the shared metadata and constraint naming convention."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}


class Batch(Base):
    """One submitted dataset: its source, where outputs go and the options it ran with."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True, nullable=False)
    source: Mapped[str] = mapped_column(sa.Text, nullable=False)  # dataset URI
    output_root: Mapped[str] = mapped_column(sa.Text, nullable=False)  # output folder/prefix URI
    format: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="auto")
    options: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utcnow, server_default=sa.func.current_timestamp()
    )
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)

    jobs: Mapped[list[Job]] = relationship(
        back_populates="batch", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"Batch(id={self.id!r}, name={self.name!r})"


class Job(Base):
    """One image of a batch: where it comes from, what to remove, what happened to it."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.UniqueConstraint("batch_id", "input_uri"),
        sa.CheckConstraint(sa.column("status").in_(JOB_STATUSES), name="status"),
        sa.Index(None, "batch_id", "status"),
        sa.Index(None, "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("batches.id", ondelete="CASCADE"), nullable=False
    )
    input_uri: Mapped[str] = mapped_column(sa.String(1024), nullable=False)
    # scheduler.options.MaskSpec as JSON (boxes 0-based, end exclusive, mask_uri, ...)
    mask_spec: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    output_uri: Mapped[str | None] = mapped_column(sa.String(1024), nullable=True)
    status: Mapped[str] = mapped_column(
        sa.String(16), nullable=False, default=JobStatus.QUEUED.value
    )
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # attempts whose worker vanished mid-job (a stale claim taken over or swept back to the
    # queue): a job that keeps killing its worker fails after UNBRAND_MAX_ATTEMPTS of them
    lost_attempts: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    worker: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    model_version: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    read_ms: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    inference_ms: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    write_ms: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    # mask_ratio, seam_score, psnr/ssim/l1 (when a truth image exists), disc_realness
    metrics: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    quality_score: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    flagged: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(
        nullable=False, default=utcnow, server_default=sa.func.current_timestamp()
    )
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)

    batch: Mapped[Batch] = relationship(back_populates="jobs")

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, status={self.status!r}, input_uri={self.input_uri!r})"


class Worker(Base):
    """A worker process that announced itself; `last_seen` is its heartbeat."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    hostname: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    queues: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    pid: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"Worker(name={self.name!r}, last_seen={self.last_seen!r})"

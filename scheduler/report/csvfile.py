"""metrics.csv: one row per job with its status, error, timings and every metric key.

Written in two streaming passes over the batch (the metric keys first, then the rows),
so a batch of millions of jobs never sits in memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.orm import Session

from scheduler.db.models import Job
from scheduler.db.stats import iter_jobs, metric_keys

FIXED_COLUMNS = (
    "id",
    "input_uri",
    "output_uri",
    "status",
    "error",
    "attempts",
    "worker",
    "model_version",
    "read_ms",
    "inference_ms",
    "write_ms",
    "total_ms",
    "quality_score",
    "flagged",
    "created_at",
    "started_at",
    "finished_at",
)


def metric_columns(keys: Iterable[str]) -> dict[str, str]:
    """`{metric key: column name}`: the key itself unless it clashes with a fixed column."""
    return {key: key if key not in FIXED_COLUMNS else f"metrics.{key}" for key in keys}


def total_ms(job: Job) -> float | None:
    """read + inference + write, or None when no part was recorded."""
    parts = [part for part in (job.read_ms, job.inference_ms, job.write_ms) if part is not None]
    return round(sum(parts), 3) if parts else None


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return repr(value)
    return value


def job_row(job: Job, columns: dict[str, str]) -> dict[str, Any]:
    """One CSV row (column name -> cell) for `job`."""
    row = {name: _cell(getattr(job, name, None)) for name in FIXED_COLUMNS if name != "total_ms"}
    row["total_ms"] = _cell(total_ms(job))
    metrics = job.metrics or {}
    for key, column in columns.items():
        row[column] = _cell(metrics.get(key))
    return row


def write_metrics_csv(session: Session, *, batch_id: int, handle: TextIO) -> int:
    """Write the header and one row per job (id order) to `handle`; returns the row count."""
    columns = metric_columns(metric_keys(session, batch_id=batch_id))
    writer = csv.DictWriter(handle, fieldnames=[*FIXED_COLUMNS, *columns.values()])
    writer.writeheader()
    rows = 0
    for job in iter_jobs(session, batch_id=batch_id):
        writer.writerow(job_row(job, columns))
        rows += 1
    return rows


def write_metrics_file(session: Session, *, batch_id: int, path: Path) -> int:
    """`write_metrics_csv` into a file (UTF-8, Excel-friendly newlines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        return write_metrics_csv(session, batch_id=batch_id, handle=handle)

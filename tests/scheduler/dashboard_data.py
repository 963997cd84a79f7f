"""Seed data for the dashboard and report tests: real rows, real images in a LocalStorage folder.

Batch "alpha" (10 jobs): 4 done (images in and out), 3 failed (two reasons), 1 running,
2 queued. Batch "beta": 1 cancelled, 1 queued (no images). Batch "empty": no jobs.
One worker "gpu-1@host" with a fixed heartbeat. Times are relative to `now` so the
throughput window (10 min) sees 3 done + 3 failed jobs, active for the last 4 min:
1.5 jobs/min, ETA 120 s.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db.models import Batch, Job, Worker
from scheduler.db.session import session_scope
from scheduler.quality import assess
from scheduler.storage import LocalStorage

WORKER_SEEN = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)  # unix 1735732800
IMAGE_SIZE = (320, 240)  # width, height -> thumbnails 256 x 192
LOGO_BOX = (200, 30, 290, 90)
LOGO_COLOUR = (230, 20, 160)

# (name, seam_score, (read, inference, write) ms, minutes before now it finished)
DONE = (
    ("img0.png", 1.0, (20.0, 60.0, 10.0), 1),  # 0.09 s, quality 1.0
    ("img1.png", 1.2, (50.0, 300.0, 50.0), 2),  # 0.40 s, quality 0.8
    ("img2.png", 2.0, (100.0, 1500.0, 100.0), 3),  # 1.70 s, quality 0.0 -> flagged
    ("img3.png", 1.6, (200.0, 6000.0, 300.0), 30),  # 6.50 s, quality 0.4 -> flagged
)
FAILED = (
    ("bad0.jpg", "ImageInputError: cannot identify image file '/data/in/bad0.jpg'"),
    ("bad1.jpg", "ImageInputError: cannot identify image file '/data/in/bad1.jpg'"),
    ("huge.jpg", "ImageTooLargeError: 120000000 pixels exceed the limit of 100000000"),
)


@dataclass
class Seeded:
    """What was inserted: ids by input name, the storage root, the reference time."""

    root: Path
    now: datetime
    batch_ids: dict[str, int] = field(default_factory=dict)
    job_ids: dict[str, int] = field(default_factory=dict)

    def uri(self, rel: str) -> str:
        return (self.root / rel).as_uri()


def make_image(seed: int, *, logo: bool) -> bytes:
    """A smooth colour gradient (different per seed), with a magenta "logo" box when asked."""
    width, height = IMAGE_SIZE
    x = np.linspace(0.0, 1.0, width)[None, :]
    y = np.linspace(0.0, 1.0, height)[:, None]
    red = 40 + 150 * x + 0 * y
    green = 60 + 120 * y + 20 * seed + 0 * x
    blue = 200 - 120 * x * y - 25 * seed
    rgb = np.clip(np.stack([red, green, blue], axis=-1), 0, 255).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB")
    if logo:
        draw = ImageDraw.Draw(image)
        draw.rectangle(LOGO_BOX, fill=LOGO_COLOUR)
        draw.text((LOGO_BOX[0] + 12, LOGO_BOX[1] + 22), "LOGO", fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _job(batch: Batch, seeded: Seeded, name: str, **fields: object) -> Job:
    job = Job(
        batch=batch,
        input_uri=seeded.uri(f"in/{name}"),
        mask_spec={"boxes": [list(LOGO_BOX)], "mask_uri": None, "truth_uri": None, "labels": []},
        **fields,
    )
    return job


def seed(
    session_factory: sessionmaker[Session], root: Path, *, now: datetime | None = None
) -> Seeded:
    """Insert the three batches and a worker; write input/output images under `root`."""
    seeded = Seeded(root=root, now=now or datetime.now(UTC))
    storage = LocalStorage(root)
    jobs: list[Job] = []
    with session_scope(session_factory) as session:
        alpha = Batch(
            name="alpha",
            source=seeded.uri("in"),
            output_root=seeded.uri("out"),
            format="masks",
            options={},
            created_at=seeded.now - timedelta(hours=1),
        )
        beta = Batch(
            name="beta",
            source="s3://bucket/beta",
            output_root="s3://bucket/out",
            format="manifest",
            options={},
            created_at=seeded.now - timedelta(hours=2),
        )
        empty = Batch(
            name="empty",
            source="s3://bucket/empty",
            output_root="s3://bucket/out",
            format="auto",
            options={},
            created_at=seeded.now - timedelta(hours=3),
        )
        session.add_all([alpha, beta, empty])
        for index, (name, seam, (read, infer, write), ago) in enumerate(DONE):
            storage.write_bytes(f"in/{name}", make_image(index, logo=True))
            storage.write_bytes(f"out/alpha/{name}", make_image(index, logo=False))
            metrics = {"mask_ratio": 0.07, "seam_score": seam}
            score, flagged = assess(metrics)
            finished = seeded.now - timedelta(minutes=ago)
            jobs.append(
                _job(
                    alpha,
                    seeded,
                    name,
                    status="done",
                    output_uri=seeded.uri(f"out/alpha/{name}"),
                    attempts=1,
                    worker="gpu-1@host",
                    model_version="aot-test",
                    read_ms=read,
                    inference_ms=infer,
                    write_ms=write,
                    metrics=metrics,
                    quality_score=score,
                    flagged=flagged,
                    started_at=finished - timedelta(seconds=5),
                    finished_at=finished,
                )
            )
        for name, error in FAILED:
            jobs.append(
                _job(
                    alpha,
                    seeded,
                    name,
                    status="failed",
                    error=error,
                    attempts=1,
                    read_ms=5.0,
                    finished_at=seeded.now - timedelta(minutes=4),
                )
            )
        jobs.append(
            _job(
                alpha,
                seeded,
                "run0.png",
                status="running",
                attempts=1,
                worker="gpu-1@host",
                started_at=seeded.now,
            )
        )
        jobs += [_job(alpha, seeded, f"wait{i}.png", status="queued") for i in range(2)]
        jobs.append(_job(beta, seeded, "c0.png", status="cancelled"))
        jobs.append(_job(beta, seeded, "q0.png", status="queued"))
        session.add_all(jobs)
        session.add(
            Worker(
                name="gpu-1@host",
                hostname="host",
                queues="gpu",
                pid=42,
                started_at=WORKER_SEEN - timedelta(hours=1),
                last_seen=WORKER_SEEN,
            )
        )
        session.flush()
        seeded.batch_ids = {batch.name: batch.id for batch in (alpha, beta, empty)}
        seeded.job_ids = {job.input_uri.rsplit("/", 1)[-1]: job.id for job in jobs}
    return seeded

"""Benchmark: per-job pipeline overhead outside the model, 1-megapixel photos (target <= 60 ms).

Runs `worker.pipeline.process_job` on N jobs (a real Kodak photo upscaled to 1155x866
JPEG, one 240x120 logo box each) twice:
  1. with a trivial Inpainter-compatible stand-in (fills the box with its border mean,
     no model): everything the pipeline does besides inference - DB claim and updates,
     heartbeat thread, storage read + JPEG decode, mask, JPEG encode + atomic write,
     seam score, the shipped critic's realness (a metric, part of every job's overhead)
     and quality score;
  2. with real Inpainters (random weights: the cost does not depend on the values) of the
     `lite` and `reference` configurations, to put the overhead next to the model time.
The database is SQLite (the embedded default) and, when reachable, PostgreSQL.

    nice -n 10 /work/venv/bin/python bench/bench_overhead.py [--jobs 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import sqlalchemy as sa
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scheduler.db import crud  # noqa: E402
from scheduler.db.migrate import upgrade  # noqa: E402
from scheduler.db.session import make_engine, make_session_factory, session_scope  # noqa: E402
from scheduler.settings import get_settings  # noqa: E402
from worker.pipeline import PipelineOptions, process_job  # noqa: E402
from worker.services import StorageResolver  # noqa: E402

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
SIZE = (1155, 866)  # 1,000,230 pixels
BOX = [400, 300, 640, 420]


class TrivialInpainter:
    """Inpainter-compatible stand-in: fills the mask with the mean of its border, no model;
    its `realness` is the shipped critic's, as a real Inpainter's (None with critic=False)."""

    model_version = "trivial"
    margin = 3

    def __init__(self, critic: bool = True) -> None:
        from inpaint_core.evaluation.critic import Critic

        self.critic = Critic.load() if critic else None

    def realness(self, output: np.ndarray, fill: np.ndarray) -> float | None:
        return None if self.critic is None else self.critic.realness(output, fill)

    def fill_region(self, mask: np.ndarray, margin: int | None = None) -> np.ndarray:
        margin = self.margin if margin is None else margin
        kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
        return cv2.dilate(mask.astype(np.uint8), kernel) > 0

    def fill(self, images: list[np.ndarray], masks: list[np.ndarray], fills: list[np.ndarray],
             *, keep_background: list[bool]) -> list[np.ndarray]:
        outputs = []
        for image, fill in zip(images, fills, strict=True):
            out = image.copy()
            ring = self.fill_region(fill) & ~fill
            out[fill] = image[ring].mean(axis=0).astype(np.uint8)
            outputs.append(out)
        return outputs


def make_inputs(folder: Path, count: int) -> list[Path]:
    source = REPO / "demo" / "JPEGImages" / "demo_03_kodim15.jpg"
    with Image.open(source) as image:
        big = image.convert("RGB").resize(SIZE, Image.BICUBIC)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo{i:03d}.jpg"
        big.save(path, quality=90)
        paths.append(path)
    return paths


@contextmanager
def postgres() -> Iterator[str | None]:
    try:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"unbrand_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError:
        yield None
        return
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_jobs(url: str, inputs: list[Path], out: Path, inpainter: Any, batch: str
             ) -> list[dict[str, float]]:
    """Insert one job per input and run them all; per-job wall and CPU ms plus the row's timings."""
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        row = crud.create_batch(session, name=batch, source=str(inputs[0].parent),
                                output_root=str(out) + "/")
        ids = crud.bulk_insert_jobs(session, batch_id=row.id, jobs=[
            {"input_uri": str(p), "mask_spec": {"boxes": [BOX], "rel_path": p.name}}
            for p in inputs])
    resolver = StorageResolver(get_settings())
    results = []
    for job_id in ids:
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = process_job(job_id, session_factory=factory, inpainter_provider=lambda: inpainter,
                              storage_resolver=resolver, worker_name="bench",
                              options=PipelineOptions())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if outcome.status != "done":
            raise SystemExit(f"job {job_id}: {outcome.status} {outcome.error}")
        results.append({"wall_ms": 1000 * wall, "cpu_ms": 1000 * cpu, **outcome.timings})
    engine.dispose()
    return results[1:]  # the first job warms caches (imports, connections)


def describe(label: str, rows: list[dict[str, float]]) -> None:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    outside = [r["wall_ms"] - r["inference_ms"] for r in rows]
    print(f"{label:34s} per job: wall {med('wall_ms'):6.1f} ms (CPU {med('cpu_ms'):6.1f}), "
          f"outside the model {statistics.median(outside):6.1f} ms "
          f"[read {med('read_ms'):5.1f}, write {med('write_ms'):5.1f}, "
          f"DB+metrics+rest {statistics.median(outside) - med('read_ms') - med('write_ms'):5.1f}]"
          f", model {med('inference_ms'):7.1f} ms")


def model_runs(inputs: list[Path], out: Path, url: str, count: int) -> None:
    from inpaint_core.inference.inpainter import Inpainter
    from inpaint_core.model.config import AOTConfig
    from inpaint_core.model.network import AOTGenerator

    for name in ("lite", "reference"):
        inpainter = Inpainter(AOTGenerator(AOTConfig.named(name)), device="cpu", precision="auto")
        rows = run_jobs(url, inputs[: count + 1], out / name, inpainter, f"model-{name}")
        describe(f"{name} model ({inpainter.precision}), SQLite", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs per run (+1 warm-up)")
    parser.add_argument("--model-jobs", type=int, default=3, help="jobs per model run (0: none)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "bench"))
    from bench_throughput import cpu_line

    print(cpu_line())
    print(f"checkout {REPO.name}; "
          f"image {SIZE[0]}x{SIZE[1]} JPEG, box {BOX[2] - BOX[0]}x{BOX[3] - BOX[1]}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = make_inputs(folder / "in", args.jobs + 1)
        sqlite = f"sqlite:///{folder / 'bench.db'}"
        describe("stand-in, SQLite", run_jobs(sqlite, inputs, folder / "out-sqlite",
                                                TrivialInpainter(), "overhead"))
        describe("stand-in without critic, SQLite", run_jobs(
            sqlite, inputs, folder / "out-nocritic", TrivialInpainter(critic=False), "nocritic"))
        with postgres() as pg:
            if pg is None:
                print("PostgreSQL not reachable: skipped")
            else:
                describe("stand-in, PostgreSQL", run_jobs(pg, inputs, folder / "out-pg",
                                                           TrivialInpainter(), "overhead"))
        if args.model_jobs > 0:
            model_runs(inputs, folder / "out-model", sqlite, args.model_jobs)
    print(cpu_line())


if __name__ == "__main__":
    main()

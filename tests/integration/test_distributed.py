"""The distributed setup end to end: PostgreSQL + Redis + moto S3 + a Celery worker subprocess."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from typer.testing import CliRunner

from unbrand.cli.app import make_app

pytestmark = pytest.mark.integration


def cli(*args: str, env: dict[str, str]) -> object:
    return CliRunner().invoke(make_app(), list(args), env=env)


def jobs(db: str) -> list[dict]:
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM jobs ORDER BY id")).mappings().all()
    engine.dispose()
    return [dict(row) for row in rows]


def test_a_batch_on_s3_is_processed_by_a_celery_worker(
    service_env: dict[str, str], start_worker: Callable, s3_openlogo: Callable[[int], str],
    s3_server: str,
) -> None:
    source = s3_openlogo(10)
    worker = start_worker("itest1@%h", via_cli=True)
    env = {k: v for k, v in service_env.items() if k.startswith(("UNBRAND_", "AWS_"))}
    db = service_env["UNBRAND_DATABASE_URL"]

    submitted = cli("submit", source, "--output", "s3://unbrand-it/results", "--name", "it",
                    "--queue", "cpu", env=env)
    assert submitted.exit_code == 0, submitted.output
    waited = cli("wait", "it", "--timeout", "120", "--interval", "0.5", env=env)
    assert waited.exit_code == 0, f"{waited.output}\n{worker.output()}"

    rows = jobs(db)
    assert len(rows) == 10 and {row["status"] for row in rows} == {"done"}
    s3 = boto3.client("s3", endpoint_url=s3_server)
    for row in rows:
        assert row["worker"].startswith("itest1@") and row["attempts"] == 1
        assert row["model_version"] == "tiny-test"
        assert row["inference_ms"] > 0 and row["read_ms"] > 0 and row["write_ms"] > 0
        metrics = row["metrics"] if isinstance(row["metrics"], dict) else json.loads(row["metrics"])
        assert 0 < metrics["mask_ratio"] < 1 and metrics["seam_score"] > 0
        assert row["quality_score"] is not None
        key = row["output_uri"].removeprefix("s3://unbrand-it/")
        assert key.startswith("results/it/JPEGImages/") and key.endswith(".jpg")
        source_key = row["input_uri"].removeprefix("s3://unbrand-it/")
        before = Image.open(io.BytesIO(s3.get_object(Bucket="unbrand-it", Key=source_key)
                                       ["Body"].read()))
        after = Image.open(io.BytesIO(s3.get_object(Bucket="unbrand-it", Key=key)["Body"].read()))
        assert after.size == before.size
    listed = s3.list_objects_v2(Bucket="unbrand-it", Prefix="results/")["KeyCount"]
    assert listed == 10  # one output per job, nothing else

    status = json.loads(cli("status", "it", "--json", env=env).output)
    assert status["counts"]["done"] == 10 and status["finished_at"] is not None
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        workers = conn.execute(sa.text("SELECT name, queues, last_seen FROM workers")).all()
    engine.dispose()
    assert [(name.split("@")[0], queues) for name, queues, _ in workers] == [("itest1", "cpu")]


def big_photo(path: Path) -> None:
    """A 24-megapixel JPEG made from a real photo: slow enough to kill a worker mid-job."""
    source = Path(__file__).resolve().parents[2] / "demo" / "JPEGImages" / "demo_00_kodim04.jpg"
    with Image.open(source) as image:
        image.convert("RGB").resize((6000, 4000), Image.BILINEAR).save(path, quality=90)


@pytest.mark.slow
def test_a_worker_killed_mid_job_loses_nothing(
    service_env: dict[str, str], start_worker: Callable, tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    big_photo(data / "big.jpg")
    (data / "list.csv").write_text('image,boxes\nbig.jpg,"[[100, 100, 600, 400]]"\n')
    env = {k: v for k, v in service_env.items() if k.startswith(("UNBRAND_", "AWS_"))}
    db = service_env["UNBRAND_DATABASE_URL"]
    doomed = start_worker("doomed@%h")

    assert cli("submit", str(data / "list.csv"), "--output", str(tmp_path / "out"),
               "--name", "kill", "--queue", "cpu", env=env).exit_code == 0
    deadline = time.monotonic() + 60
    while jobs(db)[0]["status"] != "running":
        assert time.monotonic() < deadline, doomed.output()
        time.sleep(0.02)
    os.kill(doomed.process.pid, signal.SIGKILL)  # no ack, no cleanup: like a power loss
    killed_at = time.monotonic()
    doomed.process.wait()
    assert jobs(db)[0]["status"] == "running"
    # no waiting for the Redis visibility timeout: the rescuer's sweep requeues the job once
    # the dead worker's heartbeat is older than UNBRAND_STALE_AFTER and publishes it again
    rescuer = start_worker("rescuer@%h")
    waited = cli("wait", "kill", "--timeout", "90", "--interval", "0.5", env=env)
    assert time.monotonic() - killed_at < 90

    assert waited.exit_code == 0, f"{waited.output}\n{rescuer.output()}"
    [row] = jobs(db)
    assert row["status"] == "done" and row["worker"].startswith("rescuer@")
    assert row["attempts"] == 2 and row["lost_attempts"] == 1
    outputs = list((tmp_path / "out").rglob("*.jpg"))
    assert [p.name for p in outputs] == ["big.jpg"]
    with Image.open(outputs[0]) as result:
        assert result.size == (6000, 4000)
        pixels = np.asarray(result.crop((0, 0, 64, 64)))
    with Image.open(data / "big.jpg") as original:
        reference = np.asarray(original.crop((0, 0, 64, 64)))
    assert np.abs(pixels.astype(int) - reference.astype(int)).mean() < 3  # outside the box

"""Integration fixtures: a Celery worker subprocess on the real services, and S3 datasets.

The worker runs exactly as in production (`python -m celery -A worker.celery_app worker`),
configured only through UNBRAND_* / AWS_* variables pointing at the test PostgreSQL,
Redis and moto S3 server, with a tiny random model saved by the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]
OPENLOGO = REPO.parent / "shared" / "data" / "flickrlogos27-openlogo"


@pytest.fixture
def service_env(
    postgres_url: str, redis_url: str, s3_server: str, tiny_weights: Path
) -> dict[str, str]:
    """The environment a worker on another machine would get (here: loopback services)."""
    from scheduler.db.migrate import upgrade

    upgrade(postgres_url)
    env = {key: value for key, value in os.environ.items() if not key.startswith("UNBRAND_")}
    env.update(
        UNBRAND_DATABASE_URL=postgres_url,
        UNBRAND_BROKER_URL=redis_url,
        UNBRAND_S3_ENDPOINT_URL=s3_server,
        UNBRAND_MODEL_WEIGHTS=str(tiny_weights),
        UNBRAND_DEVICE="cpu",
        UNBRAND_PRECISION="fp32",
        UNBRAND_HEARTBEAT_INTERVAL="0.5",
        UNBRAND_STALE_AFTER="3",
        UNBRAND_TASK_TIME_LIMIT="60",
        UNBRAND_VISIBILITY_TIMEOUT="120",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    )
    return env


class WorkerProcess:
    """A Celery worker subprocess; its log is kept for failure messages."""

    def __init__(self, env: dict[str, str], log: Path, name: str, *, via_cli: bool) -> None:
        self.log = log
        self.name = name
        self.handle = log.open("wb")
        if via_cli:  # `unbrand worker`, as docker-compose runs it
            command = [sys.executable, "-m", "unbrand", "worker", "--pool", "solo",
                       "--queues", "cpu", "--name", name]
        else:
            command = [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
                       "--pool", "solo", "--queues", "cpu", "--hostname", name,
                       "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.handle,
                                        stderr=subprocess.STDOUT)

    def output(self) -> str:
        self.handle.flush()
        return self.log.read_text(errors="replace")[-6000:]

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.output()}")
            if " ready." in self.output():
                return
            time.sleep(0.2)
        raise AssertionError(f"worker not ready after {timeout} s:\n{self.output()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.handle.close()


@pytest.fixture
def start_worker(service_env: dict[str, str], tmp_path: Path
                 ) -> Iterator[Callable[..., WorkerProcess]]:
    """Start Celery worker subprocesses (stopped after the test): `python -m celery ...`,
    or `unbrand worker` with via_cli=True."""
    started: list[WorkerProcess] = []

    def start(name: str = "itest1@%h", *, via_cli: bool = False, **extra_env: str
              ) -> WorkerProcess:
        env = {**service_env, **extra_env}
        worker = WorkerProcess(env, tmp_path / f"worker{len(started)}.log", name,
                               via_cli=via_cli)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def s3_openlogo(s3_server: str) -> Callable[[int], str]:
    """Upload the first N images of the shared OpenLogo sample into a bucket; returns its URI."""
    if not (OPENLOGO / "Annotations").is_dir():
        pytest.skip(f"shared data not found at {OPENLOGO}")
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="unbrand-it")

    def upload(count: int) -> str:
        ids = (OPENLOGO / "ImageSets" / "Main" / "test.txt").read_text().split()[:count]
        for image_id in ids:
            for folder, ext in (("JPEGImages", "jpg"), ("Annotations", "xml")):
                client.upload_file(str(OPENLOGO / folder / f"{image_id}.{ext}"), "unbrand-it",
                                   f"openlogo/{folder}/{image_id}.{ext}")
        client.put_object(Bucket="unbrand-it", Key="openlogo/ImageSets/Main/test.txt",
                          Body=("\n".join(ids) + "\n").encode())
        return "s3://unbrand-it/openlogo"

    return upload

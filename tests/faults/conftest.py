"""Fault-injection helpers: our own Redis, a cuttable TCP proxy in front of PostgreSQL, a
restartable moto S3 server and Celery worker subprocesses we can kill.

Nothing here touches the shared Redis on 6379: every test gets a private `redis-server` on a
free loopback port with an append-only file, so a restart keeps the queue (as the compose
file's `appendonly yes` does).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa

from tests.fixtures.services import service_missing

REPO = Path(__file__).resolve().parents[2]
BUCKET = "unbrand-faults"
FINAL = {"done", "failed", "cancelled"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class RedisServer:
    """A private redis-server with an append-only file; stop/start keeps its data."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                   "--dir", str(self.dir)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # a clean shutdown, as `docker compose restart` does
            self.process.wait(timeout=30)
        self.process = None


class TcpProxy:
    """A loopback TCP proxy to `target`; `cut()` drops every connection and refuses new ones
    until `restore()` (a database that went away for a while)."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.up = threading.Event()
        self.up.set()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.up.clear()
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


class MotoServer:
    """A moto S3 server on a fixed port that can be stopped and started again.

    moto keeps its buckets in process-global state, so a restart on the same port comes back
    with the same objects (like MinIO restarting on its volume)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self._make = lambda: ThreadedMotoServer(ip_address="127.0.0.1", port=self.port,
                                                verbose=False)
        self.server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = self._make()
        self.server.start()
        wait_port(self.port)

    def reset(self) -> None:
        """Forget every bucket and object (moto's reset endpoint)."""
        import urllib.request

        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


class Worker:
    """A Celery worker subprocess (solo, or prefork with one child) on the test services."""

    def __init__(self, env: dict[str, str], log: Path, name: str, pool: str = "solo") -> None:
        self.name, self.log = name, log
        self.handle = log.open("ab")
        command = [sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker",
                   "--pool", pool, "--concurrency", "1", "--queues", "cpu",
                   "--hostname", name, "--loglevel", "INFO", "--without-gossip",
                   "--without-mingle", "--without-heartbeat"]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.handle,
                                        stderr=subprocess.STDOUT)

    def output(self) -> str:
        self.handle.flush()
        return self.log.read_text(errors="replace")[-5000:]

    def wait_ready(self, timeout: float = 240.0) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited early:\n{self.output()}")
            if " ready." in self.output():
                return self
            time.sleep(0.2)
        raise AssertionError(f"worker {self.name} not ready after {timeout} s:\n{self.output()}")

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill(self) -> None:
        """SIGKILL: no ack, no cleanup, like a power loss or the OOM killer."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.handle.close()


class Services:
    """PostgreSQL (optionally behind a proxy), a private Redis, moto S3 and worker processes."""

    def __init__(self, tmp: Path, postgres_url: str, weights: Path) -> None:
        from scheduler.db.migrate import upgrade

        upgrade(postgres_url)
        self.tmp = tmp
        self.direct_db = postgres_url
        self.proxy = TcpProxy(5432)
        self.db = sa.make_url(postgres_url).set(port=self.proxy.port).render_as_string(
            hide_password=False)
        self.redis = RedisServer(tmp / "redis")
        self.redis.start()
        self.s3 = MotoServer()
        self.s3.start()
        self.s3.reset()  # moto's state is process-global: start every test from an empty S3
        self.workers: list[Worker] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("UNBRAND_")}
        self.env.update(
            UNBRAND_DATABASE_URL=self.db, UNBRAND_BROKER_URL=self.redis.url,
            UNBRAND_S3_ENDPOINT_URL=self.s3.url, UNBRAND_MODEL_WEIGHTS=str(weights),
            UNBRAND_DEVICE="cpu", UNBRAND_PRECISION="fp32", UNBRAND_HEARTBEAT_INTERVAL="0.5",
            UNBRAND_STALE_AFTER="4", UNBRAND_TASK_TIME_LIMIT="120",
            UNBRAND_VISIBILITY_TIMEOUT="300", AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH"))
                                       if p))
        self.client().create_bucket(Bucket=BUCKET)

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.s3.url, aws_access_key_id="testing",
                            aws_secret_access_key="testing", region_name="us-east-1")

    def cli_env(self, **extra: str) -> dict[str, str]:
        return {**{k: v for k, v in self.env.items() if k.startswith(("UNBRAND_", "AWS_"))},
                **extra}

    def start_worker(self, name: str, *, pool: str = "solo", wait: bool = True,
                     **extra_env: str) -> Worker:
        log = self.tmp / f"{name.split('@')[0]}.log"
        worker = Worker({**self.env, **extra_env}, log, name, pool)
        self.workers.append(worker)
        return worker.wait_ready() if wait else worker

    def jobs(self) -> list[dict[str, Any]]:
        engine = sa.create_engine(self.direct_db)
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT * FROM jobs ORDER BY id")).mappings().all()
        finally:
            engine.dispose()
        return [dict(row) for row in rows]

    def wait_until(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float,
                   what: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.jobs()
            if predicate(rows):
                return rows
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {w.name}\n{w.output()}" for w in self.workers)
                states = [(r["id"], r["status"], r["attempts"], r["worker"]) for r in rows]
                raise AssertionError(f"timed out waiting for {what}: {states}\n{logs}")
            time.sleep(0.1)

    def wait_final(self, timeout: float = 240.0) -> list[dict[str, Any]]:
        return self.wait_until(lambda rows: bool(rows) and all(r["status"] in FINAL
                                                               for r in rows),
                               timeout, "every job in a final state")

    def output_keys(self, prefix: str) -> list[str]:
        client = self.client()
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.proxy.close()
        self.redis.stop()
        self.s3.stop()
        shutil.rmtree(self.tmp / "redis", ignore_errors=True)


@pytest.fixture
def services(tmp_path: Path, postgres_url: str, tiny_weights: Path) -> Iterator[Services]:
    """The whole distributed setup on loopback, with handles to break each part."""
    if shutil.which("redis-server") is None:
        service_missing("redis-server is not installed")
    env = Services(tmp_path, postgres_url, tiny_weights)
    try:
        yield env
    finally:
        env.close()


def assert_nothing_lost(services: Services, rows: list[dict[str, Any]], prefix: str) -> None:
    """Every job final, none running, exactly one output object per done job and no other."""
    assert rows and all(row["status"] in FINAL for row in rows), \
        [(r["id"], r["status"]) for r in rows]
    done = sorted(row["output_uri"].removeprefix(f"s3://{BUCKET}/") for row in rows
                  if row["status"] == "done")
    assert len(set(done)) == len(done)  # no two jobs share an output
    assert services.output_keys(prefix) == done

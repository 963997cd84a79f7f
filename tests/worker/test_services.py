"""Worker start-up checks, heartbeats and the per-process storage resolver, on real services."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db.models import Worker
from scheduler.db.session import make_engine, session_scope
from scheduler.errors import TransientDatabaseError, TransientQueueError, UnbrandError
from scheduler.settings import get_settings
from tests.fixtures.services import service_missing
from worker.services import (
    HeartbeatLoop,
    StorageResolver,
    record_worker,
    touch_worker,
    wait_for_broker,
    wait_for_services,
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_waiting_for_services_succeeds_when_they_answer(redis_url: str, sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    started = time.monotonic()
    wait_for_services(get_settings(broker_url=redis_url), engine, timeout=5)
    assert time.monotonic() - started < 5
    engine.dispose()


def test_waiting_gives_up_with_a_transient_error_naming_the_service() -> None:
    port = closed_port()
    with pytest.raises(TransientQueueError, match=f"127.0.0.1:{port}/0 not reachable"):
        wait_for_broker(f"redis://127.0.0.1:{port}/0", timeout=0.5, interval=0.1)
    engine = make_engine(f"postgresql+psycopg2://postgres:secret@127.0.0.1:{port}/none")
    with pytest.raises(TransientDatabaseError) as raised:
        wait_for_services(get_settings(broker_url=None), engine, timeout=0.5)
    assert "secret" not in str(raised.value)  # the password is redacted
    engine.dispose()


def test_broker_that_comes_up_late_is_waited_for(tmp_path: Path) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        service_missing("redis-server is not installed")
    port = closed_port()
    servers: list[subprocess.Popen] = []

    def come_up_later() -> None:  # a real Redis, started 0.6 s after the worker began waiting
        time.sleep(0.6)
        servers.append(subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL))

    thread = threading.Thread(target=come_up_later)
    thread.start()
    started = time.monotonic()
    try:
        wait_for_broker(f"redis://127.0.0.1:{port}/0", timeout=30, interval=0.1)
        assert time.monotonic() - started >= 0.5
    finally:
        thread.join()
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


def test_worker_row_and_heartbeat(session_factory: sessionmaker[Session]) -> None:
    record_worker(session_factory, name="w@host", queues="cpu,gpu")
    with session_scope(session_factory) as session:
        first = session.get(Worker, "w@host").last_seen
    time.sleep(0.05)
    with HeartbeatLoop().track(lambda: touch_worker(session_factory, name="w@host"), 0.05):
        time.sleep(0.3)
    with session_scope(session_factory) as session:
        row = session.get(Worker, "w@host")
        assert row.queues == "cpu,gpu" and row.hostname == socket.gethostname()
        assert (row.last_seen - first).total_seconds() >= 0.15


def test_a_failing_beat_does_not_stop_the_heartbeats() -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise UnbrandError("database blip")

    stop = HeartbeatLoop().start(flaky, 0.02)
    time.sleep(0.2)
    stop()
    seen = len(calls)
    assert seen >= 3
    time.sleep(0.1)
    assert len(calls) == seen  # stopped: no more beats


def test_s3_resolver_keeps_one_storage_per_bucket(s3_server: str, tmp_path: Path) -> None:
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="one")
    client.put_object(Bucket="one", Key="a/b.txt", Body=b"hello")
    resolver = StorageResolver(get_settings())

    first, key = resolver("s3://one/a/b.txt")
    second, _ = resolver("s3://one/other")
    local, local_key = resolver(str(tmp_path / "x.png"))

    assert first is second and key == "a/b.txt"
    assert first.read_bytes(key) == b"hello"
    assert first.uri_for(key) == "s3://one/a/b.txt"
    assert local_key == "x.png" and local.uri_for(local_key) == (tmp_path / "x.png").as_uri()


def test_one_heartbeat_thread_serves_every_running_job() -> None:
    loop = HeartbeatLoop()
    fast: list[float] = []
    slow: list[float] = []

    def failing_then_fine() -> None:
        slow.append(time.monotonic())
        if len(slow) == 1:
            raise UnbrandError("database blip")

    with loop.track(lambda: fast.append(time.monotonic()), 0.05):
        with loop.track(failing_then_fine, 0.2):
            time.sleep(0.5)
        slow_seen = len(slow)
        time.sleep(0.2)
    after = len(fast)
    time.sleep(0.2)

    assert 6 <= len(fast) <= 16 and 2 <= slow_seen <= 3
    assert len(slow) == slow_seen  # untracked jobs get no more beats
    assert len(fast) == after
    assert sum(t.name == "job-heartbeats" for t in threading.enumerate()) >= 1


def test_a_fork_waits_for_a_running_beat_so_the_child_inherits_no_held_lock() -> None:
    # A prefork pool forks a replacement child while the parent's heartbeat thread may be
    # inside the database driver; a lock held there at the fork stays held in the child for
    # ever (CI saw a replacement child hang until its hard time limit). `driver` stands in
    # for such a lock.
    import os

    driver = threading.Lock()
    inside = threading.Event()

    def beat() -> None:
        with driver:
            inside.set()
            time.sleep(0.4)

    loop = HeartbeatLoop()
    stop = loop.start(beat, 0.01)
    try:
        assert inside.wait(5)
        pid = os.fork()
        if pid == 0:  # the child: can it take the driver's lock?
            os._exit(0 if driver.acquire(timeout=2) else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        stop()
    assert os.waitstatus_to_exitcode(status) == 0

"""Per-process resources of a worker: database sessions, storage clients, start-up, heartbeats.

Everything here is created lazily in the process that uses it: a prefork child must not
reuse the parent's database connections or boto3 clients, so `reset_after_fork` drops
them in each child.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db import crud
from scheduler.db.session import (
    make_engine,
    make_session_factory,
    session_scope,
    wait_for_database,
)
from scheduler.errors import ConfigError, TransientQueueError, UnbrandError
from scheduler.polling import poll_until
from scheduler.settings import Settings, get_settings, redact_text, redact_url
from scheduler.storage import Storage, UriResolver, open_storage, split_s3_uri
from scheduler.storage.uri import is_s3_uri

log = logging.getLogger(__name__)


class StorageResolver:
    """Turns a URI into (storage, key), keeping one S3 client per bucket for the process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._buckets: dict[str, Storage] = {}

    def __call__(self, uri: str) -> tuple[Storage, str]:
        if not is_s3_uri(uri):
            return open_storage(uri, settings=self._settings)
        bucket, key = split_s3_uri(uri)  # the one decoding open_storage uses too
        with self._lock:
            storage = self._buckets.get(bucket)
            if storage is None:
                storage, _ = open_storage(f"s3://{bucket}", settings=self._settings)
                self._buckets[bucket] = storage
        return storage, key  # keys are checked by the storage: never mapped to another


class WorkerResources:
    """Settings, engine, session factory and storage resolver of one process (lazy)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        storage_resolver: UriResolver | None = None,
    ) -> None:
        self._settings = settings
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None
        self._resolver = storage_resolver
        self._lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
        return self._settings

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = make_engine(self.settings.database_url)
            return self._engine

    @property
    def session_factory(self) -> sessionmaker[Session]:
        engine = self.engine
        with self._lock:
            if self._factory is None:
                self._factory = make_session_factory(engine)
            return self._factory

    @property
    def storage_resolver(self) -> UriResolver:
        with self._lock:
            if self._resolver is None:
                self._resolver = StorageResolver(self.settings)
            return self._resolver

    def close(self) -> None:
        """Close the database connections of this process."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine, self._factory = None, None

    def reset_after_fork(self) -> None:
        """Forget connections inherited from a parent process (call in each prefork child)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose(close=False)
            self._engine, self._factory = None, None
            if isinstance(self._resolver, StorageResolver):  # holds boto3 clients
                self._resolver = None


_RESOURCES = WorkerResources()


def process_resources() -> WorkerResources:
    """The resources of this process."""
    return _RESOURCES


def use_process_resources(resources: WorkerResources) -> WorkerResources:
    """Replace this process's resources (embedding a worker, tests); returns the old ones."""
    global _RESOURCES
    previous, _RESOURCES = _RESOURCES, resources
    if previous is not resources:
        previous.close()
    return previous


def wait_for_broker(url: str, *, timeout: float = 60.0, interval: float = 1.0) -> None:
    """Block until the Redis broker answers PING; TransientQueueError after `timeout`,
    ConfigError for a URL redis cannot parse."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    except ValueError as exc:  # its text quotes a piece of the URL: the password, maybe
        raise ConfigError(
            f"broker URL {redact_url(url)} cannot be parsed: percent-encode '/', '#', '?' "
            "and '@' in its password"
        ) from exc

    def unreachable(exc: Exception) -> Exception:
        return TransientQueueError(
            f"broker {redact_url(url)} not reachable after {timeout:.0f} s: "
            f"{redact_text(str(exc))}"
        )

    try:
        poll_until(client.ping, retry_on=redis.RedisError, give_up=unreachable,
                   timeout=timeout, interval=interval)
    finally:
        client.close()


def wait_for_services(settings: Settings, engine: Engine, *, timeout: float = 60.0) -> None:
    """Wait for the database (SELECT 1) and, for redis:// brokers, the broker (PING)."""
    wait_for_database(engine, timeout=timeout)
    if settings.broker_url and urlsplit(settings.broker_url).scheme in {"redis", "rediss"}:
        wait_for_broker(settings.broker_url, timeout=timeout)


def record_worker(factory: sessionmaker[Session], *, name: str, queues: str) -> None:
    """Insert or refresh this worker's row at start-up (its `last_seen` is the heartbeat)."""
    with session_scope(factory) as session:
        crud.upsert_worker(session, name=name, hostname=socket.gethostname(), queues=queues,
                           pid=os.getpid(), started_at=datetime.now(UTC))


def touch_worker(factory: sessionmaker[Session], *, name: str) -> None:
    """Update `last_seen` of this worker's row."""
    with session_scope(factory) as session:
        crud.touch_worker(session, name=name)


@dataclass
class _Beat:
    action: Callable[[], None]
    interval: float
    due: float


class HeartbeatLoop:
    """One daemon thread per process that calls every heartbeat on time: the worker row's
    (`start`, for the life of the worker) and each running job's (`track`, for one job).

    Cheaper than a thread per job (starting and joining one costs milliseconds); a forked
    child gets its own thread on first use, since threads do not survive fork. An action that
    raises UnbrandError is logged and called again next time (a heartbeat must outlive a
    database blip).
    """

    FORK_WAIT = 10.0  # seconds a fork waits for a running heartbeat action to finish

    def __init__(self) -> None:
        self._reset()
        self._held_for_fork = False
        os.register_at_fork(before=self._before_fork, after_in_parent=self._after_fork,
                            after_in_child=self._reset)

    def _reset(self) -> None:
        """Fresh state (also in a forked child, where the parent's lock may be held)."""
        self._lock = threading.Lock()
        # held while an action runs: a fork (a prefork pool replacing a lost child) waits for
        # it, so the child never inherits a lock the action held mid-call in the database
        # driver or the connection pool, which nothing in the child would ever release
        self._acting = threading.Lock()
        self._wake = threading.Event()
        self._beats: dict[int, _Beat] = {}
        self._next_id = 0
        self._owner_pid: int | None = None

    def start(self, action: Callable[[], None], interval: float) -> Callable[[], None]:
        """Call `action` every `interval` seconds until the returned function is called."""
        with self._lock:
            self._ensure_thread()
            self._next_id += 1
            token = self._next_id
            self._beats[token] = _Beat(action, interval, time.monotonic() + interval)
        self._wake.set()

        def stop() -> None:
            with self._lock:
                self._beats.pop(token, None)

        return stop

    @contextmanager
    def track(self, action: Callable[[], None], interval: float) -> Iterator[None]:
        """Call `action` every `interval` seconds while the block runs."""
        stop = self.start(action, interval)
        try:
            yield
        finally:
            stop()

    def _before_fork(self) -> None:
        # bounded: an action stuck longer (a database that does not answer) must not stop the
        # fork for good; the thread that forks never runs an action itself
        self._held_for_fork = self._acting.acquire(timeout=self.FORK_WAIT)

    def _after_fork(self) -> None:
        if self._held_for_fork:
            self._held_for_fork = False
            self._acting.release()

    def _ensure_thread(self) -> None:
        if self._owner_pid != os.getpid():
            self._owner_pid = os.getpid()
            thread = threading.Thread(target=self._run, name="job-heartbeats", daemon=True)
            thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                due = [beat for beat in self._beats.values() if beat.due <= now]
                for beat in due:
                    beat.due = now + beat.interval
                next_due = min((b.due for b in self._beats.values()), default=now + 60.0)
            for beat in due:
                try:
                    with self._acting:
                        beat.action()
                except UnbrandError as exc:
                    log.warning("heartbeat failed: %s", exc)
                except Exception:  # one broken action must not stop every other heartbeat
                    log.exception("heartbeat action raised")
            self._wake.wait(max(0.0, next_due - time.monotonic()))
            self._wake.clear()


_HEARTBEATS = HeartbeatLoop()


def heartbeats() -> HeartbeatLoop:
    """The heartbeat loop of this process."""
    return _HEARTBEATS

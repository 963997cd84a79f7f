"""Limits enforced inside a worker process, whatever the Celery pool (solo included) and in
the embedded runner: a job's time limit and the time one read may take.

    JobWatchdog   the heartbeat of a running job; past the time limit it fails the job
                  instead of beating (the row is final at once, nothing is written later),
                  and a worker whose job still does not return is ended so its supervisor
                  restarts it (a thread stuck in a hung read cannot be stopped otherwise)
    call_with_timeout   runs one blocking call (a file or object read) on a daemon thread
                  and gives up after `timeout` seconds: a named pipe or a hung network file
                  system fails the job instead of keeping it `running` forever
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from scheduler.errors import StorageTimeout

log = logging.getLogger(__name__)
T = TypeVar("T")
EXIT_HUNG = 70  # exit status of a worker ended by its watchdog (EX_SOFTWARE)


def soft_time_limit(limit: float) -> float:
    """When a job with time limit `limit` is stopped softly (Celery's soft limit, this
    watchdog): 30 s before the hard limit, or a tenth of it for short limits (at least 1 s),
    so a short limit is not cut to 1 s."""
    margin = min(30.0, max(1.0, 0.1 * limit)) if limit > 1 else 0.0
    return max(limit - margin, min(limit, 1.0))


def time_limit_reason(limit: float | None) -> str:
    """The job row's reason for a job that ran out of time, naming what to change."""
    stated = f" ({limit:g} s)" if limit else ""
    return (f"time limit: the job ran longer than the task time limit{stated}; raise "
            "UNBRAND_TASK_TIME_LIMIT (and UNBRAND_VISIBILITY_TIMEOUT) or use a GPU worker")


class JobWatchdog:
    """Called on every heartbeat tick of one running job (see the module docstring); it
    fails the job at `soft_time_limit(time_limit)`, so within a heartbeat interval of it."""

    def __init__(
        self,
        *,
        beat: Callable[[], object],
        on_overrun: Callable[[], object],
        time_limit: float | None,
        exit_grace: float | None = None,
    ) -> None:
        self._beat, self._on_overrun = beat, on_overrun
        self._time_limit, self._exit_grace = time_limit, exit_grace
        self._started = time.monotonic()
        self._deadline = None if time_limit is None else soft_time_limit(time_limit)
        self._done = threading.Event()
        self.fired = False

    def tick(self) -> None:
        """Beat, or, past the time limit, fail the job once (and arm the exit)."""
        if self._done.is_set() or self.fired:
            return
        overrun = self._deadline is not None and (
            time.monotonic() - self._started > self._deadline)
        if not overrun:
            self._beat()
            return
        self.fired = True
        log.error("job ran past its time limit of %s s: failing it", self._time_limit)
        self._on_overrun()
        if self._exit_grace is not None:
            threading.Thread(target=self._exit_if_stuck, name="job-watchdog", daemon=True).start()

    def finished(self) -> None:
        """The job's code returned (whatever the outcome): nothing more to watch."""
        self._done.set()

    def _exit_if_stuck(self) -> None:
        if not self._done.wait(self._exit_grace):
            log.critical("the job is still stuck %s s after its time limit: ending this "
                         "worker process so that it is restarted", self._exit_grace)
            os._exit(EXIT_HUNG)


def call_with_timeout(call: Callable[[], T], *, timeout: float, what: str) -> T:
    """`call()` on a daemon thread; StorageTimeout naming `what` after `timeout` seconds (the
    thread is abandoned: it cannot be interrupted, and being a daemon it never blocks exit)."""
    box: dict[str, object] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="timed-read", daemon=True).start()
    if not done.wait(timeout):
        raise StorageTimeout(f"reading {what} took longer than {timeout:g} s (a named pipe or "
                             "a hung network file system?); raise UNBRAND_READ_TIMEOUT if it "
                             "is just slow")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]

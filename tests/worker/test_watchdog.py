"""Limits inside the worker process: soft time limits, the job watchdog and timed reads."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from scheduler.errors import StorageTimeout
from worker.watchdog import JobWatchdog, call_with_timeout, soft_time_limit, time_limit_reason


@pytest.mark.parametrize(("limit", "soft"), [(600, 570), (120, 108), (31, 27.9), (20, 18),
                                             (5, 4), (2, 1), (1, 1)])
def test_the_soft_limit_keeps_short_limits_usable(limit: float, soft: float) -> None:
    assert soft_time_limit(limit) == pytest.approx(soft)  # was max(1, limit - 30): 1 s for 31
    assert "(31 s)" in time_limit_reason(31)


def test_the_watchdog_beats_then_fails_the_job_once_past_the_limit() -> None:
    beats: list[float] = []
    failed: list[float] = []
    dog = JobWatchdog(beat=lambda: beats.append(1), on_overrun=lambda: failed.append(1),
                      time_limit=2.0)  # soft limit 1 s
    dog.tick()
    assert beats and not failed and not dog.fired
    time.sleep(1.1)
    dog.tick()
    dog.tick()
    assert failed == [1] and dog.fired and len(beats) == 1
    dog.finished()


def test_a_timed_read_gives_up_on_a_named_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "victim.jpg"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(StorageTimeout, match="took longer than 0.5 s"):
        call_with_timeout(fifo.read_bytes, timeout=0.5, what=str(fifo))
    assert time.monotonic() - started < 3
    assert call_with_timeout(lambda: b"ok", timeout=1, what="x") == b"ok"
    with pytest.raises(ValueError, match="boom"):
        call_with_timeout(lambda: (_ for _ in ()).throw(ValueError("boom")), timeout=1, what="x")
    # unblock the abandoned reader so the test leaves no thread behind
    threading.Thread(target=lambda: fifo.write_bytes(b"x"), daemon=True).start()

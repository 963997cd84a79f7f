"""Waiting for a service to answer: one poll loop for the database and the broker."""

from __future__ import annotations

import time
from collections.abc import Callable


def poll_until(
    probe: Callable[[], None],
    *,
    retry_on: type[Exception] | tuple[type[Exception], ...],
    give_up: Callable[[Exception], Exception],
    timeout: float,
    interval: float,
) -> None:
    """Call `probe` until it returns; an exception of `retry_on` is retried every `interval`
    seconds until `timeout` has passed, then `give_up(last exception)` is raised from it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            probe()
            return
        except retry_on as exc:
            if time.monotonic() >= deadline:
                raise give_up(exc) from exc
            time.sleep(interval)

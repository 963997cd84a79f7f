"""The one poll loop behind wait_for_database and wait_for_broker."""

from __future__ import annotations

import pytest

from scheduler.polling import poll_until


class Down(Exception):
    pass


def test_retries_until_the_probe_answers() -> None:
    calls = []

    def probe() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise Down("not yet")

    poll_until(probe, retry_on=Down, give_up=RuntimeError, timeout=5, interval=0.01)
    assert len(calls) == 3


def test_gives_up_with_the_last_error_as_cause() -> None:
    def probe() -> None:
        raise Down("refused")

    with pytest.raises(RuntimeError, match="gave up: refused") as info:
        poll_until(probe, retry_on=Down, give_up=lambda exc: RuntimeError(f"gave up: {exc}"),
                   timeout=0.05, interval=0.01)
    assert isinstance(info.value.__cause__, Down)


def test_other_errors_are_not_retried() -> None:
    calls = []

    def probe() -> None:
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        poll_until(probe, retry_on=Down, give_up=RuntimeError, timeout=5, interval=0.01)
    assert len(calls) == 1

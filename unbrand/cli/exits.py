"""Exit codes of the `unbrand` commands and the one place errors become them.

    0  success
    1  the work ran but some jobs failed (run, wait)
    2  bad input or configuration: unknown batch, unreadable dataset, missing weights,
       no broker, database unreachable...; also `wait --timeout` expiring
    130 interrupted (Ctrl-C); `run` can simply be started again

Library code raises; only commands call `fail` / use `errors_to_exit`, which prints a
one-line message on stderr (never a traceback, never a secret).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from inpaint_core.errors import InpaintError
from scheduler.errors import UnbrandError

EXIT_OK = 0
EXIT_JOBS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_TIMEOUT = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print `error: message` on stderr (URLs in it with passwords hidden) and leave."""
    from scheduler.settings import redact_text

    typer.secho(f"error: {redact_text(message)}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


@contextmanager
def errors_to_exit(*extra: type[BaseException], code: int = EXIT_BAD_INPUT) -> Iterator[None]:
    """Turn UnbrandError, InpaintError (and the `extra` error types) into a one-line message
    and exit `code`."""
    handled: tuple[type[BaseException], ...] = (UnbrandError, InpaintError, *extra)
    try:
        yield
    except handled as exc:
        fail(str(exc) or type(exc).__name__, code)

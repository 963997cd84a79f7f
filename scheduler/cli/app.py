"""The root Typer app and the registration of the control-plane commands (no torch imports)."""

from __future__ import annotations

import importlib

import typer

CONTROL_PLANE_MODULES = (
    "scheduler.cli.db",
    "scheduler.cli.batches",
    "scheduler.cli.report",
    "scheduler.cli.dashboard",
)


def make_app() -> typer.Typer:
    """A fresh `unbrand` app holding every control-plane command."""
    app = typer.Typer(
        name="unbrand",
        help="Batch logo removal with AOT-GAN: submit datasets, run workers, monitor jobs.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in CONTROL_PLANE_MODULES:
        importlib.import_module(name).register(app)
    return app

"""The root Typer app: `unbrand --version`, and the registration of every verb.

Each module of unbrand/cli has a `register(app)`; modules import torch, Celery workers or the
dashboard only inside their commands, so `unbrand status` stays fast and torch-free.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES = (
    "unbrand.cli.run",
    "unbrand.cli.batches",
    "unbrand.cli.jobs",
    "unbrand.cli.doctor",
    "unbrand.cli.worker",
    "unbrand.cli.db",
    "unbrand.cli.report",
    "unbrand.cli.dashboard",
    "unbrand.cli.inpaint",
    "unbrand.cli.masks",
    "unbrand.cli.training",
    "unbrand.cli.critic",
    "unbrand.cli.benchmark",
)


def _show_version(value: bool) -> None:
    if value:
        from unbrand import __version__

        typer.echo(f"unbrand {__version__}")
        raise typer.Exit(0)


def make_app() -> typer.Typer:
    """A fresh `unbrand` app holding every command."""
    app = typer.Typer(
        name="unbrand",
        help="Batch logo removal with AOT-GAN: run a dataset on this machine, or submit it to "
        "workers, and monitor every job.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def root(
        version: bool = typer.Option(
            False, "--version", "-V", callback=_show_version, is_eager=True,
            help="Print the installed version and exit.",
        ),
    ) -> None:
        """Batch logo removal with AOT-GAN."""

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main() -> None:
    """Entry point of the `unbrand` console script."""
    make_app()()

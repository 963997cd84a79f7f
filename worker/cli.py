"""Entry point of the `unbrand` console script: control-plane plus data-plane commands."""

from __future__ import annotations

import typer

from scheduler.cli.app import make_app
from worker.commands import register_all


def make_cli() -> typer.Typer:
    app = make_app()
    register_all(app)
    return app


def main() -> None:
    make_cli()()


if __name__ == "__main__":
    main()

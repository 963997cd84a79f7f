"""Data-plane commands of `unbrand`; each module has a `register(app)`; heavy imports stay inside commands."""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES = (
    "worker.commands.inpaint",
    "worker.commands.run",
    "worker.commands.worker",
    "worker.commands.train",
    "worker.commands.benchmark",
    "worker.commands.masks",
    "worker.commands.critic",
)


def register_all(app: typer.Typer) -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)

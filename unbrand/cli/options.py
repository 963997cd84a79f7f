"""One vocabulary for the options that several verbs share: the same concept has the same name,
the same short flag and the same choices on every verb.

    -o/--out       where results go (old name kept: submit --output)
    -n/--name      the batch's name (worker: the node's name)
    -f/--format    dataset format (choices)
    -w/--weights   generator checkpoint
    --device       auto | cpu | cuda (pick a GPU with CUDA_VISIBLE_DEVICES)
    --precision    auto | fp32 | bf16 | fp16
    -Q/--queue(s)  gpu | cpu
    --db           job database URL (old name kept: db upgrade --url)
    --quality      JPEG/WebP quality of the outputs (default: near the source's own)
"""

from __future__ import annotations

from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import typer


class Device(StrEnum):
    """Where the model runs."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Precision(StrEnum):
    """The model's number format."""

    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


class DatasetFormat(StrEnum):
    """Dataset layouts (scheduler.datasets.FORMATS)."""

    auto = "auto"
    openlogo = "openlogo"
    masks = "masks"
    manifest = "manifest"
    images = "images"


class QueueName(StrEnum):
    """Worker queues (scheduler.queue.QUEUES)."""

    gpu = "gpu"
    cpu = "cpu"


class Pool(StrEnum):
    """Celery execution pools `unbrand worker` offers."""

    prefork = "prefork"
    solo = "solo"
    threads = "threads"


DEVICE_HELP = "auto (CUDA when available), cpu or cuda; pick a GPU with CUDA_VISIBLE_DEVICES."
PRECISION_HELP = "auto (bf16 where the CPU/GPU is fast at it), fp32, bf16 or fp16 (GPU)."
FORMAT_HELP = ("Dataset layout; auto detects openlogo, masks or manifest, and picks images "
               "(a plain folder) only with --box or --mask.")
QUALITY_HELP = ("JPEG/WebP quality 1-100 of the outputs (default: the source JPEG's own quality, "
                "read from its quantisation tables; 95 for other sources).")
NAME_HELP = "Batch name (default: derived from SOURCE, so running it again resumes)."


def value(choice: Enum | str | None) -> str | None:
    """The plain string of a choice (None stays None)."""
    if choice is None:
        return None
    return str(choice.value) if isinstance(choice, Enum) else str(choice)


def out_option(help: str, *aliases: str, default: Any = ...) -> Any:
    """`-o/--out` (plus old `aliases`)."""
    return typer.Option(default, "--out", *aliases, "-o", help=help)


def name_option(help: str = NAME_HELP) -> Any:
    return typer.Option(None, "--name", "-n", help=help)


def format_option() -> Any:
    return typer.Option(DatasetFormat.auto, "--format", "-f", help=FORMAT_HELP)


def weights_option(help: str = "Generator checkpoint (.safetensors + .json card, or .pt); "
                   "default: the shipped weights.") -> Any:
    return typer.Option(None, "--weights", "-w", help=help)


def device_option(default: Device | None = Device.auto, help: str = DEVICE_HELP) -> Any:
    return typer.Option(default, "--device", help=help)


def precision_option(default: Precision | None = Precision.auto,
                     help: str = PRECISION_HELP) -> Any:
    return typer.Option(default, "--precision", help=help)


def quality_option() -> Any:
    return typer.Option(None, "--quality", min=1, max=100, help=QUALITY_HELP)


def split_option() -> Any:
    return typer.Option(None, "--split",
                        help="OpenLogo image set, e.g. 'test' or 'train_test/test_all'.")


def classes_option() -> Any:
    return typer.Option(None, "--classes",
                        help="OpenLogo brands to remove, comma-separated (default: all).")


def class_list(classes: str | None) -> list[str] | None:
    """'a, b' -> ['a', 'b']; None for no value."""
    return [c.strip() for c in classes.split(",") if c.strip()] if classes else None


def path_text(path: Path | str | None) -> str | None:
    return str(path) if path else None

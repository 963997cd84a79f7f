"""AOT-GAN logo removal: the model, checkpoints and the high-resolution Inpainter.

`from inpaint_core import Inpainter` is the public entry point. Heavy modules load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inpaint_core.config import AOTConfig, PlannerConfig
from inpaint_core.errors import (
    CheckpointError,
    DeviceError,
    ImageInputError,
    ImageTooLargeError,
    InpaintError,
    NoDefaultWeightsError,
)

if TYPE_CHECKING:
    from inpaint_core.inpainter import Inpainter

__all__ = [
    "AOTConfig",
    "PlannerConfig",
    "Inpainter",
    "InpaintError",
    "CheckpointError",
    "NoDefaultWeightsError",
    "ImageInputError",
    "ImageTooLargeError",
    "DeviceError",
]


def __getattr__(name: str) -> Any:
    if name == "Inpainter":
        from inpaint_core.inpainter import Inpainter

        return Inpainter
    raise AttributeError(f"module 'inpaint_core' has no attribute {name!r}")

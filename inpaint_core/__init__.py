"""AOT-GAN logo removal: the model, its training and evaluation, and the high-resolution
Inpainter.

    model/       the generator and discriminator, checkpoints, devices      (torch)
    inference/   Inpainter, planner, prefill, detail, blend, `remove`        (torch)
    masks/       boxes, mask modes, refinement, bleed, fixed watermarks,
                 find-logo, image I/O, VOC files                             (no torch)
    training/    the training loop, data, holes, losses, logos to paste      (torch)
    evaluation/  benchmark synthesis, scoring, figures, metrics, the critic

`from inpaint_core import Inpainter, remove` is the public entry point. Nothing is imported
until it is used, so `inpaint_core.masks` stays importable without torch.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

# PyTorch's OpenMP threads spin on the cores while they wait for the next parallel region. A
# worker's own threads (decode, refine and encode beside the model, heartbeats) and anything else
# on the machine then wait behind the spinning: two model processes on 2 cores made each forward
# pass 4.5x slower, and a job's overhead under load was 3-5x (docs/performance.md). Passive
# waiting gives the cores back, for 6-16 % of a bare forward pass on a quiet machine. It has to
# be set before torch is loaded (this package is imported before any of its modules load torch);
# a value the user sets wins (OMP_WAIT_POLICY=ACTIVE for a dedicated single-process worker).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if TYPE_CHECKING:
    from inpaint_core.errors import (
        CheckpointError,
        DeviceError,
        ImageInputError,
        ImageTooLargeError,
        InpaintError,
        NoDefaultWeightsError,
    )
    from inpaint_core.inference.inpainter import Inpainter
    from inpaint_core.inference.planner import PlannerConfig
    from inpaint_core.inference.remove import Removal, remove
    from inpaint_core.model.config import AOTConfig

_EXPORTS = {
    "AOTConfig": "inpaint_core.model.config",
    "PlannerConfig": "inpaint_core.inference.planner",
    "Inpainter": "inpaint_core.inference.inpainter",
    "remove": "inpaint_core.inference.remove",
    "Removal": "inpaint_core.inference.remove",
    "InpaintError": "inpaint_core.errors",
    "CheckpointError": "inpaint_core.errors",
    "NoDefaultWeightsError": "inpaint_core.errors",
    "ImageInputError": "inpaint_core.errors",
    "ImageTooLargeError": "inpaint_core.errors",
    "DeviceError": "inpaint_core.errors",
}
__all__ = [
    "AOTConfig",
    "CheckpointError",
    "DeviceError",
    "ImageInputError",
    "ImageTooLargeError",
    "InpaintError",
    "Inpainter",
    "NoDefaultWeightsError",
    "PlannerConfig",
    "Removal",
    "remove",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'inpaint_core' has no attribute {name!r}")

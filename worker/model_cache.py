"""The Inpainter of this process, loaded lazily on first use and then kept.

A Celery worker process (prefork child, or the solo process) loads the model when its
first job arrives, never at import and never in the parent before forking (a forked
PyTorch/OpenMP runtime can hang). `check_weights` lets a command fail fast with a clear
message before any model is loaded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from inpaint_core.errors import CheckpointError, NoDefaultWeightsError

if TYPE_CHECKING:
    from inpaint_core.inference.inpainter import Inpainter
    from scheduler.settings import Settings

@dataclass(frozen=True)
class ModelSpec:
    """What to load: weights file (None = shipped default), device and precision."""

    weights: str | None = None
    device: str = "auto"
    precision: str = "auto"

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelSpec:
        return cls(weights=settings.model_weights or None, device=settings.device,
                   precision=settings.precision)


def check_weights(spec: ModelSpec) -> None:
    """Raise CheckpointError / NoDefaultWeightsError now if the weights cannot exist.

    Cheap (no torch work): only checks that the file is there.
    """
    if spec.weights is not None:
        if not Path(spec.weights).is_file():
            raise CheckpointError(f"weights file not found: {spec.weights}")
        return
    from inpaint_core.model.checkpoint import default_weights_path, load_default_generator

    if not default_weights_path().is_file():
        load_default_generator()  # raises NoDefaultWeightsError with inpaint_core's own message
        raise NoDefaultWeightsError(f"no default weights at {default_weights_path()}")


class ModelCache:
    """Holds at most one Inpainter per spec for the life of the process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spec: ModelSpec | None = None
        self._inpainter: Inpainter | None = None

    def get(self, spec: ModelSpec) -> Inpainter:
        """The Inpainter for `spec`, loading it on the first call (or when the spec changes)."""
        with self._lock:
            if self._inpainter is None or self._spec != spec:
                self._inpainter = load_inpainter(spec)
                self._spec = spec
            return self._inpainter

    def put(self, spec: ModelSpec, inpainter: Inpainter) -> None:
        """Use an already built Inpainter for `spec` (embedded runs, tests)."""
        with self._lock:
            self._spec, self._inpainter = spec, inpainter

    def clear(self) -> None:
        with self._lock:
            self._spec, self._inpainter = None, None


def load_inpainter(spec: ModelSpec) -> Inpainter:
    """Load an Inpainter for `spec` (imports torch)."""
    from inpaint_core.inference.inpainter import Inpainter

    return Inpainter.load(spec.weights, device=spec.device, precision=spec.precision)


_PROCESS_CACHE = ModelCache()


def process_cache() -> ModelCache:
    """The cache shared by everything in this process."""
    return _PROCESS_CACHE

"""The per-process model cache: loaded on first use, then reused; weights checked up front."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inpaint_core.errors import CheckpointError, NoDefaultWeightsError
from inpaint_core.model.checkpoint import default_weights_path
from worker.model_cache import ModelCache, ModelSpec, check_weights


def test_the_model_is_loaded_once_per_spec(tiny_weights: Path, tiny_inpainter: object) -> None:
    cache = ModelCache()
    spec = ModelSpec(weights=str(tiny_weights), device="cpu", precision="fp32")

    first = cache.get(spec)
    again = cache.get(spec)
    other = cache.get(ModelSpec(weights=str(tiny_weights), device="cpu", precision="auto"))

    assert first is again and other is not first
    assert first.model_version == "tiny-test" and first.config.width == 8
    image = np.full((40, 40, 3), 120, np.uint8)
    mask = np.zeros((40, 40), bool)
    mask[10:20, 10:20] = True
    # the fp16 checkpoint reproduces the in-memory model closely
    diff = np.abs(first.inpaint(image, mask).astype(int) - tiny_inpainter.inpaint(image, mask))
    assert diff.max() <= 2


def test_weights_are_checked_before_anything_loads(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="weights file not found"):
        check_weights(ModelSpec(weights=str(tmp_path / "missing.safetensors")))
    if default_weights_path().is_file():
        check_weights(ModelSpec())  # shipped: nothing to complain about
    else:
        with pytest.raises(NoDefaultWeightsError, match="--weights"):
            check_weights(ModelSpec())

"""Tiny random models for fast CPU tests, and a generator that records what it is asked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inpaint_core.model.config import AOTConfig
from inpaint_core.model.network import AOTGenerator

TINY = AOTConfig(width=8, blocks=2, rates=(1, 2), work_size=64, name="tiny")


class RecordingGenerator(AOTGenerator):
    """A real AOTGenerator that keeps the shape of every input it is called with."""

    def __init__(self, config: AOTConfig) -> None:
        super().__init__(config)
        self.calls: list[tuple[int, ...]] = []

    def forward(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(masked.shape))
        return super().forward(masked, mask)


@pytest.fixture
def tiny_generator() -> RecordingGenerator:
    torch.manual_seed(0)
    return RecordingGenerator(TINY).eval()


def photo_like(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients plus noise: something with structure, not pure noise."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [xs / width * 200, ys / height * 180, (xs + ys) / (width + height) * 220], axis=2
    )
    noise = rng.normal(0, 8, size=(height, width, 3))
    return np.clip(base + 30 + noise, 0, 255).astype(np.uint8)

"""A tiny random generator that records what it is asked (TINY: 64 px work crops)."""

from __future__ import annotations

import pytest
import torch

from tests.fixtures.models import TINY, RecordingGenerator


@pytest.fixture
def tiny_generator() -> RecordingGenerator:
    torch.manual_seed(0)
    return RecordingGenerator(TINY).eval()

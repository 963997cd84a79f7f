"""The reference configuration has exactly the authors' state_dict layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from inpaint_core.model.config import AOTConfig
from inpaint_core.model.network import AOTGenerator, PatchDiscriminator, count_parameters

LAYOUT = Path(__file__).resolve().parents[4] / "shared" / "aot-checkpoint-layout.md"


def _expected_generator_shapes() -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    text = LAYOUT.read_text()
    block = text.split("## Generator state_dict")[1].split("```")[1]
    for name, dims in re.findall(r"(\S+\.(?:weight|bias))\s+([\dx]+)", block):
        dims_t = tuple(int(d) for d in dims.split("x"))
        if "{0..7}" in name:
            for i in range(8):
                shapes[name.replace("{0..7}", str(i))] = dims_t
        else:
            shapes[name] = dims_t
    return shapes


@pytest.mark.skipif(not LAYOUT.exists(),
                    reason="shared/aot-checkpoint-layout.md not beside the repo")
def test_reference_generator_matches_layout_file() -> None:
    expected = _expected_generator_shapes()
    model = AOTGenerator(AOTConfig.reference())
    actual = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert len(expected) == 108
    assert actual == expected
    assert count_parameters(model) == 15_200_835


def test_discriminator_parameter_count_and_keys() -> None:
    disc = PatchDiscriminator()
    keys = set(disc.state_dict())
    assert {"conv.0.weight_orig", "conv.0.weight_u", "conv.0.weight_v", "conv.8.bias"} <= keys
    assert tuple(disc.state_dict()["conv.6.weight_v"].shape) == (4096,)
    assert count_parameters(disc) == 2_763_777


def test_generator_output_shape_and_range() -> None:
    torch.manual_seed(0)
    model = AOTGenerator(AOTConfig(width=8, blocks=2, rates=(1, 2), work_size=32, name="tiny"))
    image = torch.rand(2, 3, 32, 48) * 2 - 1
    mask = torch.zeros(2, 1, 32, 48)
    mask[:, :, 8:16, 8:24] = 1
    out = model(image * (1 - mask) + mask, mask)
    assert out.shape == (2, 3, 32, 48)
    assert out.abs().max() <= 1.0

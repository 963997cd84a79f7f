"""Checkpoints: the authors' .pt files load strictly, our fp16 safetensors + card round-trip,
and broken or mismatched files give errors that name the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from inpaint_core.errors import CheckpointError, NoDefaultWeightsError
from inpaint_core.model.checkpoint import (
    default_weights_path,
    infer_config,
    load_default_generator,
    load_discriminator,
    load_generator,
    save_inference_checkpoint,
)
from inpaint_core.model.config import AOTConfig
from inpaint_core.model.network import AOTGenerator, PatchDiscriminator

TINY = AOTConfig(width=8, blocks=2, rates=(1, 2), work_size=32, name="tiny")


def _inputs(size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    image = torch.rand(1, 3, size, size, generator=generator) * 2 - 1
    mask = torch.zeros(1, 1, size, size)
    mask[:, :, size // 4 : size // 2, size // 4 : size // 2] = 1
    return image * (1 - mask) + mask, mask


def test_reference_pt_loads_strict_and_reproduces_output(tmp_path: Path) -> None:
    torch.manual_seed(0)
    original = AOTGenerator(AOTConfig.reference()).eval()
    path = tmp_path / "G0000000.pt"
    torch.save(original.state_dict(), path)  # the authors' format: a bare state_dict
    loaded, card = load_generator(path)
    assert loaded.config == AOTConfig.reference()
    assert card["source"] == str(path)
    masked, mask = _inputs(48)  # the 1/4-scale features must exceed the largest dilation (8)
    with torch.no_grad():
        assert torch.equal(original(masked, mask), loaded(masked, mask))


def test_wrapped_state_dict_and_module_prefix(tmp_path: Path) -> None:
    torch.manual_seed(0)
    original = AOTGenerator(TINY).eval()
    path = tmp_path / "wrapped.pt"
    prefixed = {f"module.{k}": v for k, v in original.state_dict().items()}
    torch.save({"netG": prefixed, "iteration": 5}, path)
    loaded, _ = load_generator(path, config=TINY)
    for key, value in original.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_config_is_inferred_from_shapes() -> None:
    state = AOTGenerator(AOTConfig(width=16, blocks=3, rates=(1, 2), work_size=64)).state_dict()
    config = infer_config(state)
    assert (config.width, config.blocks, config.rates) == (16, 3, (1, 2))
    reference = infer_config(AOTGenerator(AOTConfig.lite()).state_dict())
    assert (reference.width, reference.blocks, reference.rates) == (32, 4, (1, 2, 4, 8))


def test_wrong_config_names_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "tiny.pt"
    torch.save(AOTGenerator(TINY).state_dict(), path)
    deeper = AOTConfig(width=8, blocks=3, rates=(1, 2), work_size=32)
    with pytest.raises(CheckpointError, match=r"missing keys: middle\.2\.block00\.1\.bias"):
        load_generator(path, config=deeper)
    wider = AOTConfig(width=16, blocks=2, rates=(1, 2), work_size=32)
    with pytest.raises(
        CheckpointError,
        match=r"encoder\.1\.weight \(file \(8, 4, 7, 7\) vs model \(16, 4, 7, 7\)\)",
    ):
        load_generator(path, config=wider)
    shallower = AOTConfig(width=8, blocks=1, rates=(1, 2), work_size=32)
    with pytest.raises(CheckpointError, match=r"unexpected keys: middle\.1\.block00\.1\.bias"):
        load_generator(path, config=shallower)


def test_fp16_safetensors_and_card_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    original = AOTGenerator(TINY).eval()
    card = {
        "training_data": "train-photos",
        "iterations": 10,
        "losses": {"l1": 1.0},
        "metrics": {"psnr": 20.5},
    }
    path = save_inference_checkpoint(original, tmp_path / "model.safetensors", card=card)
    written = json.loads((tmp_path / "model.json").read_text())
    assert written["config"] == TINY.to_dict()
    assert (
        written["dtype"] == "float16"
        and written["iterations"] == 10
        and written["metrics"] == {"psnr": 20.5}
    )
    assert path.stat().st_size < 2 * 2 * sum(p.numel() for p in original.parameters()) + 4096
    loaded, loaded_card = load_generator(path)
    assert loaded.config == TINY and loaded_card["losses"] == {"l1": 1.0}
    masked, mask = _inputs()
    with torch.no_grad():
        diff = (original(masked, mask) - loaded(masked, mask)).abs().max().item()
    assert 0 < diff < 2e-2  # fp16 weights: close, not identical
    (tmp_path / "model.json").unlink()  # without the card the config comes from the header
    assert load_generator(path)[0].config == TINY


def test_broken_files_are_reported(tmp_path: Path) -> None:
    path = save_inference_checkpoint(AOTGenerator(TINY), tmp_path / "m.safetensors", card={})
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_generator(cut, config=TINY)
    pt = tmp_path / "G.pt"
    torch.save(AOTGenerator(TINY).state_dict(), pt)
    cut_pt = tmp_path / "cut.pt"
    cut_pt.write_bytes(pt.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_generator(cut_pt)
    picture = tmp_path / "photo.pt"
    picture.write_bytes(b"\xff\xd8\xff\xe0 this is a jpeg, not weights")
    with pytest.raises(CheckpointError, match="not a weights-only PyTorch checkpoint"):
        load_generator(picture)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="zero bytes"):
        load_generator(empty)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_generator(tmp_path / "missing.pt")


class _Payload:
    """Pickling this needs code execution at load time, which weights_only refuses."""


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"encoder.1.weight": torch.zeros(1), "x": _Payload()}, path)
    with pytest.raises(CheckpointError, match="refusing to unpickle code"):
        load_generator(path)
    other = tmp_path / "other.pt"
    torch.save({"optimizer": {"lr": torch.tensor(1.0)}}, other)
    with pytest.raises(CheckpointError, match="no state_dict found"):
        load_generator(other)


def test_discriminator_pt_loads_strict(tmp_path: Path) -> None:
    torch.manual_seed(0)
    disc = PatchDiscriminator().eval()
    path = tmp_path / "D0000000.pt"
    torch.save(disc.state_dict(), path)
    loaded = load_discriminator(path).eval()
    image = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(disc(image), loaded(image))


def test_default_weights_are_present_or_the_error_says_how_to_pass_some() -> None:
    if default_weights_path().is_file():
        generator, card = load_default_generator()
        assert isinstance(generator, AOTGenerator) and "config" in card
        return
    with pytest.raises(
        NoDefaultWeightsError, match="no trained default weights are shipped yet.*--weights"
    ):
        load_default_generator()


def test_training_checkpoint_wrapper_gives_config_and_iteration(tmp_path: Path) -> None:
    config = AOTConfig(width=8, blocks=2, rates=(1, 2), work_size=128, name="tiny-128")
    path = tmp_path / "last.pt"
    state = {"generator": AOTGenerator(config).state_dict(), "model_config": config.to_dict()}
    torch.save({**state, "iteration": 400, "opt_g": {"state": {}, "param_groups": []}}, path)
    generator, card = load_generator(path)
    assert generator.config == config  # work_size comes from the file, not the shape inference
    assert card["iterations"] == 400

"""The critic: realness pooling over the hole, windows, training, save/load, Inpainter wiring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from inpaint_core.errors import CheckpointError, ImageInputError
from inpaint_core.evaluation.critic import (
    Critic,
    CriticTraining,
    region_windows,
    save_critic,
    train_critic,
)
from inpaint_core.inference.inpainter import Inpainter
from inpaint_core.model.network import PatchDiscriminator
from tests.fixtures.models import make_tiny_generator


class Brightness(torch.nn.Module):
    """A stand-in discriminator: each output patch is the mean brightness under it, in [0, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, S, S) -> (B, 1, S/8, S/8)
        return F.avg_pool2d((x.mean(dim=1, keepdim=True) + 1) / 2, 8)


def constant_disc(value: float) -> PatchDiscriminator:
    disc = PatchDiscriminator(8)
    last = disc.conv[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.constant_(last.bias, value)
    return disc


def hole(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    x1, y1, x2, y2 = box
    mask[y1:y2, x1:x2] = True
    return mask


@pytest.mark.parametrize(("bias", "expected"), [(0.7, 1.0), (1.6, 1.0), (-0.4, 0.0)])
def test_the_same_verdict_everywhere_is_as_real_as_the_context(bias: float,
                                                                expected: float) -> None:
    critic = Critic(constant_disc(bias), size=64)
    image = np.full((100, 150, 3), 128, np.uint8)
    assert critic.realness(image, hole((100, 150), (40, 30, 70, 50))) == pytest.approx(expected,
                                                                                       abs=1e-5)


def test_realness_is_the_hole_relative_to_its_context() -> None:
    critic = Critic(Brightness(), size=64)
    mask = hole((120, 160), (60, 40, 100, 80))
    image = np.full((120, 160, 3), 200, np.uint8)  # context patches score 200 / 255
    image[mask] = 100  # hole patches score 100 / 255: half as "real" as the context
    score = critic.realness(image, mask)
    assert score is not None and 0.5 <= score < 0.62  # border patches mix in some context
    image[mask] = 250  # a hole that scores above its context counts as fully real
    assert critic.realness(image, mask) == pytest.approx(1.0)


def test_realness_weighs_the_hole_not_its_surroundings() -> None:
    critic = Critic(Brightness(), size=64)
    mask = hole((120, 160), (60, 40, 100, 80))
    bright_hole = np.zeros((120, 160, 3), np.uint8)
    bright_hole[mask] = 255
    dark_hole = np.full((120, 160, 3), 255, np.uint8)
    dark_hole[mask] = 0
    assert critic.realness(bright_hole, mask) == pytest.approx(1.0)
    low = critic.realness(dark_hole, mask)
    assert low is not None and low < 0.25


def test_regions_are_pooled_by_area() -> None:
    critic = Critic(Brightness(), size=64)
    big, small = (10, 10, 50, 50), (120, 100, 130, 110)  # 1600 px and 100 px
    mask = hole((160, 200), big) | hole((160, 200), small)
    image = np.zeros((160, 200, 3), np.uint8)
    image[hole((160, 200), big)] = 255  # only the big region is bright
    alone = critic.realness(image, hole((160, 200), big))
    pooled = critic.realness(image, mask)
    dark = critic.realness(image, hole((160, 200), small))
    assert alone is not None and pooled is not None and dark is not None
    assert pooled == pytest.approx((1600 * alone + 100 * dark) / 1700, abs=1e-5)


def test_no_hole_gives_none_and_bad_shapes_are_refused() -> None:
    critic = Critic(constant_disc(0.5), size=64)
    image = np.zeros((40, 40, 3), np.uint8)
    assert critic.realness(image, np.zeros((40, 40), bool)) is None
    with pytest.raises(ImageInputError, match="mask"):
        critic.realness(image, np.ones((30, 40), bool))


def test_windows_surround_each_region_with_context() -> None:
    mask = hole((200, 300), (100, 50, 140, 70))  # 40 x 20, centre (120, 60)
    [window] = region_windows(mask, scale=2.0, min_side=16)
    assert window.side == 80 and window.area == 800
    assert (window.x1 + window.side / 2, window.y1 + window.side / 2) == (120, 60)
    [tiny] = region_windows(hole((200, 300), (10, 10, 12, 12)), scale=2.0, min_side=32)
    assert tiny.side == 32


def test_windows_at_the_border_are_padded_not_shifted() -> None:
    mask = hole((100, 100), (0, 0, 20, 20))
    [window] = region_windows(mask, scale=2.0, min_side=16)
    assert (window.x1, window.y1, window.side) == (-10, -10, 40)  # centred, hanging off the edge
    critic = Critic(Brightness(), size=64)
    image = np.zeros((100, 100, 3), np.uint8)
    image[mask] = 255  # a hole brighter than its context: fully real
    assert critic.realness(image, mask) == pytest.approx(1.0)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (80, 96, 3), np.uint8)).save(folder / f"{i}.png")
    return folder


def test_training_lowers_the_loss_and_the_file_round_trips(photos: Path, tmp_path: Path) -> None:
    options = CriticTraining(data=[str(photos)], size=64, iterations=12, batch=2, lr=1e-3)
    disc, losses = train_critic(make_tiny_generator(), options, progress=False)
    assert len(losses) == 12 and all(np.isfinite(losses))
    path = save_critic(disc, tmp_path / "critic.safetensors", card={"size": 64})
    loaded = Critic.load(path)
    assert loaded.size == 64 and loaded.card["format"] == "unbrand-critic/1"
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(disc(x), loaded.discriminator(x), atol=2e-2)  # fp16 file


def test_loading_refuses_what_is_not_a_critic(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        Critic.load(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError):
        Critic.load(junk)


def test_inpainter_realness_uses_its_critic(tmp_path: Path) -> None:
    inpainter = Inpainter(make_tiny_generator(), device="cpu", precision="fp32")
    image = np.full((64, 64, 3), 90, np.uint8)
    mask = hole((64, 64), (20, 20, 40, 40))
    assert inpainter.realness(image, mask) is None  # no critic: no figure
    path = save_critic(constant_disc(-0.25), tmp_path / "c.safetensors", card={"size": 64})
    from inpaint_core.model.checkpoint import save_inference_checkpoint

    weights = save_inference_checkpoint(make_tiny_generator(), tmp_path / "g.safetensors", card={})
    assert Inpainter.load(weights, device="cpu").critic is None  # "auto": only for shipped G
    judged = Inpainter.load(weights, device="cpu", critic=path)
    assert judged.realness(image, mask) == pytest.approx(0.0, abs=1e-3)  # nothing looks real


def test_training_can_start_from_a_critic_and_use_logo_fakes(photos: Path, tmp_path: Path) -> None:
    first, _ = train_critic(make_tiny_generator(), CriticTraining(data=[str(photos)], size=64,
                                                             iterations=2, batch=2),
                            progress=False)
    path = save_critic(first, tmp_path / "first.safetensors", card={"size": 64})
    options = CriticTraining(data=[str(photos)], size=64, iterations=0, batch=2, init=str(path))
    same, _ = train_critic(make_tiny_generator(), options, progress=False)
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():  # zero updates: the loaded critic itself (fp16 file)
        assert torch.allclose(same(x), first(x), atol=2e-2)
    logos = CriticTraining(data=[str(photos)], size=64, iterations=3, batch=2, logo_share=1.0,
                           init=str(path))
    _, losses = train_critic(make_tiny_generator(), logos, progress=False)
    assert len(losses) == 3 and all(np.isfinite(losses))

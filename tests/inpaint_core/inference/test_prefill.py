"""The generator's hole input: white (the paper's) or a Telea first guess, the same everywhere."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from inpaint_core import Inpainter
from inpaint_core.inference.prefill import fill_at_scale, generator_input, telea, telea_scaled
from inpaint_core.model.config import AOTConfig
from tests.fixtures.images import photo_like
from tests.fixtures.models import TINY, RecordingGenerator


def _batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray, torch.Tensor, torch.Tensor]:
    pixels = photo_like(32, 40, seed=seed)
    hole = np.zeros((32, 40), bool)
    hole[10:20, 12:30] = True
    image = torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 127.5 - 1
    mask = torch.from_numpy(hole)[None, None].float()
    return pixels, hole, image, mask


def test_white_prefill_is_the_reference_input() -> None:
    _, hole, image, mask = _batch()
    out = generator_input(image, mask, "white")
    assert torch.equal(out[0][:, torch.from_numpy(hole)], torch.ones(3, int(hole.sum())))
    assert torch.equal(out[0][:, ~torch.from_numpy(hole)], image[0][:, ~torch.from_numpy(hole)])


def test_telea_prefill_matches_opencv_and_keeps_known_pixels() -> None:
    pixels, hole, image, mask = _batch()
    out = generator_input(image, mask, "telea")
    expected = telea(pixels, hole).astype(np.float32) / 127.5 - 1
    got = out[0].permute(1, 2, 0).numpy()
    assert np.abs(got[hole] - expected[hole]).max() < 1e-5
    assert torch.equal(out[0][:, ~torch.from_numpy(hole)], image[0][:, ~torch.from_numpy(hole)])
    # the guess carries the surrounding colours in: far closer to the truth than white is
    truth = image[0].permute(1, 2, 0).numpy()[hole]
    assert np.abs(got[hole] - truth).mean() < 0.5 * np.abs(1.0 - truth).mean()


def test_unknown_prefill_is_refused() -> None:
    _, _, image, mask = _batch()
    with pytest.raises(ValueError, match="prefill"):
        generator_input(image, mask, "grey")
    with pytest.raises(ValueError, match="prefill must be one of"):
        AOTConfig(prefill="grey")


def test_configs_without_prefill_read_as_white() -> None:
    data = AOTConfig.lite().to_dict()
    del data["prefill"]
    assert AOTConfig.from_dict(data).prefill == "white"
    assert AOTConfig.reference().prefill == "white"


class _InputRecorder(RecordingGenerator):
    def forward(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self.inputs = (masked.detach().clone(), mask.detach().clone())
        return super().forward(masked, mask)


@pytest.mark.parametrize("prefill", ["white", "telea"])
def test_inpainter_feeds_the_configured_prefill(prefill: str) -> None:
    torch.manual_seed(0)
    config = AOTConfig.from_dict({**TINY.to_dict(), "prefill": prefill})
    generator = _InputRecorder(config).eval()
    image = photo_like(48, 48, seed=2)
    mask = np.zeros((48, 48), bool)
    mask[18:30, 16:32] = True
    inpainter = Inpainter(generator, device="cpu", precision="fp32")
    out = inpainter.inpaint(image, mask)
    keep = ~inpainter.fill_region(mask)
    assert np.array_equal(out[keep], image[keep])
    masked, hole = inpainter.generator.inputs
    in_hole = masked[0][:, hole[0, 0] > 0.5]
    if prefill == "white":
        assert torch.equal(in_hole, torch.ones_like(in_hole))
    else:  # a smooth guess from the photo's colours, not white
        assert float(in_hole.mean()) < 0.5
        assert float((in_hole - 1).abs().min()) > 0.05


def test_a_fresh_residual_generator_returns_its_prefilled_input() -> None:
    _, _, image, mask = _batch(seed=3)
    config = AOTConfig.from_dict({**TINY.to_dict(), "prefill": "telea", "residual": True})
    generator = RecordingGenerator(config).eval()
    masked = generator_input(image, mask, config.prefill)
    with torch.no_grad():
        assert torch.equal(generator(masked, mask), masked)
        generator.decoder[-1].bias.fill_(0.25)  # a correction moves it, clamped to [-1, 1]
        moved = generator(masked, mask)
    assert torch.equal(moved, (masked + 0.25).clamp(-1, 1))
    assert not AOTConfig.reference().residual
    data = TINY.to_dict()
    del data["residual"]
    assert AOTConfig.from_dict(data).residual is False


def test_margin_per_call_box_masks_filled_exactly(tiny_generator: RecordingGenerator) -> None:
    image = photo_like(48, 48, seed=4)
    mask = np.zeros((48, 48), bool)
    mask[16:30, 12:34] = True
    inpainter = Inpainter(tiny_generator, device="cpu", precision="fp32")
    assert np.array_equal(inpainter.fill_region(mask, 0), mask)
    assert inpainter.fill_region(mask).sum() > mask.sum()  # the planner's default margin
    out = inpainter.inpaint(image, mask, margin=0)
    assert np.array_equal(out[~mask], image[~mask])
    with pytest.raises(ValueError, match="margin"):
        inpainter.fill_region(mask, -1)


def test_telea_scaled_fills_only_the_hole_and_follows_the_surroundings() -> None:
    ys, xs = np.mgrid[0:120, 0:160].astype(np.float32)
    truth = np.stack([xs * 1.5, ys * 2.0, 200 - xs], axis=2).clip(0, 255).astype(np.uint8)
    image = truth.copy()
    hole = np.zeros((120, 160), bool)
    hole[40:80, 50:110] = True
    image[hole] = (255, 0, 255)  # the logo
    full, small = telea(image, hole), telea_scaled(image, hole, 0.25)
    np.testing.assert_array_equal(telea_scaled(image, hole, 1.0), full)
    np.testing.assert_array_equal(small[~hole], image[~hole])
    # a smooth gradient is filled about as well from a quarter of the pixels
    error = np.abs(small[hole].astype(float) - truth[hole]).mean()
    assert error < 12.0 and error < 1.5 * np.abs(full[hole].astype(float) - truth[hole]).mean()
    assert np.abs(small[hole].astype(float) - (255, 0, 255)).mean() > 100  # no magenta left


def test_a_local_fill_runs_on_the_holes_surroundings_only() -> None:
    """fill_at_scale(reach=r) hands `fill` the hole's bounding box grown by r (scaled), not the
    whole image, and keeps every other pixel; Telea reads no further, so at source scale the
    result is the whole-image one exactly, and downscaled it stays within a grey level or two."""
    image = photo_like(900, 1200, seed=3)
    hole = np.zeros((900, 1200), bool)
    hole[400:440, 500:560] = True
    seen: list[tuple[int, ...]] = []

    def recording(picture: np.ndarray, mask: np.ndarray) -> np.ndarray:
        seen.append(picture.shape)
        return telea(picture, mask)

    out = fill_at_scale(recording, image, hole, 0.5, upsample=cv2.INTER_LINEAR, reach=16)
    assert seen == [(36, 46, 3)]  # (40 + 2 * 16) x (60 + 2 * 16) at half scale
    np.testing.assert_array_equal(out[~hole], image[~hole])
    whole = fill_at_scale(telea, image, hole, 0.5, upsample=cv2.INTER_LINEAR)
    assert np.abs(out[hole].astype(float) - whole[hole]).mean() < 2.0
    np.testing.assert_array_equal(telea_scaled(image, hole, 1.0), telea(image, hole))
    assert fill_at_scale(recording, image, np.zeros_like(hole), 0.5, upsample=cv2.INTER_LINEAR,
                         reach=16).tobytes() == image.tobytes()
    assert len(seen) == 1  # nothing to fill: `fill` is not called

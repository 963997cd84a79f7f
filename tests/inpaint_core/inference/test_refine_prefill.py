"""The "refine" prefill: a box keeps its background pixels, only the logo is Telea-filled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from inpaint_core import Inpainter
from inpaint_core.inference.patchmatch import patchmatch_available
from inpaint_core.inference.planner import PlannerConfig
from inpaint_core.inference.prefill import generator_input, logo_pixels, prefill_pixels, telea
from inpaint_core.inference.texture import TextureConfig
from inpaint_core.model.config import AOTConfig
from inpaint_core.training.logo_samples import logo_batch
from tests.fixtures.images import photo_like
from tests.fixtures.models import TINY, RecordingGenerator

REFINE = AOTConfig.from_dict({**TINY.to_dict(), "prefill": "refine", "residual": True})


def _scene(height: int = 160, width: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A photo-like image with a red ring-and-bar logo; returns image, logo shape, box mask."""
    image = photo_like(height, width, seed=4)
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((70, 60, 100, 90), outline=255, width=5)
    draw.rectangle((108, 70, 135, 80), fill=255)
    shape = np.asarray(canvas) > 0
    image[shape] = (210, 25, 40)
    box = np.zeros((height, width), bool)
    box[56:95, 66:140] = True
    return image, shape, box


def test_refine_needs_a_residual_generator() -> None:
    with pytest.raises(ValueError, match="residual"):
        AOTConfig.from_dict({**TINY.to_dict(), "prefill": "refine"})
    assert REFINE.prefill == "refine"


def test_logo_pixels_narrow_boxes_and_take_other_holes_whole() -> None:
    image, shape, box = _scene()
    logo = logo_pixels(image, box)
    assert logo[shape].all()  # every logo pixel is replaced
    assert not logo[~box].any()
    assert logo.sum() < 0.7 * box.sum()  # most of the box's background is kept
    blob = np.zeros_like(box)
    blob[20:40, 20:40] = True
    blob[20:30, 40:60] = True  # an L shape: a pixel mask, not a box
    both = logo_pixels(image, box | blob)
    assert np.array_equal(both & blob, blob)
    assert np.array_equal(both & box, logo)


def test_refine_prefill_keeps_the_box_background_byte_identical() -> None:
    image, _, box = _scene()
    logo = logo_pixels(image, box)
    out = prefill_pixels(image, box, "refine")
    assert np.array_equal(out[~logo], image[~logo])
    assert np.array_equal(out[logo], telea(image, logo)[logo])
    assert np.abs(out[logo].astype(int) - (210, 25, 40)).sum(axis=1).min() > 30  # red is gone
    with pytest.raises(ValueError, match="source resolution"):
        prefill_pixels(image, box, "white")


def test_prefilled_inputs_pass_through_and_plain_holes_get_telea() -> None:
    image, _, box = _scene(32, 40)
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    mask = torch.zeros(1, 1, 32, 40)
    mask[..., 8:20, 10:30] = 1
    assert generator_input(tensor, mask, "refine", prefilled=True) is tensor
    assert torch.equal(generator_input(tensor, mask, "refine"),
                       generator_input(tensor, mask, "telea"))


@pytest.mark.parametrize("work_size", [256, 64])  # the crop at source scale, then downscaled
def test_identity_refine_generator_returns_the_refine_prefill(work_size: int) -> None:
    image, _, box = _scene()
    config = AOTConfig.from_dict({**REFINE.to_dict(), "work_size": work_size})
    generator = RecordingGenerator(config).eval()  # residual, zeroed output layer: the identity
    smooth = PlannerConfig(margin=0, texture=TextureConfig(method="none"))  # no grain added
    inpainter = Inpainter(generator, device="cpu", precision="fp32", planner=smooth)
    out = inpainter.inpaint(image, box, margin=0)
    expected = prefill_pixels(image, box, "refine")
    assert np.array_equal(out[~box], image[~box])
    assert np.abs(out.astype(int) - expected).max() <= 1  # float round trip at most
    logo = logo_pixels(image, box)
    assert np.array_equal(out[box & ~logo], image[box & ~logo])  # background in the box kept


def test_logo_batches_paste_logos_into_the_hole() -> None:
    rng = np.random.default_rng(0)
    photos = np.stack([photo_like(128, 128, seed=s) for s in range(4)])
    inputs, holes, targets = logo_batch(photos, 64, rng, logo_share=1.0)
    assert inputs.shape == targets.shape == (4, 64, 64, 3) and holes.shape == (4, 64, 64)
    assert inputs.dtype == targets.dtype == np.uint8 and holes.dtype == bool
    for inp, hole, target in zip(inputs, holes, targets, strict=True):
        assert 0.01 < hole.mean() < 0.5
        ys, xs = np.nonzero(hole)
        far = np.ones_like(hole)
        far[max(0, ys.min() - 2) : ys.max() + 3, max(0, xs.min() - 2) : xs.max() + 3] = False
        # outside the boxes the input is the target (the same compressed composite)
        assert np.abs(inp[far].astype(int) - target[far]).max() <= 1
    plain_inputs, plain_holes, plain_targets = logo_batch(photos, 64, rng, logo_share=0.0)
    for inp, hole, target in zip(plain_inputs, plain_holes, plain_targets, strict=True):
        assert np.array_equal(inp[~hole], target[~hole])
        assert np.array_equal(inp, telea(target, hole))


def test_keep_background_false_repaints_the_whole_box() -> None:
    image, _, box = _scene()
    generator = RecordingGenerator(AOTConfig.from_dict({**REFINE.to_dict(), "work_size": 256}))
    smooth = PlannerConfig(texture=TextureConfig(method="none"))
    inpainter = Inpainter(generator.eval(), device="cpu", precision="fp32", planner=smooth)
    out = inpainter.inpaint(image, box, margin=0, keep_background=False)
    assert np.abs(out[box].astype(int) - telea(image, box)[box]).max() <= 1
    assert np.array_equal(out[~box], image[~box])


@pytest.mark.skipif(not patchmatch_available(), reason="pypatchmatch not installed")
def test_texture_fusion_changes_only_the_prefilled_pixels() -> None:
    image, _, box = _scene()
    torch.manual_seed(0)  # the same random network whatever ran before
    generator = RecordingGenerator(AOTConfig.from_dict({**REFINE.to_dict(), "work_size": 64}))
    smooth = Inpainter(generator.eval(), device="cpu", precision="fp32",
                       planner=PlannerConfig(margin=0, texture=TextureConfig(method="none")))
    sharp = Inpainter(generator.eval(), device="cpu", precision="fp32",
                      planner=PlannerConfig(margin=0))
    for keep in (True, False):
        before = smooth.inpaint(image, box, margin=0, keep_background=keep)
        after = sharp.inpaint(image, box, margin=0, keep_background=keep)
        painted = logo_pixels(image, box) if keep else box
        assert np.array_equal(after[~painted], before[~painted])  # kept pixels stay as they were
        assert np.array_equal(after, sharp.inpaint(image, box, margin=0, keep_background=keep))
        changed = np.abs(after.astype(int) - before).max(axis=-1) > 0
        assert changed[painted].mean() > 0.5  # the grain lands on the repainted pixels

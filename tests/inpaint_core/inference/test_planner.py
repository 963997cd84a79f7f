"""The high-resolution planner: regions, merging, context, scaling, batching; blend and detail."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint_core.evaluation.metrics import psnr
from inpaint_core.inference.blend import blend_weights
from inpaint_core.inference.detail import restore_detail, upscale
from inpaint_core.inference.inpainter import Inpainter
from inpaint_core.inference.planner import PlannerConfig, find_regions, plan_crops, plan_region
from inpaint_core.inference.texture import TextureConfig
from inpaint_core.model.config import AOTConfig
from tests.fixtures.images import photo_like
from tests.fixtures.models import TINY, RecordingGenerator

REFERENCE = AOTConfig.reference()


def _boxes_mask(height: int, width: int, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    for x1, y1, x2, y2 in boxes:
        mask[y1:y2, x1:x2] = True
    return mask


def test_near_regions_merge_and_far_ones_do_not() -> None:
    near = _boxes_mask(200, 300, [(10, 10, 30, 30), (40, 10, 60, 30)])  # 10 px apart
    assert find_regions(near, merge_distance=24) == [(10, 10, 60, 30)]
    assert find_regions(near, merge_distance=0) == [(10, 10, 30, 30), (40, 10, 60, 30)]
    far = _boxes_mask(200, 300, [(10, 10, 30, 30), (200, 150, 220, 170)])
    assert find_regions(far, merge_distance=24) == [(10, 10, 30, 30), (200, 150, 220, 170)]
    assert find_regions(np.zeros((5, 5), dtype=bool), merge_distance=24) == []


def test_regions_with_overlapping_boxes_are_merged() -> None:
    # an L shape and a blob inside its bounding box but 30 px from its pixels
    mask = _boxes_mask(300, 300, [(10, 10, 200, 20), (10, 10, 20, 200), (100, 100, 120, 120)])
    assert find_regions(mask, merge_distance=24) == [(10, 10, 200, 200)]


def test_crop_has_context_and_is_square_and_unscaled_when_small() -> None:
    square = PlannerConfig(context=1.0, min_aspect=1.0)
    plan = plan_region((100, 100, 140, 120), (1000, 800), REFERENCE, square)
    # side 40, context 40 on each side -> 120, rounded up to 128, centred on (120, 110)
    assert plan.box == (56, 46, 184, 174)
    assert plan.size == (128, 128) and plan.padded == (128, 128) and plan.scale == 1.0


def test_tiny_region_gets_min_context_and_border_crops_shift_inside() -> None:
    plan = plan_region((0, 0, 4, 4), (500, 400), REFERENCE, PlannerConfig(min_context=16))
    # side 4 + 2 * 16 = 36, at least 4 * (8 + 1) = 36 for the largest dilation, rounded to 48
    assert plan.box == (0, 0, 48, 48)


def test_large_region_is_downscaled_to_the_work_size() -> None:
    square = PlannerConfig(min_aspect=1.0)
    plan = plan_region((1000, 1000, 1600, 1400), (4000, 3000), REFERENCE, square)
    x1, y1, x2, y2 = plan.box
    assert (x2 - x1, y2 - y1) == (1800, 1800)  # 600 + 2 * 600 context
    assert x1 <= 1000 and x2 >= 1600 and y1 <= 1000 and y2 >= 1400
    assert plan.size == (512, 512) and plan.scale == pytest.approx(512 / 1800)


def test_wide_region_gets_a_crop_of_its_own_shape_at_the_same_scale() -> None:
    region = (1000, 1000, 1600, 1200)  # 600 x 200
    shaped = plan_region(region, (4000, 3000), REFERENCE, PlannerConfig(min_aspect=0.0))
    x1, y1, x2, y2 = shaped.box
    # each side plus twice its own context: 1800 x 600; scaled by 512 / 1800 the short side is
    # 171 model pixels, rounded up to a multiple of 512 / 8 = 64 -> 192 (675 source pixels)
    assert (x2 - x1, y2 - y1) == (1800, 675)
    assert shaped.size == (512, 192) and shaped.padded == (512, 192)
    square = plan_region(region, (4000, 3000), REFERENCE, PlannerConfig(min_aspect=1.0))
    assert shaped.scale == pytest.approx(square.scale)  # the logo is seen at the same size
    half = plan_region(region, (4000, 3000), REFERENCE, PlannerConfig(min_aspect=0.5))
    x1, y1, x2, y2 = half.box
    assert (x2 - x1, y2 - y1) == (1800, 900)  # the short side raised to half the long one
    assert y1 <= 1000 and y2 >= 1200


def test_scaled_shaped_crops_of_different_logos_share_a_shape() -> None:
    sizes = {
        plan_region(region, (4000, 3000), REFERENCE, PlannerConfig()).padded
        for region in [(100, 100, 700, 430), (1000, 1000, 1500, 1300), (2000, 200, 2900, 700)]
    }
    # 600x330, 500x300, 900x500: short sides of 282, 307 and 284 model pixels, all -> 320
    assert sizes == {(512, 320)}


def test_small_shaped_crop_rounds_each_side_and_keeps_the_model_minimum() -> None:
    plan = plan_region((100, 100, 160, 104), (1000, 800), REFERENCE, PlannerConfig(min_aspect=0.0))
    # width 60 + 2 * 60 = 180 -> 192; height 4 + 2 * 16 = 36 (also the minimum side) -> 48
    assert plan.size == (192, 48) and plan.scale == 1.0


def test_mask_covering_nearly_everything_is_one_downscaled_crop_of_the_image() -> None:
    fill = np.ones((3000, 2000), dtype=bool)
    fill[:5, :5] = False
    plans = plan_crops(fill, REFERENCE, PlannerConfig())
    assert len(plans) == 1
    assert plans[0].box == (0, 0, 2000, 3000)
    assert plans[0].size == (341, 512) and plans[0].padded == (344, 512)


def test_blend_ramp_inside_the_fill_border() -> None:
    fill = np.zeros((15, 15), dtype=bool)
    fill[3:12, 3:12] = True
    mask = np.zeros_like(fill)
    mask[6:9, 6:9] = True
    weights = blend_weights(fill, mask, feather=4)
    assert weights[0, 0] == 0.0 and weights[7, 2] == 0.0
    np.testing.assert_allclose(weights[7, 3:8], [0.25, 0.5, 0.75, 1.0, 1.0])
    assert (weights[mask] == 1.0).all()


def test_equal_size_crops_share_one_forward_pass(tiny_generator: RecordingGenerator) -> None:
    image = photo_like(400, 600)
    mask = _boxes_mask(400, 600, [(50, 50, 70, 70), (300, 50, 320, 70), (500, 300, 520, 320)])
    out = Inpainter(tiny_generator, planner=PlannerConfig(batch_size=8)).inpaint(image, mask)
    assert tiny_generator.calls == [(3, 3, 64, 64)]
    assert (out != image).any(axis=2)[mask].mean() > 0.9
    tiny_generator.calls.clear()
    Inpainter(tiny_generator, planner=PlannerConfig(batch_size=2)).inpaint(image, mask)
    assert tiny_generator.calls == [(2, 3, 64, 64), (1, 3, 64, 64)]


def test_residual_aggregation_restores_a_repeating_texture() -> None:
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, size=(32, 32, 3)).astype(np.uint8)
    truth = np.tile(tile, (8, 8, 1))  # 256 x 256, every 32 px the same texture
    hole = np.zeros((64, 64), dtype=bool)  # model scale 1/4
    hole[24:40, 24:40] = True
    small = cv2.resize(truth, (64, 64), interpolation=cv2.INTER_AREA).astype(
        np.float32
    )  # a perfect fill
    region = np.kron(hole, np.ones((4, 4), dtype=bool))
    bicubic = np.clip(upscale(small, (256, 256)), 0, 255).astype(np.uint8)
    restored = np.clip(restore_detail(small, truth, hole, method="cra"), 0, 255).astype(np.uint8)
    assert psnr(truth, restored, region) > psnr(truth, bicubic, region) + 3.0
    np.testing.assert_array_equal(
        restore_detail(small, truth, hole, method="bicubic"), upscale(small, (256, 256))
    )


def test_high_resolution_crops_use_the_tiny_work_size(tiny_generator: RecordingGenerator) -> None:
    config = TINY
    image = photo_like(1000, 1400)
    mask = _boxes_mask(1000, 1400, [(600, 400, 800, 600)])
    Inpainter(tiny_generator).inpaint(image, mask)
    assert tiny_generator.calls == [(1, 3, config.work_size, config.work_size)]


def test_merging_is_transitive_and_handles_many_specks() -> None:
    chain = _boxes_mask(
        100, 400, [(10, 10, 20, 20), (30, 10, 40, 20), (50, 10, 60, 20), (200, 10, 210, 20)]
    )
    assert find_regions(chain, merge_distance=15) == [(10, 10, 60, 20), (200, 10, 210, 20)]
    specks = np.zeros((200, 200), dtype=bool)
    specks[10:110:4, 10:110:4] = True  # 625 single pixels, 3 px apart
    specks[180, 180] = True
    assert find_regions(specks, merge_distance=24) == [(10, 10, 107, 107), (180, 180, 181, 181)]


def test_a_larger_inference_work_size_is_a_floor_over_the_weights_own() -> None:
    """min_work_size raises the crop side the model sees above the weights' training size
    (never below it), and the shipped weights' card asks for 256 (lite weights trained at 128)."""
    lite = AOTConfig(width=32, blocks=4, rates=(1, 2, 4, 8), work_size=128, name="lite")
    region = (1000, 1000, 1600, 1400)
    square = PlannerConfig(min_aspect=1.0)
    assert plan_region(region, (4000, 3000), lite, square).size == (128, 128)
    wider = PlannerConfig(min_aspect=1.0, min_work_size=256)
    assert plan_region(region, (4000, 3000), lite, wider).size == (256, 256)
    assert plan_region(region, (4000, 3000), REFERENCE, wider).size == (512, 512)
    small = (100, 100, 160, 140)  # a crop of 180 px: now unscaled instead of shrunk to 128
    assert plan_region(small, (4000, 3000), lite, wider).scale == 1.0
    assert plan_region(small, (4000, 3000), lite, square).scale < 1.0
    shipped = Inpainter.load(None, device="cpu", precision="fp32", critic=None)
    assert shipped.config.work_size == 128 and shipped.planner.min_work_size == 256
    own = Inpainter.load(None, device="cpu", precision="fp32", critic=None,
                         planner=PlannerConfig(min_work_size=0))
    assert own.planner.min_work_size == 0  # a work size the caller sets wins


def test_a_planner_given_for_other_settings_keeps_the_cards_work_size() -> None:
    """The benchmarks pass a PlannerConfig for its texture or margin; they silently measured
    the shipped weights at 128 px instead of the card's 256 (what `unbrand run` uses)."""
    other = PlannerConfig(texture=TextureConfig(method="none"), margin=0)
    shipped = Inpainter.load(None, device="cpu", precision="fp32", critic=None, planner=other)
    assert shipped.planner.min_work_size == 256
    assert shipped.planner.texture.method == "none" and shipped.planner.margin == 0

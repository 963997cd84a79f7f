"""Inpainter behaviour: untouched pixels, batching across images, crops instead of full frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint_core.errors import DeviceError, ImageInputError
from inpaint_core.evaluation.metrics import psnr
from inpaint_core.inference.inpainter import Inpainter
from inpaint_core.inference.planner import PlannerConfig
from inpaint_core.model import device
from inpaint_core.model.device import (
    cpu_has_fast_bf16,
    cpu_runs_bf16,
    resolve_device,
    resolve_precision,
)
from tests.fixtures.images import photo_like
from tests.fixtures.models import TINY, RecordingGenerator


def _mask(height: int, width: int, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    for x1, y1, x2, y2 in boxes:
        mask[y1:y2, x1:x2] = True
    return mask


def test_only_the_fill_region_changes(tiny_generator: RecordingGenerator) -> None:
    inpainter = Inpainter(tiny_generator, planner=PlannerConfig(margin=3))
    image = photo_like(120, 160)
    mask = _mask(120, 160, [(30, 40, 60, 70), (120, 10, 140, 30)])
    out = inpainter.inpaint(image, mask)
    fill = inpainter.fill_region(mask)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~fill], image[~fill])
    changed = (out != image).any(axis=2)
    assert changed[mask].mean() > 0.9  # the logo pixels really are replaced
    assert fill.sum() > mask.sum() and fill[mask].all()
    assert fill[40 - 3, 45] and not fill[40 - 4, 45]  # grown by exactly the margin


def test_empty_mask_returns_a_copy_without_running_the_model(
    tiny_generator: RecordingGenerator,
) -> None:
    inpainter = Inpainter(tiny_generator)
    image = photo_like(50, 60)
    out = inpainter.inpaint(image, np.zeros((50, 60), dtype=np.uint8))
    np.testing.assert_array_equal(out, image)
    assert out is not image and tiny_generator.calls == []


def test_inpaint_many_equals_inpaint_per_image(tiny_generator: RecordingGenerator) -> None:
    inpainter = Inpainter(tiny_generator, planner=PlannerConfig(batch_size=8))
    pairs = [
        (photo_like(100, 100, seed=1), _mask(100, 100, [(20, 20, 40, 40)])),
        (photo_like(90, 130, seed=2), _mask(90, 130, [(30, 30, 50, 50), (100, 60, 120, 80)])),
        (photo_like(60, 60, seed=3), np.zeros((60, 60), dtype=bool)),
    ]
    single = [inpainter.inpaint(image, mask) for image, mask in pairs]
    single_calls = len(tiny_generator.calls)
    tiny_generator.calls.clear()
    many = inpainter.inpaint_many(pairs)
    assert (
        len(tiny_generator.calls) < single_calls
    )  # equal-size crops of different images shared a pass
    for a, b in zip(single, many, strict=True):
        assert (
            np.abs(a.astype(int) - b.astype(int)).max() <= 1
        )  # batched conv may round differently


def test_high_resolution_never_runs_the_full_frame(tiny_generator: RecordingGenerator) -> None:
    inpainter = Inpainter(tiny_generator)
    image = photo_like(900, 1200)
    mask = _mask(900, 1200, [(100, 100, 400, 300), (1000, 700, 1040, 730)])
    out = inpainter.inpaint(image, mask)
    assert tiny_generator.calls, "the generator was never called"
    for shape in tiny_generator.calls:
        assert max(shape[2:]) <= TINY.work_size
    fill = inpainter.fill_region(mask)
    np.testing.assert_array_equal(out[~fill], image[~fill])
    assert (out != image).any(axis=2)[mask].mean() > 0.9


def test_pil_input_and_mask_checks(tiny_generator: RecordingGenerator) -> None:
    inpainter = Inpainter(tiny_generator)
    image = photo_like(64, 64)
    mask = _mask(64, 64, [(20, 20, 40, 40)])
    from_pil = inpainter.inpaint(
        Image.fromarray(image).convert("RGBA"), Image.fromarray(mask.astype(np.uint8) * 255)
    )
    np.testing.assert_array_equal(from_pil, inpainter.inpaint(image, mask))
    with pytest.raises(ImageInputError, match="mask is 10x10 but the image is 64x64"):
        inpainter.inpaint(image, np.ones((10, 10), dtype=bool))
    with pytest.raises(ImageInputError, match="uint8"):
        inpainter.inpaint(image.astype(np.float32), mask)


def test_device_and_precision_choices() -> None:
    cpu = resolve_device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("auto", cpu) == ("bf16" if cpu_has_fast_bf16() else "fp32")
    with pytest.raises(DeviceError, match="fp16 is not supported on the CPU"):
        resolve_precision("fp16", cpu)
    with pytest.raises(DeviceError, match="unknown precision"):
        resolve_precision("int3", cpu)
    with pytest.raises(DeviceError, match="unsupported device|unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda")
        assert resolve_device("auto") == cpu


def test_bf16_on_a_cpu_without_bf16_convolutions_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(device, "cpu_runs_bf16", lambda: False)  # an AVX2-only CPU
    with pytest.raises(DeviceError, match="bf16 needs a CPU with AVX512"):
        resolve_precision("bf16", resolve_device("cpu"))
    monkeypatch.setattr(device, "cpu_runs_bf16", lambda: True)
    assert resolve_precision("bf16", resolve_device("cpu")) == "bf16"


@pytest.mark.skipif(not cpu_runs_bf16(), reason="oneDNN has no bf16 convolution on this CPU")
def test_bf16_agrees_with_fp32(tiny_generator: RecordingGenerator) -> None:
    image = photo_like(96, 96)
    mask = _mask(96, 96, [(30, 30, 60, 60)])
    fp32 = Inpainter(tiny_generator, precision="fp32").inpaint(image, mask)
    bf16_inpainter = Inpainter(tiny_generator, precision="bf16")
    assert (
        next(tiny_generator.parameters()).dtype == torch.float32
    )  # the caller's module is not converted
    bf16 = bf16_inpainter.inpaint(image, mask)
    assert psnr(fp32, bf16) > 40.0


def test_load_from_checkpoint_sets_version_and_config(tmp_path: Path) -> None:
    from inpaint_core.model.checkpoint import save_inference_checkpoint

    torch.manual_seed(0)
    path = save_inference_checkpoint(
        RecordingGenerator(TINY), tmp_path / "tiny.safetensors", card={}
    )
    loaded = Inpainter.load(path, device="cpu", precision="fp32", planner=PlannerConfig(margin=5))
    assert loaded.config == TINY and loaded.planner.margin == 5
    assert (
        loaded.model_version.startswith("tiny-tiny-")
        and len(loaded.model_version) == len("tiny-tiny-") + 12
    )
    assert loaded.device == torch.device("cpu") and loaded.precision == "fp32"
    named = save_inference_checkpoint(
        RecordingGenerator(TINY), tmp_path / "named.safetensors", card={"model_version": "v7"}
    )
    assert Inpainter.load(named, device="cpu").model_version == "v7"

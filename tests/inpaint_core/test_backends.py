"""The ONNX Runtime backend gives eager fp32's numbers, is cached on disk, and falls back to
eager where it cannot run."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint_core.evaluation.metrics import psnr
from inpaint_core.inference.inpainter import Inpainter
from inpaint_core.model import backends
from inpaint_core.model.backends import cache_key, make_forward, onnx_available
from inpaint_core.model.config import AOTConfig
from inpaint_core.model.network import AOTGenerator, prepare_input
from tests.inpaint_core.conftest import photo_like

SMALL = AOTConfig(width=8, blocks=2, rates=(1, 2, 4, 8), work_size=64, name="small")
RESIDUAL = AOTConfig(width=8, blocks=2, rates=(1, 2, 4, 8), work_size=64, name="small-res",
                     prefill="telea", residual=True)
needs_onnx = pytest.mark.skipif(not onnx_available(), reason="onnxruntime or onnx is not installed")


def _generator(config: AOTConfig = SMALL) -> AOTGenerator:
    torch.manual_seed(0)
    generator = AOTGenerator(config).eval()
    if config.residual:  # a residual net starts as the identity: give its last layer weights
        torch.nn.init.normal_(generator.decoder[-1].weight, std=0.05)
    return generator


def _inputs(batch: int, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    image = torch.rand(batch, 3, height, width) * 2 - 1  # (B, 3, H, W)
    mask = torch.zeros(batch, 1, height, width)
    mask[:, :, height // 4 : height // 2, width // 4 : 3 * width // 4] = 1
    return prepare_input(image, mask), mask


def _pixels(x: torch.Tensor) -> np.ndarray:  # [-1, 1] -> [0, 255], (B, 3, H, W)
    return ((x.float() + 1) * 127.5).numpy()


@needs_onnx
@pytest.mark.parametrize("config", [SMALL, RESIDUAL], ids=["tanh", "residual"])
@pytest.mark.parametrize("shape", [(1, 64, 64), (3, 48, 80)], ids=["export-shape", "other-shape"])
def test_onnx_agrees_with_eager_fp32(
    config: AOTConfig, shape: tuple[int, int, int], tmp_path: Path
) -> None:
    generator = _generator(config)
    masked, mask = _inputs(*shape)
    used, forward = make_forward(generator, "onnx", cache_dir=tmp_path)
    assert used == "onnx"
    with torch.inference_mode():
        expected = generator(masked, mask)
        got = forward(masked, mask)
    assert got.shape == expected.shape
    assert psnr(_pixels(got), _pixels(expected)) >= 40.0
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)  # in fact float rounding


@needs_onnx
def test_onnx_graph_is_exported_once_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = _generator()
    make_forward(generator, "onnx", cache_dir=tmp_path)
    cached = tmp_path / f"{cache_key(generator)}.onnx"
    assert cached.is_file() and [p.name for p in tmp_path.iterdir()] == [cached.name]

    def no_export(_: AOTGenerator) -> bytes:
        raise AssertionError("exported again despite the cache")

    monkeypatch.setattr(backends, "export_onnx", no_export)
    masked, mask = _inputs(1, 64, 64)
    _, forward = make_forward(generator, "onnx", cache_dir=tmp_path)
    with torch.inference_mode():
        torch.testing.assert_close(forward(masked, mask), generator(masked, mask),
                                   rtol=0, atol=1e-4)
    other = _generator()
    with torch.no_grad():
        other.decoder[-1].bias.add_(0.1)
    assert cache_key(other) != cache_key(generator)  # other weights, another graph


def test_onnx_falls_back_to_eager_without_onnxruntime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(backends, "onnx_available", lambda: False)
    generator = _generator()
    masked, mask = _inputs(1, 64, 64)
    with caplog.at_level(logging.WARNING, logger=backends.__name__):
        used, forward = make_forward(generator, "onnx", cache_dir=tmp_path)
    assert used == "eager"
    assert "onnxruntime or onnx is not installed" in caplog.text
    assert not any(tmp_path.iterdir())  # nothing exported
    with torch.inference_mode():
        torch.testing.assert_close(forward(masked, mask), generator(masked, mask),
                                   rtol=0, atol=2e-4)  # eager: the fused kernels


def test_onnx_falls_back_to_eager_in_bf16(tmp_path: Path) -> None:
    generator = _generator().to(torch.bfloat16)
    used, _ = make_forward(generator, "onnx", cache_dir=tmp_path)
    assert used == "eager"
    assert not any(tmp_path.iterdir())


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        make_forward(_generator(), "tensorrt")


@needs_onnx
def test_inpainter_with_onnx_matches_eager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    image = photo_like(96, 128)
    mask = np.zeros((96, 128), bool)
    mask[30:50, 40:90] = True
    eager = Inpainter(_generator(), device="cpu", precision="fp32")
    onnx = Inpainter(_generator(), device="cpu", precision="fp32", backend="onnx")
    assert (eager.backend, onnx.backend) == ("eager", "onnx")
    expected, got = eager.inpaint(image, mask), onnx.inpaint(image, mask)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1  # uint8 rounding at most
    assert any((tmp_path / "unbrand" / "onnx").iterdir())

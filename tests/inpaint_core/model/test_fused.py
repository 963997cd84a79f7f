"""The fused CPU inference kernels give the plain modules' numbers, and stay out of training."""

from __future__ import annotations

import copy

import pytest
import torch

from inpaint_core.evaluation.metrics import psnr
from inpaint_core.model.config import AOTConfig
from inpaint_core.model.fused import fused_available, fused_kernels, gate_logits
from inpaint_core.model.network import AOTBlock, AOTGenerator, normalise_gate, prepare_input

SMALL = AOTConfig(width=8, blocks=2, rates=(1, 2, 4, 8), work_size=64, name="small")


def _inputs(batch: int = 2, side: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    image = torch.rand(batch, 3, side, side) * 2 - 1
    mask = torch.zeros(batch, 1, side, side)
    mask[:, :, 12:30, 8:40] = 1
    return prepare_input(image, mask), mask


def _generator() -> AOTGenerator:
    torch.manual_seed(0)
    return AOTGenerator(SMALL).eval()


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_fused_generator_matches_plain_in_fp32(layout: torch.memory_format) -> None:
    plain = _generator()
    masked, mask = _inputs()
    masked, mask = masked.contiguous(memory_format=layout), mask.contiguous(memory_format=layout)
    with torch.inference_mode():
        expected = plain(masked, mask)
        assert not fused_available(masked)  # not asked for
        with fused_kernels():
            assert fused_available(masked)
            torch.testing.assert_close(plain(masked, mask), expected, rtol=0, atol=2e-4)


def test_fused_block_matches_plain_block() -> None:
    torch.manual_seed(0)
    block = AOTBlock(16, (1, 2, 4, 8)).eval()
    x = torch.randn(3, 16, 24, 20) * 4 + 2
    with torch.no_grad():
        expected = block(x)
        with fused_kernels():
            torch.testing.assert_close(block(x), expected, rtol=0, atol=1e-4)


def test_fused_bf16_agrees_with_fp32_above_40_db() -> None:
    plain = _generator()
    fast = copy.deepcopy(plain).to(torch.bfloat16)
    masked, mask = _inputs()
    with torch.inference_mode():
        reference = plain(masked, mask)
        with fused_kernels():
            pred = fast(masked.bfloat16(), mask.bfloat16()).float()

    def pixels(x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)

    assert psnr(pixels(reference).numpy(), pixels(pred).numpy()) > 40.0


def test_gate_logits_survive_a_mean_far_above_the_spread() -> None:
    torch.manual_seed(0)
    g = torch.randn(2, 4, 32, 32, dtype=torch.float64) * 0.5 + 1000.0
    g[:, 3] = 7.0  # a constant channel: the reference maps it to -5 everywhere
    expected = normalise_gate(g).float()
    got = gate_logits(g.float())
    torch.testing.assert_close(got, expected, rtol=0, atol=5e-3)
    assert torch.equal(got[:, 3], torch.full_like(got[:, 3], -5.0))


def test_training_ignores_fused_kernels_and_gets_gradients() -> None:
    generator = _generator().train()
    masked, mask = _inputs(batch=1, side=48)
    with fused_kernels():
        assert not fused_available(masked)  # grad mode is on
        generator(masked, mask).mean().backward()
    grads = [p.grad for p in generator.parameters()]
    assert all(g is not None for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads if g is not None)


def test_bf16_takes_the_plain_convolution_where_onednn_has_no_bf16(monkeypatch) -> None:
    # On an AVX2-only CPU oneDNN's fused bf16 convolution raises ("bf16 path needs the cpu
    # support avx_ne_convert or avx512bw, avx512vl and avx512dq"): bf16 must not reach it there.
    import inpaint_core.model.fused as fused

    monkeypatch.setattr(fused, "cpu_runs_bf16", lambda: False)
    x = torch.zeros(1, 4, 8, 8)
    with torch.inference_mode(), fused_kernels():
        assert fused_available(x) and not fused_available(x.bfloat16())

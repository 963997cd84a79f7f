"""Fused inference kernels for the generator on the CPU: the same arithmetic in fewer passes.

Training and the reference arithmetic use the plain modules in `model.py`. At inference on
the CPU (no autograd) and inside `with fused_kernels():`, the generator
runs each conv followed by a ReLU as one oneDNN call (the ReLU is a post-op of the conv,
as torch.compile's freezing pass would emit), and normalises the gate with one GroupNorm
(statistics accumulated in float32) instead of five passes over the tensor. Measured on
the reference config at 512x512: bench/bench_inpaint.py (a).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from inpaint_core.model.device import cpu_runs_bf16

_POINTWISE = getattr(getattr(torch.ops, "mkldnn", None), "_convolution_pointwise", None)
_EPS = 1e-18  # GroupNorm's eps, inside the square root: the reference's 1e-9 on the std, squared


_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("fused_kernels", default=False)


@contextlib.contextmanager
def fused_kernels(on: bool = True) -> Iterator[None]:
    """Generators called inside this block use the fused kernels where they apply."""
    token = _ENABLED.set(on)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def fused_available(x: torch.Tensor) -> bool:
    """Fused kernels apply: asked for, CPU, no autograd, a dtype oneDNN convolves, op exists."""
    return (
        _ENABLED.get()
        and _POINTWISE is not None
        and x.device.type == "cpu"
        and (x.dtype == torch.float32 or (x.dtype == torch.bfloat16 and cpu_runs_bf16()))
        and not torch.is_grad_enabled()
        and torch.backends.mkldnn.is_available()
    )


def conv_relu(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """relu(conv(x)) as one oneDNN convolution with a ReLU post-op (only where
    `fused_available`, which checks that the op exists)."""
    return _POINTWISE(
        x,
        conv.weight,
        conv.bias,
        list(conv.padding),  # type: ignore[arg-type]
        list(conv.stride),
        list(conv.dilation),
        conv.groups,
        "relu",
        [],
        "",
    )


def gate_logits(g: torch.Tensor) -> torch.Tensor:
    """The reference gate normalisation 10 * (g - mean) / (std + 1e-9) - 5 as one GroupNorm.

    One group per channel is an instance norm per sample and channel; its weight
    10 * sqrt((n - 1) / n) turns the biased variance GroupNorm divides by into the unbiased
    std of the reference, and eps 1e-18 inside the square root stands for the reference's
    1e-9 added to the std (both only matter for a constant channel, which maps to -5 in
    both). GroupNorm computes the variance as E[g^2] - E[g]^2, which cancels when a channel's
    mean is far larger than its spread; centring each channel on one of its own values first
    keeps the mean near the spread (the result is the same: the norm is shift-invariant).
    """
    channels = g.shape[1]
    n = g.shape[-2] * g.shape[-1]
    weight = torch.full((channels,), 10.0 * math.sqrt((n - 1) / n) if n > 1 else 0.0, dtype=g.dtype)
    bias = torch.full((channels,), -5.0, dtype=g.dtype)
    centred = g - g[:, :, :1, :1]  # (B, C, H, W)
    return F.group_norm(centred, channels, weight, bias, eps=_EPS)

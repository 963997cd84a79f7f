"""Choosing the device and the numeric precision the generator runs in.

device:    "auto" -> cuda when available, else cpu; "cuda" without a GPU -> DeviceError
precision: "auto" -> bf16 on CUDA (fp16 on GPUs without bf16) and on CPUs with AMX or
           AVX512-BF16, else fp32; "fp16" on a CPU -> DeviceError (CPU half kernels are slow
           and lossy: use bf16 or fp32 there); "bf16" on a CPU whose oneDNN has no bf16
           convolution (AVX2 only: it needs AVX512 BW/VL/DQ or AVX-NE-CONVERT) -> DeviceError
           (PyTorch would emulate it there at ~1/6 of fp32 speed: bench/RESULTS-cpu-backends.md)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch

from inpaint_core.errors import DeviceError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> torch.device, checking that it exists."""
    name = str(device).lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(name)
    except RuntimeError as exc:
        raise DeviceError(f"unknown device {device!r}; use auto, cpu or cuda") from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                "device 'cuda' requested but no CUDA GPU is available; use --device cpu"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise DeviceError(f"{name}: only {torch.cuda.device_count()} CUDA device(s) present")
    elif resolved.type != "cpu":
        raise DeviceError(f"unsupported device {device!r}; use auto, cpu or cuda")
    return resolved


@lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bf16 matrix instructions (AMX or AVX512-BF16)."""
    capability = str(torch.backends.cpu.get_cpu_capability()).upper()
    if "AMX" in capability or "BF16" in capability:
        return True
    cpuinfo = Path("/proc/cpuinfo")
    try:
        text = cpuinfo.read_text(errors="ignore")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return any(flag in flags for flag in _BF16_CPU_FLAGS)
    return False


@lru_cache(maxsize=1)
def cpu_has_amx() -> bool:
    """True when the CPU has AMX tiles (bf16 training on CPU pays off only with them)."""
    if "AMX" in str(torch.backends.cpu.get_cpu_capability()).upper():
        return True
    try:
        text = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return "amx_bf16" in line.split(":", 1)[1].split()
    return False


@lru_cache(maxsize=1)
def cpu_runs_bf16() -> bool:
    """True when oneDNN can convolve bf16 on this CPU at all (fast or not). AVX2-only CPUs
    cannot: its fused convolution raises there, and PyTorch's own emulates bf16 slowly."""
    supported = getattr(getattr(torch.ops, "mkldnn", None), "_is_mkldnn_bf16_supported", None)
    return bool(supported()) if supported is not None else cpu_has_fast_bf16()


def resolve_precision(precision: str, device: torch.device) -> str:
    """'auto' | 'fp32' | 'bf16' | 'fp16' -> the concrete precision for `device`."""
    name = precision.lower()
    if name not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if device.type == "cuda":
        if name == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return name
    if name == "fp16":
        raise DeviceError(
            "precision fp16 is not supported on the CPU; use --precision bf16 (fast on CPUs with "
            "AMX/AVX512-BF16) or fp32"
        )
    if name == "auto":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    if name == "bf16" and not cpu_runs_bf16():
        raise DeviceError(
            "precision bf16 needs a CPU with AVX512 (BW, VL, DQ) or AVX-NE-CONVERT; this one "
            "has neither (AVX2 only): use --precision fp32 or auto"
        )
    return name

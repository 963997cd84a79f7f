"""Experiment: does torch.compile (inductor, weight freezing) speed up the bf16 CPU forward?

    .venv/bin/python bench/bench_compile.py

One 512x512 forward of the reference config (random weights, seeded): fp32 NCHW, bf16 +
channels_last eager (the product's path), and the same compiled with inductor's freezing and
weight prepacking, with the PSNR of each bf16 output against fp32. The product does not use the
compiled path (compiling takes ~25 s per input shape and process); this measures what it would
give. Also prints the model FLOPs and the achieved GFLOP/s of each path.
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inpaint_core.model.config import AOTConfig  # noqa: E402
from inpaint_core.model.network import AOTGenerator  # noqa: E402


def seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.float() - b.float()) ** 2).mean()) / 4  # outputs span [-1, 1]
    return 10 * float(torch.log10(torch.tensor(1 / max(mse, 1e-20))))


def main() -> None:
    torch.manual_seed(0)
    generator = AOTGenerator(AOTConfig.named("reference")).eval()
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    m = (torch.rand(1, 1, 512, 512) > 0.8).float()
    cl = torch.channels_last
    with torch.inference_mode():
        with FlopCounterMode(display=False) as counter:
            reference = generator(x, m)
        gflop = counter.get_total_flops() / 1e9
        print(f"reference config, 512x512: {gflop:.0f} GFLOP per forward, "
              f"{torch.get_num_threads()} threads")
        fp32 = seconds(lambda: generator(x, m))
        print(f"fp32 NCHW           {fp32:.3f} s  {gflop / fp32:6.0f} GFLOP/s")
        bf16 = copy.deepcopy(generator).to(torch.bfloat16).to(memory_format=cl)
        xb = x.to(torch.bfloat16).contiguous(memory_format=cl)
        mb = m.to(torch.bfloat16).contiguous(memory_format=cl)
        eager = seconds(lambda: bf16(xb, mb))
        print(f"bf16 eager          {eager:.3f} s  {gflop / eager:6.0f} GFLOP/s  "
              f"x{fp32 / eager:.2f}  PSNR vs fp32 {psnr(bf16(xb, mb), reference):.1f} dB")
        import torch._inductor.config as inductor

        inductor.freezing = True
        inductor.cpp.weight_prepack = True
        compiled = torch.compile(bf16, dynamic=False)
        start = time.perf_counter()
        compiled(xb, mb)
        print(f"compiling took {time.perf_counter() - start:.1f} s")
        fast = seconds(lambda: compiled(xb, mb))
        print(f"bf16 compiled       {fast:.3f} s  {gflop / fast:6.0f} GFLOP/s  "
              f"x{fp32 / fast:.2f}  PSNR vs fp32 {psnr(compiled(xb, mb), reference):.1f} dB")


if __name__ == "__main__":
    main()

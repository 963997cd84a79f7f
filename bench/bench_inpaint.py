"""Speed and memory of the inpainting path on this machine, all figures from one run.

(a) one 512x512 forward of the REFERENCE config: plain fp32 (NCHW) against our CPU path
    (bf16 weights and activations, channels_last, inference_mode, the fused kernels of
    inpaint_core/model/fused.py), with the PSNR between the two outputs, and the steps between;
    real photo + mask from shared/data/aot-examples; random weights
    (seeded). If the random outputs saturate tanh the PSNR is also given for weights scaled
    down so that activations stay in range.
(b) a 4096-px photo with two logos through Inpainter.inpaint (planner, crops, residual
    aggregation, paste; decoding not included): the shipped default weights, the lite config
    and the reference config (random weights, white prefill), against one fp32 512 forward
    of the reference config.
(c) peak RSS (VmHWM, the kernel's resident high-water mark) of a fresh process that reads
    a 7680x4320 JPEG, removes three logos and encodes the result: with the shipped weights
    (refine prefill), the lite config and the reference config.

    nice -n 10 python bench/bench_inpaint.py            # takes a few minutes on 2 cores

The photos are made on the fly by upscaling a real photo into a temporary folder.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inpaint_core.evaluation.metrics import psnr  # noqa: E402
from inpaint_core.inference.inpainter import Inpainter  # noqa: E402
from inpaint_core.masks.boxes import boxes_to_mask  # noqa: E402
from inpaint_core.masks.imageio import encode_image, read_image  # noqa: E402
from inpaint_core.model.config import AOTConfig  # noqa: E402
from inpaint_core.model.device import cpu_has_fast_bf16  # noqa: E402
from inpaint_core.model.fused import fused_kernels  # noqa: E402
from inpaint_core.model.network import AOTGenerator, prepare_input  # noqa: E402

EXAMPLES = REPO.parent / "shared" / "data" / "aot-examples"
PHOTO = "252027220"  # 1024x667 FlickrLogos photo; its 512x512 mask is a logo rectangle
LOGOS_4K = [[600, 500, 1000, 750], [2800, 1800, 3400, 2100]]
LOGOS_8K = [[500, 400, 1100, 800], [5200, 600, 6000, 1000], [3000, 3300, 3500, 3900]]


def to_uint8(pred: torch.Tensor) -> np.ndarray:
    return ((pred.float()[0].permute(1, 2, 0) + 1) * 127.5).clamp(0, 255).round().byte().numpy()


def forward_512(generator: AOTGenerator, image: np.ndarray, hole: np.ndarray, mode: str):
    """A callable running one forward. mode: "fp32" plain NCHW (the reference arithmetic);
    "fp32-fused" fp32, channels_last, fused kernels; "bf16-plain" bf16 weights + activations,
    channels_last; "bf16" the same with the fused kernels (our CPU path, as the Inpainter
    runs it); "autocast" fp32 weights under torch.autocast(bf16), channels_last."""
    model = copy.deepcopy(generator).eval()
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1  # (1, 3, 512, 512)
    m = torch.from_numpy(hole)[None, None].float()  # (1, 1, 512, 512)
    masked = prepare_input(x, m)
    if mode == "fp32":
        masked, m = masked.contiguous(), m.contiguous()
    else:
        dtype = torch.bfloat16 if mode.startswith("bf16") else torch.float32
        model = model.to(dtype).to(memory_format=torch.channels_last)
        masked = masked.to(dtype).contiguous(memory_format=torch.channels_last)
        m = m.to(dtype).contiguous(memory_format=torch.channels_last)

    def run() -> torch.Tensor:
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "autocast"),
            fused_kernels(mode in ("bf16", "fp32-fused")),
        ):
            return model(masked, m)

    return run


def interleaved_times(runs: dict[str, object], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each callable, one call of each per round (after a warm-up round),
    so that a slow spell of the machine touches every mode alike."""
    for run in runs.values():
        run()  # type: ignore[operator]
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()  # type: ignore[operator]
            times[name].append(time.perf_counter() - start)
    return times


def part_a(repeats: int):
    rgb = cv2.resize(
        read_image(EXAMPLES / "image" / f"{PHOTO}.jpg").rgb,
        (512, 512),
        interpolation=cv2.INTER_AREA,
    )
    hole = read_image(EXAMPLES / "mask" / f"{PHOTO}.png").rgb[..., 0] > 0
    torch.manual_seed(0)
    generator = AOTGenerator(AOTConfig.reference())
    print(
        f"(a) reference config, 512x512, photo {PHOTO}.jpg, hole {hole.mean():.1%}, random weights"
    )
    modes = ("fp32", "fp32-fused", "bf16-plain", "bf16", "autocast")
    runs = {mode: forward_512(generator, rgb, hole, mode) for mode in modes}
    times = interleaved_times(runs, repeats)
    labels = {
        "fp32": "fp32 NCHW (reference arithmetic)",
        "fp32-fused": "fp32 + channels_last + fused",
        "bf16-plain": "bf16 + channels_last",
        "bf16": "bf16 + channels_last + fused",
        "autocast": "autocast bf16, channels_last",
    }
    print(f"    {repeats} rounds, one call of each mode per round; median (fastest) seconds,")
    print("    speed-up = fp32 median / median (fp32 fastest / fastest)")
    median = {mode: float(np.median(t)) for mode, t in times.items()}
    fastest = {mode: min(t) for mode, t in times.items()}
    a = to_uint8(runs["fp32"]())  # type: ignore[operator]
    for mode in modes:
        line = f"    {labels[mode]:34s} {median[mode]:6.3f} ({fastest[mode]:.3f}) s"
        if mode != "fp32":
            agreement = psnr(a, to_uint8(runs[mode]()))  # type: ignore[operator]
            line += (
                f"   x{median['fp32'] / median[mode]:.2f} (x{fastest['fp32'] / fastest[mode]:.2f})"
                f"   PSNR vs fp32 {agreement:6.2f} dB"
            )
        print(line + ("   (our path)" if mode == "bf16" else ""))
    spread = ", ".join(f"{t:.3f}" for t in times["bf16"])
    print(f"    our path, every round: {spread} s")
    b = to_uint8(runs["bf16"]())  # type: ignore[operator]
    print(f"    our path vs fp32 inside the hole     {psnr(a, b, hole):7.2f} dB")
    p32 = runs["fp32"]().float()  # type: ignore[operator]
    saturated = float((p32.abs() > 0.99).float().mean())
    print(f"    outputs with |tanh| > 0.99            {saturated:7.1%}")
    if saturated > 0.2:
        sane = copy.deepcopy(generator)
        with torch.no_grad():
            sane.decoder[4].weight.mul_(0.1)  # keeps pre-tanh values in the linear range
        q32 = forward_512(sane, rgb, hole, "fp32")()
        q16 = forward_512(sane, rgb, hole, "bf16")()
        print(
            "    tanh saturates: PSNR with the last conv scaled by 0.1: "
            f"{psnr(to_uint8(q32), to_uint8(q16)):.2f} dB"
        )
    return runs["fp32"]  # type: ignore[return-value]


def part_a_trained(weights: Path) -> None:
    """fp32 against bf16 through Inpainter with trained weights (a real-activation check)."""
    from inpaint_core.model.checkpoint import load_generator

    generator, card = load_generator(weights)
    rgb = cv2.resize(
        read_image(EXAMPLES / "image" / f"{PHOTO}.jpg").rgb,
        (512, 512),
        interpolation=cv2.INTER_AREA,
    )
    hole = read_image(EXAMPLES / "mask" / f"{PHOTO}.png").rgb[..., 0] > 0
    out32 = Inpainter(generator, precision="fp32").inpaint(rgb, hole)
    out16 = Inpainter(generator, precision="bf16").inpaint(rgb, hole)
    fill = Inpainter(generator).fill_region(hole)
    name, iterations = generator.config.name, card.get("iterations")
    print(f"(a') trained {name} weights ({weights.name}, {iterations} iterations)")
    print(f"    Inpainter fp32 vs bf16 PSNR  {psnr(out32, out16, fill):7.2f} dB (fill region)")


def photo(width: int, height: int) -> np.ndarray:
    """A real photo upscaled (bicubic) to width x height, cropped to the aspect first."""
    rgb = read_image(EXAMPLES / "image" / f"{PHOTO}.jpg").rgb
    h, w = rgb.shape[:2]
    target = width / height
    if w / h > target:
        cut = int(h * target)
        rgb = rgb[:, (w - cut) // 2 : (w - cut) // 2 + cut]
    else:
        cut = int(w / target)
        rgb = rgb[(h - cut) // 2 : (h - cut) // 2 + cut]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_CUBIC)


def part_b(fp32_forward, repeats: int) -> None:
    """The photo through each Inpainter, interleaved with the fp32 512 forward it is compared
    to (one call of each per round), so that both see the machine in the same state."""
    image = photo(4096, 2668)
    mask = boxes_to_mask(LOGOS_4K, height=2668, width=4096)
    print(f"(b) 4096x2668 photo, two logos {LOGOS_4K}, Inpainter.inpaint (precision auto)")
    print(f"    {repeats} rounds of [fp32 512 forward, then each model]; median seconds, median of")
    print("    the per-round ratios")
    candidates = [("shipped", None), ("lite", AOTConfig.lite()), ("ref", AOTConfig.reference())]
    runs: dict[str, object] = {"fp32": fp32_forward}
    inpainters = {}
    for kind, config in candidates:
        torch.manual_seed(0)
        if config is None:  # the shipped default weights, as `unbrand run` uses them
            inpainter = Inpainter.load(precision="auto", critic=None)
        else:
            inpainter = Inpainter(AOTGenerator(config), precision="auto")
        inpainters[kind] = inpainter
        runs[kind] = lambda m=inpainter: m.inpaint(image, mask)
    times = interleaved_times(runs, repeats)
    print(f"    fp32 512 forward (reference)               {np.median(times['fp32']):7.3f} s")
    for kind, inpainter in inpainters.items():
        out = inpainter.inpaint(image, mask)
        fill = inpainter.fill_region(mask)
        same = bool(np.array_equal(out[~fill], image[~fill]))
        config = inpainter.config
        name = f"{kind} (work {config.work_size}, {config.prefill}, {inpainter.precision})"
        seconds = float(np.median(times[kind]))
        ratio = float(np.median(np.array(times[kind]) / np.array(times["fp32"])))
        print(f"    {name:42s} {seconds:7.3f} s = {ratio:.2f} x fp32 512 forward (target < 0.5)")
        print(f"    {'':42s} outside the fill region identical: {same}")


def high_water_kib() -> int:
    """Peak RSS of this process image (VmHWM). ru_maxrss is not used: Linux carries the
    parent's peak over fork + exec, so a child would report the benchmark's own peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(path: str, model: str) -> None:
    """Run in a fresh process: read the 8K JPEG, fill three logos, encode; print RSS figures.
    model: "shipped" (the default weights, refine prefill) or a config name (random weights)."""
    torch.manual_seed(0)
    if model == "shipped":
        inpainter = Inpainter.load(precision="auto", critic=None)
    else:
        inpainter = Inpainter(AOTGenerator(AOTConfig.named(model)), precision="auto")
    base = high_water_kib()
    loaded = read_image(path)
    height, width = loaded.rgb.shape[:2]
    start = time.perf_counter()
    out = inpainter.inpaint(loaded.rgb, boxes_to_mask(LOGOS_8K, height=height, width=width))
    seconds = time.perf_counter() - start
    data = encode_image(out, format="JPEG", quality=92)
    peak = high_water_kib()
    print(json.dumps({"base_kib": base, "peak_kib": peak, "seconds": seconds, "bytes": len(data)}))


def part_c() -> None:
    print(f"(c) 7680x4320 JPEG, three logos {LOGOS_8K}, a fresh process per model")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo-8k.jpg"
        path.write_bytes(encode_image(photo(7680, 4320), format="JPEG", quality=92))
        for model in ("shipped", "lite", "reference"):
            result = subprocess.run(
                [sys.executable, __file__, "--memory-child", str(path), "--memory-model", model],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            base, peak = figures["base_kib"] / 2**20, figures["peak_kib"] / 2**20
            print(
                f"    {model:9s} peak RSS {peak:5.2f} GiB (target < 3 GB; {base:.2f} GiB before "
                f"the photo: imports, model)   Inpainter.inpaint {figures['seconds']:6.3f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after one warm-up")
    parser.add_argument("--weights", type=Path, help="also compare fp32/bf16 on trained weights")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--memory-model", default="lite", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.memory_model)
        return
    capability = torch.backends.cpu.get_cpu_capability()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}, ")
    flags = set()
    cpuinfo = Path("/proc/cpuinfo")
    model = ""
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
    print(f"CPU {model or platform.processor()}: AMX {'amx_bf16' in flags}, AVX512-BF16 "
          f"{'avx512_bf16' in flags}; torch capability {capability}")
    print(f"fast bf16 (precision auto picks bf16): {cpu_has_fast_bf16()}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other processes share the 2 cores)")
    fp32_forward = part_a(args.repeats)
    if args.weights:
        part_a_trained(args.weights)
    part_b(fp32_forward, args.repeats)
    part_c()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

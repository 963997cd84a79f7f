"""Experiment (issue #17, item 4): the generator on CPUs where bf16 cannot help (AVX2 only).

    nice -n 10 .venv/bin/python bench/bench_cpu_backends.py            # ~25 min on 2 cores
    nice -n 10 .venv/bin/python bench/bench_cpu_backends.py --quick    # lite only, 3 rounds
    OMP_WAIT_POLICY=PASSIVE nice -n 10 .venv/bin/python bench/bench_cpu_backends.py ...

On a machine whose cores are busy with other work, torch's OpenMP threads (which spin while
they wait) make eager 2-5x slower than with OMP_WAIT_POLICY=PASSIVE or one thread, while ONNX
Runtime and OpenVINO run their own thread pools: compare with PASSIVE (and --threads 1) before
reading a ratio (bench/RESULTS-cpu-backends.md). Needs onnx, onnxruntime, openvino and nncf
(pip install them into .venv; the product does not depend on them).

Backends, each against the product's eager fp32 path (channels_last, inference_mode, the fused
oneDNN kernels of model/fused.py; what `Inpainter(precision="fp32")` runs):

    eager-fp32       the baseline
    eager-bf16       the product's bf16 path (bf16 weights + fused kernels)
    autocast-bf16    fp32 weights under torch.autocast("cpu", bfloat16)
    jit-freeze       torch.jit.trace + freeze + optimize_for_inference (torch only, prepacked)
    ort-fp32         ONNX Runtime, CPU EP, all graph optimisations (ONNX from torch.onnx.export)
    ort-int8         the same ONNX quantised by onnxruntime.quantization.quantize_static (QDQ)
    ov-fp32          OpenVINO from the same ONNX, f32 inference precision, compiled per shape
    ov-int8          OpenVINO after NNCF post-training quantisation
    torch-int8-dyn   torch.ao dynamic quantisation (Linear only: this net has none, so it is eager)
    torch-int8-fx    torch.ao FX static post-training quantisation (x86 / fbgemm)

Models: the shipped weights (inpaint_core/weights, lite, work size 128: crops are at most 128 px)
and the reference config (work size 512) with seeded random weights. Inputs: crops of the Kodak
photos in demo/JPEGImages with a logo-sized box (a third of the crop wide, a sixth high: the
planner's default context makes a logo about a third of its crop), fed exactly as the Inpainter
feeds them (`generator_input`: Telea prefill for the shipped "refine" model, white for the
reference). int8 calibration uses other photos (shared/data/train-photos or aot-examples).

Timing: every round runs every backend once per case, in a rotated order, and the median over
rounds is reported; a backend's one-off cost (export, compile, calibration) is printed apart.
Agreement: PSNR (dB, peak 255) of each backend's output against eager fp32 on the same inputs.
A backend that fails to build is reported with its error and skipped.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"  # the project's shared photos, beside the checkout
sys.path.insert(0, str(REPO))

from inpaint_core.inference.prefill import generator_input  # noqa: E402
from inpaint_core.model.checkpoint import load_default_generator  # noqa: E402
from inpaint_core.model.config import AOTConfig  # noqa: E402
from inpaint_core.model.fused import fused_kernels  # noqa: E402
from inpaint_core.model.network import AOTGenerator  # noqa: E402

Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (masked, mask) -> output, NCHW fp32
Builder = Callable[["Model", str], Callable[[tuple[int, ...]], Forward]]
ALL_BACKENDS = ("eager-fp32", "eager-bf16", "autocast-bf16", "jit-freeze", "ort-fp32",
                "ort-int8", "ov-fp32", "ov-int8", "torch-int8-dyn", "torch-int8-fx")


@dataclass
class Model:
    name: str
    generator: AOTGenerator
    cases: list[tuple[int, int]]  # (side, batch)
    calibration: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    skip: tuple[str, ...] = ()  # backends not run on this model


# ---------------------------------------------------------------- machine and inputs

def cpu_summary() -> str:
    info = Path("/proc/cpuinfo")
    text = info.read_text(errors="ignore") if info.exists() else ""
    name = next((ln.split(":", 1)[1].strip() for ln in text.splitlines()
                 if ln.startswith("model name")), platform.processor())
    flags = next((set(ln.split(":", 1)[1].split()) for ln in text.splitlines()
                  if ln.startswith("flags")), set())
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_bf16",
              "amx_int8")
    have = " ".join(f"{f}:{'yes' if f in flags else 'no'}" for f in wanted)
    kind = "AMX" if "amx_bf16" in flags else "AVX512" if "avx512f" in flags else \
        "AVX2" if "avx2" in flags else "older"
    return (f"CPU: {name}, {os.cpu_count()} logical CPUs, type {kind}\n"
            f"flags: {have}\ntorch {torch.__version__}, capability "
            f"{torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads")


def package_versions() -> str:
    out = []
    for name in ("onnx", "onnxruntime", "openvino", "nncf"):
        try:
            module = __import__(name)
            out.append(f"{name} {getattr(module, '__version__', '?')}")
        except ImportError:
            out.append(f"{name} missing")
    return ", ".join(out)


def load_photos(folder: Path, count: int) -> list[np.ndarray]:
    import cv2

    paths = sorted(p for p in folder.glob("*.jpg"))[:count]
    return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths]


def make_inputs(photos: list[np.ndarray], side: int, batch: int, config: AOTConfig,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`batch` crops (side x side) of the photos with a logo-sized box, fed like the Inpainter."""
    import cv2

    rng = np.random.default_rng(seed)
    crops, holes = [], []
    for i in range(batch):
        photo = photos[(seed + i) % len(photos)]
        if min(photo.shape[:2]) < side:
            scale = side / min(photo.shape[:2])
            photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        y = int(rng.integers(0, photo.shape[0] - side + 1))
        x = int(rng.integers(0, photo.shape[1] - side + 1))
        crops.append(photo[y : y + side, x : x + side])
        hole = np.zeros((side, side), np.float32)
        w, h = side // 3, side // 6
        cx, cy = side // 2 + int(rng.integers(-side // 8, side // 8)), side // 2
        hole[cy - h // 2 : cy + h // 2, cx - w // 2 : cx + w // 2] = 1
        holes.append(hole)
    image = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 127.5 - 1
    mask = torch.from_numpy(np.stack(holes))[:, None]  # (B, 1, H, W)
    masked = generator_input(image, mask, config.prefill)
    return masked.numpy().copy(), mask.numpy().copy()


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB, peak 255) between two (B, 3, H, W) outputs in [-1, 1], over the hole pixels
    (the only ones the Inpainter keeps; outside them a residual model's output is nearly its
    input, which would inflate a whole-crop figure)."""
    hole = np.broadcast_to(mask > 0.5, a.shape)
    mse = float(np.mean(((a[hole].astype(np.float64) - b[hole]) * 127.5) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


# ---------------------------------------------------------------- torch backends

def build_eager(model: Model, precision: str) -> Callable[[tuple[int, ...]], Forward]:
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    net = copy.deepcopy(model.generator).to(dtype).to(memory_format=torch.channels_last)

    def forward(masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(masked).to(dtype).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), fused_kernels():
            return net(x, torch.from_numpy(mask).to(dtype)).float().numpy()

    return lambda shape: forward


def build_autocast(model: Model, _: str) -> Callable[[tuple[int, ...]], Forward]:
    net = copy.deepcopy(model.generator).to(memory_format=torch.channels_last)

    def forward(masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(masked).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return net(x, torch.from_numpy(mask)).float().numpy()

    return lambda shape: forward


def build_jit(model: Model, _: str) -> Callable[[tuple[int, ...]], Forward]:
    cache: dict[tuple[int, ...], torch.jit.ScriptModule] = {}

    def for_shape(shape: tuple[int, ...]) -> Forward:
        if shape not in cache:
            b, _, h, w = shape
            example = (torch.zeros(b, 3, h, w), torch.zeros(b, 1, h, w))
            with torch.no_grad():
                traced = torch.jit.trace(model.generator, example, check_trace=False)
                cache[shape] = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
        net = cache[shape]

        def forward(masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return net(torch.from_numpy(masked), torch.from_numpy(mask)).numpy()

        return forward

    return for_shape


def build_torch_dynamic(model: Model, _: str) -> Callable[[tuple[int, ...]], Forward]:
    from torch.ao.quantization import quantize_dynamic

    net = quantize_dynamic(copy.deepcopy(model.generator), {torch.nn.Linear}, dtype=torch.qint8)
    quantised = sum(1 for m in net.modules() if "quantized" in type(m).__module__)
    print(f"    torch-int8-dyn: {quantised} module(s) quantised (only nn.Linear is covered; "
          "the generator is all Conv2d)")

    def forward(masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(masked), torch.from_numpy(mask)).numpy()

    return lambda shape: forward


def build_torch_fx(model: Model, _: str) -> Callable[[tuple[int, ...]], Forward]:
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    torch.backends.quantized.engine = "x86"
    example = tuple(torch.from_numpy(a) for a in model.calibration[0])
    prepared = prepare_fx(copy.deepcopy(model.generator).eval(),
                          get_default_qconfig_mapping("x86"), example)
    with torch.no_grad():
        for masked, mask in model.calibration:
            prepared(torch.from_numpy(masked), torch.from_numpy(mask))
    net = convert_fx(prepared)

    def forward(masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(masked), torch.from_numpy(mask)).numpy()

    return lambda shape: forward


# ---------------------------------------------------------------- ONNX Runtime and OpenVINO

def export_onnx(model: Model, folder: Path) -> Path:
    """The generator as ONNX with dynamic batch and size (the TorchScript exporter: ~3 s; the
    dynamo exporter gives the same graph in ~35 s)."""
    import warnings

    path = folder / f"{model.name}.onnx"
    if path.exists():
        return path
    dims = {0: "batch", 2: "height", 3: "width"}
    example = (torch.zeros(1, 3, 64, 64), torch.zeros(1, 1, 64, 64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.generator.eval(), example, str(path), dynamo=False,
                          opset_version=17, input_names=["masked", "mask"],
                          output_names=["output"],
                          dynamic_axes={"masked": dims, "mask": dims, "output": dims})
    return path


def _ort_session(path: Path):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def build_ort(model: Model, precision: str, folder: Path) -> Callable[[tuple[int, ...]], Forward]:
    path = export_onnx(model, folder)
    if precision == "int8":
        path = quantise_ort(model, path)
    session = _ort_session(path)

    def forward(masked: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return session.run(None, {"masked": masked, "mask": mask})[0]

    return lambda shape: forward


def quantise_ort(model: Model, path: Path) -> Path:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(model.calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            item = next(self.items, None)
            return None if item is None else {"masked": item[0], "mask": item[1]}

    pre = path.with_suffix(".pre.onnx")
    quant_pre_process(str(path), str(pre), skip_symbolic_shape=True)
    out = path.with_suffix(".int8.onnx")
    quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=True)
    return out


def build_ov(model: Model, precision: str, folder: Path) -> Callable[[tuple[int, ...]], Forward]:
    import openvino as ov

    core = ov.Core()
    source = core.read_model(str(export_onnx(model, folder)))
    if precision == "int8":
        import nncf

        data = nncf.Dataset(model.calibration, lambda item: {"masked": item[0], "mask": item[1]})
        source = nncf.quantize(source, data, subset_size=len(model.calibration))
    settings = {"INFERENCE_NUM_THREADS": torch.get_num_threads(),
                "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
    compiled: dict[tuple[int, ...], object] = {}

    def for_shape(shape: tuple[int, ...]) -> Forward:
        if shape not in compiled:  # a static shape per crop size: faster than a dynamic model
            b, _, h, w = shape
            fixed = source.clone()
            fixed.reshape({"masked": [b, 3, h, w], "mask": [b, 1, h, w]})
            compiled[shape] = core.compile_model(fixed, "CPU", settings)
        net = compiled[shape]
        return lambda masked, mask: net({"masked": masked, "mask": mask})[0]  # type: ignore[operator]

    return for_shape


def builders(folder: Path) -> dict[str, Builder]:
    return {
        "eager-fp32": lambda m, _: build_eager(m, "fp32"),
        "eager-bf16": lambda m, _: build_eager(m, "bf16"),  # oneDNN refuses bf16 on AVX2
        "autocast-bf16": build_autocast,
        "jit-freeze": build_jit,
        "ort-fp32": lambda m, _: build_ort(m, "fp32", folder),
        "ort-int8": lambda m, _: build_ort(m, "int8", folder),
        "ov-fp32": lambda m, _: build_ov(m, "fp32", folder),
        "ov-int8": lambda m, _: build_ov(m, "int8", folder),
        "torch-int8-dyn": build_torch_dynamic,
        "torch-int8-fx": build_torch_fx,
    }


# ---------------------------------------------------------------- the run

def load_models(reference_sides: list[int], calibration_photos: list[np.ndarray]) -> list[Model]:
    shipped, _ = load_default_generator()
    models = [Model("shipped", shipped.eval(), [(128, 1), (128, 8)])]
    if reference_sides:
        torch.manual_seed(0)
        reference = AOTGenerator(AOTConfig.reference()).eval()
        # autocast is 5x slower than fp32 and dynamic quantisation a no-op on the shipped
        # model already: not worth minutes per call here
        models.append(Model("reference", reference, [(s, 1) for s in reference_sides],
                            skip=("autocast-bf16", "torch-int8-dyn")))
    for model in models:
        side = min(side for side, _ in model.cases)
        count = 16 if side <= 128 else 8
        model.calibration = [make_inputs(calibration_photos, side, 1, model.generator.config,
                                         seed=100 + i) for i in range(count)]
    return models


def time_once(fn: Forward, masked: np.ndarray, mask: np.ndarray, min_s: float) -> float:
    """Seconds per call: repeated until `min_s` has passed (small crops need several calls)."""
    calls, start = 0, time.perf_counter()
    while True:
        fn(masked, mask)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_s:
            return elapsed / calls


def run_model(model: Model, names: list[str], make: dict[str, Builder], rounds: int,
              photos: list[np.ndarray]) -> list[dict]:
    print(f"\n== {model.name}: {model.generator.config}")
    built: dict[str, Callable[[tuple[int, ...]], Forward]] = {}
    for name in [n for n in names if n not in model.skip]:
        start = time.perf_counter()
        try:
            built[name] = make[name](model, name)
            print(f"    built {name:15s} in {time.perf_counter() - start:6.1f} s")
        except Exception as exc:  # report any backend's failure and go on with the others
            print(f"    {name}: FAILED to build: {type(exc).__name__}: {str(exc)[:300]}")
            traceback.print_exc(limit=2, file=sys.stdout)
    rows = []
    for case_index, (side, batch) in enumerate(model.cases):
        masked, mask = make_inputs(photos, side, batch, model.generator.config, seed=case_index)
        forwards, agreement, setup = {}, {}, {}
        reference = None
        for name, for_shape in built.items():
            start = time.perf_counter()
            try:
                forwards[name] = for_shape(masked.shape)
                out = forwards[name](masked, mask)  # warm-up (and per-shape compile)
            except Exception as exc:
                print(f"    {name} at {side}x{side} b{batch}: FAILED: {type(exc).__name__}: "
                      f"{str(exc)[:300]}")
                forwards.pop(name, None)
                continue
            setup[name] = time.perf_counter() - start
            reference = out if name == "eager-fp32" else reference
            agreement[name] = out
        if reference is None:
            raise RuntimeError("eager-fp32 must be among the backends (the baseline)")
        agreement = {n: psnr(o, reference, mask) for n, o in agreement.items()}
        min_s = 0.5 if side * side * batch <= 128 * 128 * 8 else 0.0
        times: dict[str, list[float]] = {name: [] for name in forwards}
        order = list(forwards)
        for r in range(rounds):
            for name in order[r % len(order):] + order[: r % len(order)]:
                times[name].append(time_once(forwards[name], masked, mask, min_s))
        base = statistics.median(times["eager-fp32"])
        for name in forwards:
            ms = statistics.median(times[name]) * 1000
            rows.append({"model": model.name, "side": side, "batch": batch, "backend": name,
                         "ms": ms, "speedup": base * 1000 / ms, "psnr": agreement[name],
                         "first_call_s": setup[name], "spread": (min(times[name]) * 1000,
                                                                 max(times[name]) * 1000)})
            print(f"    {side}x{side} b{batch} {name:15s} {ms:9.1f} ms  x{base * 1000 / ms:5.2f}  "
                  f"{agreement[name]:6.1f} dB  (min {rows[-1]['spread'][0]:.1f}, max "
                  f"{rows[-1]['spread'][1]:.1f}; first call {setup[name]:.1f} s)", flush=True)
    return rows


class OrtGenerator(torch.nn.Module):
    """The generator's ONNX graph under ONNX Runtime, called like the module (for Inpainter)."""

    def __init__(self, generator: AOTGenerator, folder: Path) -> None:
        super().__init__()
        self.config = generator.config
        self.session = _ort_session(export_onnx(Model("pipeline", generator, []), folder))

    def forward(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        feeds = {"masked": np.ascontiguousarray(masked.float().numpy()),
                 "mask": np.ascontiguousarray(mask.float().numpy())}
        return torch.from_numpy(self.session.run(None, feeds)[0])  # (B, 3, H, W)


def run_pipeline(rounds: int, folder: Path) -> None:
    """The whole removal (planner, prefill, grain, paste) of the demo photos' annotated logos
    with the shipped weights, the generator eager or under ONNX Runtime, interleaved: what a
    job would gain."""
    from inpaint_core.inference.inpainter import Inpainter
    from inpaint_core.inference.remove import remove
    from inpaint_core.masks.voc import read_voc

    pairs = []
    for xml in sorted((REPO / "demo" / "Annotations").glob("*.xml")):
        boxes = [obj.box for obj in read_voc(xml).objects]
        pairs.append((load_photos_named(REPO / "demo" / "JPEGImages" / f"{xml.stem}.jpg"), boxes))
    shipped, _ = load_default_generator()
    inpainters = {"eager": Inpainter(shipped.eval(), device="cpu", precision="fp32"),
                  "onnx": Inpainter(OrtGenerator(shipped.eval(), folder), device="cpu",
                                    precision="fp32")}
    outputs = {b: [remove(i, img, boxes=bx).output for img, bx in pairs]
               for b, i in inpainters.items()}  # warm-up
    again = [remove(inpainters["eager"], img, boxes=bx).output for img, bx in pairs]
    times: dict[str, list[float]] = {b: [] for b in inpainters}
    for r in range(rounds):
        for backend in list(inpainters)[r % 2 :] + list(inpainters)[: r % 2]:
            start = time.perf_counter()
            for image, boxes in pairs:
                remove(inpainters[backend], image, boxes=boxes)
            times[backend].append(time.perf_counter() - start)

    def worst(first: list[np.ndarray], second: list[np.ndarray]) -> int:
        return max(int(np.abs(a.astype(int) - b.astype(int)).max())
                   for a, b in zip(first, second, strict=True))

    eager, onnx = (statistics.median(times[b]) for b in ("eager", "onnx"))
    print(f"\n    pipeline: {len(pairs)} demo photos, {sum(len(b) for _, b in pairs)} logos: "
          f"eager {eager:.2f} s, onnx {onnx:.2f} s (x{eager / onnx:.2f}); largest pixel "
          f"difference eager/onnx {worst(outputs['eager'], outputs['onnx'])}, eager/eager "
          f"{worst(outputs['eager'], again)} (uint8; PatchMatch's grain is random)")


def load_photos_named(path: Path) -> np.ndarray:
    import cv2

    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def print_table(rows: list[dict]) -> None:
    print("\n| model | crop | batch | backend | ms/forward | speed-up | agreement dB |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        db = "identical" if row["psnr"] == float("inf") else f"{row['psnr']:.1f}"
        print(f"| {row['model']} | {row['side']} | {row['batch']} | {row['backend']} | "
              f"{row['ms']:.1f} | x{row['speedup']:.2f} | {db} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds (median reported)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every backend")
    parser.add_argument("--backends", default=",".join(ALL_BACKENDS),
                        help="comma-separated subset of " + ",".join(ALL_BACKENDS))
    parser.add_argument("--reference-sides", default="256,512",
                        help="crop sides for the reference config (batch 1); '' skips it")
    parser.add_argument("--reference-rounds", type=int, default=3,
                        help="timing rounds for the reference config (a 512 forward takes tens "
                        "of seconds on 2 AVX2 cores)")
    parser.add_argument("--pipeline", type=int, default=5,
                        help="rounds of the whole removal of the demo photos, eager vs onnx "
                        "(0 skips it)")
    parser.add_argument("--quick", action="store_true", help="shipped model only, 3 rounds")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress in a log
    print(cpu_summary())
    print(package_versions())
    print(f"load average at start: {os.getloadavg()}")
    names = [n for n in args.backends.split(",") if n]
    if "eager-fp32" not in names:
        names.insert(0, "eager-fp32")
    photos = load_photos(REPO / "demo" / "JPEGImages", 6)
    shard = DATA / "train-photos" / "shard-3"
    calibration = load_photos(shard if shard.is_dir() else REPO / "demo" / "JPEGImages", 24)
    sides = [] if args.quick else [int(v) for v in args.reference_sides.split(",") if v]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        make = builders(Path(tmp))
        for model in load_models(sides, calibration):
            rounds = args.rounds if model.name == "shipped" else args.reference_rounds
            rounds = 3 if args.quick else rounds
            rows += run_model(model, names, make, rounds, photos)
        print_table(rows)
        if args.pipeline and "ort-fp32" in names:
            run_pipeline(args.pipeline, Path(tmp))
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

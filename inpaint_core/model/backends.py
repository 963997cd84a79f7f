"""Where the generator's forward pass runs: eager PyTorch (the default) or ONNX Runtime.

backend: "eager"  the PyTorch module, with the fused oneDNN kernels on the CPU (fused.py) and
                  bf16 where device.py picks it
         "onnx"   ONNX Runtime's CPU execution provider in fp32, for CPUs where bf16 gains
                  nothing (AVX2 only): faster than eager fp32 there, with the same output to
                  within float rounding (bench/bench_cpu_backends.py, docs/benchmarks.md)

The ONNX graph is exported from the loaded generator on first use (dynamic batch and size, so
one graph serves every crop the planner cuts) and cached on disk under a name made of a hash of
the weights and config, so later processes skip the export. "onnx" falls back to "eager" with
a warning when onnxruntime is not installed (`pip install unbrand[onnx]`), when the generator
is not on the CPU, or when it is not in fp32.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from inpaint_core.model.fused import fused_kernels
from inpaint_core.model.network import AOTGenerator

BACKENDS = ("eager", "onnx")
EXPORT_FORMAT = "unbrand-onnx/1"  # part of the cache key: bump when the export changes
OPSET = 17  # the opset torch's TorchScript exporter writes cleanly for this network
Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (masked, mask) -> output
logger = logging.getLogger(__name__)


def onnx_available() -> bool:
    """True when onnxruntime (runs the graph) and onnx (torch's exporter writes with it) import."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def default_cache_dir() -> Path:
    """Where exported graphs are kept: $XDG_CACHE_HOME/unbrand/onnx (~/.cache/unbrand/onnx)."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "unbrand" / "onnx"


def make_forward(
    generator: AOTGenerator, backend: str = "eager", *, cache_dir: Path | None = None
) -> tuple[str, Forward]:
    """(the backend used, a forward function) for a generator already on its device and dtype.

    Callers run the forward function under `torch.inference_mode()`, like the module.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "onnx":
        reason = _onnx_unusable(generator)
        if reason is None:
            return "onnx", _onnx_forward(generator, cache_dir or default_cache_dir())
        logger.warning("backend onnx unavailable (%s): running the generator in PyTorch", reason)
    return "eager", _eager_forward(generator)


def _eager_forward(generator: AOTGenerator) -> Forward:
    def forward(masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        with fused_kernels():
            return generator(masked, mask)

    return forward


def _onnx_unusable(generator: AOTGenerator) -> str | None:
    weight = next(generator.parameters())
    if weight.device.type != "cpu":
        return f"the generator is on {weight.device.type}; ONNX Runtime runs here on the CPU only"
    if weight.dtype != torch.float32:
        return f"precision {weight.dtype} asked for; the ONNX graph runs in fp32"
    if not onnx_available():
        return "onnxruntime or onnx is not installed: pip install 'unbrand[onnx]'"
    return None


def _onnx_forward(generator: AOTGenerator, cache_dir: Path) -> Forward:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # the same cores torch would use
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(
        onnx_graph(generator, cache_dir), options, providers=["CPUExecutionProvider"]
    )

    def forward(masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        feeds = {"masked": _numpy(masked), "mask": _numpy(mask)}
        return torch.from_numpy(session.run(None, feeds)[0])  # (B, 3, H, W)

    return forward


def _numpy(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().float().cpu().numpy())  # NCHW, as exported


def cache_key(generator: AOTGenerator) -> str:
    """A name for the exported graph: hash of the weights, config, torch version and format."""
    digest = hashlib.sha256()
    digest.update(f"{EXPORT_FORMAT} {OPSET} {torch.__version__}".encode())
    digest.update(json.dumps(generator.config.to_dict(), sort_keys=True).encode())
    for name, tensor in sorted(generator.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().contiguous().cpu().numpy().tobytes())
    return f"{generator.config.name}-{digest.hexdigest()[:16]}"


def onnx_graph(generator: AOTGenerator, cache_dir: Path) -> bytes:
    """The generator's ONNX graph: read from the cache, or exported and written there (when the
    cache cannot be written, the graph is still returned)."""
    path = cache_dir / f"{cache_key(generator)}.onnx"
    if path.is_file():
        return path.read_bytes()
    data = export_onnx(generator)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: processes exporting at once each write a whole file
    except OSError as exc:
        logger.warning("cannot cache the ONNX graph at %s (%s); exporting again next time",
                       path, exc)
    return data


def export_onnx(generator: AOTGenerator) -> bytes:
    """The generator as ONNX (plain modules, fp32, NCHW), batch, height and width dynamic."""
    dims = {0: "batch", 2: "height", 3: "width"}
    example = (torch.zeros(1, 3, 64, 64), torch.zeros(1, 1, 64, 64))  # (B, 3, H, W), (B, 1, H, W)
    buffer = io.BytesIO()
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            generator.eval(),
            example,
            buffer,
            dynamo=False,  # ~3 s; the dynamo exporter writes the same graph in ~35 s
            opset_version=OPSET,
            input_names=["masked", "mask"],
            output_names=["output"],
            dynamic_axes={"masked": dims, "mask": dims, "output": dims},
        )
    return buffer.getvalue()

"""Benchmark: torch's OpenMP threads spinning (libgomp's default) or waiting passively
(OMP_WAIT_POLICY=PASSIVE, unbrand's default since inpaint_core sets it), with and without a
busy neighbour process on the machine.

Each case is a child process that loads the shipped generator (in the precision `auto` picks)
and times `--passes` forward passes of one 512x512 input after a warm-up; the cases rotate round
by round and the median per case is printed with its ratio to the spinning one. Neighbours
(each niced by 10, as a helper's job would be): "loop", a pure-Python busy loop on one core; and
"opencv", OpenCV filtering a large image on its own thread pool (every core, in short parallel
bursts: what a worker's decode, refine and encode threads or another image job look like); and,
not niced, "model": a second process running the same forward passes under the same policy (two
worker processes on one machine, e.g. a prefork pool of two).

    .venv/bin/python bench/bench_omp_wait.py [--rounds 3] [--passes 6] [--side 512]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from bench_throughput import cpu_line  # noqa: E402

CHILD = """
import json, os, sys, time
import torch  # first: libgomp reads OMP_WAIT_POLICY now, before inpaint_core could set it
sys.path.insert(0, {repo!r})
from inpaint_core.inference.inpainter import Inpainter
from inpaint_core.model.fused import fused_kernels
inpainter = Inpainter.load(None, device="cpu")
x = torch.randn(1, 3, {side}, {side}).to(inpainter.dtype).contiguous(
    memory_format=torch.channels_last)
m = torch.zeros(1, 1, {side}, {side}).to(inpainter.dtype)
times = []
with torch.inference_mode(), fused_kernels():
    inpainter.generator(x, m)
    for _ in range({passes}):
        started = time.perf_counter()
        inpainter.generator(x, m)
        times.append(time.perf_counter() - started)
print(json.dumps({{"ms": [t * 1000 for t in times], "precision": inpainter.precision,
                  "threads": torch.get_num_threads()}}))
"""

NEIGHBOURS = {
    "loop": "import os; os.nice(10)\nwhile True: pass\n",
    "opencv": ("import os; os.nice(10)\nimport cv2, numpy as np\n"
               "image = np.random.default_rng(0).integers(0, 255, (2000, 3000, 3), np.uint8)\n"
               "while True: cv2.GaussianBlur(image, (31, 31), 5)\n"),
    "model": CHILD.replace("for _ in range({passes}):", "while True:"),
}


def _env(policy: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    return env


def run_case(policy: str | None, side: int, passes: int) -> dict:
    env = _env(policy)
    code = CHILD.format(repo=str(REPO), side=side, passes=passes)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=900)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=6, help="timed forward passes per case")
    parser.add_argument("--side", type=int, default=512)
    args = parser.parse_args()
    print(cpu_line())
    neighbours = (None, *NEIGHBOURS)
    cases = [(neighbour, policy) for neighbour in neighbours for policy in (None, "PASSIVE")]
    results: dict[tuple[str | None, str | None], list[float]] = {case: [] for case in cases}
    info = {}
    for round_index in range(args.rounds):
        order = cases[round_index % len(cases):] + cases[: round_index % len(cases)]
        for neighbour, policy in order:
            busy = None
            if neighbour:
                code = NEIGHBOURS[neighbour].format(repo=str(REPO), side=args.side, passes=0)
                busy = subprocess.Popen([sys.executable, "-c", code], env=_env(policy))
            try:
                if busy is not None:
                    time.sleep(3.0 if neighbour == "model" else 0.5)
                out = run_case(policy, args.side, args.passes)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
            results[(neighbour, policy)].extend(out["ms"])
            info = out
        print(f"round {round_index + 1} done (load average "
              f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])})", flush=True)
    print(f"\nshipped generator, {args.side}x{args.side}, {info['precision']}, "
          f"{info['threads']} threads; median ms per forward pass over "
          f"{args.rounds} x {args.passes} passes")
    for neighbour in neighbours:
        spinning = statistics.median(results[(neighbour, None)])
        for policy in (None, "PASSIVE"):
            value = statistics.median(results[(neighbour, policy)])
            label = "PASSIVE" if policy else "spinning (libgomp default)"
            where = f"neighbour {neighbour}" if neighbour else "quiet"
            print(f"  {where:18s} {label:27s} {value:8.1f} ms  x{spinning / value:.2f}")
    print(cpu_line())


if __name__ == "__main__":
    main()

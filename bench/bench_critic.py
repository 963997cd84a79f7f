"""Does the critic's realness mean anything? Real pixels, our fills and Telea's on a benchmark.

    .venv/bin/python bench/bench_critic.py --benchmark B [--critic PATH] [--limit N] [--write]

B is a `unbrand make-benchmark` folder (ground truth known). For every image the hole is the
union of the annotated boxes, grown by the Inpainter's margin; the critic scores the same hole in
four pictures: the ground truth (real photo pixels: should score high), our output, OpenCV
Telea's output, and the input with the logo still in place. Printed: mean realness per picture,
AUC of "truth scores above X" (0.5 = the critic cannot tell, 1 = always), the rank correlation
between our realness and our PSNR inside the boxes, and, per threshold, how many of our fills
and how many real patches would be flagged. `--write` saves bench/RESULTS-critic.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from inpaint_core.evaluation.critic import Critic, default_critic_path  # noqa: E402
from inpaint_core.evaluation.evaluate import list_benchmark, read_rgb, telea  # noqa: E402
from inpaint_core.evaluation.metrics import psnr  # noqa: E402
from inpaint_core.inference.inpainter import Inpainter  # noqa: E402

PICTURES = ("truth", "ours", "telea", "logo")
THRESHOLDS = (0.6, 0.7, 0.8, 0.85, 0.9)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", required=True, help="make-benchmark folder")
    parser.add_argument("--critic", default=str(default_critic_path()), help="critic weights")
    parser.add_argument("--limit", type=int, default=None, help="first N images only")
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS-critic.md")
    return parser.parse_args()


def auc(high: np.ndarray, low: np.ndarray) -> float:
    """P(a random `high` value > a random `low` value), ties counted half (Mann-Whitney)."""
    diff = high[:, None] - low[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    rank_a, rank_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(rank_a, rank_b)[0, 1])


def score_all(benchmark: str, critic: Critic, limit: int | None) -> dict[str, np.ndarray]:
    inpainter = Inpainter.load(None, device="cpu", precision="auto", critic=None)
    scores: dict[str, list[float]] = {name: [] for name in (*PICTURES, "psnr_ours")}
    items = list_benchmark(benchmark)[:limit]
    for item in items:
        image, truth, mask = read_rgb(item.image_path), read_rgb(item.truth_path), item.box_mask()
        fill = inpainter.fill_region(mask)
        ours = inpainter.inpaint(image, mask)
        pictures = {"truth": truth, "ours": ours, "telea": telea(image, fill), "logo": image}
        for name, picture in pictures.items():
            scores[name].append(critic.realness(picture, fill) or 0.0)
        scores["psnr_ours"].append(psnr(truth, ours, mask))
    return {name: np.asarray(values) for name, values in scores.items()}


def report(scores: dict[str, np.ndarray], args: argparse.Namespace, seconds: float) -> str:
    count = len(scores["truth"])
    lines = [f"critic {args.critic} on {count} images of {args.benchmark} ({seconds:.0f} s)", "",
             "| picture in the hole | mean realness | median | AUC truth > it |",
             "|---|---|---|---|"]
    for name in PICTURES:
        values = scores[name]
        vs = "-" if name == "truth" else f"{auc(scores['truth'], values):.3f}"
        lines.append(f"| {name} | {values.mean():.3f} | {np.median(values):.3f} | {vs} |")
    rho = spearman(scores["ours"], scores["psnr_ours"])
    lines += ["", f"rank correlation of our realness with our PSNR in the boxes: {rho:+.3f}", "",
              "| threshold | our fills flagged | real patches flagged | Telea fills flagged |",
              "|---|---|---|---|"]
    for t in THRESHOLDS:
        lines.append(f"| {t} | {(scores['ours'] < t).mean():.1%} | "
                     f"{(scores['truth'] < t).mean():.1%} | {(scores['telea'] < t).mean():.1%} |")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    critic = Critic.load(args.critic)
    started = time.perf_counter()
    scores = score_all(args.benchmark, critic, args.limit)
    text = report(scores, args, time.perf_counter() - started)
    print(text)
    if args.write:
        command = "python bench/bench_critic.py " + " ".join(sys.argv[1:])
        body = f"# Critic (SM-PatchGAN realness) on a benchmark\n\n`{command}`\n\n{text}\n"
        (REPO / "bench" / "RESULTS-critic.md").write_text(body)
        raw = {name: values.round(4).tolist() for name, values in scores.items()}
        (REPO / "bench" / "RESULTS-critic.json").write_text(json.dumps(raw) + "\n")


if __name__ == "__main__":
    main()

"""Score logo removal against the ground truth of a benchmark per mask-ratio bin, beside Telea.

A benchmark is the layout `make_benchmark` writes (JPEGImages, Annotations, GroundTruth,
ImageSets/Main/test.txt). The hole of every image is the union of its annotated BOXES (what a
user's dataset gives), for our model and for the baselines alike. Figures: L1 (0-1 units), PSNR
(dB, capped at 100 for identical images) and SSIM, on the whole image and inside the boxes, and
the texture ratio inside the boxes (metrics.texture_ratio: 1 = as detailed as the photo, a blur
about 0.3-0.5). Baselines: OpenCV's Telea and PatchMatch (inference/patchmatch.py), on the same
boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from inpaint_core.errors import ImageInputError
from inpaint_core.evaluation.metrics import l1, psnr, ssim, texture_ratio
from inpaint_core.inference.patchmatch import patchmatch
from inpaint_core.inference.prefill import telea
from inpaint_core.masks.boxes import boxes_to_mask
from inpaint_core.masks.voc import read_split, read_voc

if TYPE_CHECKING:
    from inpaint_core.inference.inpainter import Inpainter

BIN_EDGES = (0, 2, 4, 6, 8, 10)  # percent of the image covered by the boxes
RESULT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
METRIC_KEYS = ("l1", "psnr", "ssim", "l1_box", "psnr_box", "ssim_box", "texture_box")
# classical fills scored beside the model on the same boxes: (image, hole) -> image
BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "telea": telea,
    "patchmatch": patchmatch,
}
DEFAULT_BASELINES = ("telea", "patchmatch")


@dataclass
class BenchmarkItem:
    """One benchmark image: its files and 0-based end-exclusive boxes."""

    image_id: str
    image_path: Path
    truth_path: Path
    boxes: list[list[int]]
    width: int
    height: int

    def box_mask(self) -> np.ndarray:
        return boxes_to_mask(self.boxes, height=self.height, width=self.width)

    @property
    def box_ratio(self) -> float:
        """Fraction of the image covered by the union of the boxes."""
        return float(self.box_mask().mean())


def read_rgb(path: str | Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB."""
    try:
        with Image.open(path) as opened:
            return np.asarray(opened.convert("RGB"))
    except OSError as exc:
        raise ImageInputError(f"cannot read image {path}: {exc}") from exc


def list_benchmark(benchmark_dir: str | Path, split: str = "test") -> list[BenchmarkItem]:
    """The images of a benchmark split with their boxes (the XML <size> must be present)."""
    root = Path(benchmark_dir)
    items = []
    for image_id in read_split(root, split):
        annotation = read_voc(root / "Annotations" / f"{image_id}.xml")
        if annotation.width <= 0 or annotation.height <= 0:
            raise ImageInputError(f"{image_id}.xml has no <size>")
        items.append(
            BenchmarkItem(
                image_id,
                root / "JPEGImages" / f"{image_id}.jpg",
                root / "GroundTruth" / f"{image_id}.png",
                [obj.box for obj in annotation.objects],
                annotation.width,
                annotation.height,
            )
        )
    return items


def find_result(results_dir: str | Path, image_id: str) -> Path | None:
    """results_dir/<id>.png (or .jpg, .jpeg, .webp), searched in that order."""
    for suffix in RESULT_SUFFIXES:
        path = Path(results_dir) / f"{image_id}{suffix}"
        if path.is_file():
            return path
    return None


def image_metrics(truth: np.ndarray, output: np.ndarray, box: np.ndarray) -> dict[str, float]:
    """L1 / PSNR / SSIM on the whole image and inside the box mask, texture inside it."""
    if truth.shape != output.shape:
        raise ImageInputError(
            f"result is {output.shape[1]}x{output.shape[0]}, "
            f"ground truth {truth.shape[1]}x{truth.shape[0]}"
        )
    return {
        "l1": l1(truth, output),
        "psnr": psnr(truth, output),
        "ssim": ssim(truth, output),
        "l1_box": l1(truth, output, box),
        "psnr_box": psnr(truth, output, box),
        "ssim_box": ssim(truth, output, box),
        "texture_box": texture_ratio(truth, output, box),
    }


def bin_label(ratio: float, edges: tuple[int, ...] = BIN_EDGES) -> str:
    """'0-2%', '2-4%', ... for a covered fraction (0..1); above the last edge: '>10%'."""
    percent = ratio * 100
    for low, high in zip(edges, edges[1:], strict=False):
        if percent < high:
            return f"{low}-{high}%"
    return f">{edges[-1]}%"


def summarise(
    rows: list[dict[str, Any]], method: str, edges: tuple[int, ...] = BIN_EDGES
) -> dict[str, dict]:
    """Mean of each metric per bin (ordered as the edges) and over all images."""
    labels = [f"{a}-{b}%" for a, b in zip(edges, edges[1:], strict=False)] + [
        f">{edges[-1]}%",
        "all",
    ]
    table: dict[str, dict] = {}
    for label in labels:
        chosen = [r[method] for r in rows if label == "all" or r["bin"] == label]
        if chosen:
            table[label] = {
                "count": len(chosen),
                **{k: float(np.mean([c[k] for c in chosen])) for k in METRIC_KEYS},
            }
    return table


def parse_baselines(baseline: str | Iterable[str] | None) -> tuple[str, ...]:
    """'telea,patchmatch' (or a list of names; None / 'none': no baseline) -> names, checked."""
    if baseline is None:
        return ()
    names = baseline.split(",") if isinstance(baseline, str) else list(baseline)
    names = [n.strip() for n in names if n.strip() and n.strip() != "none"]
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ImageInputError(
            f"unknown baseline {unknown[0]!r}; use {', '.join(BASELINES)} or none"
        )
    return tuple(dict.fromkeys(names))


def evaluate(
    results_dir: str | Path,
    benchmark_dir: str | Path,
    *,
    baseline: str | Iterable[str] | None = DEFAULT_BASELINES,
    name: str = "ours",
    progress: bool = False,
) -> dict[str, Any]:
    """Score every result found for the benchmark beside the `baseline` fills ('telea',
    'patchmatch', a comma list or None); returns the report (see `summarise`)."""
    from tqdm import tqdm

    baselines = parse_baselines(baseline)
    items = list_benchmark(benchmark_dir)
    rows, missing = [], []
    for item in tqdm(items, disable=not progress, unit="img"):
        result = find_result(results_dir, item.image_id)
        if result is None:
            missing.append(item.image_id)
            continue
        truth, box = read_rgb(item.truth_path), item.box_mask()
        row: dict[str, Any] = {
            "id": item.image_id,
            "box_ratio": round(float(box.mean()), 5),
            "bin": bin_label(float(box.mean())),
        }
        row[name] = image_metrics(truth, read_rgb(result), box)
        for method in baselines:
            filled = BASELINES[method](read_rgb(item.image_path), box)
            row[method] = image_metrics(truth, filled, box)
        rows.append(row)
    if not rows:
        raise ImageInputError(
            f"no results in {results_dir} for the {len(items)} images of {benchmark_dir}"
        )
    methods = [name, *baselines]
    return {
        "benchmark": str(benchmark_dir),
        "results": str(results_dir),
        "images": len(rows),
        "missing": missing,
        "bin_edges_percent": list(BIN_EDGES),
        "hole": "union of the annotated boxes",
        "methods": {m: summarise(rows, m) for m in methods},
        "per_image": rows,
    }


def run_model(
    benchmark_dir: str | Path,
    out_dir: str | Path,
    inpainter: Inpainter,
    *,
    mode: str = "box",
    progress: bool = False,
    skip_existing: bool = False,
) -> list[Path]:
    """Remove every benchmark image's boxes with `inpainter` through the path `run` ships
    (inference/remove.py, mask `mode`); writes out_dir/<id>.png."""
    from inpaint_core.inference.remove import remove

    def method(image: np.ndarray, item: BenchmarkItem) -> np.ndarray:
        return remove(inpainter, image, boxes=item.boxes, mode=mode).output

    return run_method(benchmark_dir, out_dir, method, progress=progress,
                      skip_existing=skip_existing)


def run_method(
    benchmark_dir: str | Path,
    out_dir: str | Path,
    method: Callable[[np.ndarray, BenchmarkItem], np.ndarray],
    *,
    progress: bool = False,
    skip_existing: bool = False,
    items: Iterable[BenchmarkItem] | None = None,
) -> list[Path]:
    """Apply `method(image, item) -> image` to every benchmark image; writes <id>.png files."""
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    chosen = list(items) if items is not None else list_benchmark(benchmark_dir)
    for item in tqdm(chosen, disable=not progress, unit="img"):
        path = out / f"{item.image_id}.png"
        if not (skip_existing and path.is_file()):
            result = np.asarray(method(read_rgb(item.image_path), item))
            Image.fromarray(result.astype(np.uint8)).save(path)
        written.append(path)
    return written

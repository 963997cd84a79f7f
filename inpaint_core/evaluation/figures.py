"""Model-card pictures and tables: input / Telea / ours / ground truth grids, metric tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from inpaint_core.errors import ImageInputError
from inpaint_core.evaluation.evaluate import (
    BenchmarkItem,
    find_result,
    list_benchmark,
    read_rgb,
    telea,
)

COLUMNS = ("input", "Telea", "ours", "ground truth")
_HEADER = 28
_METRIC_NAMES = {
    "psnr_box": "PSNR box (dB)",
    "ssim_box": "SSIM box",
    "l1_box": "L1 box",
    "psnr": "PSNR image (dB)",
    "ssim": "SSIM image",
    "l1": "L1 image",
    "texture_box": "texture box",
}


def _view_box(
    item: BenchmarkItem, context: float = 1.0, minimum: int = 96
) -> tuple[int, int, int, int]:
    """A square around the union of the boxes with `context` times its size on each side."""
    xs = [v for b in item.boxes for v in (b[0], b[2])] or [0, item.width]
    ys = [v for b in item.boxes for v in (b[1], b[3])] or [0, item.height]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    side = max(max(xs) - min(xs), max(ys) - min(ys)) * (1 + 2 * context)
    side = int(min(max(side, minimum), item.width, item.height))
    x1 = int(np.clip(cx - side / 2, 0, item.width - side))
    y1 = int(np.clip(cy - side / 2, 0, item.height - side))
    return x1, y1, x1 + side, y1 + side


def _spread(items: list[BenchmarkItem], rows: int) -> list[BenchmarkItem]:
    """`rows` items evenly spaced from the smallest to the largest box ratio."""
    ordered = sorted(items, key=lambda it: it.box_ratio)
    if len(ordered) <= rows:
        return ordered
    picks = np.linspace(0, len(ordered) - 1, rows).round().astype(int)
    return [ordered[i] for i in picks]


def _cells(item: BenchmarkItem, results_dir: Path, cell: int, crop: bool) -> list[Image.Image]:
    result_path = find_result(results_dir, item.image_id)
    if result_path is None:
        raise ImageInputError(f"no result for {item.image_id} in {results_dir}")
    image = read_rgb(item.image_path)
    pictures = [
        image,
        telea(image, item.box_mask()),
        read_rgb(result_path),
        read_rgb(item.truth_path),
    ]
    view = _view_box(item) if crop else (0, 0, item.width, item.height)
    tiles = []
    for index, picture in enumerate(pictures):
        tile = Image.fromarray(picture).crop(view)
        if index == 0:  # outline the boxes on the input
            draw = ImageDraw.Draw(tile)
            for x1, y1, x2, y2 in item.boxes:
                draw.rectangle(
                    (x1 - view[0], y1 - view[1], x2 - view[0] - 1, y2 - view[1] - 1),
                    outline=(255, 40, 40),
                    width=max(1, tile.width // 128),
                )
        tiles.append(
            tile.resize((cell, cell * tile.height // tile.width), Image.Resampling.LANCZOS)
        )
    return tiles


def comparison_grid(
    benchmark_dir: str | Path,
    results_dir: str | Path,
    out: str | Path,
    *,
    rows: int = 6,
    cell: int = 256,
    crop: bool = True,
    ids: list[str] | None = None,
) -> Path:
    """PNG with one row per image: input (boxes outlined) / Telea / ours / ground truth."""
    items = list_benchmark(benchmark_dir)
    if ids:
        items = [it for it in items if it.image_id in set(ids)]
    else:
        items = _spread([it for it in items if find_result(results_dir, it.image_id)], rows)
    if not items:
        raise ImageInputError(f"no benchmark images with results in {results_dir}")
    grid_rows = [_cells(item, Path(results_dir), cell, crop) for item in items]
    heights = [row[0].height for row in grid_rows]
    canvas = Image.new("RGB", (cell * len(COLUMNS), _HEADER + sum(heights)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=18)
    for col, title in enumerate(COLUMNS):
        draw.text((col * cell + 8, 4), title, fill=(0, 0, 0), font=font)
    y = _HEADER
    for row, height in zip(grid_rows, heights, strict=True):
        for col, tile in enumerate(row):
            canvas.paste(tile, (col * cell, y))
        y += height
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out)
    return out


def _fmt(key: str, value: float) -> str:
    return f"{value:.2f}" if key.startswith(("psnr", "texture")) else f"{value:.4f}"


def metrics_table_markdown(
    report: dict[str, Any], *, metrics: tuple[str, ...] = tuple(_METRIC_NAMES)
) -> str:
    """A markdown table (one row per mask-ratio bin and method) from an `evaluate` report."""
    methods = report["methods"]
    header = ["box area", "images", "method", *[_METRIC_NAMES.get(m, m) for m in metrics]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    bins = list(next(iter(methods.values())))
    for label in bins:
        for method, table in methods.items():
            if label not in table:
                continue
            row = table[label]
            cells = [label, str(row["count"]), method, *[_fmt(m, row[m]) for m in metrics]]
            lines.append("| " + " | ".join(cells) + " |")
    note = (
        f"\n{report['images']} images; hole = {report.get('hole', 'annotated boxes')}; "
        "L1 in 0-1 units, PSNR capped at 100 dB."
    )
    return "\n".join(lines) + "\n" + note + "\n"

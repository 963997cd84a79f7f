"""Evaluation numbers on constructed cases, run_model, grids and tables (VOC files: test_voc)."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from inpaint_core.errors import ImageInputError
from inpaint_core.evaluation.evaluate import bin_label, evaluate, list_benchmark, run_model, telea
from inpaint_core.evaluation.figures import COLUMNS, comparison_grid, metrics_table_markdown
from inpaint_core.inference.inpainter import Inpainter
from inpaint_core.masks.bleed import MAX_GROW
from inpaint_core.masks.boxes import boxes_to_mask
from inpaint_core.masks.voc import VocAnnotation, VocObject, write_voc
from inpaint_core.model.network import AOTGenerator
from tests.fixtures.models import TINY

SIZE = (100, 80)  # width, height: 8000 pixels


def _benchmark(root: Path, boxes: dict[str, list[list[int]]]) -> dict[str, np.ndarray]:
    """A hand-made benchmark: ground truth in 20..230, the input with a flat logo in each box."""
    for sub in ("JPEGImages", "Annotations", "GroundTruth", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    truths = {}
    for image_id, image_boxes in boxes.items():
        truth = rng.integers(20, 231, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
        truth = cv2.GaussianBlur(truth, (5, 5), 0)
        logo = truth.copy()
        logo[boxes_to_mask(image_boxes, height=SIZE[1], width=SIZE[0])] = (255, 0, 0)
        Image.fromarray(truth).save(root / "GroundTruth" / f"{image_id}.png")
        Image.fromarray(logo).save(root / "JPEGImages" / f"{image_id}.jpg", quality=95)
        objects = [VocObject("logo", b) for b in image_boxes]
        write_voc(
            root / "Annotations" / f"{image_id}.xml",
            VocAnnotation(f"{image_id}.jpg", *SIZE, objects),
        )
        truths[image_id] = truth
    (root / "ImageSets" / "Main" / "test.txt").write_text("\n".join(boxes) + "\n")
    return truths


BOXES = {
    "small": [[10, 10, 30, 14]],  # 80 px = 1 %
    "mid": [[0, 0, 20, 12]],  # 240 px = 3 %
    "big": [[50, 40, 80, 64]],  # 720 px = 9 %
}


def test_bins() -> None:
    assert [bin_label(r) for r in (0.0, 0.01, 0.0199, 0.02, 0.03, 0.09, 0.1, 0.2)] == [
        "0-2%",
        "0-2%",
        "0-2%",
        "2-4%",
        "2-4%",
        "8-10%",
        ">10%",
        ">10%",
    ]


def test_perfect_result_hits_the_psnr_cap(tmp_path: Path) -> None:
    truths = _benchmark(tmp_path / "bench", BOXES)
    results = tmp_path / "results"
    results.mkdir()
    for image_id, truth in truths.items():
        Image.fromarray(truth).save(results / f"{image_id}.png")
    report = evaluate(results, tmp_path / "bench")
    ours = report["methods"]["ours"]
    assert list(ours) == ["0-2%", "2-4%", "8-10%", "all"]
    assert [ours[b]["count"] for b in ours] == [1, 1, 1, 3]
    for row in ours.values():
        assert row["psnr"] == row["psnr_box"] == 100.0
        assert row["l1"] == row["l1_box"] == 0.0
        assert row["ssim"] == pytest.approx(1.0) and row["ssim_box"] == pytest.approx(1.0)
    assert report["images"] == 3 and report["missing"] == []
    assert {r["id"]: r["box_ratio"] for r in report["per_image"]} == {
        "small": 0.01,
        "mid": 0.03,
        "big": 0.09,
    }


def test_known_noise_gives_known_psnr(tmp_path: Path) -> None:
    truths = _benchmark(tmp_path / "bench", BOXES)
    results = tmp_path / "results"
    results.mkdir()
    for image_id, truth in truths.items():
        noisy = truth.astype(int)
        box = boxes_to_mask(BOXES[image_id], height=SIZE[1], width=SIZE[0])
        noisy[box] += np.where(
            np.indices(noisy[box].shape).sum(0) % 2 == 0, 10, -10
        )  # +-10 inside the box
        Image.fromarray(noisy.astype(np.uint8)).save(results / f"{image_id}.png")
    report = evaluate(results, tmp_path / "bench", baseline="none")
    assert list(report["methods"]) == ["ours"]
    psnr_box = 10 * math.log10(255**2 / 100)  # MSE 100 inside the box
    for image_id, ratio in (("small", 0.01), ("mid", 0.03), ("big", 0.09)):
        row = next(r for r in report["per_image"] if r["id"] == image_id)["ours"]
        assert row["psnr_box"] == pytest.approx(psnr_box, abs=1e-9)
        assert row["l1_box"] == pytest.approx(10 / 255, abs=1e-12)
        assert row["psnr"] == pytest.approx(10 * math.log10(255**2 / (100 * ratio)), abs=1e-9)
        assert row["l1"] == pytest.approx(10 / 255 * ratio, abs=1e-12)
    assert report["methods"]["ours"]["all"]["psnr_box"] == pytest.approx(psnr_box)


def test_telea_baseline_row_and_missing_results(tmp_path: Path) -> None:
    truths = _benchmark(tmp_path / "bench", BOXES)
    results = tmp_path / "results"
    results.mkdir()
    Image.fromarray(truths["mid"]).save(
        results / "mid.jpg", quality=100
    )  # jpg results are found too
    report = evaluate(results, tmp_path / "bench")
    assert report["missing"] == ["small", "big"] and report["images"] == 1
    image = np.asarray(Image.open(tmp_path / "bench" / "JPEGImages" / "mid.jpg"))
    box = boxes_to_mask(BOXES["mid"], height=SIZE[1], width=SIZE[0])
    expected = cv2.inpaint(image, box.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    mse = ((expected.astype(float) - truths["mid"]) ** 2)[box].mean()
    telea_row = report["per_image"][0]["telea"]
    assert telea_row["psnr_box"] == pytest.approx(10 * math.log10(255**2 / mse))
    assert np.array_equal(telea(image, box), expected)
    assert report["methods"]["ours"]["all"]["psnr_box"] > 30  # JPEG (4:2:0) of the noisy truth
    assert telea_row["psnr_box"] < report["methods"]["ours"]["all"]["psnr_box"]
    with pytest.raises(ImageInputError, match="no results"):
        evaluate(tmp_path / "empty", tmp_path / "bench")


def tiny_inpainter() -> Inpainter:
    torch.manual_seed(0)
    return Inpainter(AOTGenerator(TINY).eval())


def test_run_model_removes_the_boxes_and_feeds_evaluate(tmp_path: Path) -> None:
    _benchmark(tmp_path / "bench", BOXES)
    written = run_model(tmp_path / "bench", tmp_path / "ours", tiny_inpainter())
    assert [p.name for p in written] == ["small.png", "mid.png", "big.png"]
    for path, image_id in zip(written, BOXES, strict=True):
        out = np.asarray(Image.open(path))
        src = np.asarray(Image.open(tmp_path / "bench" / "JPEGImages" / f"{image_id}.jpg"))
        boxes = boxes_to_mask(BOXES[image_id], height=SIZE[1], width=SIZE[0])
        # as `run` does, a box may grow over the JPEG's colour bleed, by MAX_GROW at most
        grown = [[x1 - MAX_GROW, y1 - MAX_GROW, x2 + MAX_GROW, y2 + MAX_GROW]
                 for x1, y1, x2, y2 in BOXES[image_id]]
        near = boxes_to_mask(grown, height=SIZE[1], width=SIZE[0])
        assert np.array_equal(out[~near], src[~near])  # PNG: byte-identical outside the boxes
        assert not np.array_equal(out[boxes], src[boxes])  # the red logo inside them is gone
    report = evaluate(tmp_path / "ours", tmp_path / "bench")
    assert report["images"] == 3 and 5 < report["methods"]["ours"]["all"]["psnr_box"] < 40
    before = [p.stat().st_mtime_ns for p in written]
    run_model(tmp_path / "bench", tmp_path / "ours", tiny_inpainter(), skip_existing=True)
    assert [p.stat().st_mtime_ns for p in written] == before  # nothing re-run


def test_grid_and_markdown_table(tmp_path: Path) -> None:
    _benchmark(tmp_path / "bench", BOXES)
    run_model(tmp_path / "bench", tmp_path / "ours", tiny_inpainter())
    grid = comparison_grid(
        tmp_path / "bench", tmp_path / "ours", tmp_path / "grid.png", rows=2, cell=64
    )
    picture = np.asarray(Image.open(grid))
    assert picture.shape == (28 + 2 * 64, 64 * len(COLUMNS), 3)  # square crops around the boxes
    full = comparison_grid(
        tmp_path / "bench", tmp_path / "ours", tmp_path / "g2.png", cell=50, crop=False, ids=["big"]
    )
    assert Image.open(full).size == (200, 28 + 40)  # 100x80 image -> 50x40 cells
    report = evaluate(tmp_path / "ours", tmp_path / "bench")
    table = metrics_table_markdown(report).splitlines()
    assert table[0].startswith("| box area | images | method | PSNR box (dB) |")
    assert (
        len([line for line in table if line.startswith("| ")]) == 1 + 4 * 3
    )  # 3 bins + all, 3 methods (ours, telea, patchmatch)
    all_ours = report["methods"]["ours"]["all"]
    assert (
        f"| all | 3 | ours | {all_ours['psnr_box']:.2f} | {all_ours['ssim_box']:.4f} |"
        in "\n".join(table)
    )


def test_list_benchmark_reads_boxes(tmp_path: Path) -> None:
    _benchmark(tmp_path / "bench", BOXES)
    items = list_benchmark(tmp_path / "bench")
    assert [(i.image_id, i.boxes, i.width, i.height) for i in items] == [
        (k, v, 100, 80) for k, v in BOXES.items()
    ]
    assert items[2].box_ratio == pytest.approx(0.09)

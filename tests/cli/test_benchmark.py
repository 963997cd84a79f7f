"""`unbrand make-benchmark` then `unbrand evaluate` end to end through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from click.testing import Result
from PIL import Image
from typer.testing import CliRunner

from unbrand.cli.app import make_app


def _photos(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(2)
    for i in range(3):
        yy, xx = np.mgrid[0:200, 0:260].astype(np.float32)
        img = np.stack([xx, yy, xx + yy], -1) * 0.5 + 40 + rng.normal(0, 4, (200, 260, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"p{i}.png")
    return folder


def test_make_benchmark_then_evaluate(tmp_path: Path) -> None:
    cli = make_app()
    photos = _photos(tmp_path / "photos")
    bench = tmp_path / "bench"
    made = CliRunner().invoke(
        cli,
        [
            "make-benchmark",
            "--photos",
            str(photos),
            "--out",
            str(bench),
            "--count",
            "4",
            "--seed",
            "5",
            "--no-progress",
        ],
    )
    assert made.exit_code == 0, made.output
    assert "wrote 4 images" in made.output
    assert len(list((bench / "JPEGImages").glob("*.jpg"))) == 4

    perfect = tmp_path / "perfect"
    shutil.copytree(bench / "GroundTruth", perfect)
    report_path, table_path, grid_path = tmp_path / "r.json", tmp_path / "t.md", tmp_path / "g.png"
    result = CliRunner().invoke(
        cli,
        [
            "evaluate",
            str(perfect),
            "--benchmark",
            str(bench),
            "--json",
            str(report_path),
            "--markdown",
            str(table_path),
            "--grid",
            str(grid_path),
            "--grid-rows",
            "3",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "telea" in result.output and "patchmatch" in result.output and "all" in result.output
    report = json.loads(report_path.read_text())
    assert report["methods"]["ours"]["all"]["texture_box"] == 1.0  # the truth is as detailed
    assert report["methods"]["patchmatch"]["all"]["psnr_box"] < 60
    assert report["images"] == 4
    assert report["methods"]["ours"]["all"]["psnr_box"] == 100.0
    assert report["methods"]["telea"]["all"]["psnr_box"] < 60
    assert (
        sum(row["count"] for label, row in report["methods"]["ours"].items() if label != "all") == 4
    )
    assert "| all | 4 | ours | 100.00 |" in table_path.read_text()
    assert Image.open(grid_path).size[0] == 4 * 256


def test_evaluate_errors(tmp_path: Path) -> None:
    cli = make_app()
    bench = tmp_path / "bench"
    made = CliRunner().invoke(
        cli,
        [
            "make-benchmark",
            "--photos",
            str(_photos(tmp_path / "photos")),
            "--out",
            str(bench),
            "--count",
            "1",
            "--no-progress",
        ],
    )
    assert made.exit_code == 0, made.output
    empty = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "none"), "--benchmark", str(bench)])
    assert empty.exit_code == 2 and "no results" in empty.output
    wrong = CliRunner().invoke(
        cli, ["evaluate", str(tmp_path), "--benchmark", str(bench), "--baseline", "lama"]
    )
    assert wrong.exit_code == 2 and "telea" in wrong.output
    no_weights = CliRunner().invoke(
        cli,
        [
            "evaluate",
            str(tmp_path / "out"),
            "--benchmark",
            str(bench),
            "--run-model",
            "--weights",
            str(tmp_path / "absent.safetensors"),
            "--no-progress",
        ],
    )
    assert no_weights.exit_code == 2 and "error:" in no_weights.output
    missing_photos = CliRunner().invoke(
        cli, ["make-benchmark", "--photos", str(tmp_path / "nope"), "--out", str(tmp_path / "b2")]
    )
    assert missing_photos.exit_code == 2 and "not found" in missing_photos.output


def _make(photos: Path, out: Path, *options: str) -> Result:
    """`unbrand make-benchmark --photos PHOTOS --out OUT OPTIONS...` through the CLI."""
    return CliRunner().invoke(make_app(), ["make-benchmark", "--photos", str(photos), "--out",
                                           str(out), *options])


def test_make_benchmark_badge_styles(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    made = _make(photos, tmp_path / "b", "--count", "3", "--styles", "badges", "--no-progress")
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "b" / "benchmark.json").read_text())
    assert manifest["styles"] == "badges"
    assert all(logo["label"].startswith("badge_") for item in manifest["images"]
               for logo in item["logos"])
    wrong = _make(photos, tmp_path / "c", "--styles", "fancy")
    assert wrong.exit_code == 2 and "--styles" in wrong.output


def test_make_benchmark_box_slack(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "photos")
    made = _make(photos, tmp_path / "b", "--count", "3", "--box-slack", "0.2", "--no-progress")
    assert made.exit_code == 0, made.output
    assert json.loads((tmp_path / "b" / "benchmark.json").read_text())["box_slack"] == 0.2
    too_loose = _make(photos, tmp_path / "c", "--box-slack", "2")
    assert too_loose.exit_code == 2 and "--box-slack" in too_loose.output
    # find-logo benchmarks draw their own boxes: the option would be silently ignored
    find = _make(photos, tmp_path / "d", "--kind", "find-logo", "--box-slack", "0.2")
    assert find.exit_code == 2 and "--box-slack" in find.output

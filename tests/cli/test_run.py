"""`unbrand run` (the embedded default) through CliRunner, and run_embedded's resume logic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from typer.testing import CliRunner

from inpaint_core.inference.planner import (
    PlannerConfig,
    grow,
)
from inpaint_core.masks.imageio import read_image
from inpaint_core.masks.modes import removal_mask
from tests.fixtures.images import encode, logo_scene, photo
from unbrand.cli.app import make_app
from worker.runner import RunHooks, run_embedded

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo"


def statuses(db_file: Path) -> dict[str, int]:
    engine = sa.create_engine(f"sqlite:///{db_file}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
    engine.dispose()
    return {status: count for status, count in rows}


def test_run_processes_the_demo_and_a_rerun_does_nothing(tmp_path: Path,
                                                          tiny_weights: Path) -> None:
    out = tmp_path / "out"
    args = ["run", str(DEMO), "--out", str(out), "--weights", str(tiny_weights),
            "--device", "cpu", "--precision", "fp32"]

    first = CliRunner().invoke(make_app(), args)

    assert first.exit_code == 0, first.output
    assert "6 images, 6 done, 0 failed" in first.output
    outputs = sorted(out.glob("demo-*/JPEGImages/*.jpg"))
    assert [p.name for p in outputs] == sorted(p.name for p in (DEMO / "JPEGImages").glob("*.jpg"))
    for path in outputs:  # same size as the input, and really changed inside the logo boxes
        before = read_image((DEMO / "JPEGImages" / path.name).read_bytes()).rgb
        after = read_image(path.read_bytes()).rgb
        assert after.shape == before.shape
        assert np.abs(after.astype(int) - before.astype(int)).max() > 40
    assert statuses(out / "unbrand.db") == {"done": 6}
    stamps = [p.stat().st_mtime_ns for p in outputs]

    second = CliRunner().invoke(make_app(), args)

    assert second.exit_code == 0, second.output
    assert "this run: 0 processed" in second.output
    assert [p.stat().st_mtime_ns for p in outputs] == stamps


class Interrupting:
    """A real Inpainter that raises KeyboardInterrupt on its `after`-th image (Ctrl-C mid-job)."""

    def __init__(self, inner: Any, after: int) -> None:
        self.inner, self.after, self.calls = inner, after, 0
        self.model_version = inner.model_version

    def fill(self, images: list[np.ndarray], masks: list[np.ndarray], fills: list[np.ndarray],
             *, keep_background: list[bool]) -> list[np.ndarray]:
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return self.inner.fill(images, masks, fills, keep_background=keep_background)

    def fill_region(self, mask: np.ndarray, margin: int | None = None) -> np.ndarray:
        return self.inner.fill_region(mask, margin)

    def realness(self, output: np.ndarray, fill: np.ndarray) -> float | None:
        return self.inner.realness(output, fill)


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path: Path, tiny_inpainter: Any) -> None:
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_embedded(str(DEMO), out_dir=out, inpainter=Interrupting(tiny_inpainter, after=3))
    # the interrupted job is handed back at once: no job of an embedded run stays running
    assert statuses(out / "unbrand.db") == {"done": 2, "queued": 4}

    seen: list[tuple[int, int]] = []
    summary = run_embedded(str(DEMO), out_dir=out, inpainter=tiny_inpainter,
                           hooks=RunHooks(start=lambda total, left: seen.append((total, left))))

    assert seen == [(6, 4)]
    assert summary.processed == 4 and summary.ok
    assert summary.counts["done"] == 6 and summary.total == 6


def test_bad_images_fail_alone_and_the_exit_code_says_so(tmp_path: Path,
                                                         tiny_weights: Path) -> None:
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    for name in ("a", "b"):
        (data / "images" / f"{name}.png").write_bytes(encode(photo()))
    (data / "images" / "c.png").write_bytes(b"truncated")
    for name in ("a", "b", "c"):
        mask = np.zeros((48, 64), np.uint8)
        mask[10:20, 10:30] = 255
        Image.fromarray(mask).save(data / "masks" / f"{name}.png")
    out = tmp_path / "out"

    result = CliRunner().invoke(make_app(), ["run", str(data), "--out", str(out),
                                             "--weights", str(tiny_weights)])

    assert result.exit_code == 1, result.output
    assert "3 images, 2 done, 1 failed" in result.output
    assert "failed images/c.png: bad image:" in result.output
    assert statuses(out / "unbrand.db") == {"done": 2, "failed": 1}


def test_missing_default_weights_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trimmed install without the shipped weights fails with a message, not a traceback."""
    import inpaint_core.model.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "default_weights_path", lambda: tmp_path / "none.safetensors")
    result = CliRunner().invoke(make_app(), ["run", str(DEMO), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no trained default weights" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()  # nothing written before the model is there


def test_unknown_format_and_missing_source_exit_2(tmp_path: Path, tiny_weights: Path) -> None:
    base = ["--out", str(tmp_path / "o"), "--weights", str(tiny_weights)]
    bad_format = CliRunner().invoke(make_app(), ["run", str(DEMO), "--format", "coco", *base])
    missing = CliRunner().invoke(make_app(), ["run", str(tmp_path / "nowhere"), *base])
    assert bad_format.exit_code == 2 and "'coco' is not one of" in bad_format.output
    assert missing.exit_code == 2 and "error:" in missing.output


def job_metrics(db_file: Path) -> dict[str, dict]:
    """{rel_path: metrics} of every job in an embedded run's database."""
    engine = sa.create_engine(f"sqlite:///{db_file}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT mask_spec, metrics FROM jobs")).all()
    engine.dispose()
    return {json.loads(spec)["rel_path"]: json.loads(metrics) for spec, metrics in rows}


def tiny_args(out: Path, weights: Path) -> list[str]:
    return ["--out", str(out), "--weights", str(weights), "--device", "cpu",
            "--precision", "fp32"]


def test_run_with_refine_leaves_the_background_of_the_box_alone(tmp_path: Path,
                                                                tiny_weights: Path) -> None:
    image, shape, box = logo_scene()
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.png").write_bytes(encode(image))
    (data / "list.csv").write_text("image,boxes\na.png," + " ".join(map(str, box)) + "\n")
    out = tmp_path / "out"

    result = CliRunner().invoke(make_app(), ["run", str(data / "list.csv"), "--mask-mode",
                                             "refine", *tiny_args(out, tiny_weights)])

    assert result.exit_code == 0, result.output
    [written] = out.glob("*/a.png")
    after = read_image(written.read_bytes()).rgb
    refined = removal_mask(image, boxes=[box], mode="refine").mask
    fill = grow(refined, PlannerConfig().margin)
    assert np.array_equal(after[~fill], image[~fill])  # byte-identical outside the fill
    in_box = np.zeros_like(fill)
    in_box[box[1]:box[3], box[0]:box[2]] = True
    assert (in_box & ~fill).sum() > 0.2 * in_box.sum()  # a good part of the box kept as it was
    assert np.abs(after[shape].astype(int) - image[shape].astype(int)).mean() > 20  # logo gone
    metrics = job_metrics(out / "unbrand.db")["a.png"]
    assert metrics["mask_mode"] == "refine"
    assert (metrics["refined_boxes"], metrics["fallback_boxes"]) == (1, 0)
    assert metrics["mask_ratio"] == pytest.approx(refined.mean())


def test_run_with_a_fixed_box_on_a_plain_image_folder(tmp_path: Path, tiny_weights: Path) -> None:
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    small, large = photo(64, 48), photo(128, 96, seed=1)
    (photos / "a.png").write_bytes(encode(small))
    (photos / "sub" / "b.png").write_bytes(encode(large))
    out = tmp_path / "out"
    fixed = ["--box", "50,38,62,46", "--reference-size", "64x48", "--anchor", "bottom-right"]

    result = CliRunner().invoke(make_app(), ["run", str(photos), *fixed,
                                             *tiny_args(out, tiny_weights)])

    assert result.exit_code == 0, result.output
    assert "2 images, 2 done, 0 failed" in result.output
    metrics = job_metrics(out / "unbrand.db")
    # the box keeps its 2 px / 2 px distance to the bottom-right corner on the larger image
    for rel, before, (x1, y1, x2, y2) in (("a.png", small, (50, 38, 62, 46)),
                                          ("sub/b.png", large, (114, 86, 126, 94))):
        [written] = out.glob(f"*/{rel}")
        after = read_image(written.read_bytes()).rgb
        mask = np.zeros(before.shape[:2], bool)
        mask[y1:y2, x1:x2] = True
        fill = grow(mask, PlannerConfig().margin)
        assert np.array_equal(after[~fill], before[~fill])
        assert not np.array_equal(after[mask], before[mask])
        assert metrics[rel]["mask_mode"] == "box" and "refined_boxes" not in metrics[rel]
        assert metrics[rel]["mask_ratio"] == pytest.approx(mask.mean())

    refine = CliRunner().invoke(make_app(), ["run", str(photos), *fixed, "--mask-mode", "refine",
                                             *tiny_args(out, tiny_weights)])
    assert refine.exit_code == 2
    assert "other options" in refine.output and "--name" in refine.output


def test_run_refuses_bad_fixed_values_and_unannotated_folders(tmp_path: Path,
                                                               tiny_weights: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(encode(photo()))
    out = tmp_path / "out"
    runner = CliRunner()
    cases = [
        (["--box", "5,5,1,1"], "is empty: x2 must exceed x1"),
        (["--box", "0.5,0.5,0.9,1.5"], "fractions of the image must lie within 0..1"),
        (["--box", "1,1,9,9", "--scale-with-image"], "needs the reference size"),
        (["--mask", str(tmp_path / "nowhere.png")], "cannot read the fixed mask"),
        (["--box", "1,1,9,9", "--mask-mode", "tight"], "'tight' is not one of"),
        ([], "cannot tell the dataset format"),  # last: this one gets as far as the database
    ]
    for extra, message in cases:
        result = runner.invoke(make_app(), ["run", str(photos), *extra,
                                            *tiny_args(out, tiny_weights)],
                               env={"COLUMNS": "200"})
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output, (extra, result.output)
        if extra:  # refused before the output folder or a job exists
            assert not out.exists()


def test_run_with_a_fixed_mask_scaled_to_each_image(tmp_path: Path, tiny_weights: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    large = photo(128, 96, seed=2)
    (photos / "a.png").write_bytes(encode(large))
    reference = np.zeros((48, 64), np.uint8)
    reference[40:46, 4:20] = 255  # drawn on a 64x48 frame
    Image.fromarray(reference).save(tmp_path / "wm.png")
    out = tmp_path / "out"

    result = CliRunner().invoke(make_app(), ["run", str(photos), "--mask", str(tmp_path / "wm.png"),
                                             "--scale-with-image", *tiny_args(out, tiny_weights)])

    assert result.exit_code == 0, result.output
    [written] = out.glob("*/a.png")
    after = read_image(written.read_bytes()).rgb
    mask = np.zeros((96, 128), bool)
    mask[80:92, 8:40] = True  # the mask at twice its size
    fill = grow(mask, PlannerConfig().margin)
    assert np.array_equal(after[~fill], large[~fill])
    assert job_metrics(out / "unbrand.db")["a.png"]["mask_ratio"] == pytest.approx(mask.mean())


def test_outputs_inside_the_dataset_folder_are_skipped_with_a_note(tmp_path: Path,
                                                                  tiny_weights: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(encode(photo()))
    out = photos / "cleaned"  # the output folder lives inside the dataset folder
    fixed = ["--box", "10,10,30,30"]
    first = CliRunner().invoke(make_app(), ["run", str(photos), *fixed,
                                            *tiny_args(out, tiny_weights)])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(make_app(), ["run", str(photos), *fixed,
                                            *tiny_args(out, tiny_weights)])
    assert again.exit_code == 0, again.output
    assert "1 images, 1 done" in again.output  # the first run's output is not a new input
    assert "note: 1 images inside the output folder" in again.output


def test_the_model_loads_only_when_a_job_needs_it(tmp_path: Path, tiny_weights: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.png").write_bytes(encode(photo()))
    out = tmp_path / "out"
    fixed = ["--box", "10,10,30,30"]
    first = CliRunner().invoke(make_app(), ["run", str(photos), *fixed,
                                            *tiny_args(out, tiny_weights)])
    assert first.exit_code == 0, first.output
    broken = tmp_path / "broken.safetensors"  # exists, so the quick check passes; cannot load
    broken.write_bytes(b"\x00" * 64)

    # nothing left to do: the (broken) model is never loaded
    again = CliRunner().invoke(make_app(), ["run", str(photos), *fixed,
                                            *tiny_args(out, broken)])
    assert again.exit_code == 0, again.output
    assert "this run: 0 processed" in again.output
    # a dataset problem is reported as such, not hidden behind a model load
    plain = CliRunner().invoke(make_app(), ["run", str(photos),
                                            *tiny_args(tmp_path / "out2", broken)])
    assert plain.exit_code == 2 and "cannot tell the dataset format" in plain.output
    # work to do: the broken file stops the run before any job, and the jobs stay queued
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.png").write_bytes(encode(photo(seed=3)))
    bad = CliRunner().invoke(make_app(), ["run", str(other), *fixed,
                                          *tiny_args(tmp_path / "out3", broken)])
    assert bad.exit_code == 2 and "broken.safetensors" in bad.output
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'out3' / 'unbrand.db'}")
    with engine.connect() as conn:
        assert list(conn.execute(sa.text("SELECT status FROM jobs")).scalars()) == ["queued"]
    engine.dispose()


def test_box_mode_with_a_refine_model_keeps_the_box_background_and_whole_repaints_it(
    tmp_path: Path,
) -> None:
    import torch

    from inpaint_core.inference.prefill import logo_pixels, telea
    from inpaint_core.model.checkpoint import save_inference_checkpoint
    from inpaint_core.model.config import AOTConfig
    from inpaint_core.model.network import AOTGenerator

    torch.manual_seed(0)  # residual with a zeroed output layer: returns its prefilled input
    config = AOTConfig(width=8, blocks=2, rates=(1, 2), work_size=256, name="tiny-refine",
                       prefill="refine", residual=True)
    weights = tmp_path / "refine.safetensors"
    save_inference_checkpoint(AOTGenerator(config).eval(), weights, card={"model_version": "r"})
    image, shape, box = logo_scene()
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.png").write_bytes(encode(image))
    (data / "list.csv").write_text("image,boxes\na.png," + " ".join(map(str, box)) + "\n")
    in_box = np.zeros(image.shape[:2], bool)
    in_box[box[1]:box[3], box[0]:box[2]] = True
    kept = in_box & ~logo_pixels(image, in_box)
    assert kept.sum() > 0.2 * in_box.sum()

    outputs = {}
    for mode in ("box", "whole"):
        out = tmp_path / mode
        result = CliRunner().invoke(make_app(), ["run", str(data / "list.csv"), "--mask-mode",
                                                 mode, *tiny_args(out, weights)])
        assert result.exit_code == 0, result.output
        [written] = out.glob("*/a.png")
        outputs[mode] = read_image(written.read_bytes()).rgb.astype(int)
        assert np.array_equal(outputs[mode][~in_box], image[~in_box])  # identical outside
        assert np.abs(outputs[mode][shape] - image[shape]).mean() > 20  # the logo is gone
        assert job_metrics(out / "unbrand.db")["a.png"]["mask_mode"] == mode
    # box: the background inside the box stays (the identity model adds no correction) ...
    assert np.abs(outputs["box"][kept] - image[kept]).max() <= 1
    # ... whole: every pixel of the box is repainted from the surroundings (Telea's fill, mixed
    # with PatchMatch's and given the context's grain: inference/texture.py)
    filled = telea(image, in_box).astype(int)
    assert np.abs(outputs["whole"][in_box] - filled[in_box]).mean() < 12
    assert np.abs(outputs["whole"][kept] - image[kept]).mean() > 3


def test_run_prints_the_database_url_without_its_password(
    tmp_path: Path, tiny_weights: Path, postgres_url: str
) -> None:
    # PostgreSQL here trusts local connections: the password is carried, never checked
    password = "S3cret/pw#x?y"  # written raw, as people do
    parsed = sa.make_url(postgres_url)
    url = (f"{parsed.drivername}://{parsed.username}:{password}@{parsed.host}:{parsed.port}/"
           f"{parsed.database}")
    result = CliRunner().invoke(make_app(), [
        "run", str(DEMO), "--out", str(tmp_path / "out"), "--db", url,
        "--weights", str(tiny_weights), "--device", "cpu", "--precision", "fp32"])

    assert result.exit_code == 0, result.output
    assert "6 images, 6 done" in result.output
    assert password not in result.output and "S3cret" not in result.output
    assert "job database:" in result.output  # (rich may wrap the URL onto the next line)
    assert f"{parsed.drivername}://postgres:***@127.0.0.1:5432/" in result.output

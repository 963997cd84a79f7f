"""`unbrand inpaint` through CliRunner: exit codes, stderr, outputs that differ only in the fill."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from PIL import Image
from typer.testing import CliRunner

from inpaint_core.inference.planner import grow
from inpaint_core.masks.imageio import read_image
from inpaint_core.masks.modes import removal_mask
from inpaint_core.model.checkpoint import save_inference_checkpoint
from inpaint_core.model.config import AOTConfig
from inpaint_core.model.network import AOTGenerator
from tests.fixtures.images import logo_scene
from unbrand.cli.inpaint import register

TINY = AOTConfig(width=8, blocks=2, rates=(1, 2), work_size=64, name="tiny")


@pytest.fixture
def app() -> typer.Typer:
    """The inpaint command on a group app (a one-command Typer app would drop the verb)."""
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_inference_checkpoint(AOTGenerator(TINY), tmp_path / "tiny.safetensors", card={})


def _photo(path: Path, mode: str = "RGB") -> np.ndarray:
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:120, 0:160]
    rgb = np.stack([xs, ys, xs + ys], axis=2).astype(np.uint8) + rng.integers(
        0, 20, (120, 160, 3)
    ).astype(np.uint8)
    image = Image.fromarray(rgb)
    if mode == "RGBA":
        image.putalpha(Image.fromarray(np.full((120, 160), 200, dtype=np.uint8)))
    image.save(path)
    return rgb


def test_boxes_change_only_the_fill_region(app: typer.Typer, weights: Path, tmp_path: Path) -> None:
    rgb = _photo(tmp_path / "in.png")
    out = tmp_path / "out" / "clean.png"
    args = ["inpaint", str(tmp_path / "in.png"), "--box", "20,30,60,50", "--box", "100,10,130,40"]
    result = CliRunner().invoke(
        app, [*args, "--out", str(out), "--weights", str(weights), "--margin", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    cleaned = read_image(out).rgb
    mask = np.zeros((120, 160), dtype=bool)
    mask[30:50, 20:60] = mask[10:40, 100:130] = True
    fill = grow(mask, 2)
    np.testing.assert_array_equal(cleaned[~fill], rgb[~fill])
    assert (cleaned != rgb).any(axis=2)[mask].mean() > 0.9


def test_refine_changes_the_logo_and_not_the_rest_of_its_box(
    app: typer.Typer, weights: Path, tmp_path: Path
) -> None:
    image, shape, box = logo_scene()
    Image.fromarray(image).save(tmp_path / "in.png")
    out = tmp_path / "clean.png"
    args = ["inpaint", str(tmp_path / "in.png"), "--box", ",".join(map(str, box)),
            "--mask-mode", "refine", "--margin", "2", "--out", str(out), "--weights", str(weights)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "note: box 1 refined to" in result.stderr
    cleaned = read_image(out).rgb
    refined = removal_mask(image, boxes=[box], mode="refine").mask
    fill = grow(refined, 2)
    np.testing.assert_array_equal(cleaned[~fill], image[~fill])
    in_box = np.zeros_like(fill)
    in_box[box[1] : box[3], box[0] : box[2]] = True
    assert (in_box & ~fill).sum() > 0.2 * in_box.sum()  # part of the box stays as it was
    assert (cleaned != image).any(axis=2)[shape].mean() > 0.9
    assert f"{int(refined.sum())} masked pixels" in result.stdout


def test_mask_file_and_jpeg_output(app: typer.Typer, weights: Path, tmp_path: Path) -> None:
    _photo(tmp_path / "in.png")
    mask = np.zeros((60, 80), dtype=np.uint8)  # half size, same aspect: rescaled
    mask[10:20, 10:30] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "clean.jpg"
    args = ["inpaint", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png")]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--weights", str(weights)])
    assert result.exit_code == 0, result.output
    assert read_image(out).format == "JPEG"


def test_alpha_is_kept_and_forces_png(app: typer.Typer, weights: Path, tmp_path: Path) -> None:
    _photo(tmp_path / "in.png", mode="RGBA")
    out = tmp_path / "clean.jpg"
    args = ["inpaint", str(tmp_path / "in.png"), "--box", "20,30,60,50", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--weights", str(weights)])
    assert result.exit_code == 0, result.output
    assert not out.exists()
    written = read_image(tmp_path / "clean.png")
    assert written.format == "PNG" and written.alpha is not None and (written.alpha == 200).all()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "exactly one of --mask or --box"),
        (["--box", "1,2,3"], "four integers"),
        (["--box", "5,5,1,1"], "inverted"),
        (["--box", "1,1,9,9", "--mask", "m.png"], "exactly one of --mask or --box"),
        (["--mask", "nowhere.png"], "no such file"),
        (["--mask", "m.png", "--mask-mode", "refine"], "a --mask is used as it is"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(
    app: typer.Typer, weights: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    _photo(tmp_path / "in.png")
    out = tmp_path / "out.png"
    args = [
        "inpaint",
        str(tmp_path / "in.png"),
        "--out",
        str(out),
        "--weights",
        str(weights),
        *extra,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not out.exists()


def test_bad_files_exit_2(app: typer.Typer, weights: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    runner = CliRunner()
    out = tmp_path / "out.png"
    result = runner.invoke(
        app,
        ["inpaint", str(broken), "--box", "1,1,5,5", "--out", str(out), "--weights", str(weights)],
    )
    assert result.exit_code == 2 and "broken.jpg" in result.stderr
    _photo(tmp_path / "in.png")
    base = ["inpaint", str(tmp_path / "in.png"), "--box", "1,1,5,5"]
    result = runner.invoke(
        app, [*base, "--out", str(tmp_path / "out.xyz"), "--weights", str(weights)]
    )
    assert result.exit_code == 2 and "cannot write image format" in result.stderr
    result = runner.invoke(
        app, [*base, "--out", str(out), "--weights", str(tmp_path / "missing.safetensors")]
    )
    assert result.exit_code == 2 and "no such checkpoint" in result.stderr
    wrong = Image.fromarray(np.zeros((50, 50), dtype=np.uint8))
    wrong.save(tmp_path / "square.png")
    result = runner.invoke(
        app,
        [
            *base[:2],
            "--mask",
            str(tmp_path / "square.png"),
            "--out",
            str(out),
            "--weights",
            str(weights),
        ],
    )
    assert result.exit_code == 2 and "different aspect ratio" in result.stderr
    assert not out.exists()

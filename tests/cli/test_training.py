"""`unbrand train` on a tiny config (2 iterations, resume to 4), `unbrand export` (fp16 + card)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from inpaint_core.model.checkpoint import read_state_dict
from inpaint_core.model.config import AOTConfig
from inpaint_core.model.export import LABEL_CONVENTION, NO_VGG_NOTE
from inpaint_core.model.network import AOTGenerator
from unbrand.cli.app import make_app

TINY = {"width": 8, "blocks": 2, "rates": [1, 2], "work_size": 32, "name": "tiny"}


def _photos(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(count):
        base = np.linspace(0, 255, 96, dtype=np.float32)
        img = np.stack([np.add.outer(base, base) / 2] * 3, axis=-1) + rng.normal(0, 8, (96, 96, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"photo{i}.jpg")
    return folder


@pytest.fixture
def tiny_run(tmp_path: Path) -> tuple[Path, list[str]]:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    a, b = _photos(tmp_path / "a", 2), _photos(tmp_path / "b", 1)
    run = tmp_path / "run"
    args = [
        "train",
        "--data",
        str(a),
        str(b),
        "--out",
        str(run),
        "--size",
        "64",
        "--batch",
        "2",
        "--config",
        str(config),
        "--save-every",
        "2",
        "--sample-every",
        "2",
        "--no-progress",
        "--seed",
        "3",
    ]
    return run, args


def _read_log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_train_resume_and_export(tiny_run: tuple[Path, list[str]], tmp_path: Path) -> None:
    run, args = tiny_run
    cli = make_app()
    first = CliRunner().invoke(cli, [*args, "--iterations", "2"])
    assert first.exit_code == 0, first.output
    assert "iteration 2" in first.output
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert set(state) >= {
        "generator",
        "discriminator",
        "opt_g",
        "opt_d",
        "iteration",
        "model_config",
        "train_config",
    }
    assert state["iteration"] == 2
    assert state["model_config"]["width"] == 8 and state["model_config"]["work_size"] == 64
    assert state["train_config"]["data"] == [str(tmp_path / "a"), str(tmp_path / "b")]
    g_after_2 = {k: v.clone() for k, v in state["generator"].items()}

    second = CliRunner().invoke(cli, [*args, "--iterations", "4"])
    assert second.exit_code == 0, second.output
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["iteration"] == 4
    assert [row["iteration"] for row in _read_log(run)] == [1, 2, 3, 4]  # resumed, not restarted
    assert any(not torch.equal(g_after_2[k], state["generator"][k]) for k in g_after_2)
    assert all(np.isfinite(row["total_g"]) and np.isfinite(row["adv_d"]) for row in _read_log(run))
    for it in (2, 4):
        grid = Image.open(run / "samples" / f"iter-{it:06d}.png")
        assert grid.size == (
            2 * 64,
            4 * 64,
        )  # batch 2 columns; input / output / composite / original rows

    out = tmp_path / "export" / "tiny.safetensors"
    exported = CliRunner().invoke(cli, ["export", str(run), "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    tensors, card = read_state_dict(out)
    assert set(tensors) == set(state["generator"])
    for key, value in state["generator"].items():
        assert tensors[key].dtype == torch.float16
        assert torch.equal(tensors[key], value.to(torch.float16))
    assert card["config"] == {**TINY, "work_size": 64, "prefill": "white", "residual": False}
    assert card["iterations"] == 4
    assert card["losses"] == ["l1", "sm-patchgan-adversarial"]
    assert card["loss_weights"] == {"l1": 1.0, "sm-patchgan-adversarial": 0.01}
    assert card["label_convention"] == LABEL_CONVENTION
    assert NO_VGG_NOTE in card["notes"]
    assert card["training_data"]["photos"] == 3
    assert set(card) >= {
        "config",
        "iterations",
        "losses",
        "training_data",
        "label_convention",
        "metrics",
        "licence",
    }
    generator = AOTGenerator(AOTConfig.from_dict(card["config"]))
    generator.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)


def test_no_resume_starts_over(tiny_run: tuple[Path, list[str]]) -> None:
    run, args = tiny_run
    cli = make_app()
    assert CliRunner().invoke(cli, [*args, "--iterations", "1"]).exit_code == 0
    again = CliRunner().invoke(cli, [*args, "--iterations", "1", "--no-resume"])
    assert again.exit_code == 0, again.output
    assert torch.load(run / "checkpoints" / "last.pt", weights_only=True)["iteration"] == 1


def test_export_with_metrics_and_licence(tiny_run: tuple[Path, list[str]], tmp_path: Path) -> None:
    run, args = tiny_run
    cli = make_app()
    assert CliRunner().invoke(cli, [*args, "--iterations", "1"]).exit_code == 0
    metrics = tmp_path / "eval.json"
    metrics.write_text(json.dumps({"methods": {"ours": {"all": {"psnr_box": 21.5}}}}))
    out = tmp_path / "w.safetensors"
    result = CliRunner().invoke(
        cli,
        [
            "export",
            str(run),
            "--out",
            str(out),
            "--metrics",
            str(metrics),
            "--licence",
            "research only",
        ],
    )
    assert result.exit_code == 0, result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["metrics"]["methods"]["ours"]["all"]["psnr_box"] == 21.5
    assert card["licence"] == "research only"
    # a snapshot holds only the generator: the card takes the losses from last.pt
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    snapshot = run / "checkpoints" / "iter-000001.pt"
    torch.save({k: state[k] for k in ("generator", "model_config", "iteration")}, snapshot)
    snap_out = tmp_path / "snap.safetensors"
    result = CliRunner().invoke(
        cli, ["export", str(run), "--out", str(snap_out), "--checkpoint", str(snapshot)]
    )
    assert result.exit_code == 0, result.output
    snap_card = json.loads(snap_out.with_suffix(".json").read_text())
    assert snap_card["iterations"] == 1 and snap_card["losses"] == ["l1", "sm-patchgan-adversarial"]


def test_train_and_export_errors(tmp_path: Path) -> None:
    cli = make_app()
    missing = CliRunner().invoke(
        cli,
        [
            "train",
            "--data",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "r"),
            "--iterations",
            "1",
            "--size",
            "64",
            "--no-progress",
        ],
    )
    assert missing.exit_code == 2 and "not found" in missing.output
    bad_size = CliRunner().invoke(
        cli,
        [
            "train",
            "--data",
            str(tmp_path),
            "--out",
            str(tmp_path / "r"),
            "--iterations",
            "1",
            "--size",
            "100",
        ],
    )
    assert bad_size.exit_code == 2 and "multiple of 8" in bad_size.output
    no_run = CliRunner().invoke(
        cli, ["export", str(tmp_path / "r2"), "--out", str(tmp_path / "x.safetensors")]
    )
    assert no_run.exit_code == 2 and "no training checkpoint" in no_run.output
    bad_vgg = tmp_path / "vgg.pth"
    bad_vgg.write_bytes(b"nope")
    _photos(tmp_path / "p", 1)
    vgg = CliRunner().invoke(
        cli,
        [
            "train",
            "--data",
            str(tmp_path / "p"),
            "--out",
            str(tmp_path / "r3"),
            "--iterations",
            "1",
            "--size",
            "64",
            "--vgg-weights",
            str(bad_vgg),
            "--config",
            "lite",
            "--no-progress",
        ],
    )
    assert vgg.exit_code == 2 and "cannot be read" in vgg.output


def test_train_critic_writes_a_loadable_critic(tmp_path: Path, tiny_weights: Path) -> None:
    from inpaint_core.evaluation.critic import Critic

    photos = _photos(tmp_path / "photos", 3)
    out = tmp_path / "critic.safetensors"
    args = ["train-critic", "--data", str(photos), "--out", str(out), "--weights",
            str(tiny_weights), "--size", "64", "--iterations", "3", "--batch", "2",
            "--device", "cpu"]
    result = CliRunner().invoke(make_app(), args)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["size"] == 64 and card["iterations"] == 3 and card["width"] == 64
    critic = Critic.load(out)
    image = np.full((80, 80, 3), 120, np.uint8)
    hole = np.zeros((80, 80), bool)
    hole[30:50, 30:50] = True
    score = critic.realness(image, hole)
    assert score is not None and 0.0 <= score <= 1.0

    bad = CliRunner().invoke(make_app(), [*args[:-8], "--size", "60", "--iterations", "1"])
    assert bad.exit_code == 2 and "multiple of 8" in bad.output


def test_train_from_init_weights_with_a_telea_prefill(
    tiny_run: tuple[Path, list[str]], tmp_path: Path
) -> None:
    run, args = tiny_run
    torch.manual_seed(7)
    start = AOTGenerator(AOTConfig.from_dict({**TINY, "work_size": 64}))
    init = tmp_path / "start.pt"
    torch.save(start.state_dict(), init)
    result = CliRunner().invoke(
        make_app(),
        [*args, "--iterations", "1", "--init", str(init), "--prefill", "telea",
         "--mask-kinds", "boxes,logo", "--lr", "0"],
    )
    assert result.exit_code == 0, result.output
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["model_config"]["prefill"] == "telea"
    assert state["train_config"]["mask_kinds"] == ["boxes", "logo"]
    assert state["train_config"]["init"] == str(init)
    # lr 0: one step leaves the generator exactly where --init put it
    for key, value in start.state_dict().items():
        assert torch.equal(state["generator"][key], value), key
    assert state["model_config"]["residual"] is False
    exported = tmp_path / "telea.safetensors"
    export = CliRunner().invoke(make_app(), ["export", str(run), "--out", str(exported)])
    assert export.exit_code == 0, export.output
    assert json.loads(exported.with_suffix(".json").read_text())["config"]["prefill"] == "telea"


def test_train_refuses_bad_prefill_kinds_and_init(
    tiny_run: tuple[Path, list[str]], tmp_path: Path
) -> None:
    _, args = tiny_run
    cli = make_app()
    bad_prefill = CliRunner().invoke(cli, [*args, "--iterations", "1", "--prefill", "grey"])
    assert bad_prefill.exit_code == 2 and "prefill must be one of" in bad_prefill.output
    one = [*args, "--iterations", "1"]
    bad_kinds = CliRunner().invoke(cli, [*one, "--mask-kinds", "boxes,blobs"])
    assert bad_kinds.exit_code == 2 and "blobs" in bad_kinds.output
    missing = CliRunner().invoke(cli, [*one, "--init", str(tmp_path / "no.pt")])
    assert missing.exit_code == 2 and "not found" in missing.output
    other = tmp_path / "other.pt"
    shallower = AOTGenerator(AOTConfig(width=8, blocks=1, rates=(1, 2), work_size=64))
    torch.save(shallower.state_dict(), other)
    mismatch = CliRunner().invoke(cli, [*one, "--init", str(other)])
    assert mismatch.exit_code == 2 and "--init" in mismatch.output


def test_bf16_autocast_by_default_only_with_cuda_or_amx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inpaint_core.training.train as train_module
    from inpaint_core.training.train import TrainConfig, Trainer

    photos = _photos(tmp_path / "p", 1)
    config = AOTConfig.from_dict(TINY)
    for amx, forced, expected in ((False, None, False), (True, None, True), (False, True, True),
                                  (True, False, False)):
        monkeypatch.setattr(train_module, "cpu_has_amx", lambda amx=amx: amx)
        cfg = TrainConfig(data=[str(photos)], out=str(tmp_path / "r"), size=64, device="cpu",
                          mixed_precision=forced)
        assert Trainer(cfg, config).uses_bf16() is expected, (amx, forced)


def test_residual_run_from_full_repaint_weights_starts_at_its_input(
    tiny_run: tuple[Path, list[str]], tmp_path: Path
) -> None:
    run, args = tiny_run
    torch.manual_seed(8)
    start = AOTGenerator(AOTConfig.from_dict({**TINY, "work_size": 64}))
    init = tmp_path / "start.pt"
    torch.save(start.state_dict(), init)
    result = CliRunner().invoke(
        make_app(),
        [*args, "--iterations", "1", "--init", str(init), "--prefill", "telea", "--residual",
         "--lr", "0"],
    )
    assert result.exit_code == 0, result.output
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["model_config"]["residual"] is True
    output_layer = ("decoder.4.weight", "decoder.4.bias")
    for key, value in start.state_dict().items():
        if key in output_layer:  # zeroed: the run starts from the prefill itself
            assert not state["generator"][key].any() and value.any(), key
        else:
            assert torch.equal(state["generator"][key], value), key


def test_train_a_refine_model_on_pasted_logos(
    tiny_run: tuple[Path, list[str]], tmp_path: Path
) -> None:
    run, args = tiny_run
    cli = make_app()
    result = CliRunner().invoke(
        cli, [*args, "--iterations", "2", "--prefill", "refine", "--residual", "--logo-share", "1"]
    )
    assert result.exit_code == 0, result.output
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["model_config"]["prefill"] == "refine"
    assert state["train_config"]["logo_share"] == 1.0
    grid = Image.open(run / "samples" / "iter-000002.png")
    assert grid.size == (2 * 64, 4 * 64)  # rows: input, output, composite, truth of 2 samples
    no_residual = CliRunner().invoke(cli, [*args, "--iterations", "1", "--prefill", "refine"])
    assert no_residual.exit_code == 2 and "residual" in no_residual.output
    share = CliRunner().invoke(cli, [*args, "--iterations", "1", "--logo-share", "1.5"])
    assert share.exit_code == 2 and "--logo-share" in share.output

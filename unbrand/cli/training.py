"""`unbrand train` (resumable AOT-GAN training) and `unbrand export` (fp16 weights + model card)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from unbrand.cli.exits import fail
from unbrand.cli.options import Device, device_option

CONFIG_HELP = (
    "generator: 'reference' (the paper's), 'lite' (CPU-friendly) or a JSON file of AOTConfig fields"
)


def _model_config(name: str):  # type: ignore[no-untyped-def]
    from inpaint_core.model.config import AOTConfig

    path = Path(name)
    if path.suffix == ".json":
        if not path.is_file():
            raise typer.BadParameter(f"config file not found: {path}", param_hint="--config")
        try:
            return AOTConfig.from_dict(json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise typer.BadParameter(f"{path}: {exc}", param_hint="--config") from exc
    try:
        return AOTConfig.named(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from exc


def _mask_kinds(text: str | None) -> tuple[str, ...] | None:
    from inpaint_core.training.holes import MASK_KINDS

    if text is None:
        return None
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(MASK_KINDS))
    if not kinds or unknown:
        raise typer.BadParameter(
            f"unknown kinds {unknown or text!r}; choose from {', '.join(MASK_KINDS)}",
            param_hint="--mask-kinds",
        )
    return kinds


def train_command(
    data: list[Path] = typer.Option(
        ...,
        "--data",
        help="folder of training photos (searched recursively); repeat or list several",
    ),
    more_data: list[Path] = typer.Argument(
        None, help="further photo folders, so that `--data A B C` works", show_default=False
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="run folder: checkpoints/, samples/ and log.jsonl go here"
    ),
    size: int = typer.Option(
        256,
        "--size",
        help="training crop side in pixels (256 or 512 for real runs; a multiple of 8, >= 64)",
    ),
    iterations: int = typer.Option(
        ..., "--iterations", help="train until this iteration count (counting resumed ones)"
    ),
    batch: int = typer.Option(8, "--batch", help="images per iteration"),
    resume: bool = typer.Option(
        True, "--resume/--no-resume", help="continue from RUN_DIR/checkpoints/last.pt if it exists"
    ),
    vgg_weights: Path | None = typer.Option(
        None,
        "--vgg-weights",
        help="torchvision VGG19 state_dict (.pth/.safetensors); adds perceptual and style losses",
    ),
    config: str = typer.Option("lite", "--config", help=CONFIG_HELP),
    lr: float = typer.Option(1e-4, "--lr", help="Adam learning rate of both networks"),
    hole_weight: float = typer.Option(
        0.0, "--hole-weight", help="extra L1 weight inside the hole (0 = the paper's plain L1)"
    ),
    device: Device = device_option(),
    mixed_precision: bool | None = typer.Option(
        None,
        "--mixed-precision/--fp32",
        help="bfloat16 autocast; default: on with CUDA and on CPUs with AMX, else fp32 "
        "(without AMX a CPU's bf16 backward pass is many times slower than fp32)",
        show_default=False,
    ),
    save_every: int = typer.Option(
        200, "--save-every", help="write checkpoints/last.pt every N iterations"
    ),
    sample_every: int = typer.Option(
        200, "--sample-every", help="write samples/iter-N.png every N iterations"
    ),
    seed: int = typer.Option(0, "--seed", help="seed of weights, crops and masks"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show the progress bar"),
    init: Path | None = typer.Option(
        None,
        "--init",
        help="start the generator from these weights (.safetensors or .pt of the same shape); "
        "ignored when the run folder already has a checkpoint to resume",
    ),
    prefill: str | None = typer.Option(
        None,
        "--prefill",
        help="what the generator sees in the hole: 'white' (the paper's), 'telea' "
        "(OpenCV's Telea fill, refined by the network) or 'refine' (only a box's logo pixels "
        "are Telea-filled, its background stays; trained on pasted logos; needs --residual); "
        "default: the config's",
    ),
    residual: bool | None = typer.Option(
        None,
        "--residual/--no-residual",
        help="the network predicts a correction added to its (prefilled) input instead of the "
        "whole image (our variant; the paper's is --no-residual); default: the config's",
        show_default=False,
    ),
    logo_share: float = typer.Option(
        0.75,
        "--logo-share",
        help="--prefill refine: share of samples with pasted logos (the rest are plain holes)",
    ),
    mask_kinds: str | None = typer.Option(
        None,
        "--mask-kinds",
        help="comma-separated training mask kinds drawn uniformly (repeat one to weight it), "
        "e.g. boxes,boxes,logo,strokes; default: strokes, boxes and logo shapes evenly",
    ),
) -> None:
    """Train the AOT-GAN generator against the SM-PatchGAN discriminator on folders of photos."""
    from inpaint_core.errors import InpaintError
    from inpaint_core.model.config import AOTConfig
    from inpaint_core.training.train import TrainConfig, train

    if size < 64 or size % 8:
        raise typer.BadParameter("must be a multiple of 8 and at least 64", param_hint="--size")
    if min(iterations, batch, save_every, sample_every) < 1:
        raise typer.BadParameter(
            "--iterations, --batch, --save-every and --sample-every must be >= 1"
        )
    model_config = _model_config(config)
    overrides = {
        key: value
        for key, value in (("prefill", prefill), ("residual", residual))
        if value is not None
    }
    try:
        model_config = AOTConfig.from_dict({**model_config.to_dict(), **overrides})
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--prefill") from exc
    kinds = _mask_kinds(mask_kinds)
    if not 0.0 <= logo_share <= 1.0:
        raise typer.BadParameter("must be between 0 and 1", param_hint="--logo-share")
    if init is not None and not init.is_file():
        raise typer.BadParameter(f"weights file not found: {init}", param_hint="--init")
    cfg = TrainConfig(
        data=[str(d) for d in [*data, *(more_data or [])]],
        out=str(out),
        size=size,
        iterations=iterations,
        batch=batch,
        model=model_config.name,
        lr_g=lr,
        lr_d=lr,
        w_hole=hole_weight,
        vgg_weights=str(vgg_weights) if vgg_weights else None,
        device=device.value,
        mixed_precision=mixed_precision,
        save_every=save_every,
        sample_every=sample_every,
        seed=seed,
        init=str(init) if init else None,
        logo_share=logo_share,
        **({"mask_kinds": kinds} if kinds else {}),
    )
    if not resume and (out / "checkpoints" / "last.pt").exists():
        typer.echo(
            f"--no-resume: starting over; {out}/checkpoints/last.pt will be overwritten", err=True
        )
    try:
        trainer = train(cfg, resume=resume, progress=progress, model_config=model_config)
    except (InpaintError, FileNotFoundError) as exc:
        fail(str(exc))
    typer.echo(f"iteration {trainer.iteration}; checkpoint {out / 'checkpoints' / 'last.pt'}")


def export_command(
    run_dir: Path = typer.Argument(..., help="run folder written by `unbrand train`"),
    out: Path = typer.Option(
        ..., "--out", "-o", help="output .safetensors path; the JSON model card goes beside it"
    ),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="a snapshot (checkpoints/iter-N.pt) instead of last.pt"
    ),
    metrics: Path | None = typer.Option(
        None, "--metrics", help="JSON written by `unbrand evaluate --json` to put in the card"
    ),
    licence: str | None = typer.Option(
        None, "--licence", help="licence text for the card (default: inherits the training photos')"
    ),
    note: list[str] = typer.Option(None, "--note", help="a line for the card's notes; repeatable"),
) -> None:
    """Write the slim fp16 inference checkpoint (generator only) and its JSON model card."""
    from inpaint_core.errors import InpaintError
    from inpaint_core.model.checkpoint import card_path
    from inpaint_core.model.export import export_run

    if out.suffix != ".safetensors":
        raise typer.BadParameter("must end in .safetensors", param_hint="--out")
    metric_data = None
    if metrics is not None:
        try:
            metric_data = json.loads(metrics.read_text())
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"{metrics}: {exc}", param_hint="--metrics") from exc
    try:
        card = export_run(
            run_dir, out, checkpoint=checkpoint, metrics=metric_data, licence=licence, notes=note
        )
    except InpaintError as exc:
        fail(str(exc))
    typer.echo(
        f"wrote {out} ({card['parameters']:,} parameters, iteration {card['iterations']}) "
        f"and {card_path(out)}"
    )


def register(app: typer.Typer) -> None:
    """Add `train` and `export` to the app."""
    app.command("train")(train_command)
    app.command("export")(export_command)

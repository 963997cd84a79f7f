"""`unbrand train-critic`: fit the SM-PatchGAN discriminator that scores how real fills look."""

from __future__ import annotations

from pathlib import Path

import typer

from unbrand.cli.exits import fail
from unbrand.cli.options import Device, device_option


def train_critic_command(
    data: list[Path] = typer.Option(
        ..., "--data", help="folder of real photos (searched recursively); repeat for several"
    ),
    out: Path = typer.Option(
        ..., "--out", "-o",
        help="critic weights to write (.safetensors; a .json card goes beside it)"
    ),
    weights: Path | None = typer.Option(
        None, "--weights", "-w",
        help="the generator whose fills it learns to spot (default: shipped)"
    ),
    size: int = typer.Option(128, "--size", help="crop side in pixels (a multiple of 8, >= 64)"),
    iterations: int = typer.Option(2000, "--iterations", min=1, help="discriminator updates"),
    batch: int = typer.Option(8, "--batch", min=1, help="real and fake crops per update"),
    device_choice: Device = device_option(),
    seed: int = typer.Option(0, "--seed", help="seed of crops and masks"),
    logo_share: float = typer.Option(
        0.0, "--logo-share", min=0.0, max=1.0,
        help="share of the fakes that are photos with a built-in logo pasted on them (the logo's "
        "pixels labelled fake), so that a logo left in place scores low too",
    ),
    init: Path | None = typer.Option(
        None, "--init", help="start from these critic weights (.safetensors) instead of random"
    ),
) -> None:
    """Train the critic behind the dashboard's realness figure against a frozen generator.

    Real crops are labelled 1, composites of the generator's fills get the paper's soft,
    Gaussian-blurred hole labels. The worker reports the critic's verdict on each filled area,
    relative to its verdict on the untouched pixels around it, as `disc_realness`
    (inpaint_core/evaluation/critic.py).
    """
    import torch

    from inpaint_core.errors import CheckpointError
    from inpaint_core.evaluation.critic import CriticTraining, save_critic, train_critic
    from inpaint_core.model.checkpoint import load_default_generator, load_generator

    if size < 64 or size % 8:
        raise typer.BadParameter("must be a multiple of 8 and at least 64", param_hint="--size")
    device = device_choice.value
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        generator, card = load_generator(weights) if weights else load_default_generator()
    except CheckpointError as exc:
        fail(str(exc))
    options = CriticTraining(data=[str(d) for d in data], size=size, iterations=iterations,
                             batch=batch, seed=seed, device=device, logo_share=logo_share,
                             init=str(init) if init else None)
    try:
        disc, losses = train_critic(generator.float(), options)
    except FileNotFoundError as exc:
        fail(str(exc))
    tail = losses[-min(100, len(losses)):]
    path = save_critic(disc, out, card={
        "size": size,
        "iterations": iterations,
        "batch": batch,
        "generator": str(weights) if weights else "shipped default (aot-default.safetensors)",
        "generator_iterations": card.get("iterations"),
        "training_data": [str(d) for d in data],
        "loss": "SM-PatchGAN L_D = E[(D(z) - blur(1 - m))^2] + E[(D(x) - 1)^2], paper labels",
        "final_loss_mean_last_100": sum(tail) / len(tail),
        "logo_share": logo_share,
        "init": str(init) if init else None,
    })
    mean = sum(tail) / len(tail)
    typer.echo(f"wrote {path} (mean loss over the last {len(tail)} updates: {mean:.4f})")


def register(app: typer.Typer) -> None:
    """Add `train-critic` to the app."""
    app.command("train-critic")(train_critic_command)

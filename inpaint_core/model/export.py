"""Turn a training run into a slim inference checkpoint: fp16 generator weights + a JSON model card.

`export_run(run_dir, out)` reads `checkpoints/last.pt` (or a snapshot), drops the discriminator and
the optimisers, and writes `out` (safetensors, fp16, the reference key layout) with `<stem>.json`
beside it. The card keys are fixed: config, iterations, losses, training_data, label_convention,
metrics, licence (plus a few descriptive extras).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from inpaint_core.errors import CheckpointError
from inpaint_core.model.checkpoint import save_inference_checkpoint
from inpaint_core.model.config import AOTConfig
from inpaint_core.model.network import AOTGenerator, count_parameters

CARD_FORMAT = "unbrand-aot-card/1"
LABEL_CONVENTION = (
    "paper (SM-PatchGAN): D(real) target 1 on every patch; D(composite) target = "
    "Gaussian-blurred (1 - m) shrunk to D's output size (71 px / sigma 10 at 512 px, scaled with "
    "the crop size), so hole patches -> 0; generator target 1 on hole patches. The reference "
    "code's labels are flipped; these are not."
)
DEFAULT_LICENCE = "inherits the licences of the training photos (see training_data)"
NO_VGG_NOTE = (
    "trained WITHOUT the perceptual and style losses: VGG19 pretrained weights could not be "
    "downloaded in the training environment (pass --vgg-weights to enable them)"
)


def load_run_state(run_dir: str | Path, checkpoint: str | Path | None = None) -> dict[str, Any]:
    """The training state of a run (`checkpoints/last.pt` unless `checkpoint` names a snapshot)."""
    run = Path(run_dir)
    path = Path(checkpoint) if checkpoint else run / "checkpoints" / "last.pt"
    if not path.is_file():
        raise CheckpointError(f"no training checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or "generator" not in state or "model_config" not in state:
        raise CheckpointError(
            f"{path}: not an unbrand training checkpoint (needs generator and model_config)"
        )
    if "train_config" not in state and (run / "checkpoints" / "last.pt").is_file() and checkpoint:
        last = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
        state["train_config"] = last.get("train_config", {})  # snapshots keep only the generator
    return state


def _training_data(train_config: dict[str, Any]) -> dict[str, Any]:
    from inpaint_core.training.data import list_photos

    folders = [str(f) for f in train_config.get("data", [])]
    try:
        photos: int | None = len(list_photos([Path(f) for f in folders])) if folders else None
    except FileNotFoundError:
        photos = None  # exported on another machine than the one that trained
    return {
        "folders": folders,
        "photos": photos,
        "crop_size": train_config.get("size"),
        "batch": train_config.get("batch"),
    }


def make_card(
    state: dict[str, Any],
    *,
    metrics: dict[str, Any] | None = None,
    licence: str | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The JSON model card of a training state."""
    from inpaint_core.training.train import TrainConfig

    train_config = dict(state.get("train_config") or {})
    config = AOTConfig.from_dict(state["model_config"])
    known = {k: v for k, v in train_config.items() if k in TrainConfig.__dataclass_fields__}
    losses = TrainConfig(**{"data": [], "out": "", **known}).losses_used() if train_config else []
    names = {
        "l1": "w_rec",
        "l1-hole": "w_hole",
        "perceptual": "w_per",
        "style": "w_sty",
        "sm-patchgan-adversarial": "w_adv",
    }
    weights = {
        loss: train_config[names[loss]] for loss in losses if names.get(loss) in train_config
    }
    all_notes = list(notes or [])
    if train_config and not train_config.get("vgg_weights"):
        all_notes.insert(0, NO_VGG_NOTE)
    return {
        "format": CARD_FORMAT,
        "config": config.to_dict(),
        "iterations": int(state.get("iteration", 0)),
        "losses": losses,
        "loss_weights": weights,
        "optimiser": {k: train_config.get(k) for k in ("lr_g", "lr_d", "betas")},
        "training_data": _training_data(train_config),
        "label_convention": LABEL_CONVENTION,
        "metrics": metrics or {},
        "licence": licence or DEFAULT_LICENCE,
        "notes": all_notes,
        "precision": "fp16",
        "parameters": count_parameters(AOTGenerator(config)),
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def export_run(
    run_dir: str | Path,
    out: str | Path,
    *,
    checkpoint: str | Path | None = None,
    metrics: dict[str, Any] | None = None,
    licence: str | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """Write the slim inference checkpoint of a run to `out`; returns the card."""
    state = load_run_state(run_dir, checkpoint)
    config = AOTConfig.from_dict(state["model_config"])
    generator = AOTGenerator(config)
    try:
        generator.load_state_dict(state["generator"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"generator weights do not fit {config}: {exc}") from exc
    card = make_card(state, metrics=metrics, licence=licence, notes=notes)
    save_inference_checkpoint(generator, out, card=card)
    return card

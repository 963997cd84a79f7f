"""Loading and saving generator weights.

Two formats are read:
- the authors' `G0000000.pt` / `D0000000.pt`: a plain `torch.save` of a state_dict (or a dict
  wrapping one), read with `torch.load(weights_only=True)`; the config is inferred from the
  tensor shapes when none is given;
- ours: `<name>.safetensors` (fp16 or fp32 tensors; the config also sits in the header
  metadata) plus a JSON model card `<name>.json` beside it (config, training data,
  iterations, losses, measured metrics).

Every failure is a CheckpointError that says what is wrong (missing file, not a checkpoint,
truncated, missing / unexpected / mismatched-shape keys).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from inpaint_core.errors import CheckpointError, NoDefaultWeightsError
from inpaint_core.model.config import AOTConfig
from inpaint_core.model.network import AOTGenerator, PatchDiscriminator

FORMAT_NAME = "unbrand-aot"
WRAPPER_KEYS = ("generator", "netG", "state_dict", "model", "G", "params", "discriminator", "netD")
_LISTED = 8  # key names quoted in an error message before "... and N more"


def default_weights_path() -> Path:
    """The shipped default generator: inpaint_core/weights/aot-default.safetensors."""
    return Path(__file__).resolve().parent.parent / "weights" / "aot-default.safetensors"


def card_path(path: str | Path) -> Path:
    """The JSON model card beside a weights file."""
    return Path(path).with_suffix(".json")


def _is_safetensors(head: bytes) -> bool:
    # 8-byte little-endian header length, then a JSON object
    return len(head) >= 9 and head[8:9] == b"{"


def _read_torch(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: not a weights-only PyTorch checkpoint (refusing to unpickle code): {exc}"
        ) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError,
            SafetensorError) as exc:  # torch.load sniffs safetensors headers too
        raise CheckpointError(
            f"{path}: cannot read PyTorch checkpoint (truncated or corrupt?): {exc}"
        ) from exc


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: cannot read safetensors file (truncated or corrupt?): {exc}"
        ) from exc


def _unwrap(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    """A state_dict, or one inside a wrapper dict like {"generator": sd} / {"netG": sd}."""
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a state_dict")
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {_strip_prefix(k): v for k, v in obj.items()}
    for key in WRAPPER_KEYS:
        if isinstance(obj.get(key), dict):
            return _unwrap(obj[key], path)
    raise CheckpointError(
        f"{path}: no state_dict found (top-level keys: {sorted(map(str, obj))[:_LISTED]}; "
        f"expected tensors or one of {list(WRAPPER_KEYS)})"
    )


def _strip_prefix(key: str) -> str:
    return key[len("module.") :] if key.startswith("module.") else key


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors of a checkpoint file (either format) and its card ({} when there is none)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    with path.open("rb") as fh:
        head = fh.read(16)
    if not head:
        raise CheckpointError(f"{path}: empty file (zero bytes)")
    card: dict[str, Any] = {}
    if _is_safetensors(head):
        state = _read_safetensors(path)
        card = _read_card(path)
    else:
        loaded = _read_torch(path)
        state = _unwrap(loaded, path)
        card = _wrapper_card(loaded)
    return state, card


def _wrapper_card(obj: Any) -> dict[str, Any]:
    """Config and iteration stored beside the weights in a training checkpoint, if any."""
    card: dict[str, Any] = {}
    if not isinstance(obj, dict):
        return card
    for key in ("model_config", "config"):
        if isinstance(obj.get(key), dict) and "width" in obj[key]:
            card["config"] = obj[key]
            break
    if isinstance(obj.get("iteration"), int):
        card["iterations"] = obj["iteration"]
    return card


def _read_card(path: Path) -> dict[str, Any]:
    """The JSON card beside `path`, else the config stored in the safetensors header, else {}."""
    beside = card_path(path)
    if beside.is_file():
        try:
            card = json.loads(beside.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{beside}: model card is not valid JSON: {exc}") from exc
        if not isinstance(card, dict):
            raise CheckpointError(f"{beside}: model card must be a JSON object")
        return card
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata() or {}
    if "config" in meta:
        return {"config": json.loads(meta["config"])}
    return {}


def infer_config(state: dict[str, torch.Tensor], *, work_size: int = 512) -> AOTConfig:
    """Rebuild an AOTConfig from tensor shapes: width, number of blocks and of branches."""
    if "encoder.1.weight" not in state:
        raise CheckpointError(
            "not an AOT generator state_dict: key 'encoder.1.weight' is missing "
            f"(first keys: {sorted(state)[:_LISTED]})"
        )
    width = int(state["encoder.1.weight"].shape[0])
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"middle\.(\d+)\.", k))}
    branches = {int(m.group(1)) for k in state if (m := re.match(r"middle\.0\.block(\d+)\.", k))}
    if not blocks or not branches:
        raise CheckpointError("not an AOT generator state_dict: no middle.N.blockNN keys")
    count = len(branches)
    rates = (1, 2, 4, 8) if count == 4 else tuple(2**i for i in range(count))
    name = "reference" if (width, len(blocks), count) == (64, 8, 4) else "inferred"
    try:
        return AOTConfig(
            width=width, blocks=max(blocks) + 1, rates=rates, work_size=work_size, name=name
        )
    except ValueError as exc:
        raise CheckpointError(f"tensor shapes give an impossible config: {exc}") from exc


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LISTED])
    return shown + (f" ... and {len(keys) - _LISTED} more" if len(keys) > _LISTED else "")


def check_state_dict(
    module: torch.nn.Module, state: dict[str, torch.Tensor], *, source: str
) -> None:
    """Raise CheckpointError naming missing, unexpected and mismatched-shape keys."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(
        f"{k} (file {tuple(state[k].shape)} vs model {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    )
    problems = []
    if missing:
        problems.append(f"missing keys: {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listing(unexpected)}")
    if mismatched:
        problems.append(f"mismatched shapes: {_listing(mismatched)}")
    if problems:
        raise CheckpointError(f"{source} does not fit the model: " + "; ".join(problems))


def _config_from_card(card: dict[str, Any], source: Path) -> AOTConfig | None:
    if "config" not in card:
        return None
    try:
        return AOTConfig.from_dict(card["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: model card has an invalid config: {exc}") from exc


def load_generator(
    path: str | Path, *, config: AOTConfig | None = None
) -> tuple[AOTGenerator, dict]:
    """Build an AOTGenerator from a checkpoint (strict), in float32 and eval mode.

    Config: the one given, else the card's, else inferred from the tensor shapes. Returns the
    generator and the model card (for a bare .pt: {"config": ..., "source": path}).
    """
    path = Path(path)
    state, card = read_state_dict(path)
    config = config or _config_from_card(card, path) or infer_config(state)
    generator = AOTGenerator(config)
    check_state_dict(generator, state, source=str(path))
    generator.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    generator.eval()
    card = dict(card)
    card.setdefault("config", config.to_dict())
    card.setdefault("source", str(path))
    return generator, card


def load_discriminator(path: str | Path, *, width: int = 64) -> PatchDiscriminator:
    """Build the SM-PatchGAN discriminator from a D0000000.pt-style file (strict)."""
    path = Path(path)
    state, _ = read_state_dict(path)
    disc = PatchDiscriminator(width)
    check_state_dict(disc, state, source=str(path))
    disc.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return disc


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_inference_checkpoint(
    generator: AOTGenerator,
    path: str | Path,
    *,
    card: dict[str, Any],
    dtype: torch.dtype = torch.float16,
) -> Path:
    """Write a slim inference checkpoint: fp16 safetensors + `<stem>.json` card; returns the path.

    The card gets the config and dtype filled in; keys the caller should provide (training
    data, iterations, losses, metrics) are set to null when absent so every card has them.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise CheckpointError(f"{path}: inference checkpoints are .safetensors files")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", dtype).contiguous() for k, v in generator.state_dict().items()}
    bad = [k for k, v in state.items() if not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(
            f"weights overflow {dtype} (non-finite after conversion): {_listing(bad)}"
        )
    full_card = {"format": FORMAT_NAME, **card, "config": generator.config.to_dict()}
    full_card["dtype"] = str(dtype).removeprefix("torch.")
    for key in ("training_data", "iterations", "losses", "metrics"):
        full_card.setdefault(key, None)
    meta = {"format": FORMAT_NAME, "config": json.dumps(generator.config.to_dict())}
    _atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata=meta))
    text = json.dumps(full_card, indent=2, sort_keys=True, default=str) + "\n"
    _atomic_write(card_path(path), lambda tmp: tmp.write_text(text))
    return path


def load_default_generator() -> tuple[AOTGenerator, dict]:
    """The shipped default weights, or NoDefaultWeightsError saying how to pass others."""
    path = default_weights_path()
    if not path.is_file():
        raise NoDefaultWeightsError(
            f"no trained default weights are shipped yet (expected {path}); pass a checkpoint with "
            "--weights PATH (a .safetensors with its .json card, or the authors' G0000000.pt) "
            "or Inpainter.load(weights=PATH)"
        )
    return load_generator(path)

"""AOT-GAN training losses: L1, perceptual and style on VGG19 features, SM-PatchGAN adversarial.

Label convention follows the paper (not the reference code, whose labels are flipped):
real patches -> 1, patches of the composite -> Gaussian-blurred (1 - m) (so hole patches -> 0),
generator target 1 inside the hole.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from inpaint_core.errors import CheckpointError

# torchvision's VGG19 `features` layout: numbers are conv widths, "M" a 2x2 max-pool
_VGG19_LAYOUT = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    512,
)
PERCEPTUAL_LAYERS = (1, 6, 11, 20, 29)  # relu1_1 relu2_1 relu3_1 relu4_1 relu5_1
STYLE_LAYERS = (8, 17, 26, 31)  # relu2_2 relu3_4 relu4_4 relu5_2
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def make_vgg19_features() -> nn.Sequential:
    """VGG19 `features` with torchvision's module indices (so `features.N.weight` keys load)."""
    layers: list[nn.Module] = []
    channels = 3
    for item in _VGG19_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=False)]
            channels = int(item)
    return nn.Sequential(*layers)


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a .pth/.pt (weights only) or .safetensors file; unwraps {"state_dict": ...}."""
    if not path.is_file():
        raise CheckpointError(f"VGG19 weights not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch/safetensors raise many types for a foreign or damaged file
        raise CheckpointError(
            f"{path}: cannot be read as a weights file ({type(exc).__name__}: {exc})"
        ) from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(
            f"{path}: holds a {type(state).__name__}, expected a VGG19 state_dict"
        )
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def load_vgg19_features(weights: str | Path, features: nn.Sequential) -> None:
    """Load torchvision-format VGG19 weights (`features.N.weight`, `.bias`) into `features`.

    Raises CheckpointError naming the problem: missing file, unreadable file, no VGG keys,
    or tensors whose shapes are not VGG19's (e.g. VGG16 or the batch-norm variant).
    """
    path = Path(weights)
    state = _read_state(path)
    feats = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    if not feats:
        feats = {k: v for k, v in state.items() if re.fullmatch(r"\d+\.(weight|bias)", k)}
    if not feats:
        sample = ", ".join(sorted(state)[:4]) or "none"
        raise CheckpointError(
            f"{path}: no 'features.N.weight' keys (found: {sample}); "
            "expected a torchvision VGG19 state_dict"
        )
    expected = features.state_dict()
    missing = sorted(set(expected) - set(feats), key=_layer_order)
    wrong = [
        k for k in expected if k in feats and tuple(feats[k].shape) != tuple(expected[k].shape)
    ]
    if missing or wrong:
        detail = [f"missing features.{k}" for k in missing[:3]]
        detail += [
            f"features.{k} is {tuple(feats[k].shape)}, VGG19 has {tuple(expected[k].shape)}"
            for k in wrong[:3]
        ]
        raise CheckpointError(
            f"{path}: not torchvision VGG19 weights (without batch norm): {'; '.join(detail)}"
        )
    features.load_state_dict({k: feats[k].float() for k in expected}, strict=True)


def _layer_order(key: str) -> tuple[int, str]:
    index, _, rest = key.partition(".")
    return int(index), rest


class VGGFeatures(nn.Module):
    """Frozen VGG19 returning the activations the perceptual and style losses need."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, weights: str | Path) -> None:
        super().__init__()
        self.features = make_vgg19_features()
        load_vgg19_features(weights, self.features)
        self.features.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> dict[int, torch.Tensor]:
        """image in [-1, 1], (B, 3, H, W) -> {layer index: activation}."""
        x = ((image + 1) / 2 - self.mean) / self.std
        wanted = set(PERCEPTUAL_LAYERS) | set(STYLE_LAYERS)
        out: dict[int, torch.Tensor] = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                out[index] = x
            if index >= max(wanted):
                break
        return out


def perceptual_loss(fake: dict[int, torch.Tensor], real: dict[int, torch.Tensor]) -> torch.Tensor:
    """Sum over relu1_1..relu5_1 of the L1 distance, each divided by its size (a mean)."""
    return sum(F.l1_loss(fake[i], real[i]) for i in PERCEPTUAL_LAYERS)  # type: ignore[return-value]


def gram(features: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, C), divided by C*H*W as in the reference code."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w).float()
    return flat @ flat.transpose(1, 2) / (c * h * w)


def style_loss(fake: dict[int, torch.Tensor], real: dict[int, torch.Tensor]) -> torch.Tensor:
    """Sum over relu2_2, relu3_4, relu4_4, relu5_2 of the L1 distance between Gram matrices."""
    return sum(F.l1_loss(gram(fake[i]), gram(real[i])) for i in STYLE_LAYERS)  # type: ignore[return-value]


def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    """1-D Gaussian of `size` taps (centred), normalised to sum 1."""
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return g


def soft_patch_labels(
    mask: torch.Tensor, out_size: tuple[int, int], *, ksize: int, sigma: float
) -> torch.Tensor:
    """sigma(1 - m): blur (1 - mask) at full resolution, then shrink to D's output size."""
    g = gaussian_kernel(ksize, sigma).to(mask)
    known = 1 - mask  # (B, 1, H, W)
    pad = ksize // 2
    x = F.pad(known, (pad, pad, 0, 0), mode="replicate")
    x = F.conv2d(x, g.view(1, 1, 1, -1))
    x = F.pad(x, (0, 0, pad, pad), mode="replicate")
    x = F.conv2d(x, g.view(1, 1, -1, 1))
    return F.interpolate(x, size=out_size, mode="area")


def label_blur_for(size: int) -> tuple[int, float]:
    """The paper's 71 px / sigma 10 at 512 px, scaled with the crop size (kernel kept odd)."""
    sigma = 10.0 * size / 512
    ksize = int(round(7 * sigma)) | 1
    return max(ksize, 3), max(sigma, 0.5)


def discriminator_loss(
    d_fake: torch.Tensor, d_real: torch.Tensor, mask: torch.Tensor, *, ksize: int, sigma: float
) -> torch.Tensor:
    """L_D = E[(D(z) - sigma(1 - m))^2] + E[(D(x) - 1)^2]."""
    labels = soft_patch_labels(mask, tuple(d_fake.shape[-2:]), ksize=ksize, sigma=sigma)  # type: ignore[arg-type]
    return F.mse_loss(d_fake.float(), labels) + F.mse_loss(
        d_real.float(), torch.ones_like(d_real.float())
    )


def generator_adversarial_loss(d_fake: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_G = E[(D(z) - 1)^2 * m], m shrunk to D's output size; averaged over hole patches."""
    m = F.interpolate(mask, size=tuple(d_fake.shape[-2:]), mode="area")
    err = (d_fake.float() - 1) ** 2 * m
    return err.mean() / m.mean().clamp_min(1e-6)

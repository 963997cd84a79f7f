"""AOT-GAN training losses: L1, perceptual and style on VGG19 features, and the SM-PatchGAN adversarial loss.

Label convention follows the paper (not the reference code, whose labels are flipped):
real patches -> 1, patches of the composite -> Gaussian-blurred (1 - m) (so hole patches -> 0),
generator target 1 inside the hole.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# torchvision's VGG19 `features` layout: numbers are conv widths, "M" a 2x2 max-pool
_VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512)
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


class VGGFeatures(nn.Module):
    """Frozen VGG19 returning the activations the perceptual and style losses need."""

    def __init__(self, weights: str | Path) -> None:
        super().__init__()
        self.features = make_vgg19_features()
        state = torch.load(weights, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        feats = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
        if not feats:
            raise ValueError(f"{weights}: no 'features.N.weight' keys; expected a torchvision VGG19 state_dict")
        keep = {k: v for k, v in feats.items() if int(k.split(".")[0]) < len(self.features)}
        self.features.load_state_dict(keep, strict=True)
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
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return g


def soft_patch_labels(mask: torch.Tensor, out_size: tuple[int, int], *, ksize: int, sigma: float) -> torch.Tensor:
    """sigma(1 - m): blur (1 - mask) at full resolution, then shrink to the discriminator's output size."""
    g = gaussian_kernel(ksize, sigma).to(mask)
    known = 1 - mask  # (B, 1, H, W)
    pad = ksize // 2
    x = F.pad(known, (pad, pad, 0, 0), mode="replicate")
    x = F.conv2d(x, g.view(1, 1, 1, -1))
    x = F.pad(x, (0, 0, pad, pad), mode="replicate")
    x = F.conv2d(x, g.view(1, 1, -1, 1))
    return F.interpolate(x, size=out_size, mode="area")


def label_blur_for(size: int) -> tuple[int, float]:
    """The paper's 71 px / sigma 10 at 512 px, scaled with the training crop size (kernel kept odd)."""
    sigma = 10.0 * size / 512
    ksize = int(round(7 * sigma)) | 1
    return max(ksize, 3), max(sigma, 0.5)


def discriminator_loss(
    d_fake: torch.Tensor, d_real: torch.Tensor, mask: torch.Tensor, *, ksize: int, sigma: float
) -> torch.Tensor:
    """L_D = E[(D(z) - sigma(1 - m))^2] + E[(D(x) - 1)^2]."""
    labels = soft_patch_labels(mask, tuple(d_fake.shape[-2:]), ksize=ksize, sigma=sigma)  # type: ignore[arg-type]
    return F.mse_loss(d_fake.float(), labels) + F.mse_loss(d_real.float(), torch.ones_like(d_real.float()))


def generator_adversarial_loss(d_fake: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_G = E[(D(z) - 1)^2 * m], m shrunk to D's output size; averaged over hole patches."""
    m = F.interpolate(mask, size=tuple(d_fake.shape[-2:]), mode="area")
    err = (d_fake.float() - 1) ** 2 * m
    return err.mean() / m.mean().clamp_min(1e-6)

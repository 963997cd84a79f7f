"""The AOT-GAN generator and the SM-PatchGAN discriminator (Zeng et al., AOT-GAN).

Module names follow the authors' implementation so that their G0000000.pt / D0000000.pt
state_dicts load with strict=True (see shared/aot-checkpoint-layout.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inpaint_core.model.config import AOTConfig
from inpaint_core.model.fused import conv_relu, fused_available, gate_logits

GATE_EPS = 1e-9  # added to the unbiased std, as in the reference code


def normalise_gate(g: torch.Tensor) -> torch.Tensor:
    """The reference gate normalisation: 5 * (2 * (g - mean) / (std + 1e-9) - 1), per sample and
    channel.

    Computed in float32 whatever the input dtype: the std over H*W is the one place where
    bf16 rounding visibly shifts the output. Written as (g - mean) * (10 / (std + eps)) - 5,
    the same arithmetic in two passes over the tensor instead of four.
    """
    g32 = g.float()  # (B, C, H, W)
    std, mean = torch.std_mean(g32, dim=(2, 3), keepdim=True)  # unbiased std, like the reference
    scale = 10.0 / (std + GATE_EPS)
    return torch.addcmul(torch.full_like(scale, -5.0), g32 - mean, scale).to(g.dtype)


def _padded_conv(channels_in: int, channels_out: int, dilation: int) -> nn.Sequential:
    # index 0: padding, index 1: the conv -> keys "<name>.1.weight" like the reference
    return nn.Sequential(
        nn.ReflectionPad2d(dilation),
        nn.Conv2d(channels_in, channels_out, 3, padding=0, dilation=dilation),
    )


class AOTBlock(nn.Module):
    """Split a 3x3 conv into dilated branches, merge them, and mix with the input through a gate."""

    def __init__(self, channels: int, rates: tuple[int, ...]) -> None:
        super().__init__()
        self.rates = rates
        branch = channels // len(rates)
        for i, rate in enumerate(rates):
            conv = _padded_conv(channels, branch, rate)
            conv.append(nn.ReLU(inplace=True))
            self.add_module(f"block{i:02d}", conv)
        self.fuse = _padded_conv(channels, channels, 1)
        self.gate = _padded_conv(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        if fused_available(x):  # inside fused.fused_kernels(), CPU inference
            return self._forward_fused(x)
        # one reflection pad by the largest rate serves every branch and the gate: a reflection
        # pad by r is the centre of a reflection pad by R >= r (same mirror at the same edge)
        top = max(*self.rates, 1)
        padded = F.pad(x, (top, top, top, top), mode="reflect")  # (B, C, H + 2R, W + 2R)

        def centre(r: int) -> torch.Tensor:
            cut = top - r
            return padded[..., cut : padded.shape[-2] - cut, cut : padded.shape[-1] - cut]

        branches = []
        for i, rate in enumerate(self.rates):
            _, conv, relu = getattr(self, f"block{i:02d}")
            branches.append(relu(conv(centre(rate))))
        out = self.fuse(torch.cat(branches, dim=1))  # (B, C, H, W)
        g = torch.sigmoid(normalise_gate(self.gate[1](centre(1))))  # (B, C, H, W)
        return torch.lerp(x, out, g)  # x * (1 - g) + out * g

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        """`forward` with each branch's ReLU inside its conv and the gate normalised by one
        GroupNorm (fused.gate_logits). Each rate gets its own reflection pad: a centre cut
        of one large pad is not contiguous, and oneDNN would copy it for every conv."""
        padded = {r: F.pad(x, (r, r, r, r), mode="reflect") for r in {*self.rates, 1}}
        branches = [
            conv_relu(getattr(self, f"block{i:02d}")[1], padded[rate])
            for i, rate in enumerate(self.rates)
        ]
        out = self.fuse(torch.cat(branches, dim=1))  # (B, C, H, W)
        gate = gate_logits(self.gate[1](padded[1])).sigmoid_()  # (B, C, H, W)
        return torch.lerp(x, out, gate)


class UpConv(nn.Module):
    """Bilinear x2 (align_corners=True) followed by a 3x3 conv."""

    def __init__(self, channels_in: int, channels_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, 3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        return self.conv(x)

    def forward_relu(self, x: torch.Tensor) -> torch.Tensor:
        """relu(forward(x)) with the ReLU inside the conv (fused inference kernels)."""
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        return conv_relu(self.conv, x)


class AOTGenerator(nn.Module):
    """Maps (masked image, mask) to a full image in [-1, 1]; no normalisation layers."""

    def __init__(self, config: AOTConfig | None = None) -> None:
        super().__init__()
        self.config = config or AOTConfig.reference()
        w = self.config.width
        self.encoder = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(4, w, 7),
            nn.ReLU(inplace=True),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 4 * w, 4, stride=2, padding=1),
            nn.ReLU(inplace=True),
        )
        self.middle = nn.Sequential(
            *[AOTBlock(4 * w, self.config.rates) for _ in range(self.config.blocks)]
        )
        self.decoder = nn.Sequential(
            UpConv(4 * w, 2 * w),
            nn.ReLU(inplace=True),
            UpConv(2 * w, w),
            nn.ReLU(inplace=True),
            nn.Conv2d(w, 3, 3, stride=1, padding=1),
        )
        if self.config.residual:
            self.zero_output_layer()

    def zero_output_layer(self) -> None:
        """A residual generator starts as the identity: it returns its input (the prefill)."""
        last = self.decoder[-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """masked: (B, 3, H, W) in [-1, 1] with holes set to 1; mask: (B, 1, H, W), 1 = hole.

        H and W must be multiples of 4.
        """
        x = torch.cat([masked, mask], dim=1)  # (B, 4, H, W)
        fused = fused_available(x)  # inside fused.fused_kernels(), CPU inference
        x = self._encode_fused(x) if fused else self.encoder(x)  # (B, 4w, H/4, W/4)
        x = self.middle(x)  # (B, 4w, H/4, W/4)
        x = self._decode_fused(x) if fused else self.decoder(x)  # (B, 3, H, W)
        if self.config.residual:  # a correction of the input (our variant, not the paper's)
            return (masked + x).clamp(-1.0, 1.0)
        return torch.tanh(x)

    def _encode_fused(self, x: torch.Tensor) -> torch.Tensor:  # (B, 4, H, W) -> (B, 4w, H/4, W/4)
        pad, stem, _, down1, _, down2, _ = self.encoder
        return conv_relu(down2, conv_relu(down1, conv_relu(stem, pad(x))))

    def _decode_fused(self, x: torch.Tensor) -> torch.Tensor:  # (B, 4w, H/4, W/4) -> (B, 3, H, W)
        up1, _, up2, _, last = self.decoder
        return last(up2.forward_relu(up1.forward_relu(x)))


def prepare_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The reference generator input: holes set to +1 (white)."""
    return image * (1 - mask) + mask


def composite(image: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Keep known pixels, take the prediction in the hole."""
    return image * (1 - mask) + pred * mask


class PatchDiscriminator(nn.Module):
    """SM-PatchGAN discriminator: spectral-norm convs, one realness score per patch."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        w = width
        self.conv = nn.Sequential(
            sn(nn.Conv2d(3, w, 4, stride=2, padding=1, bias=False)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(w, 2 * w, 4, stride=2, padding=1, bias=False)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(2 * w, 4 * w, 4, stride=2, padding=1, bias=False)),
            nn.LeakyReLU(0.2, inplace=True),
            sn(nn.Conv2d(4 * w, 8 * w, 4, stride=1, padding=1, bias=False)),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(8 * w, 1, 4, stride=1, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 1, H/8 - 2, W/8 - 2)
        return self.conv(x)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

"""The SM-PatchGAN discriminator as a no-reference judge: how real does a filled area look?

Trained with the paper's labels (real patches -> 1, patches of the hole in a composite -> 0,
soft in between), the discriminator's output averaged over the hole's patches says how real the
fill looks. How high a real patch scores depends on its content (texture, edges), so the figure
is relative: the hole's mean output divided by the mean output over the untouched patches of the
same window (its real context), clipped to [0, 1]. Near 1 the fill passes for the photo around
it; lower, it is recognisably made up. (On 120 benchmark images this raised the AUC of telling
real pixels from our fills from 0.68 with the plain mean to 0.82: bench/RESULTS-critic.md.)

    critic = Critic.load()                       # the shipped one, trained against our generator
    critic.realness(output_rgb, fill_mask)       # -> float in [0, 1], None when nothing was filled

Each filled region (connected component) is judged in a square window around it, about
WINDOW_SCALE times the region's longer side, scaled to the size the critic was trained at, so
the hole covers a share of the window like the training masks did. The figure is the mean of
the clipped outputs weighted by how much of each output patch lies in the hole, pooled over the
regions by their area.

`train_critic` fits a discriminator against a frozen generator (the shipped critic was made that
way: the generator's own adversarial training never produced a kept discriminator file).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from inpaint_core.errors import CheckpointError, ImageInputError
from inpaint_core.inference.prefill import generator_input
from inpaint_core.masks.components import label_components
from inpaint_core.model.checkpoint import card_path, check_state_dict, read_state_dict
from inpaint_core.model.network import AOTGenerator, PatchDiscriminator, composite

CRITIC_FORMAT = "unbrand-critic/1"
WINDOW_SCALE = 2.2  # window side / region side: the hole is ~20 % of the window (training: 1-30 %)
MAX_REGIONS = 16  # the largest regions judged per image; the rest are too small to matter
MIN_WEIGHT = 1e-3  # output patches with less hole than this are ignored
CONTEXT_MAX_HOLE = 0.02  # patches with at most this much hole are the window's real context
MIN_CONTEXT = 0.05  # context scores below this are treated as this (no division blow-up)


def default_critic_path() -> Path:
    """The shipped critic: inpaint_core/weights/aot-default-critic.safetensors."""
    return Path(__file__).resolve().parent.parent / "weights" / "aot-default-critic.safetensors"


@dataclass(frozen=True)
class _Window:
    y1: int
    x1: int
    side: int
    area: int  # filled pixels of the region


class Critic:
    """A discriminator in eval mode plus the crop size it was trained at."""

    def __init__(self, discriminator: PatchDiscriminator, *, size: int, device: str = "cpu",
                 card: dict[str, Any] | None = None) -> None:
        self.size = int(size)
        self.device = torch.device(device)
        self.discriminator = discriminator.to(self.device).eval()
        self.card = card or {}

    @classmethod
    def load(cls, path: str | Path | None = None, *, device: str = "cpu") -> Critic:
        """A critic from a .safetensors (+ .json card giving `size`) or a D0000000.pt file."""
        path = Path(path) if path is not None else default_critic_path()
        if not path.is_file():
            raise CheckpointError(f"critic weights not found: {path}")
        state, card = read_state_dict(path)
        discriminator = PatchDiscriminator(int(card.get("width", 64)))
        check_state_dict(discriminator, state, source=str(path))
        discriminator.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
        return cls(discriminator, size=int(card.get("size", 256)), device=device, card=card)

    @torch.no_grad()
    def realness(self, image: np.ndarray, fill: np.ndarray) -> float | None:
        """Mean realness in [0, 1] of the filled area of `image` (H, W, 3) uint8; None if empty."""
        rgb = np.asarray(image)
        hole = np.asarray(fill, dtype=bool)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[:2] != hole.shape:
            raise ImageInputError(
                f"realness needs an (H, W, 3) image and an (H, W) mask, got {rgb.shape} and "
                f"{hole.shape}"
            )
        windows = region_windows(hole, scale=WINDOW_SCALE, min_side=self.size // 2)
        if not windows:
            return None
        crops, masks = zip(*(self._cut(rgb, hole, w) for w in windows), strict=True)
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 127.5 - 1
        m = torch.from_numpy(np.stack(masks)[:, None].astype(np.float32))
        scores = self.discriminator(x.to(self.device)).float().clamp(0, 1).cpu()  # (N, 1, h, w)
        share = F.interpolate(m, size=scores.shape[-2:], mode="area")  # hole share per patch
        hole = torch.where(share > MIN_WEIGHT, share, torch.zeros_like(share))
        known = (share <= CONTEXT_MAX_HOLE).float()
        in_hole = (scores * hole).sum(dim=(1, 2, 3)) / hole.sum(dim=(1, 2, 3)).clamp_min(1e-6)
        context = (scores * known).sum(dim=(1, 2, 3)) / known.sum(dim=(1, 2, 3)).clamp_min(1e-6)
        has_context = known.sum(dim=(1, 2, 3)) > 0
        ratio = torch.where(has_context, in_hole / context.clamp_min(MIN_CONTEXT), in_hole)
        per_region = ratio.clamp(0, 1)
        areas = torch.tensor([w.area for w in windows], dtype=torch.float32)
        return float((per_region * areas).sum() / areas.sum())

    def _cut(
        self, rgb: np.ndarray, hole: np.ndarray, window: _Window
    ) -> tuple[np.ndarray, np.ndarray]:
        """The window (reflect-padded where it leaves the image) scaled to the critic's size."""
        height, width = hole.shape
        y1, x1, side = window.y1, window.x1, window.side
        pad = ((max(0, -y1), max(0, y1 + side - height)), (max(0, -x1), max(0, x1 + side - width)))
        ys, xs = slice(max(0, y1), min(height, y1 + side)), slice(max(0, x1), min(width, x1 + side))
        mode = "reflect" if min(rgb.shape[:2]) > 1 else "edge"
        crop = np.pad(rgb[ys, xs], (*pad, (0, 0)), mode=mode)
        mask = np.pad(hole[ys, xs], pad, mode="constant")
        interp = cv2.INTER_AREA if side > self.size else cv2.INTER_LINEAR
        crop = cv2.resize(crop, (self.size, self.size), interpolation=interp)
        mask = cv2.resize(mask.astype(np.float32), (self.size, self.size),
                          interpolation=cv2.INTER_AREA)
        return crop, mask


def region_windows(hole: np.ndarray, *, scale: float, min_side: int) -> list[_Window]:
    """Square windows centred on the largest connected regions of `hole` (labelled on the tiles
    that hold hole pixels only: masks/components.py)."""
    components = label_components(hole)
    order = sorted(range(len(components)), key=lambda i: -components[i].area)
    windows = []
    for i in order[:MAX_REGIONS]:
        x, y, w, h, area = components[i].stats
        side = max(int(round(scale * max(w, h))), min_side)
        cy, cx = y + h / 2, x + w / 2
        windows.append(_Window(int(round(cy - side / 2)), int(round(cx - side / 2)), side, area))
    return windows


# --- training against a frozen generator ---------------------------------------------------


@dataclass
class CriticTraining:
    """Options of `train_critic`; optimiser defaults are the paper's (Adam 1e-4, betas 0 / 0.9)."""

    data: Sequence[str]
    size: int = 128
    iterations: int = 2000
    batch: int = 8
    lr: float = 1e-4
    betas: tuple[float, float] = (0.0, 0.9)
    seed: int = 0
    device: str = "cpu"
    logo_share: float = 0.0  # share of fakes that are photos with a pasted logo (logo = fake)
    init: str | None = None  # start from these critic weights instead of random ones


def train_critic(generator: AOTGenerator, options: CriticTraining, *,
                 progress: bool = True) -> tuple[PatchDiscriminator, list[float]]:
    """Fit an SM-PatchGAN discriminator to tell real crops from the generator's composites.

    Returns the discriminator and the loss of every iteration."""
    from tqdm import tqdm

    from inpaint_core.training.data import PhotoCrops
    from inpaint_core.training.holes import random_mask
    from inpaint_core.training.losses import discriminator_loss, label_blur_for

    torch.manual_seed(options.seed)
    device = torch.device(options.device)
    generator = generator.to(device).eval().requires_grad_(False)
    disc = (Critic.load(options.init).discriminator if options.init else PatchDiscriminator())
    disc = disc.to(device).train()
    opt = torch.optim.Adam(disc.parameters(), lr=options.lr, betas=options.betas)
    ksize, sigma = label_blur_for(options.size)
    data = PhotoCrops([Path(d) for d in options.data], options.size, seed=options.seed)
    rng = np.random.default_rng(options.seed + 1)
    losses: list[float] = []
    bar = tqdm(range(options.iterations), desc="critic", disable=not progress)
    for _ in bar:
        crops = data.batch(options.batch)
        holes = np.stack([random_mask(options.size, options.size, rng) for _ in crops])
        images = (torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 127.5 - 1).to(device)
        masks = torch.from_numpy(holes[:, None].astype(np.float32)).to(device)
        with torch.no_grad():
            inputs = generator_input(images, masks, generator.config.prefill)
            pred = generator(inputs, masks).float()
            fake = composite(images, pred, masks)
        # the same quantisation a real output goes through before it is judged
        fake = ((fake.clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1
        pasted = rng.random(len(crops)) < options.logo_share
        if pasted.any():  # a logo left in place is as wrong as a bad fill
            fake, masks = _with_logos(crops, pasted, fake, masks, rng)
        loss = discriminator_loss(disc(fake), disc(images), masks, ksize=ksize, sigma=sigma)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
    return disc.eval(), losses


def _with_logos(crops: np.ndarray, pasted: np.ndarray, fake: torch.Tensor, masks: torch.Tensor,
                rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace the fakes where `pasted` by the real crop with a built-in logo pasted on it; the
    logo's pixels become the hole that the labels call fake."""
    from inpaint_core.evaluation.synth import composite_logos
    from inpaint_core.training.logos import builtin_logo

    fake, masks = fake.clone(), masks.clone()
    for i in np.flatnonzero(pasted):
        comp = composite_logos(crops[i], [builtin_logo(rng)], rng, min_ratio=0.02, max_ratio=0.2)
        image = torch.from_numpy(comp.image).permute(2, 0, 1).float() / 127.5 - 1
        fake[i] = image.to(fake)
        masks[i, 0] = torch.from_numpy(comp.mask.astype(np.float32)).to(masks)
    return fake, masks


def save_critic(disc: PatchDiscriminator, path: str | Path, *, card: dict[str, Any]) -> Path:
    """fp16 safetensors + `<stem>.json` card (size, width, training facts)."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise CheckpointError(f"{path}: critic weights are written as .safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float16).contiguous()
             for k, v in disc.state_dict().items()}
    width = int(state["conv.0.weight_orig"].shape[0])  # PatchDiscriminator(width)
    full = {"format": CRITIC_FORMAT, "width": width, **card,
            "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    save_file(state, str(path), metadata={"format": CRITIC_FORMAT})
    card_path(path).write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    return path

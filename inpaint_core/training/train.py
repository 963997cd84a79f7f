"""The AOT-GAN training loop: generator vs SM-PatchGAN discriminator, resumable, CPU or CUDA.

A run folder holds `checkpoints/last.pt` (both nets, both optimisers, iteration, configs),
`checkpoints/iter-NNNNNN.pt` snapshots, `samples/iter-NNNNNN.png` grids and `log.jsonl`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from inpaint_core.errors import CheckpointError
from inpaint_core.inference.prefill import generator_input
from inpaint_core.model.config import AOTConfig
from inpaint_core.model.device import cpu_has_amx
from inpaint_core.model.network import AOTGenerator, PatchDiscriminator, composite
from inpaint_core.training.data import PhotoCrops
from inpaint_core.training.holes import MASK_KINDS, random_mask
from inpaint_core.training.logo_samples import logo_batch
from inpaint_core.training.losses import (
    VGGFeatures,
    discriminator_loss,
    generator_adversarial_loss,
    label_blur_for,
    perceptual_loss,
    style_loss,
)


@dataclass
class TrainConfig:
    """Options of one training run; defaults are the paper's (batch 8, Adam 1e-4, betas 0 / 0.9)."""

    data: list[str]
    out: str
    size: int = 256
    iterations: int = 10_000
    batch: int = 8
    model: str = "lite"  # AOTConfig preset name
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.0, 0.9)  # the paper's; the reference code uses (0.5, 0.999)
    w_rec: float = 1.0
    w_per: float = 0.1
    w_sty: float = 250.0
    w_adv: float = 0.01
    mask_kinds: tuple[str, ...] = MASK_KINDS  # drawn uniformly; repeat a kind to weight it
    w_hole: float = (
        0.0  # extra L1 inside the hole (mean over hole pixels); 0 = the paper's plain L1
    )
    vgg_weights: str | None = None  # without it, perceptual and style losses are off
    # "refine" generators: share of samples with pasted logos (logo_samples.py); the rest are
    # plain holes. Other prefills train on plain holes only.
    logo_share: float = 0.75
    init: str | None = None  # generator weights to start from (a fresh run only; resume wins)
    device: str = "auto"
    # bf16 autocast; None = auto: on CUDA, and on CPUs with AMX only (without AMX a bf16
    # backward pass ran 11x slower than fp32 on an AVX512-BF16 EPYC)
    mixed_precision: bool | None = None
    save_every: int = 200
    sample_every: int = 200
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def losses_used(self) -> list[str]:
        used = ["l1"] + (["l1-hole"] if self.w_hole > 0 else [])
        if self.vgg_weights:
            used += ["perceptual", "style"]
        if self.w_adv > 0:
            used.append("sm-patchgan-adversarial")
        return used


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Owns the two nets, their optimisers and the data; `step()` does one GAN iteration."""

    def __init__(self, cfg: TrainConfig, model_config: AOTConfig | None = None) -> None:
        self.cfg = cfg
        self.device = _pick_device(cfg.device)
        self.model_config = model_config or AOTConfig.named(cfg.model)
        self.model_config = AOTConfig.from_dict(
            {**self.model_config.to_dict(), "work_size": cfg.size}
        )
        torch.manual_seed(cfg.seed)
        fmt = torch.channels_last
        self.generator = AOTGenerator(self.model_config)
        if cfg.init:
            self._load_init(Path(cfg.init))
        self.generator = self.generator.to(self.device, memory_format=fmt)  # type: ignore[call-overload]
        self.discriminator = PatchDiscriminator().to(self.device, memory_format=fmt)  # type: ignore[call-overload]
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr_g, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr_d, betas=cfg.betas)
        self.vgg = VGGFeatures(cfg.vgg_weights).to(self.device) if cfg.vgg_weights else None
        self.ksize, self.sigma = label_blur_for(cfg.size)
        self.iteration = 0
        self.rng = np.random.default_rng(cfg.seed + 1)
        # a "refine" model learns from logos pasted and refined at twice its size (logo_samples.py)
        crop = 2 * cfg.size if self.model_config.prefill == "refine" else cfg.size
        self.data = PhotoCrops([Path(d) for d in cfg.data], crop, seed=cfg.seed)
        self.run_dir = Path(cfg.out)
        (self.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)

    def _load_init(self, path: Path) -> None:
        """Start the generator from existing weights of the same shape (any prefill)."""
        from inpaint_core.model.checkpoint import load_generator

        source, _ = load_generator(path)
        have, want = source.config, self.model_config
        if (have.width, have.blocks, have.rates) != (want.width, want.blocks, want.rates):
            raise CheckpointError(f"--init {path} holds a {have} model, this run builds {want}")
        self.generator.load_state_dict(source.state_dict())
        if want.residual and not have.residual:  # start from the prefill, not a full repaint
            self.generator.zero_output_layer()

    def uses_bf16(self) -> bool:
        """Whether steps run under bf16 autocast (see TrainConfig.mixed_precision)."""
        if self.cfg.mixed_precision is None:
            return self.device.type == "cuda" or cpu_has_amx()
        return self.cfg.mixed_precision

    def _autocast(self) -> Any:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.uses_bf16())

    def make_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [-1, 1] (B, 3, S, S) and masks (B, 1, S, S) with 1 = hole."""
        crops = self.data.batch(self.cfg.batch)
        kinds = tuple(self.cfg.mask_kinds)
        size = self.cfg.size
        masks = np.stack([random_mask(size, size, self.rng, kinds=kinds) for _ in crops])
        return self._image_tensor(crops), self._mask_tensor(masks)

    def _image_tensor(self, pixels: np.ndarray) -> torch.Tensor:
        """(B, S, S, 3) uint8 -> (B, 3, S, S) in [-1, 1] on the device, channels_last."""
        image = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1
        return image.to(self.device, memory_format=torch.channels_last)

    def _mask_tensor(self, holes: np.ndarray) -> torch.Tensor:
        """(B, S, S) bool -> (B, 1, S, S) float, 1 = hole, on the device, channels_last."""
        mask = torch.from_numpy(holes[:, None].astype(np.float32))
        return mask.to(self.device, memory_format=torch.channels_last)

    def make_inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Generator inputs (B, 3, S, S), holes (B, 1, S, S) and targets (B, 3, S, S)."""
        if self.model_config.prefill != "refine":
            images, masks = self.make_batch()
            return generator_input(images, masks, self.model_config.prefill), masks, images
        inputs, holes, targets = logo_batch(
            self.data.batch(self.cfg.batch),
            self.cfg.size,
            self.rng,
            logo_share=self.cfg.logo_share,
            kinds=tuple(self.cfg.mask_kinds),
        )
        return self._image_tensor(inputs), self._mask_tensor(holes), self._image_tensor(targets)

    def step(self) -> dict[str, float]:
        inputs, masks, images = self.make_inputs()
        with self._autocast():
            pred = self.generator(inputs, masks)  # (B, 3, S, S)
            comp = composite(images, pred, masks)
            losses = {"l1": F.l1_loss(pred.float(), images)}
            if self.cfg.w_hole > 0:
                hole_err = (pred.float() - images).abs() * masks
                losses["l1_hole"] = hole_err.sum() / (3 * masks.sum()).clamp_min(1.0)
            if self.vgg is not None:
                fake_f, real_f = self.vgg(pred), self.vgg(images)
                losses["perceptual"] = perceptual_loss(fake_f, real_f)
                losses["style"] = style_loss(fake_f, real_f)
            if self.cfg.w_adv > 0:
                losses["adv_g"] = generator_adversarial_loss(self.discriminator(comp), masks)
        total_g = self._weighted(losses)
        self.opt_g.zero_grad(set_to_none=True)
        total_g.backward()
        self.opt_g.step()
        if self.cfg.w_adv > 0:
            with self._autocast():
                d_fake = self.discriminator(comp.detach())
                d_real = self.discriminator(images)
                losses["adv_d"] = discriminator_loss(
                    d_fake, d_real, masks, ksize=self.ksize, sigma=self.sigma
                )
            self.opt_d.zero_grad(set_to_none=True)
            losses["adv_d"].backward()
            self.opt_d.step()
        self.iteration += 1
        out = {k: float(v.detach()) for k, v in losses.items()}
        out["total_g"] = float(total_g.detach())
        return out

    def _weighted(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        weights = {
            "l1": self.cfg.w_rec,
            "l1_hole": self.cfg.w_hole,
            "perceptual": self.cfg.w_per,
            "style": self.cfg.w_sty,
            "adv_g": self.cfg.w_adv,
        }
        return sum(weights[k] * v.float() for k, v in losses.items() if k in weights)  # type: ignore[return-value]

    def state(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "iteration": self.iteration,
            "model_config": self.model_config.to_dict(),
            "train_config": json.loads(json.dumps(asdict(self.cfg))),
        }

    def save(self, snapshot: bool = False) -> Path:
        path = self.run_dir / "checkpoints" / "last.pt"
        tmp = path.with_suffix(".tmp")
        torch.save(self.state(), tmp)
        tmp.replace(path)  # atomic: a killed run never leaves a half-written last.pt
        if snapshot:
            torch.save(
                {
                    "generator": self.generator.state_dict(),
                    "model_config": self.model_config.to_dict(),
                    "iteration": self.iteration,
                },
                self.run_dir / "checkpoints" / f"iter-{self.iteration:06d}.pt",
            )
        return path

    def resume(self, path: Path | None = None) -> bool:
        """Load `last.pt` (or `path`) if it exists; True when a run was resumed."""
        path = path or self.run_dir / "checkpoints" / "last.pt"
        if not path.exists():
            return False
        state = torch.load(path, map_location=self.device, weights_only=True)
        saved = AOTConfig.from_dict(state["model_config"])
        shape = (self.model_config.width, self.model_config.blocks, self.model_config.rates)
        if (saved.width, saved.blocks, saved.rates) != shape:
            raise CheckpointError(
                f"{path} holds a {saved} model, this run builds {self.model_config}"
            )
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        for optimiser, lr in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in optimiser.param_groups:  # this run's learning rates, not the saved ones
                group["lr"] = lr
        self.iteration = int(state["iteration"])
        # a resumed run draws new crops and masks instead of replaying those of iterations 1, 2, ...
        self.rng = np.random.default_rng([self.cfg.seed + 1, self.iteration])
        self.data.rng = np.random.default_rng([self.cfg.seed, self.iteration])
        return True

    @torch.no_grad()
    def sample_grid(self, count: int = 4) -> Path:
        """A PNG with rows of masked input / output / composite / original."""
        rng_state = self.rng.bit_generator.state
        self.rng = np.random.default_rng(12345)  # the same masks every time, to compare iterations
        data_state = self.data.rng.bit_generator.state
        self.data.rng = np.random.default_rng(54321)
        inputs, masks, images = self.make_inputs()
        self.rng.bit_generator.state = rng_state
        self.data.rng.bit_generator.state = data_state
        inputs, masks, images = inputs[:count], masks[:count], images[:count]
        with self._autocast():
            pred = self.generator(inputs, masks).float()
        rows = [inputs, pred, composite(images, pred, masks), images]
        grid = torch.cat([torch.cat(list(r), dim=2) for r in rows], dim=1)  # (3, 4S, count*S)
        array = ((grid.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
        path = self.run_dir / "samples" / f"iter-{self.iteration:06d}.png"
        Image.fromarray(array).save(path)
        return path


def train(
    cfg: TrainConfig,
    *,
    resume: bool = True,
    progress: bool = True,
    model_config: AOTConfig | None = None,
) -> Trainer:
    """Run until `cfg.iterations`, saving and sampling periodically; returns the trainer.

    `model_config` overrides the `cfg.model` preset (its work_size is replaced by `cfg.size`).
    """
    from tqdm import tqdm

    trainer = Trainer(cfg, model_config)
    if resume:
        trainer.resume()
    log = (trainer.run_dir / "log.jsonl").open("a")
    bar = tqdm(
        total=cfg.iterations,
        initial=trainer.iteration,
        disable=not progress,
        unit="it",
        dynamic_ncols=True,
    )
    started = time.perf_counter()
    try:
        while trainer.iteration < cfg.iterations:
            losses = trainer.step()
            bar.update(1)
            bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()})
            log.write(
                json.dumps(
                    {
                        "iteration": trainer.iteration,
                        "time": time.perf_counter() - started,
                        **losses,
                    }
                )
                + "\n"
            )
            log.flush()  # `tail -f log.jsonl` follows a run as it goes
            if trainer.iteration % cfg.save_every == 0:
                trainer.save(snapshot=trainer.iteration % (cfg.save_every * 5) == 0)
            if trainer.iteration % cfg.sample_every == 0:
                trainer.sample_grid()
    finally:
        trainer.save()
        log.close()
        bar.close()
    return trainer

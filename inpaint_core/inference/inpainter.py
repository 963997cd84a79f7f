"""The public API: `Inpainter` removes masked regions from photos of any size.

    inpainter = Inpainter.load("weights.safetensors", device="auto", precision="auto")
    cleaned = inpainter.inpaint(rgb, mask)           # (H, W, 3) uint8, mask (H, W) nonzero = remove

The generator never sees the full frame: the planner (planner.py) cuts crops around each
region at the model's working scale, crops of equal size run in shared batches (also across
images in `inpaint_many`), and blend.py pastes only the fill region back. Full frames stay
uint8; float tensors exist per crop batch only, so memory is bounded on 8K photos.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from inpaint_core.errors import ImageInputError
from inpaint_core.evaluation.critic import Critic, default_critic_path
from inpaint_core.inference.blend import paste
from inpaint_core.inference.detail import DETAIL_METHODS, restore_detail, upscale_window
from inpaint_core.inference.patchmatch import patchmatch_available, patchmatch_local
from inpaint_core.inference.planner import CropPlan, PlannerConfig, grow, plan_crops
from inpaint_core.inference.prefill import generator_input, logo_pixels, prefill_scaled
from inpaint_core.inference.texture import fuse_texture, fusion_weight, transfer_grain
from inpaint_core.masks.components import label_components
from inpaint_core.masks.imageio import image_to_arrays
from inpaint_core.model.checkpoint import load_default_generator, load_generator
from inpaint_core.model.config import AOTConfig
from inpaint_core.model.device import DTYPES, resolve_device, resolve_precision
from inpaint_core.model.fused import fused_kernels
from inpaint_core.model.network import AOTGenerator

ImageLike = np.ndarray | Image.Image
# px around a crop's fill region whose source-scale fill the grain step sees: its descriptors
# reach a patch (16 px) beyond each target window
TEXTURE_REACH = 32
# px around that window where the grain step looks for context to copy from: nearby texture, and
# a cost that follows the region instead of the crop (crops of large logos on hi-res photos hold
# several megapixels, most of them far from the hole)
GRAIN_CONTEXT = 256
logger = logging.getLogger(__name__)


@dataclass
class _Crop:
    """A prepared crop waiting for its forward pass, and where its result goes."""

    index: int  # which image of the request
    plan: CropPlan
    small: np.ndarray  # (h, w, 3) uint8 crop at model scale, unpadded
    hole: np.ndarray  # (h, w) bool model hole at model scale (every fill pixel in the crop)
    own: np.ndarray  # (H, W) bool fill pixels of this crop's region, source scale
    mask: np.ndarray  # (H, W) bool mask pixels in the crop, source scale
    fill: np.ndarray  # (H, W) bool every fill pixel in the crop, source scale
    base: np.ndarray | None = None  # (H, W, 3) uint8 source-scale prefill (residual models)
    painted: np.ndarray | None = None  # (H, W) bool the prefilled pixels, source scale
    texture: np.ndarray | None = None  # (H, W, 3) uint8 PatchMatch fill of them (texture.py)


def as_rgb(image: ImageLike) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an array or a PIL image of any mode (alpha dropped)."""
    if isinstance(image, Image.Image):
        return image_to_arrays(image)[0]
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ImageInputError(f"image must be (H, W, 3) uint8 RGB, got {array.shape} {array.dtype}")
    return array


def as_mask(mask: np.ndarray | Image.Image, shape: tuple[int, int]) -> np.ndarray:
    """Bool (H, W) mask, nonzero = remove; its shape must match the image."""
    array = np.asarray(mask.convert("L") if isinstance(mask, Image.Image) else mask)
    if array.ndim == 3:
        array = np.asarray(array.any(axis=2))
    if array.shape != tuple(shape):
        raise ImageInputError(
            f"mask is {array.shape[1]}x{array.shape[0]} but the image is {shape[1]}x{shape[0]}"
        )
    return array.astype(bool)


def _file_version(path: Path, config: AOTConfig) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return f"{config.name}-{path.stem}-{digest.hexdigest()[:12]}"


def _dilated_within(mask: np.ndarray, window: tuple[slice, slice], radius: int) -> np.ndarray:
    """`mask` dilated by a (2 radius + 1)^2 square, computed for `window` only (the pixels
    within `radius` outside the window count as they do in the whole mask)."""
    height, width = mask.shape
    y1, y2 = max(0, window[0].start - radius), min(height, window[0].stop + radius)
    x1, x2 = max(0, window[1].start - radius), min(width, window[1].stop + radius)
    side = 2 * radius + 1
    grown = cv2.dilate(mask[y1:y2, x1:x2].astype(np.uint8), np.ones((side, side), np.uint8)) > 0
    return grown[window[0].start - y1 : window[0].stop - y1,
                 window[1].start - x1 : window[1].stop - x1]


class Inpainter:
    """AOT-GAN inpainting of arbitrary-size photos; see the module docstring."""

    def __init__(
        self,
        generator: AOTGenerator,
        *,
        device: str = "cpu",
        precision: str = "fp32",
        planner: PlannerConfig | None = None,
        model_version: str = "untrained",
        critic: Critic | None = None,
    ) -> None:
        self.device = resolve_device(device)
        self.critic = critic  # judges fills (realness); None: no discriminator available
        self.precision = resolve_precision(precision, self.device)
        self.planner = planner or PlannerConfig()
        if self.planner.detail not in DETAIL_METHODS:
            raise ValueError(f"PlannerConfig.detail must be one of {DETAIL_METHODS}")
        self.config: AOTConfig = generator.config
        self.model_version = model_version
        self.dtype = DTYPES[self.precision]
        if self.dtype != torch.float32 or self.device.type != "cpu":
            generator = copy.deepcopy(generator)  # never convert the caller's module in place
        self.generator = generator.to(self.device, self.dtype).eval()
        self.generator = self.generator.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._grain = self.planner.texture.method == "patchmatch" and self.config.residual
        if self._grain and not patchmatch_available():  # a platform without PyPatchMatch's wheel
            logger.warning("PyPatchMatch's native library is missing: fills stay smooth "
                           "(pip install pypatchmatch)")
            self._grain = False

    @classmethod
    def load(
        cls,
        weights: str | Path | None = None,
        device: str = "auto",
        precision: str = "auto",
        *,
        planner: PlannerConfig | None = None,
        critic: str | Path | None = "auto",
    ) -> Inpainter:
        """From a checkpoint (our .safetensors + card, or the authors' .pt); None = default.

        `critic`: discriminator weights for `realness` ("auto": the shipped critic when the
        shipped generator is used and the file exists; None: no critic; else a path).
        """
        generator, card = load_default_generator() if weights is None else load_generator(weights)
        planner = planner or PlannerConfig()
        if planner.min_work_size is None and card.get("inference_work_size"):
            # the crop size these weights fill best at, measured (may exceed the training size)
            planner = replace(planner, min_work_size=int(card["inference_work_size"]))
        version = card.get("model_version") or _file_version(Path(card["source"]), generator.config)
        inpainter = cls(
            generator,
            device=device,
            precision=precision,
            planner=planner,
            model_version=str(version),
        )
        if critic == "auto":
            shipped = default_critic_path()
            critic = shipped if weights is None and shipped.is_file() else None
        if critic is not None:
            inpainter.critic = Critic.load(critic, device=str(inpainter.device))
        return inpainter

    def realness(self, output: np.ndarray, fill: np.ndarray) -> float | None:
        """The critic's realness in [0, 1] of the filled area of `output`; None without a critic
        or without filled pixels (see inpaint_core/evaluation/critic.py)."""
        if self.critic is None:
            return None
        return self.critic.realness(output, fill)

    def fill_region(self, mask: np.ndarray, margin: int | None = None) -> np.ndarray:
        """The pixels that may change: the mask grown by `margin` pixels (default
        `planner.margin`; `BOX_MARGIN` for masks made of whole boxes) (bool (H, W))."""
        return grow(np.asarray(mask).astype(bool), self._margin(margin))

    def _margin(self, margin: int | None) -> int:
        if margin is None:
            return self.planner.margin
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        return int(margin)

    def inpaint(
        self,
        image: ImageLike,
        mask: np.ndarray | Image.Image,
        *,
        margin: int | None = None,
        keep_background: bool = True,
    ) -> np.ndarray:
        """Fill the masked pixels of one image; pixels outside `fill_region(mask, margin)` are
        unchanged.

        `keep_background`: a model with the "refine" prefill keeps what a box-shaped part of the
        mask shows besides its logo (prefill.py); False repaints every pixel of the mask, as
        other models always do.
        """
        return self.inpaint_many([(image, mask)], margin=margin, keep_background=keep_background)[0]

    def inpaint_many(
        self,
        pairs: Sequence[tuple[ImageLike, np.ndarray | Image.Image]],
        *,
        margin: int | None = None,
        keep_background: bool = True,
    ) -> list[np.ndarray]:
        """Fill several images; crops of equal size share forward passes across images."""
        images = [as_rgb(image) for image, _ in pairs]
        masks = [
            as_mask(mask, image.shape[:2]) for image, (_, mask) in zip(images, pairs, strict=True)
        ]
        fills = [self.fill_region(mask, margin) for mask in masks]
        return self.fill(images, masks, fills, keep_background=[keep_background] * len(images))

    def fill(
        self,
        images: Sequence[np.ndarray],
        masks: Sequence[np.ndarray],
        fills: Sequence[np.ndarray],
        *,
        keep_background: Sequence[bool],
    ) -> list[np.ndarray]:
        """Repaint `fills[i]` (the mask grown by its margin, see `fill_region`) of each RGB uint8
        image; crops of equal size share forward passes across images. `masks[i]` is the
        ungrown mask (full blend weight); `keep_background[i]` as in `inpaint`."""
        outputs = [image.copy() for image in images]
        groups: dict[tuple[int, int], list[_Crop]] = defaultdict(list)
        for index, (image, mask, fill) in enumerate(zip(images, masks, fills, strict=True)):
            if not fill.any():
                continue
            components = label_components(fill)  # once, for the planner and the prefill
            prefill = None  # residual models get their Telea-based prefill near source scale
            if self.config.residual and self.config.prefill != "white":
                # a "refine" model keeps what a box shows besides its logo (prefill.py)
                keep = keep_background[index] and self.config.prefill == "refine"
                prefill = logo_pixels(image, fill, components) if keep else fill
            for plan in plan_crops(fill, self.config, self.planner, components):
                groups[plan.padded].append(self._prepare(index, image, mask, fill, plan, prefill))
        for crops in groups.values():
            for start in range(0, len(crops), max(1, self.planner.batch_size)):
                batch = crops[start : start + self.planner.batch_size]
                preds, inputs = self._run(batch)
                for crop, pred, seen in zip(batch, preds, inputs, strict=True):
                    self._finish(outputs[crop.index], images[crop.index], crop, pred, seen)
        return outputs

    def _prepare(
        self,
        index: int,
        image: np.ndarray,
        mask: np.ndarray,
        fill: np.ndarray,
        plan: CropPlan,
        prefill: np.ndarray | None = None,
    ) -> _Crop:
        x1, y1, x2, y2 = plan.box
        rx1, ry1, rx2, ry2 = plan.region
        crop, fill_crop = image[y1:y2, x1:x2], fill[y1:y2, x1:x2]
        own = np.zeros_like(fill_crop)  # this crop's region only: other logos may lie in the crop
        own[ry1 - y1 : ry2 - y1, rx1 - x1 : rx2 - x1] = fill_crop[
            ry1 - y1 : ry2 - y1, rx1 - x1 : rx2 - x1
        ]
        base = painted = texture = None
        if prefill is not None:  # the pixels to prefill, Telea-filled here and scaled with the crop
            painted = prefill[y1:y2, x1:x2]
            if self._grain and painted.any():
                grain = self.planner.texture
                texture = patchmatch_local(crop, painted, context=grain.context,
                                           max_pixels=grain.max_pixels, focus=own)
            base = crop = prefill_scaled(
                crop, painted, self._prefill_scale(plan), self.planner.prefill_fill
            )
        if plan.size == (x2 - x1, y2 - y1):
            small, hole = crop, fill_crop
        else:  # any source pixel of the fill touching a model pixel makes it a hole
            small = cv2.resize(crop, plan.size, interpolation=cv2.INTER_AREA)
            hole = (
                cv2.resize(
                    fill_crop.astype(np.uint8) * 255, plan.size, interpolation=cv2.INTER_AREA
                )
                > 0
            )
        return _Crop(index, plan, small, hole, own, mask[y1:y2, x1:x2], fill_crop, base,
                     painted, texture)

    def _prefill_scale(self, plan: CropPlan) -> float:
        """The scale a source-resolution prefill of this crop is made at (1 = source)."""
        factor = self.planner.prefill_scale
        return 1.0 if factor <= 0 else min(1.0, factor * plan.scale)

    def _add_texture(self, filled: np.ndarray, view: tuple[slice, slice], original: np.ndarray,
                     crop: _Crop) -> np.ndarray:
        """The network's source-scale fill of `view` (a window of the crop holding the prefilled
        pixels and TEXTURE_REACH px around them) with PatchMatch's and the context's grain
        (texture.py) on the prefilled pixels; fused on their bounding box (+ 8 px) only."""
        grain = self.planner.texture
        assert crop.texture is not None and crop.painted is not None
        vy, vx = view[0].start, view[1].start
        ys, xs = np.nonzero(crop.painted[view])
        height, width = filled.shape[:2]
        window = (slice(max(0, int(ys.min()) - 8), min(height, int(ys.max()) + 9)),
                  slice(max(0, int(xs.min()) - 8), min(width, int(xs.max()) + 9)))
        at = (slice(window[0].start + vy, window[0].stop + vy),
              slice(window[1].start + vx, window[1].stop + vx))  # the same in crop coordinates
        details = None
        if grain.grain == "transfer":
            details = self._context_grain(filled, view, original, crop)[window]
        part = filled[window]
        fused = fuse_texture(part, crop.texture[at], crop.painted[at], mix=grain.mix,
                             amount=grain.amount, sigma=grain.sigma, grain=details)
        if grain.inner > 0 or grain.ramp > 0:  # thin strokes keep the network's fill
            weight = fusion_weight(crop.painted[at], grain.inner, grain.ramp)[..., None]
            fused = part + weight * (fused - part)
        out = filled if filled.dtype == np.float32 else filled.astype(np.float32)
        out[window] = np.clip(fused, 0, 255)  # in place: `filled` is this crop's own array
        return out

    def _context_grain(self, filled: np.ndarray, view: tuple[slice, slice], original: np.ndarray,
                       crop: _Crop) -> np.ndarray:
        """float32 grain for the prefilled pixels of `view` (its shape), copied from the context
        of `original` within GRAIN_CONTEXT px of the view (texture.transfer_grain)."""
        grain = self.planner.texture
        assert crop.texture is not None and crop.painted is not None
        height, width = original.shape[:2]
        top, left = max(0, view[0].start - GRAIN_CONTEXT), max(0, view[1].start - GRAIN_CONTEXT)
        around = (slice(top, min(height, view[0].stop + GRAIN_CONTEXT)),
                  slice(left, min(width, view[1].stop + GRAIN_CONTEXT)))
        inner = (slice(view[0].start - top, view[0].stop - top),
                 slice(view[1].start - left, view[1].stop - left))  # the view within `around`
        context = original[around]
        # the context's low frequencies: the photo, the fill's mix inside the view
        smooth = context.astype(np.float32)
        smooth[inner] = grain.mix * filled + (1 - grain.mix) * crop.texture[view].astype(
            np.float32)
        # context windows keep clear of every fill pixel (a kept box background may hold logo
        # fringe) and of JPEG ringing around it
        exclude = _dilated_within(crop.fill, around, 3)
        painted = np.zeros(smooth.shape[:2], bool)  # other regions' pixels are not pasted here
        painted[inner] = crop.painted[view]
        return transfer_grain(smooth, context, painted, exclude, sigma=grain.sigma)[inner]

    def _run(self, batch: list[_Crop]) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass over crops of equal padded size -> the predictions and the inputs
        the generator saw (prefilled holes), both (B, h, w, 3) float32 in [0, 255]."""
        pad_w, pad_h = batch[0].plan.padded
        images, holes = [], []
        for crop in batch:
            h, w = crop.hole.shape
            widths = ((0, pad_h - h), (0, pad_w - w))
            images.append(np.pad(crop.small, (*widths, (0, 0)), mode="reflect"))
            holes.append(np.pad(crop.hole, widths, mode="reflect"))
        with torch.inference_mode():
            pixels = torch.from_numpy(np.stack(images)).to(self.device)  # (B, H, W, 3) uint8
            image = pixels.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (B, 3, H, W), channels_last
            hole = (
                torch.from_numpy(np.stack(holes)).to(self.device)[:, None].float()
            )  # (B, 1, H, W)
            prefilled = all(crop.base is not None for crop in batch)
            masked = generator_input(image, hole, self.config.prefill, prefilled=prefilled)
            with fused_kernels():
                pred = self.generator(masked.to(self.dtype), hole.to(self.dtype)).float()

            def pixels_of(x: torch.Tensor) -> np.ndarray:  # (B, H, W, 3) in [0, 255]
                return ((x.float() + 1.0) * 127.5).clamp(0, 255).permute(0, 2, 3, 1).cpu().numpy()

            return pixels_of(pred), pixels_of(masked)

    def _finish(
        self, output: np.ndarray, image: np.ndarray, crop: _Crop, pred: np.ndarray, seen: np.ndarray
    ) -> None:
        x1, y1, x2, y2 = crop.plan.box
        h, w = crop.hole.shape
        # blend only around this crop's region, 1 px wider so its border sees non-fill pixels
        rx1, ry1, rx2, ry2 = crop.plan.region
        sx1, sy1, sx2, sy2 = max(x1, rx1 - 1), max(y1, ry1 - 1), min(x2, rx2 + 1), min(y2, ry2 + 1)
        # the source-scale fill is made on that window grown by TEXTURE_REACH only (the grain's
        # descriptors look that far), not on the whole crop (~9x the region's area)
        reach = TEXTURE_REACH if crop.texture is not None else 0
        view = (slice(max(0, sy1 - y1 - reach), min(y2 - y1, sy2 - y1 + reach)),
                slice(max(0, sx1 - x1 - reach), min(x2 - x1, sx2 - x1 + reach)))
        if crop.base is not None and (w, h) != (x2 - x1, y2 - y1):
            # a residual network's correction is applied to the prefill made near source scale,
            # so a downscaled crop loses nothing the prefill itself had
            correction = np.where(crop.hole[..., None], pred[:h, :w] - seen[:h, :w], 0.0)
            correction = upscale_window(correction, (x2 - x1, y2 - y1), view)
            filled = np.clip(crop.base[view].astype(np.float32) + correction, 0, 255)
        else:
            filled = np.where(crop.hole[..., None], pred[:h, :w], crop.small.astype(np.float32))
            if (w, h) != (x2 - x1, y2 - y1):
                filled = restore_detail(
                    filled, image[y1:y2, x1:x2], crop.hole, method=self.planner.detail
                )
            filled = filled[view]  # the model ran at source scale, or CRA used the whole crop
        if crop.texture is not None and crop.painted is not None and crop.painted[view].any():
            filled = self._add_texture(filled, view, image[y1:y2, x1:x2], crop)
        local = (slice(sy1 - y1 - view[0].start, sy2 - y1 - view[0].start),
                 slice(sx1 - x1 - view[1].start, sx2 - x1 - view[1].start))
        fill = (slice(sy1 - y1, sy2 - y1), slice(sx1 - x1, sx2 - x1))
        box = (sx1, sy1, sx2, sy2)
        paste(output, filled[local], box, crop.own[fill], crop.mask[fill], self.planner.feather)

"""What the generator sees inside the hole.

The paper's generator gets the hole painted white (+1). A generator whose config says
`prefill="telea"` gets OpenCV's Telea fill of the hole instead: a smooth first guess that
carries the surrounding colours in, which the network then refines. Both paths share
`generator_input`, so training, the critic and the Inpainter feed a model the same way.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from inpaint_core.model import prepare_input

TELEA_RADIUS = 5  # pixels of known neighbourhood OpenCV's Telea fill looks at


def telea(image: np.ndarray, mask: np.ndarray, radius: int = TELEA_RADIUS) -> np.ndarray:
    """OpenCV's Telea inpainting of `mask` (bool/uint8 (H, W), nonzero = hole) in `image`
    (uint8 (H, W, 3)): the classical baseline, and the "telea" prefill."""
    hole = (np.asarray(mask) > 0).astype(np.uint8) * 255
    return cv2.inpaint(np.ascontiguousarray(image), hole, radius, cv2.INPAINT_TELEA)


def generator_input(
    image: torch.Tensor, mask: torch.Tensor, prefill: str = "white"
) -> torch.Tensor:
    """image (B, 3, H, W) in [-1, 1], mask (B, 1, H, W) with 1 = hole -> the generator's input."""
    if prefill == "white":
        return prepare_input(image, mask)
    if prefill != "telea":
        raise ValueError(f"unknown prefill {prefill!r}")
    pixels = ((image.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    pixels_np = pixels.permute(0, 2, 3, 1).cpu().numpy()  # (B, H, W, 3)
    holes_np = (mask.detach()[:, 0] > 0.5).cpu().numpy()
    filled = np.stack([telea(p, h) for p, h in zip(pixels_np, holes_np, strict=True)])
    guess = torch.from_numpy(filled).to(image.device).permute(0, 3, 1, 2).float() / 127.5 - 1
    return image * (1 - mask) + guess.to(image.dtype) * mask

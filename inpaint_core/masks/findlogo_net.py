"""A small learned verifier for find-logo: is the logo's silhouette, at this pose, a mark on the
photo, or an edge of the photo that happens to fit it?

The hand-made cues of findlogo_verify measure a few things a person sees (contrast across the
outline, a band that stands apart, a crisp step). They are absolute, so a near-black ring on a
dark photo or a translucent tilted mark scores as low as clutter. This network looks at the
candidate itself: the band around the pose (the photo's pixels, each patch normalised by its
own spread, so a faint paste and a bold one look alike) beside the logo's silhouette at that
pose, and returns log-odds that the silhouette is printed there. It never sees the logo's
colours, only its shape, so it applies to any logo a user gives.

    values = net_input(band_rgb, band_mask, alpha, pad)   # (CHANNELS, SIDE, SIDE) float32
    logits = load_verifier().score(np.stack([...]))        # (N,) log-odds

Trained by inpaint_core/training/findlogo_net_train.py on marks pasted onto training photos
(bench/RESULTS-masks-find.md); the weights ship in inpaint_core/weights/findlogo-net.*.
torch is imported only when the network is built, so this module costs nothing to import.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inpaint_core.errors import NoDefaultWeightsError

SIDE = 48  # the patch's side after resizing (band and silhouette squashed alike)
CHANNELS = 5  # normalised R, G, B; silhouette alpha; inside the image
MIN_SPREAD = 4.0  # grey levels: the floor of a patch's spread, so flat sky is not amplified
WEIGHTS_NAME = "findlogo-net"
# the network judges marks whose edges are their silhouette's (flat-colour marks, what it was
# trained on): a logo whose outline carries less than this share of its edge energy (one cut out
# of a photo, with a detailed inside: 0.13 for a Starbucks crop of FlickrLogos, where flat marks
# measure 0.9-1.0) is judged by the hand cues alone, its inside being what tells it from any
# printed shape of its outline
APPLIES_FROM = 0.5


@dataclass(frozen=True)
class NetConfig:
    """The verifier's shape; stored in the weights' card and rebuilt from it."""

    widths: tuple[int, int, int] = (16, 32, 48)  # conv channels of the three stages
    hidden: int = 96  # the fully connected layer over the 6 x 6 map (keeps where things lie)


def net_input(band_rgb: np.ndarray, band_mask: np.ndarray, alpha: np.ndarray, pad: int
              ) -> np.ndarray:
    """The network's input for one candidate: (CHANNELS, SIDE, SIDE) float32.

    band_rgb: (h + 2 pad, w + 2 pad, 3) uint8, the photo around the pose; band_mask: the same
    shape, bool, where that lies inside the photo; alpha: (h, w) the silhouette at the pose."""
    size = (SIDE, SIDE)
    rgb = cv2.resize(band_rgb.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    inside = cv2.resize(band_mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    shape = cv2.resize(np.pad(alpha.astype(np.float32), pad), size, interpolation=cv2.INTER_AREA)
    seen = band_rgb[band_mask] if band_mask.any() else band_rgb.reshape(-1, 3)
    mean = seen.reshape(-1, 3).astype(np.float32).mean(axis=0)
    spread = max(float(seen.astype(np.float32).std()), MIN_SPREAD)
    normal = (rgb - mean) / spread * inside[..., None]
    return np.concatenate([normal.transpose(2, 0, 1), shape[None], inside[None]]).astype(
        np.float32)


def outline_share(rgb: np.ndarray, alpha: np.ndarray) -> float:
    """Share of a logo's edge energy on its silhouette's outline: |grad alpha| summed, over that
    plus the colour gradient (mean of R, G, B in 0..1) summed inside the solid part."""
    def magnitude(values: np.ndarray) -> np.ndarray:
        return np.hypot(cv2.Sobel(values, cv2.CV_32F, 1, 0), cv2.Sobel(values, cv2.CV_32F, 0, 1))

    colour = rgb.astype(np.float32) / 255.0
    solid = cv2.erode((alpha > 0.9).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    inside = sum(magnitude(np.ascontiguousarray(colour[:, :, c])) for c in range(3))[solid]
    outline = float(magnitude(alpha.astype(np.float32)).sum())
    return outline / max(outline + float(inside.sum()) / 3, 1e-6)


def _network(config: NetConfig) -> Any:
    from torch import nn

    layers: list[Any] = []
    channels = CHANNELS
    for width in config.widths:
        layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
                   nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        channels = width
    cells = (SIDE // 2 ** len(config.widths)) ** 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * cells, config.hidden),
                         nn.ReLU(), nn.Linear(config.hidden, 1))


class PatchVerifier:
    """The network with its config; `score` maps a batch of net_input arrays to log-odds."""

    def __init__(self, config: NetConfig | None = None, state: dict[str, Any] | None = None):
        self.config = config or NetConfig()
        self.module = _network(self.config)
        if state is not None:
            self.module.load_state_dict({k: v.float() for k, v in state.items()})
        self.module.eval()

    def score(self, inputs: np.ndarray) -> np.ndarray:
        """(N, CHANNELS, SIDE, SIDE) float32 -> (N,) float64 log-odds."""
        import torch

        if len(inputs) == 0:
            return np.zeros(0)
        with torch.inference_mode():
            out = self.module(torch.from_numpy(np.ascontiguousarray(inputs, np.float32)))
        return out[:, 0].double().numpy()

    def save(self, path: Path, card: dict[str, Any]) -> None:
        """fp16 safetensors at `path` and its card (config + what the caller adds) beside it."""
        from safetensors.torch import save_file

        state = {k: v.detach().half().contiguous() for k, v in self.module.state_dict().items()}
        save_file(state, str(path))
        meta = {"config": asdict(self.config), **card}
        path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def weights_path() -> Path:
    return Path(__file__).resolve().parent.parent / "weights" / f"{WEIGHTS_NAME}.safetensors"


def load_verifier(path: Path | None = None) -> PatchVerifier:
    """The verifier stored at `path` (default: the shipped weights)."""
    from safetensors.torch import load_file

    path = path or weights_path()
    card = path.with_suffix(".json")
    if not path.is_file() or not card.is_file():
        raise NoDefaultWeightsError(
            f"find-logo's verifier weights are missing: {path} and {card.name} beside it "
            "(a trimmed install? reinstall unbrand, or train them: scripts/train_findlogo_net.py)")
    meta = json.loads(card.read_text())
    config = NetConfig(**{k: tuple(v) if isinstance(v, list) else v
                          for k, v in meta["config"].items()})
    return PatchVerifier(config, load_file(str(path)))


@functools.lru_cache(maxsize=1)
def shipped_verifier() -> PatchVerifier:
    """The shipped verifier, loaded once per process."""
    return load_verifier()

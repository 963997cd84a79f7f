"""Training photos: folders of images held in memory, served as random jittered, flipped crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inpaint_core.masks.formats import IMAGE_EXTENSIONS


def list_photos(folders: list[Path]) -> list[Path]:
    """Every image file below the folders, sorted for reproducibility."""
    paths: list[Path] = []
    for folder in folders:
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"training data folder not found: {folder}")
        paths += [p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS]
    if not paths:
        raise FileNotFoundError(f"no images found under {', '.join(map(str, folders))}")
    return sorted(paths)


class PhotoCrops:
    """Random square crops of `size` px from photos decoded once into memory (uint8)."""

    def __init__(self, folders: list[Path], size: int, *, seed: int = 0) -> None:
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.photos = [self._load(p) for p in list_photos(folders)]

    def _load(self, path: Path) -> np.ndarray:
        with Image.open(path) as opened:
            img = opened.convert("RGB")
        short = min(img.size)
        if short < self.size:  # upscale small photos so a crop fits
            scale = self.size / short
            new_size = (round(img.width * scale), round(img.height * scale))
            img = img.resize(new_size, Image.Resampling.BICUBIC)
        return np.asarray(img)

    def __len__(self) -> int:
        return len(self.photos)

    def crop(self) -> np.ndarray:
        """One (size, size, 3) uint8 crop: random scale, position and flip, mild colour jitter."""
        photo = self.photos[int(self.rng.integers(0, len(self.photos)))]
        h, w = photo.shape[:2]
        # zoom out by up to 2x when the photo is big enough, so crops see whole objects too
        scale = self.rng.uniform(1.0, max(1.0, min(2.0, min(h, w) / self.size)))
        side = min(int(self.size * scale), h, w)
        y = int(self.rng.integers(0, h - side + 1))
        x = int(self.rng.integers(0, w - side + 1))
        patch = photo[y : y + side, x : x + side]
        if side != self.size:
            patch = np.asarray(
                Image.fromarray(patch).resize((self.size, self.size), Image.Resampling.BILINEAR)
            )
        if self.rng.random() < 0.5:
            patch = patch[:, ::-1]
        return self._jitter(patch)

    def _jitter(self, patch: np.ndarray) -> np.ndarray:
        out = patch.astype(np.float32)
        out = out * self.rng.uniform(0.9, 1.1) + self.rng.uniform(-10, 10)  # contrast, brightness
        grey = out.mean(axis=2, keepdims=True)
        out = grey + (out - grey) * self.rng.uniform(0.85, 1.15)  # saturation
        return np.clip(out, 0, 255).astype(np.uint8)

    def batch(self, count: int) -> np.ndarray:
        """(count, size, size, 3) uint8."""
        return np.stack([self.crop() for _ in range(count)])

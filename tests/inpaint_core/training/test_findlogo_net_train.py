"""Samples and training of find-logo's learned verifier."""

from __future__ import annotations

import numpy as np
import torch

from inpaint_core.masks.findlogo import make_template
from inpaint_core.masks.findlogo_net import CHANNELS, SIDE, NetConfig, net_input
from inpaint_core.training.findlogo_net_train import (
    Samples,
    augment,
    fit_verifier,
    image_samples,
)


def ring_alpha(size: int) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    radius = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5)
    return ((radius < size * 0.45) & (radius > size * 0.28)).astype(np.float32)


def test_augment_turns_photo_and_silhouette_together() -> None:
    rng = np.random.default_rng(0)
    alpha = (rng.random((6, 1, SIDE, SIDE)) > 0.5).astype(np.float32)
    batch = np.concatenate([alpha, -alpha, alpha, alpha, np.ones_like(alpha)], axis=1)
    generator = torch.Generator().manual_seed(1)
    for _ in range(8):
        out = augment(torch.from_numpy(batch), generator).numpy()
        for channel in range(3):
            np.testing.assert_array_equal(np.abs(out[:, channel]), out[:, 3])
        np.testing.assert_array_equal(out[:, 4], 1.0)


def test_a_pasted_mark_gives_positives_and_the_photo_negatives() -> None:
    rng = np.random.default_rng(2)
    image = np.clip(rng.normal(120, 25, (240, 320, 3)), 0, 255).astype(np.uint8)
    image = np.asarray(torch.nn.functional.avg_pool2d(  # a photo-like, smooth clutter
        torch.from_numpy(image).permute(2, 0, 1).float()[None], 5, 1, 2)[0].permute(1, 2, 0)
    ).astype(np.uint8)
    alpha = ring_alpha(60)
    rgba = np.dstack([np.zeros((60, 60, 3), np.uint8), (alpha * 255).astype(np.uint8)])
    template = make_template(rgba, name="ring")
    region = image[100:160, 150:210].astype(np.float32)
    image[100:160, 150:210] = (region * (1 - alpha[..., None]) + 20 * alpha[..., None]).astype(
        np.uint8)
    found = image_samples(image, template, [[150, 100, 210, 160]], [0.0])
    labels = np.array([label for _, label in found])
    assert labels.sum() >= 1 and (labels == 0).sum() >= 1
    assert all(values.shape == (CHANNELS, SIDE, SIDE) for values, _ in found)
    positive = next(values for values, label in found if label == 1)
    # the silhouette channel lies on the dark ring the photo channels show
    ink = positive[:3].mean(axis=0)
    assert ink[positive[3] > 0.5].mean() < ink[positive[3] < 0.1].mean() - 1.0


def test_training_separates_printed_shapes_from_clutter() -> None:
    rng = np.random.default_rng(0)
    alpha, pad = ring_alpha(40), 6
    inputs, labels, names = [], [], []
    for k in range(240):
        positive = k % 2 == 0
        full = np.pad(alpha if positive else np.roll(alpha, int(rng.integers(8, 20)), axis=1),
                      pad)
        ink = rng.uniform(20, 230)
        grey = 120 * (1 - full) + ink * full + rng.normal(0, 6, full.shape)
        band = np.repeat(np.clip(grey, 0, 255)[..., None], 3, axis=2).astype(np.uint8)
        inputs.append(net_input(band, np.ones(full.shape, bool), alpha, pad).astype(np.float16))
        labels.append(float(positive))
        names.append(f"image{k // 4}")
    samples = Samples(np.stack(inputs), np.asarray(labels, np.float32), np.asarray(names))
    _, record = fit_verifier([samples], epochs=6, batch=16, lr=3e-3, holdout=0.25,
                             config=NetConfig(widths=(8, 8, 8), hidden=16), log=lambda _: None)
    assert record["epochs"][-1]["auc"] > 0.95


def test_a_partial_mark_keeps_one_side_of_a_line_through_it() -> None:
    from inpaint_core.training.findlogo_net_train import KEPT, _cut

    alpha = (ring_alpha(80) * 255).astype(np.uint8)
    mark = np.dstack([np.full((80, 80, 3), 40, np.uint8), alpha])
    for seed in range(6):
        cut = _cut(mark, np.random.default_rng(seed))
        kept = cut[:, :, 3].astype(float).sum() / alpha.astype(float).sum()
        assert KEPT[0] - 0.03 <= kept <= KEPT[1] + 0.03, (seed, kept)
        assert np.all(cut[:, :, 3] <= alpha) and np.array_equal(cut[:, :, :3], mark[:, :, :3])

"""find-logo's learned verifier: its input, its weights file, and what the shipped one learned."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_core.masks.findlogo_net import (
    CHANNELS,
    SIDE,
    NetConfig,
    PatchVerifier,
    load_verifier,
    net_input,
    shipped_verifier,
)


def ring(size: int = 40) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    radius = np.hypot(yy - size / 2 + 0.5, xx - size / 2 + 0.5)
    return ((radius < size * 0.45) & (radius > size * 0.3)).astype(np.float32)


def pasted(alpha: np.ndarray, pad: int, background: float, ink: float,
           noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A grey band of the silhouette's size + pad with the silhouette printed in `ink`."""
    rng = np.random.default_rng(seed)
    full = np.pad(alpha, pad)
    grey = background * (1 - full) + ink * full + rng.normal(0, noise, full.shape)
    band = np.repeat(np.clip(grey, 0, 255)[..., None], 3, axis=2).astype(np.uint8)
    return band, np.ones(full.shape, bool)


def test_the_input_does_not_depend_on_how_faint_the_paste_is() -> None:
    alpha, pad = ring(), 6
    faint = net_input(*pasted(alpha, pad, 100, 120), alpha, pad)
    bold = net_input(*pasted(alpha, pad, 100, 220), alpha, pad)
    assert faint.shape == (CHANNELS, SIDE, SIDE)
    np.testing.assert_allclose(faint, bold, atol=0.05)
    np.testing.assert_allclose(faint[3].max(), 1.0, atol=0.05)  # the silhouette channel


def test_flat_sky_is_not_amplified_into_texture() -> None:
    alpha, pad = ring(), 6
    band, inside = pasted(alpha, pad, 128, 128, noise=1.0)
    values = net_input(band, inside, alpha, pad)
    assert np.abs(values[:3]).max() < 1.5  # noise of 1 grey level over the spread floor of 4


def test_outside_the_image_is_zero_and_marked() -> None:
    alpha, pad = ring(), 6
    band, inside = pasted(alpha, pad, 100, 200)
    inside[:, : band.shape[1] // 2] = False
    values = net_input(band, inside, alpha, pad)
    assert np.all(values[:3, :, :20] == 0)
    assert values[4, :, :20].max() == 0 and values[4, :, -20:].min() == 1


def test_weights_round_trip_through_safetensors(tmp_path) -> None:
    import torch

    torch.manual_seed(3)
    verifier = PatchVerifier(NetConfig(widths=(4, 8, 8), hidden=8))
    inputs = np.random.default_rng(0).normal(size=(3, CHANNELS, SIDE, SIDE)).astype(np.float32)
    path = tmp_path / "net.safetensors"
    verifier.save(path, {"note": "test"})
    again = load_verifier(path)
    assert again.config == verifier.config
    np.testing.assert_allclose(again.score(inputs), verifier.score(inputs), atol=0.02)
    assert verifier.score(np.zeros((0, CHANNELS, SIDE, SIDE), np.float32)).shape == (0,)


@pytest.mark.parametrize("ink", [140.0, 30.0])
def test_the_shipped_verifier_tells_a_printed_shape_from_a_plain_patch(ink: float) -> None:
    alpha, pad = ring(), 6
    mark = net_input(*pasted(alpha, pad, 90, ink, noise=3.0), alpha, pad)
    plain = net_input(*pasted(alpha, pad, 90, 90, noise=3.0, seed=1), alpha, pad)
    shifted = net_input(*pasted(np.roll(alpha, 12, axis=1), pad, 90, ink, noise=3.0), alpha, pad)
    mark_score, plain_score, shifted_score = shipped_verifier().score(
        np.stack([mark, plain, shifted]))
    assert mark_score > plain_score + 3
    assert mark_score > shifted_score + 3  # the shape must sit where the silhouette says


def test_missing_weights_say_what_is_missing(tmp_path) -> None:
    from inpaint_core.errors import NoDefaultWeightsError

    with pytest.raises(NoDefaultWeightsError, match="verifier weights are missing"):
        load_verifier(tmp_path / "nowhere.safetensors")


def test_only_flat_marks_are_judged_by_the_network() -> None:
    """A flat-colour mark is what the network learned; a logo cut out of a photo (a detailed
    inside) is told from any printed disc by its inside, which the network never sees, so the
    hand cues judge it alone."""
    from inpaint_core.masks.findlogo import FinderConfig, LogoFinder, make_template
    from inpaint_core.masks.findlogo_net import APPLIES_FROM, outline_share

    alpha = ring(60)
    disc = (np.hypot(*np.mgrid[-30:30, -30:30]) < 27).astype(np.float32)
    flat = np.dstack([np.full((60, 60, 3), 200, np.uint8), (alpha * 255).astype(np.uint8)])
    texture = np.random.default_rng(0).integers(0, 256, (60, 60, 3)).astype(np.uint8)
    photo = np.dstack([texture, (disc * 255).astype(np.uint8)])
    assert outline_share(flat[:, :, :3], alpha) > 0.95
    assert outline_share(photo[:, :, :3], disc) < APPLIES_FROM
    scene = np.random.default_rng(1).integers(60, 200, (200, 260, 3)).astype(np.uint8)
    for rgba, judged in ((flat, True), (photo, False)):
        finder = LogoFinder([make_template(rgba, name="logo")], FinderConfig(learned=True))
        found = finder.candidates(scene)
        assert found and all(("net" in d.cues) == judged for d in found)

"""The texture ratio on constructed cases, and the PatchMatch fill used as a baseline."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inpaint_core.errors import ImageInputError
from inpaint_core.evaluation.evaluate import evaluate, parse_baselines
from inpaint_core.evaluation.metrics import texture_ratio
from inpaint_core.inference.patchmatch import (
    patchmatch,
    patchmatch_available,
    patchmatch_local,
    patchmatch_scaled,
)
from inpaint_core.inference.prefill import telea
from inpaint_core.inference.texture import (
    TextureConfig,
    fuse_texture,
    fusion_weight,
    low_pass,
    transfer_grain,
)
from inpaint_core.masks.voc import VocAnnotation, VocObject, write_voc


def _stripes(height: int = 96, width: int = 128, period: int = 8) -> np.ndarray:
    """A detailed picture: diagonal stripes plus fine noise (uint8 RGB)."""
    yy, xx = np.mgrid[0:height, 0:width]
    wave = 127 + 90 * np.sin(2 * np.pi * (xx + yy) / period)
    noise = np.random.default_rng(0).normal(0, 6, (height, width))
    grey = np.clip(wave + noise, 0, 255)
    return np.stack([grey, grey * 0.8 + 20, 255 - grey], -1).astype(np.uint8)


def _box(height: int = 96, width: int = 128) -> np.ndarray:
    box = np.zeros((height, width), bool)
    box[30:70, 40:100] = True
    return box


def test_texture_ratio_constructed_cases() -> None:
    truth, box = _stripes(), _box()
    assert texture_ratio(truth, truth, box) == pytest.approx(1.0)
    blurred = truth.copy()
    blurred[box] = cv2.GaussianBlur(truth, (0, 0), 2.0)[box]
    assert 0.05 < texture_ratio(truth, blurred, box) < 0.5  # a smooth fill keeps little detail
    flat = truth.copy()
    flat[box] = truth[box].mean(axis=0).astype(np.uint8)
    assert texture_ratio(truth, flat, box) == pytest.approx(0.0, abs=1e-6)  # a flat patch: none
    noisy = truth.astype(float)
    noisy[box] += np.random.default_rng(1).normal(0, 25, noisy[box].shape)
    assert texture_ratio(truth, np.clip(noisy, 0, 255).astype(np.uint8), box) > 1.2  # busier
    # a sharp seam along the border is not counted as detail: a flat patch with a 1-px frame
    framed = flat.copy()
    framed[30, 40:100] = framed[69, 40:100] = 255
    assert texture_ratio(truth, framed, box) == pytest.approx(0.0, abs=1e-6)
    # a flat truth does not divide by ~0
    plain = np.full_like(truth, 128)
    assert texture_ratio(plain, plain, box) == pytest.approx(0.0)
    assert texture_ratio(truth, truth, np.zeros_like(box)) == 1.0


@pytest.mark.skipif(not patchmatch_available(), reason="pypatchmatch not installed")
def test_patchmatch_keeps_texture_where_telea_smooths() -> None:
    truth, box = _stripes(), _box()
    image = truth.copy()
    image[box] = (220, 30, 30)  # an opaque red badge
    filled = patchmatch(image, box)
    assert np.array_equal(filled[~box], image[~box])  # only the hole changes
    assert np.array_equal(filled, patchmatch(image, box))  # deterministic
    assert not (filled[box] == (220, 30, 30)).all(axis=-1).any()  # nothing of the badge copied
    smooth = telea(image, box)
    assert texture_ratio(truth, filled, box) > 0.7 > 0.5 > texture_ratio(truth, smooth, box)
    half = patchmatch_scaled(image, box, 0.5)
    assert np.array_equal(half[~box], image[~box]) and texture_ratio(truth, half, box) > 0.3
    assert np.array_equal(patchmatch(image, np.zeros_like(box)), image)


@pytest.mark.skipif(not patchmatch_available(), reason="pypatchmatch not installed")
def test_patchmatch_local_sizes_its_window_by_the_focus_not_by_every_hole() -> None:
    """A crop can hold other logos besides its own. The window follows the `focus` hole, so
    a far hole neither scales it down nor is filled; a near one is filled, never copied."""
    image = _stripes(240, 320)
    near, far = np.zeros((240, 320), bool), np.zeros((240, 320), bool)
    near[20:40, 20:60] = True
    far[200:230, 260:310] = True
    own = near.copy()
    args = {"context": 0.5, "max_pixels": 4_000}
    alone = patchmatch_local(image, near, **args)
    both = patchmatch_local(image, near | far, focus=own, **args)
    assert np.array_equal(both[near], alone[near])  # the same window, the same scale
    assert np.array_equal(both[far], image[far])  # outside the window: left as it was
    spread = patchmatch_local(image, near | far, **args)  # no focus: one window for both
    assert not np.array_equal(spread[near], alone[near])


def test_parse_baselines() -> None:
    assert parse_baselines("telea,patchmatch") == ("telea", "patchmatch")
    assert parse_baselines("none") == () == parse_baselines(None)
    assert parse_baselines(["patchmatch", "patchmatch"]) == ("patchmatch",)
    with pytest.raises(ImageInputError, match="unknown baseline 'lama'"):
        parse_baselines("telea,lama")


@pytest.mark.skipif(not patchmatch_available(), reason="pypatchmatch not installed")
def test_evaluate_scores_texture_and_both_baselines(tmp_path: Path) -> None:
    truth, box = _stripes(), _box()
    bench = tmp_path / "bench"
    for sub in ("JPEGImages", "GroundTruth", "Annotations", "ImageSets/Main"):
        (bench / sub).mkdir(parents=True)
    image = truth.copy()
    image[box] = (220, 30, 30)
    Image.fromarray(image).save(bench / "JPEGImages" / "a.jpg", quality=100)
    Image.fromarray(truth).save(bench / "GroundTruth" / "a.png")
    write_voc(bench / "Annotations" / "a.xml",
              VocAnnotation("a.jpg", 128, 96, [VocObject("badge", [40, 30, 100, 70])]))
    (bench / "ImageSets" / "Main" / "test.txt").write_text("a\n")
    results = tmp_path / "results"
    results.mkdir()
    Image.fromarray(truth).save(results / "a.png")
    report = evaluate(results, bench)
    assert list(report["methods"]) == ["ours", "telea", "patchmatch"]
    rows = {m: report["methods"][m]["all"] for m in report["methods"]}
    assert rows["ours"]["texture_box"] == pytest.approx(1.0) and rows["ours"]["psnr_box"] == 100
    assert rows["patchmatch"]["texture_box"] > 0.7 > rows["telea"]["texture_box"]


def test_fuse_texture_keeps_low_frequencies_and_adds_grain() -> None:
    truth, box = _stripes(), _box()
    smooth = truth.astype(np.float32)
    smooth[box] = cv2.GaussianBlur(truth, (0, 0), 3.0)[box]  # a network's smear
    grainy = truth.astype(np.float32)  # a "PatchMatch" fill with the right grain
    out = fuse_texture(smooth, grainy, box, mix=1.0, amount=1.0, sigma=1.0)
    assert np.array_equal(out[~box], smooth[~box])  # outside the region: the network's fill
    sharper = texture_ratio(truth, np.clip(out, 0, 255).astype(np.uint8), box)
    assert sharper > 0.45 > 0.3 > texture_ratio(truth, smooth.astype(np.uint8), box)
    # no grain: the region is the low-pass of the mix
    mixed = fuse_texture(smooth, grainy, box, mix=0.5, amount=0.0, sigma=1.0)
    expected = low_pass(0.5 * smooth + 0.5 * grainy, 1.0)
    assert np.allclose(mixed[box], expected[box])
    given = np.full_like(smooth, 7.0)
    assert np.allclose(fuse_texture(smooth, grainy, box, mix=1.0, amount=1.0, grain=given)[box],
                       (low_pass(smooth, 1.0) + 7.0)[box])


def test_transfer_grain_copies_the_contexts_detail() -> None:
    truth, box = _stripes(period=6), _box()
    smooth = truth.astype(np.float32)
    smooth[box] = truth[~box].mean(axis=0)  # a flat fill of the hole
    grain = transfer_grain(smooth, truth, box, box, sigma=1.0)
    assert grain.shape == truth.shape and grain.dtype == np.float32
    detail = truth.astype(np.float32) - low_pass(truth.astype(np.float32), 1.0)
    # the hole gets grain of the photo's strength; far outside the hole there is none
    inner = box[2:-2, 2:-2]
    strength = np.abs(grain[2:-2, 2:-2][inner]).mean() / np.abs(detail[box]).mean()
    assert 0.6 < strength < 1.4
    far = np.ones_like(box)
    far[14:86, 24:116] = False
    assert np.abs(grain[far]).max() == 0
    # no context left: nothing to copy
    assert not transfer_grain(smooth, truth, box, np.ones_like(box)).any()


def test_texture_config_checks() -> None:
    with pytest.raises(ValueError, match="texture method"):
        TextureConfig(method="noise")
    with pytest.raises(ValueError, match="invalid TextureConfig"):
        TextureConfig(mix=1.5)


def test_fusion_weight_spares_thin_strokes() -> None:
    region = np.zeros((40, 60), bool)
    region[5:8, 5:55] = True  # a 3-px stroke
    region[15:35, 10:40] = True  # a 20 x 30 plate
    weight = fusion_weight(region, inner=2.0, ramp=2.0)
    assert weight.dtype == np.float32 and weight[~region].max() == 0
    assert weight[5:8, 5:55].max() == 0  # the stroke keeps the network's fill
    assert weight[25, 25] == 1.0  # full deep inside the plate
    assert weight[15, 25] == 0  # the plate's edge pixel: not yet
    assert np.array_equal(fusion_weight(region, 0.0, 0.0), region.astype(np.float32))

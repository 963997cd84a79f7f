"""Losses as the AOT-GAN paper states them: SM-PatchGAN labels, Gram, VGG19 perceptual/style."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from inpaint_core.errors import CheckpointError
from inpaint_core.model.network import PatchDiscriminator
from inpaint_core.training.losses import (
    PERCEPTUAL_LAYERS,
    STYLE_LAYERS,
    VGGFeatures,
    discriminator_loss,
    gaussian_kernel,
    generator_adversarial_loss,
    gram,
    label_blur_for,
    make_vgg19_features,
    perceptual_loss,
    soft_patch_labels,
    style_loss,
)

# ---- SM-PatchGAN labels -------------------------------------------------------------------------


def _left_half_hole() -> torch.Tensor:
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :, :2] = 1  # columns 0 and 1 are the hole
    return mask


def test_gaussian_kernel_three_taps_by_hand() -> None:
    w = math.exp(-0.5)  # sigma 1, offsets -1, 0, 1
    expected = torch.tensor([w, 1.0, w]) / (1 + 2 * w)
    assert torch.allclose(gaussian_kernel(3, 1.0), expected, atol=1e-7)


def test_soft_labels_without_blur_are_area_shrunk_known_region() -> None:
    labels = soft_patch_labels(_left_half_hole(), (2, 2), ksize=1, sigma=1.0)
    assert torch.allclose(labels, torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]]))


def test_soft_labels_hand_computed_with_blur() -> None:
    # known = (1 - m) = [0, 0, 1, 1] on every row; a 3-tap blur (replicate padding) gives
    # [0, w, 1 + w, 1 + 2w] / (1 + 2w); rows are equal so the vertical blur keeps them;
    # area-shrinking to 2x2 averages column pairs.
    w = math.exp(-0.5)
    left = w / (2 * (1 + 2 * w))
    right = (1 + w) / (2 * (1 + 2 * w)) + 0.5
    labels = soft_patch_labels(_left_half_hole(), (2, 2), ksize=3, sigma=1.0)
    expected = torch.tensor([[[[left, right], [left, right]]]])
    assert torch.allclose(labels, expected, atol=1e-6)
    assert left == pytest.approx(0.13703, abs=1e-5)
    assert right == pytest.approx(0.86297, abs=1e-5)


def test_soft_labels_at_discriminator_size() -> None:
    disc = PatchDiscriminator(width=8)
    image = torch.zeros(1, 3, 64, 64)
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 16:48, 16:48] = 1  # a centred 32 px hole
    d_out = disc(image)
    ksize, sigma = label_blur_for(64)
    labels = soft_patch_labels(mask, tuple(d_out.shape[-2:]), ksize=ksize, sigma=sigma)
    assert labels.shape == d_out.shape == (1, 1, 6, 6)
    assert labels[0, 0, 0, 0] > 0.95  # a corner patch far from the hole is "real"
    assert labels[0, 0, 2:4, 2:4].max() < 0.1  # patches in the middle of the hole are "fake"
    assert torch.all((labels >= 0) & (labels <= 1))
    # symmetric hole -> symmetric labels
    assert torch.allclose(labels, labels.flip(-1), atol=1e-6)
    assert torch.allclose(labels, labels.transpose(-1, -2), atol=1e-6)


def test_label_blur_is_the_papers_at_512() -> None:
    assert label_blur_for(512) == (71, 10.0)
    ksize, sigma = label_blur_for(256)
    assert ksize % 2 == 1 and sigma == 5.0


def test_discriminator_loss_real_label_is_one_and_fake_label_is_blurred() -> None:
    mask = _left_half_hole()
    labels = soft_patch_labels(mask, (2, 2), ksize=3, sigma=1.0)
    ones = torch.ones(1, 1, 2, 2)
    # D answers exactly the labels: no loss
    assert discriminator_loss(labels, ones, mask, ksize=3, sigma=1.0).item() == pytest.approx(
        0.0, abs=1e-12
    )
    # D calls the real image fake (0 everywhere): the real term is (0 - 1)^2 = 1
    assert discriminator_loss(labels, ones * 0, mask, ksize=3, sigma=1.0).item() == pytest.approx(
        1.0
    )
    # D calls every composite patch real (1): mean of (1 - label)^2
    expected = float(((1 - labels) ** 2).mean())
    assert discriminator_loss(ones, ones, mask, ksize=3, sigma=1.0).item() == pytest.approx(
        expected
    )


def test_generator_loss_zero_when_hole_patches_look_real() -> None:
    mask = _left_half_hole()  # at D's 2x2 size the hole is the left column
    d_fake = torch.tensor([[[[1.0, -3.0], [1.0, 7.0]]]])  # real in the hole, anything outside
    assert generator_adversarial_loss(d_fake, mask).item() == pytest.approx(0.0, abs=1e-12)
    half = torch.tensor([[[[0.5, 0.0], [0.5, 0.0]]]])
    assert generator_adversarial_loss(half, mask).item() == pytest.approx(0.25)  # (0.5 - 1)^2
    assert generator_adversarial_loss(torch.zeros(1, 1, 2, 2), mask).item() == pytest.approx(1.0)


def test_generator_loss_has_gradient_only_through_hole_patches() -> None:
    d_fake = torch.zeros(1, 1, 2, 2, requires_grad=True)
    generator_adversarial_loss(d_fake, _left_half_hole()).backward()
    assert d_fake.grad is not None
    assert torch.all(d_fake.grad[..., 1] == 0)  # known column: no push
    assert torch.all(d_fake.grad[..., 0] < 0)  # hole column: pushed towards 1


# ---- Gram matrices ------------------------------------------------------------------------------


def test_gram_by_hand() -> None:
    features = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (1, 2, 1, 2)
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4  # divided by C*H*W = 4
    assert torch.allclose(gram(features), expected)


def test_gram_is_symmetric_and_batched() -> None:
    features = torch.randn(3, 5, 4, 6)
    g = gram(features)
    assert g.shape == (3, 5, 5)
    assert torch.allclose(g, g.transpose(1, 2))
    assert torch.allclose(g[1], features[1].reshape(5, 24) @ features[1].reshape(5, 24).T / 120)


# ---- VGG19 perceptual and style with a random torchvision-format file ---------------------------


@pytest.fixture(scope="module")
def random_vgg_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    features = make_vgg19_features()
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # torchvision files also hold the classifier
    path = tmp_path_factory.mktemp("vgg") / "vgg19-random.pth"
    torch.save(state, path)
    return path


def _manual_activations(path: Path, image: torch.Tensor) -> dict[int, torch.Tensor]:
    state = torch.load(path, weights_only=True)
    x = (image + 1) / 2
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    out = {}
    for index, layer in enumerate(make_vgg19_features()):
        if isinstance(layer, torch.nn.Conv2d):
            x = F.conv2d(
                x, state[f"features.{index}.weight"], state[f"features.{index}.bias"], padding=1
            )
        else:
            x = layer(x)
        out[index] = x
    return out


def test_vgg_features_load_torchvision_keys(random_vgg_file: Path) -> None:
    vgg = VGGFeatures(random_vgg_file)
    assert not any(p.requires_grad for p in vgg.parameters())
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    acts = vgg(image)
    assert set(acts) == set(PERCEPTUAL_LAYERS) | set(STYLE_LAYERS)
    assert acts[1].shape == (2, 64, 32, 32) and acts[29].shape == (2, 512, 2, 2)
    manual = _manual_activations(random_vgg_file, image)
    for index in acts:
        assert torch.allclose(acts[index], manual[index], atol=1e-4, rtol=1e-4)


def test_perceptual_and_style_numbers(random_vgg_file: Path) -> None:
    vgg = VGGFeatures(random_vgg_file)
    torch.manual_seed(1)
    real, fake = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    fr, ff = vgg(real), vgg(fake)
    assert perceptual_loss(fr, fr).item() == 0.0
    assert style_loss(fr, fr).item() == 0.0
    mr, mf = _manual_activations(random_vgg_file, real), _manual_activations(random_vgg_file, fake)
    per = sum((mf[i] - mr[i]).abs().mean() for i in (1, 6, 11, 20, 29))
    sty = 0.0
    for i in (8, 17, 26, 31):
        c, h, w = mf[i].shape[1:]
        gf = mf[i].reshape(c, h * w) @ mf[i].reshape(c, h * w).T / (c * h * w)
        gr = mr[i].reshape(c, h * w) @ mr[i].reshape(c, h * w).T / (c * h * w)
        sty += (gf - gr).abs().mean()
    assert perceptual_loss(ff, fr).item() == pytest.approx(float(per), rel=1e-4)
    assert style_loss(ff, fr).item() == pytest.approx(float(sty), rel=1e-3)
    assert perceptual_loss(ff, fr).item() > 0


def test_vgg_loads_safetensors_and_wrapped_state(tmp_path: Path, random_vgg_file: Path) -> None:
    from safetensors.torch import save_file

    state = torch.load(random_vgg_file, weights_only=True)
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "vgg.safetensors")
    torch.save({"state_dict": state}, tmp_path / "wrapped.pt")
    image = torch.zeros(1, 3, 16, 16)
    reference = VGGFeatures(random_vgg_file)(image)[8]
    assert torch.equal(VGGFeatures(tmp_path / "vgg.safetensors")(image)[8], reference)
    assert torch.equal(VGGFeatures(tmp_path / "wrapped.pt")(image)[8], reference)


def test_vgg_wrong_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        VGGFeatures(tmp_path / "absent.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read"):
        VGGFeatures(junk)
    other = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="no 'features.N.weight' keys"):
        VGGFeatures(other)
    # VGG19-BN puts a BatchNorm at index 1, so conv shapes do not line up
    bn_like = {
        "features.0.weight": torch.zeros(64, 3, 3, 3),
        "features.0.bias": torch.zeros(64),
        "features.1.weight": torch.zeros(64),
        "features.3.weight": torch.zeros(64, 64, 3, 3),
    }
    torch.save(bn_like, tmp_path / "bn.pth")
    with pytest.raises(CheckpointError, match="not torchvision VGG19"):
        VGGFeatures(tmp_path / "bn.pth")
    truncated = tmp_path / "cut.pth"
    truncated.write_bytes((tmp_path / "bn.pth").read_bytes()[:200])
    with pytest.raises(CheckpointError):
        VGGFeatures(truncated)

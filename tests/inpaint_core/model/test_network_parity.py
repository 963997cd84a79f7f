"""The reference arithmetic, checked against numbers worked out by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inpaint_core.model.network import AOTBlock, UpConv, normalise_gate


def test_gate_normalisation_uses_unbiased_std() -> None:
    g = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    # mean 2.5, unbiased std sqrt(5/3) = 1.2909944; 5 * (2 * (g - 2.5) / std - 1)
    expected = torch.tensor([[[[-16.6189500, -8.8729833], [-1.1270167, 6.6189500]]]])
    torch.testing.assert_close(normalise_gate(g), expected, rtol=0, atol=1e-5)


def test_dilated_branch_uses_reflection_padding() -> None:
    block = AOTBlock(4, (1, 2))
    branch = block.block01  # dilation 2: reflection pad 2, conv 3x3 dilation 2, ReLU
    with torch.no_grad():
        branch[1].weight.zero_()
        branch[1].bias.zero_()
        branch[1].weight[0, 0, 0, 0] = 1.0  # output = the top-left tap of the dilated kernel
    x = torch.zeros(1, 4, 5, 5)
    x[0, 0] = torch.arange(5).view(5, 1) * 10 + torch.arange(5).view(1, 5)  # x[i, j] = 10 i + j
    # the tap reads padded[i, j] = x[r(i), r(j)] with r = reflect(k - 2) = [2, 1, 0, 1, 2]
    expected = torch.tensor(
        [
            [22.0, 21.0, 20.0, 21.0, 22.0],
            [12.0, 11.0, 10.0, 11.0, 12.0],
            [2.0, 1.0, 0.0, 1.0, 2.0],
            [12.0, 11.0, 10.0, 11.0, 12.0],
            [22.0, 21.0, 20.0, 21.0, 22.0],
        ]
    )
    with torch.no_grad():
        torch.testing.assert_close(branch(x)[0, 0], expected)


def test_upconv_is_bilinear_align_corners() -> None:
    up = UpConv(1, 1)
    with torch.no_grad():
        up.conv.weight.zero_()
        up.conv.bias.zero_()
        up.conv.weight[0, 0, 1, 1] = 1.0  # identity kernel
        out = up(torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]]))
    # align_corners=True samples at 0, 1/3, 2/3, 1: out[i, j] = 2 i / 3 + j / 3
    expected = torch.tensor(
        [
            [0.0, 1 / 3, 2 / 3, 1.0],
            [2 / 3, 1.0, 4 / 3, 5 / 3],
            [4 / 3, 5 / 3, 2.0, 7 / 3],
            [2.0, 7 / 3, 8 / 3, 3.0],
        ]
    )
    torch.testing.assert_close(out[0, 0], expected)


def test_aot_block_matches_the_reference_formula() -> None:
    torch.manual_seed(0)
    block = AOTBlock(8, (1, 2, 4, 8)).eval()
    x = torch.randn(2, 8, 20, 20)

    def padded_conv(seq: torch.nn.Sequential, inp: torch.Tensor, rate: int) -> torch.Tensor:
        conv = seq[1]
        return F.conv2d(
            F.pad(inp, (rate,) * 4, mode="reflect"), conv.weight, conv.bias, dilation=rate
        )

    branches = [
        F.relu(padded_conv(getattr(block, f"block0{i}"), x, r)) for i, r in enumerate((1, 2, 4, 8))
    ]
    out = padded_conv(block.fuse, torch.cat(branches, 1), 1)
    g = padded_conv(block.gate, x, 1)
    mean = g.mean((2, 3), keepdim=True)
    std = g.std((2, 3), keepdim=True, unbiased=True)
    g = torch.sigmoid(5 * (2 * (g - mean) / (std + 1e-9) - 1))
    with torch.no_grad():
        torch.testing.assert_close(block(x), x * (1 - g) + out * g)

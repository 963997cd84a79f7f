"""scripts/findlogo_marks.py without rsvg-convert: which icons are drawn (the evaluation's marks
and their variants never), and the synthetic wide logos."""

from __future__ import annotations

import random
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from tests.scripts.script_loader import load_script


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("findlogo_marks")


def test_excluded_marks_and_their_variants_are_never_drawn(script: ModuleType) -> None:
    catalogue = [{"slug": s, "hex": "000000"} for s in
                 ("github", "githubactions", "nike", "spotify", "abb", "zoom", "vim", "deno")]
    for seed in range(20):
        chosen = script.pick_icons(catalogue, [], 4, seed, ["github", "nike", "spotify"])
        assert sorted(icon["slug"] for icon in chosen) == ["abb", "deno", "vim", "zoom"]
    named = script.pick_icons(catalogue, ["nike", "abb"], 0, 0, ["nike"])
    assert [icon["slug"] for icon in named] == ["nike", "abb"]  # asked for by name: drawn


def test_wide_logos_are_wide_opaque_marks_on_transparency(script: ModuleType,
                                                          tmp_path: Path) -> None:
    icon = np.zeros((64, 64, 4), np.uint8)
    icon[16:48, 16:48] = (200, 30, 30, 255)
    Image.fromarray(icon).save(tmp_path / "square.png")
    rng = random.Random(3)
    logos = [script.wide_logo(rng, [tmp_path / "square.png"]) for _ in range(12)]
    covered = []
    for logo in logos:
        alpha = np.asarray(logo)[..., 3]
        assert logo.mode == "RGBA" and logo.width > 1.5 * logo.height
        share = (alpha > 0).mean()
        assert share > 0.1  # never a stray speck
        assert share > 0.85 or alpha[0, 0] == 0  # a plate, or a word / icon on transparency
        covered.append(share)
    assert min(covered) < 0.7 and max(covered) > 0.85  # both kinds were drawn
    again = [script.wide_logo(random.Random(3), [tmp_path / "square.png"])]
    assert np.array_equal(np.asarray(again[0]), np.asarray(logos[0]))  # the seed decides

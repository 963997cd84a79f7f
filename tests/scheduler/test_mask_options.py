"""Mask options from the command-line values: validation, the stored form, and comparisons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scheduler.errors import ConfigError
from scheduler.mask_options import fixed_option, mask_options_differ
from unbrand.cli.mask_flags import Anchor, MaskMode, batch_mask_options


def test_every_anchor_has_a_place() -> None:
    from inpaint_core.masks.fixed import ANCHORS

    assert [anchor.value for anchor in Anchor] == list(ANCHORS)


def _mask(path: Path, width: int = 40, height: int = 20) -> Path:
    values = np.zeros((height, width), np.uint8)
    values[15:20, 30:40] = 255
    Image.fromarray(values).save(path)
    return path


def test_defaults_and_a_full_fixed_spec(tmp_path: Path) -> None:
    assert batch_mask_options() == {"mask_mode": "box"}
    mask = _mask(tmp_path / "wm.png")
    options = batch_mask_options(mask_mode=MaskMode.refine, boxes=["1,2,11,12"], mask=str(mask),
                                 scale_with_image=True, anchor=Anchor.bottom_right)
    assert options == {"mask_mode": "refine", "fixed": {
        "boxes": [[1.0, 2.0, 11.0, 12.0]], "units": "px", "reference_size": [40, 20],
        "scale_with_image": True, "keep_aspect": False, "anchor": "bottom-right",
        "mask_uri": str(mask.resolve())}}
    fractions = fixed_option(boxes=["0.8,0.9,1.0,1.0"])
    assert fractions is not None and fractions["units"] == "fraction"
    assert fractions["mask_uri"] is None


@pytest.mark.parametrize(("values", "message"), [
    ({"boxes": ["5,5,1,1"]}, "is empty: x2 must exceed x1"),
    ({"boxes": ["0.8,0.9,1.2,1.0"]}, "fractions of the image must lie within 0..1"),
    ({"boxes": ["1,2,3"]}, "a box is four numbers"),
    ({"boxes": ["10,10,50,30"], "scale_with_image": True}, "needs the reference size"),
    ({"boxes": ["10,10,50,30"], "anchor": "bottom-right"}, "needs the reference size"),
    ({"boxes": ["10,10,50,30", "0.1,0.1,0.2,0.2"]}, "mix pixels and fractions"),
    ({"boxes": ["10,10,50,30"], "reference_size": "1920by1080"}, "is not WIDTHxHEIGHT"),
    ({"mask": "nowhere.png"}, "cannot read the fixed mask"),
    ({"scale_with_image": True}, "only apply to fixed boxes: add --box or --mask"),
])
def test_bad_values_are_config_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      values: dict, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        fixed_option(**values)


def test_a_mask_must_be_an_image_with_something_to_remove(tmp_path: Path) -> None:
    (tmp_path / "text.png").write_text("not an image")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "empty.png")
    _mask(tmp_path / "wm.png")
    with pytest.raises(ConfigError, match="is not a usable image"):
        fixed_option(mask=str(tmp_path / "text.png"))
    with pytest.raises(ConfigError, match="no nonzero pixel"):
        fixed_option(mask=str(tmp_path / "empty.png"))
    with pytest.raises(ConfigError, match="differs from the fixed mask's size 40x20"):
        fixed_option(mask=str(tmp_path / "wm.png"), reference_size="80x40")
    with pytest.raises(ConfigError, match="unknown mask mode 'tight'"):
        batch_mask_options(mask_mode="tight")


def test_what_differs_between_stored_and_new_options() -> None:
    spec = fixed_option(boxes=["0.8,0.9,1.0,1.0"])
    assert mask_options_differ({"queue": "gpu"}, {"mask_mode": "box"}) == ""  # older batches
    assert mask_options_differ({"mask_mode": "box"}, {"mask_mode": "refine"}) == (
        "mask mode 'box' -> 'refine'")
    assert mask_options_differ({"mask_mode": "box"}, {"mask_mode": "box", "fixed": spec}) == (
        "fixed boxes / mask added")
    other = fixed_option(boxes=["0.7,0.9,1.0,1.0"])
    assert mask_options_differ({"fixed": spec}, {"fixed": other}) == "fixed boxes / mask changed"
    assert mask_options_differ({"fixed": spec}, {"fixed": dict(spec)}) == ""

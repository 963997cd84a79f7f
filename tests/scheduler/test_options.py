"""Batch options and mask specs: validation of the command-line values, the stored form,
loading stored rows, and comparisons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scheduler.errors import ConfigError, DatasetError
from scheduler.options import BatchOptions, MaskSpec, fixed_watermark
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
    assert batch_mask_options().stored() == {"mask_mode": "box"}
    mask = _mask(tmp_path / "wm.png")
    options = batch_mask_options(mask_mode=MaskMode.refine, boxes=["1,2,11,12"], mask=str(mask),
                                 scale_with_image=True, anchor=Anchor.bottom_right)
    assert options.stored() == {"mask_mode": "refine", "fixed": {
        "boxes": [[1.0, 2.0, 11.0, 12.0]], "units": "px", "reference_size": [40, 20],
        "scale_with_image": True, "keep_aspect": False, "anchor": "bottom-right",
        "mask_uri": str(mask.resolve())}}
    fractions = fixed_watermark(boxes=["0.8,0.9,1.0,1.0"])
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
        fixed_watermark(**values)


def test_a_mask_must_be_an_image_with_something_to_remove(tmp_path: Path) -> None:
    (tmp_path / "text.png").write_text("not an image")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "empty.png")
    _mask(tmp_path / "wm.png")
    with pytest.raises(ConfigError, match="is not a usable image"):
        fixed_watermark(mask=str(tmp_path / "text.png"))
    with pytest.raises(ConfigError, match="no nonzero pixel"):
        fixed_watermark(mask=str(tmp_path / "empty.png"))
    with pytest.raises(ConfigError, match="differs from the fixed mask's size 40x20"):
        fixed_watermark(mask=str(tmp_path / "wm.png"), reference_size="80x40")
    with pytest.raises(ConfigError, match="unknown mask mode 'tight'"):
        batch_mask_options(mask_mode="tight")


def test_what_differs_between_stored_and_new_options() -> None:
    spec = fixed_watermark(boxes=["0.8,0.9,1.0,1.0"])
    box, refine = BatchOptions(), BatchOptions(mask_mode="refine")
    assert BatchOptions.load({"queue": "gpu"}).mask_differences(box) == ""  # older batches
    assert box.mask_differences(refine) == "mask mode 'box' -> 'refine'"
    assert box.mask_differences(BatchOptions(fixed=spec)) == "fixed boxes / mask added"
    other = fixed_watermark(boxes=["0.7,0.9,1.0,1.0"])
    assert BatchOptions(fixed=spec).mask_differences(BatchOptions(fixed=other)) == (
        "fixed boxes / mask changed")
    assert BatchOptions(fixed=spec).mask_differences(BatchOptions(fixed=dict(spec))) == ""


def test_stored_options_round_trip_and_old_keys_are_ignored() -> None:
    options = BatchOptions(mask_mode="whole", fixed=fixed_watermark(boxes=["1,2,3,4"]),
                           queue="cpu", classes=["nike"])
    assert BatchOptions.load(options.stored()) == options
    old = BatchOptions.load({"mask_mode": "refine", "output_format": "auto", "quality": {}})
    assert old == BatchOptions(mask_mode="refine")


@pytest.mark.parametrize(("raw", "message"), [
    ({"mask_mode": "tight"}, "mask_mode"),
    ({"fixed": {"boxes": [[5, 5, 1, 1]]}}, "is empty"),
    ({"fixed": {"boxes": [[1, 1, 5, 5]], "mask_uri": 3}}, "mask_uri must be a string"),
    ({"classes": "nike"}, "classes"),
])
def test_unusable_stored_options_are_dataset_errors(raw: dict, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        BatchOptions.load(raw)


def test_a_mask_spec_round_trips_and_checks_its_boxes() -> None:
    spec = MaskSpec(boxes=[[1, 2, 3.5, 4]], mask_uri="m.png", labels=["a"], rel_path="x/y.jpg")
    assert spec.boxes == [[1, 2, 4, 4]]  # fractional edges rounded outward
    assert MaskSpec.load(spec.stored()) == spec
    assert MaskSpec.load({"boxes": None, "unknown": 1}) == MaskSpec()
    for raw, message in ((1, "boxes"), ([[1, 2, 3]], "four numbers"),
                         ([[5, 1, 5, 9]], "empty or inverted"), ([[1, 2, True, 4]], "number")):
        with pytest.raises(DatasetError, match=message):
            MaskSpec.load({"boxes": raw})

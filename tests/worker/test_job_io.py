"""Job inputs/outputs: boxes, output formats and keys, and the cropped seam score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scheduler.errors import DatasetError
from scheduler.settings import get_settings
from tests.worker.conftest import encode, photo

imageio = pytest.importorskip("inpaint_core.imageio")

from inpaint_core.metrics import seam_score  # noqa: E402
from worker.job_io import (  # noqa: E402
    load_inputs,
    local_seam_score,
    output_format_for,
    output_location,
    parse_boxes,
)
from worker.services import StorageResolver  # noqa: E402


def test_boxes_become_a_clipped_mask() -> None:
    mask = parse_boxes([[2, 1, 5, 3], [8, 6, 20, 20]], height=8, width=10)
    assert mask.sum() == 3 * 2 + 2 * 2  # the second box is clipped to the 10x8 image
    assert mask[1, 2] and mask[2, 4] and not mask[3, 4] and mask[7, 9]


@pytest.mark.parametrize("raw, message", [
    ("1 2 3 4", "boxes must be a list"),
    ([[1, 2, 3]], "invalid box"),
    ([[1, 2, "x", 4]], "invalid box"),
    ([[5, 1, 5, 9]], "empty or inverted"),
])
def test_bad_boxes_are_dataset_errors(raw: object, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        parse_boxes(raw, height=10, width=10)


def loaded(fmt: str, *, alpha: bool = False) -> object:
    array = photo(16, 12)
    if alpha:
        array = np.dstack([array, np.full((12, 16), 128, np.uint8)])
    return imageio.read_image(encode(array, fmt))


def test_output_format_follows_the_input_and_keeps_alpha() -> None:
    assert output_format_for(loaded("JPEG")) == ("JPEG", "jpg", "image/jpeg")
    assert output_format_for(loaded("PNG")) == ("PNG", "png", "image/png")
    assert output_format_for(loaded("BMP")) == ("PNG", "png", "image/png")
    assert output_format_for(loaded("PNG", alpha=True), "jpeg")[0] == "PNG"
    assert output_format_for(loaded("JPEG"), "webp") == ("WEBP", "webp", "image/webp")
    with pytest.raises(DatasetError, match="unsupported output format"):
        output_format_for(loaded("PNG"), "gif")


def test_output_key_is_deterministic_under_the_output_root(tmp_path: Path) -> None:
    resolver = StorageResolver(get_settings())
    first = output_location(str(tmp_path) + "/", "batch", "JPEGImages/a b.jpg", "jpg", resolver)
    second = output_location(str(tmp_path) + "/", "batch", "JPEGImages/a b.jpg", "jpg", resolver)
    assert first[1] == second[1] and first[1].startswith("batch/JPEGImages/a_b-")
    assert first[0].uri_for(first[1]).startswith(tmp_path.resolve().as_uri())


def test_mask_file_and_boxes_are_combined(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(encode(photo(32, 24)))
    mask = np.zeros((12, 16), np.uint8)  # half size, same aspect: rescaled
    mask[0:2, 0:2] = 255
    (tmp_path / "m.png").write_bytes(encode(mask))
    spec = {"boxes": [[20, 20, 24, 22]], "mask_uri": str(tmp_path / "m.png")}

    inputs = load_inputs(str(tmp_path / "a.png"), spec, StorageResolver(get_settings()))

    assert inputs.mask.shape == (24, 32)
    assert inputs.mask[0:4, 0:4].all() and inputs.mask[20:22, 20:24].all()
    assert inputs.mask.sum() == 16 + 8 and inputs.rel_path == "a.png"


def test_cropped_seam_score_equals_the_full_image_one() -> None:
    rng = np.random.default_rng(0)
    image = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    for boxes in ([(30, 40, 70, 60)], [(0, 0, 12, 20)], [(150, 110, 160, 120), (5, 5, 9, 9)]):
        fill = np.zeros((120, 160), bool)
        for x1, y1, x2, y2 in boxes:
            fill[y1:y2, x1:x2] = True
        assert local_seam_score(image, fill) == seam_score(image, fill)

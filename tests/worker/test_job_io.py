"""Job inputs/outputs: boxes, output formats and keys, and the cropped seam score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inpaint_core.evaluation.metrics import seam_score
from inpaint_core.inference.remove import Removal
from inpaint_core.masks import imageio
from scheduler.errors import DatasetError
from scheduler.options import BatchOptions, MaskSpec
from scheduler.settings import get_settings
from tests.fixtures.images import encode, logo_scene, photo
from worker.job_io import (
    JobInputs,
    compute_metrics,
    load_inputs,
    local_seam_score,
    output_format_for,
    output_location,
)
from worker.services import StorageResolver


def load(uri: str, spec: dict, resolver: StorageResolver, *, mask_mode: str = "box",
         fixed: dict | None = None) -> JobInputs:
    """load_inputs on a job's stored spec and batch options, loaded as the pipeline does."""
    options = BatchOptions.load({"mask_mode": mask_mode, "fixed": fixed})
    return load_inputs(uri, MaskSpec.load(spec), resolver, options=options)


def loaded(fmt: str, *, alpha: bool = False) -> object:
    array = photo(16, 12)
    if alpha:
        array = np.dstack([array, np.full((12, 16), 128, np.uint8)])
    return imageio.read_image(encode(array, fmt))


def test_output_format_follows_the_input_and_keeps_alpha() -> None:
    assert output_format_for(loaded("JPEG")) == ("JPEG", "jpg", "image/jpeg")
    assert output_format_for(loaded("PNG")) == ("PNG", "png", "image/png")
    assert output_format_for(loaded("BMP")) == ("PNG", "png", "image/png")
    assert output_format_for(loaded("PNG", alpha=True))[0] == "PNG"
    assert output_format_for(loaded("WEBP")) == ("WEBP", "webp", "image/webp")


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

    inputs = load(str(tmp_path / "a.png"), spec, StorageResolver(get_settings()))

    assert inputs.plan().mask.shape == (24, 32)
    assert inputs.plan().mask[0:4, 0:4].all() and inputs.plan().mask[20:22, 20:24].all()
    assert inputs.plan().mask.sum() == 16 + 8 and inputs.rel_path == "a.png"


def test_cropped_seam_score_equals_the_full_image_one() -> None:
    rng = np.random.default_rng(0)
    image = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
    for boxes in ([(30, 40, 70, 60)], [(0, 0, 12, 20)], [(150, 110, 160, 120), (5, 5, 9, 9)]):
        fill = np.zeros((120, 160), bool)
        for x1, y1, x2, y2 in boxes:
            fill[y1:y2, x1:x2] = True
        assert local_seam_score(image, fill) == seam_score(image, fill)


def write(path: Path, array: np.ndarray) -> str:
    path.write_bytes(encode(array))
    return str(path)


def test_refine_mode_keeps_the_logo_and_drops_background(tmp_path: Path) -> None:
    image, shape, box = logo_scene()
    uri = write(tmp_path / "a.png", image)
    resolver = StorageResolver(get_settings())

    whole = load(uri, {"boxes": [box]}, resolver)
    refined = load(uri, {"boxes": [box]}, resolver, mask_mode="refine")

    box_area = (box[2] - box[0]) * (box[3] - box[1])
    assert whole.plan().mask.sum() == box_area and whole.mode == "box"
    assert (refined.plan().mask & shape).sum() == shape.sum()  # every logo pixel is still removed
    assert refined.plan().mask.sum() < 0.7 * box_area  # ... and far less background
    assert not (refined.plan().mask & ~whole.plan().mask).any()
    assert (refined.plan().refined_boxes, refined.plan().fallback_boxes) == (1, 0)
    plan = refined.plan()  # compute_metrics on a fill equal to the mask: figures follow the mask
    metrics = compute_metrics(refined, Removal(image, plan.mask, plan))
    assert metrics["mask_mode"] == "refine"
    assert (metrics["refined_boxes"], metrics["fallback_boxes"]) == (1, 0)
    assert metrics["mask_ratio"] == pytest.approx(plan.mask.sum() / plan.mask.size)
    whole_plan = whole.plan()
    assert "refined_boxes" not in compute_metrics(whole,
                                                  Removal(image, whole_plan.mask, whole_plan))


def test_refine_falls_back_to_the_whole_box_on_a_flat_box(tmp_path: Path) -> None:
    flat = np.full((60, 80, 3), (90, 140, 200), np.uint8)
    uri = write(tmp_path / "flat.png", flat)
    inputs = load(uri, {"boxes": [[20, 10, 60, 50]]}, StorageResolver(get_settings()),
                         mask_mode="refine")
    assert inputs.plan().mask.sum() == 40 * 40 and inputs.plan().mask[10:50, 20:60].all()
    assert (inputs.plan().refined_boxes, inputs.plan().fallback_boxes) == (0, 1)


def fixed(**spec: object) -> dict:
    from inpaint_core.masks.fixed import make_fixed_spec

    mask_uri = spec.pop("mask_uri", None)
    return {**make_fixed_spec(**spec), "mask_uri": mask_uri}


def test_a_fixed_pixel_box_keeps_its_corner_or_scales(tmp_path: Path) -> None:
    resolver = StorageResolver(get_settings())
    small = write(tmp_path / "small.png", photo(100, 50))
    large = write(tmp_path / "large.png", photo(200, 100, seed=1))
    # a watermark 20x10 px, 5 px from the bottom-right corner of a 100x50 frame
    corner = fixed(boxes=[[75, 35, 95, 45]], reference_size=[100, 50], anchor="bottom-right")
    scaled = fixed(boxes=[[75, 35, 95, 45]], reference_size=[100, 50], scale_with_image=True)

    def box_of(uri: str, spec: dict) -> list[int]:
        mask = load(uri, {}, resolver, fixed=spec).plan().mask
        rows, cols = np.nonzero(mask)
        assert mask.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)  # one solid box
        return [int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1]

    assert box_of(small, corner) == [75, 35, 95, 45]
    assert box_of(large, corner) == [175, 85, 195, 95]  # same size, same distance to the corner
    assert box_of(small, scaled) == [75, 35, 95, 45]
    assert box_of(large, scaled) == [150, 70, 190, 90]  # twice the size, same relative place


def test_a_fixed_mask_file_is_placed_and_joins_the_job_boxes(tmp_path: Path) -> None:
    resolver = StorageResolver(get_settings())
    reference = np.zeros((25, 50), np.uint8)
    reference[20:25, 40:50] = 255  # bottom-right strip of a 50x25 frame
    spec = fixed(mask_uri=write(tmp_path / "wm.png", reference), reference_size=[50, 25],
                 scale_with_image=True)
    image = write(tmp_path / "a.png", photo(100, 50))

    inputs = load(image, {"boxes": [[0, 0, 4, 4]]}, resolver, fixed=spec)

    expected = np.zeros((50, 100), bool)
    expected[40:50, 80:100] = True  # the strip scaled x2
    expected[0:4, 0:4] = True  # the job's own box
    assert np.array_equal(inputs.plan().mask, expected)


def test_fixed_boxes_are_refined_too(tmp_path: Path) -> None:
    image, shape, box = logo_scene()
    uri = write(tmp_path / "a.png", image)
    spec = fixed(boxes=[box])
    inputs = load(uri, {"boxes": None}, StorageResolver(get_settings()),
                         mask_mode="refine", fixed=spec)
    assert (inputs.plan().refined_boxes, inputs.plan().fallback_boxes) == (1, 0)
    assert (inputs.plan().mask & shape).sum() == shape.sum()
    assert inputs.plan().mask.sum() < 0.7 * (box[2] - box[0]) * (box[3] - box[1])


def test_a_job_needs_boxes_a_mask_or_a_fixed_spec(tmp_path: Path) -> None:
    uri = write(tmp_path / "a.png", photo(32, 24))
    resolver = StorageResolver(get_settings())
    with pytest.raises(DatasetError, match="neither boxes nor a mask file"):
        load(uri, {"boxes": None, "mask_uri": None}, resolver)
    with pytest.raises(DatasetError, match="options are unusable: mask_mode"):
        load(uri, {"boxes": [[1, 1, 5, 5]]}, resolver, mask_mode="tight")
    with pytest.raises(DatasetError, match="options are unusable: fixed"):
        load(uri, {}, resolver, fixed={"boxes": [[5, 5, 1, 1]]})
    with pytest.raises(DatasetError, match="empty or inverted"):  # job boxes still checked
        load(uri, {"boxes": [[5, 5, 1, 1]]}, resolver, fixed=fixed(boxes=[[0, 0, 2, 2]]))


def test_a_fixed_mask_on_s3_is_read_through_the_resolver(s3_server: str) -> None:
    import uuid

    from scheduler.storage.s3 import make_s3_client

    client = make_s3_client(get_settings())
    bucket = f"fx-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    reference = np.zeros((12, 16), np.uint8)
    reference[0:3, 0:4] = 255
    client.put_object(Bucket=bucket, Key="in/a.png", Body=encode(photo(32, 24)))
    client.put_object(Bucket=bucket, Key="wm.png", Body=encode(reference))
    spec = fixed(mask_uri=f"s3://{bucket}/wm.png", scale_with_image=True)

    inputs = load(f"s3://{bucket}/in/a.png", {}, StorageResolver(get_settings()),
                         fixed=spec)

    assert inputs.plan().mask.sum() == 6 * 8 and inputs.plan().mask[0:6, 0:8].all()


def test_the_submit_time_clash_check_knows_every_extension_the_worker_writes() -> None:
    # read_dataset marks inputs whose output keys could meet under any written extension
    # (scheduler/datasets/types.py mark_output_clashes): a new output format must be listed
    from scheduler.storage import OUTPUT_EXTENSIONS
    from worker.job_io import _FORMATS

    assert {ext for _, ext, _ in _FORMATS.values()} <= set(OUTPUT_EXTENSIONS)

"""Dataset readers: every input gets its own output key (issue #18 item 1) and one odd entry
fails alone instead of the whole dataset (item 11), on local folders and S3."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from scheduler.datasets import DatasetItem, read_dataset
from scheduler.settings import get_settings
from scheduler.storage import output_key
from tests.faults.odd import (
    ODD_S3_KEYS,
    image_bytes,
    images_dataset,
    local_put,
    manifest_dataset,
    masks_dataset,
    odd_local_openlogo,
    openlogo_dataset,
)

BUILDERS = {"images": images_dataset, "masks": masks_dataset, "manifest": manifest_dataset,
            "openlogo": openlogo_dataset}


def source_of(root: Path, fmt: str) -> str:
    return str(root / "list.csv") if fmt == "manifest" else str(root)


def keys_of(items: list[DatasetItem], ext: str) -> list[str]:
    return [output_key("b", item.rel_path, ext, distinct=item.distinct_output).casefold()
            for item in items if not item.error]


@pytest.mark.parametrize("fmt", list(BUILDERS))
def test_every_item_has_its_own_output_key_whatever_the_format_written(
    tmp_path: Path, fmt: str
) -> None:
    expected = BUILDERS[fmt](local_put(tmp_path))

    items = list(read_dataset(source_of(tmp_path, fmt), format=fmt))

    assert sorted(item.rel_path for item in items) == sorted(expected)
    assert not [item.error for item in items if item.error]
    for ext in ("jpg", "png", "webp"):  # apart even on a case-insensitive disk
        keys = keys_of(items, ext)
        assert len(set(keys)) == len(keys), (ext, sorted(keys))


def test_only_inputs_whose_keys_could_meet_carry_a_digest(tmp_path: Path) -> None:
    images_dataset(local_put(tmp_path))
    (tmp_path / "alone.jpg").write_bytes(image_bytes("JPEG", 9))

    flags = {item.rel_path: item.distinct_output
             for item in read_dataset(str(tmp_path), format="images")}

    # a.jpg / a.JPG / A.jpg differ in case; x.bmp (written x.bmp.png) meets x.bmp.png
    assert {name for name, flag in flags.items() if flag} == {
        "a.jpg", "a.JPG", "A.jpg", "x.bmp", "x.bmp.png"}
    assert output_key("b", "alone.jpg", "jpg") == "b/alone.jpg"
    assert [item.mask_spec().stored().get("distinct_output")
            for item in read_dataset(str(tmp_path), format="images")
            if item.rel_path == "a.JPG"] == [True]


def test_odd_local_entries_fail_alone(tmp_path: Path) -> None:
    expected = odd_local_openlogo(tmp_path / "ds")

    items = {item.rel_path: item for item in read_dataset(str(tmp_path / "ds"))}

    assert sorted(items) == sorted(expected)
    for rel, outcome in expected.items():
        item = items[rel]
        if outcome == "done":
            assert item.error is None and item.boxes == [[8, 8, 40, 30]], (rel, item.error)
            continue
        allowed = [text.removeprefix("bad dataset entry: ") for text in outcome.split("|")]
        assert (item.error or "done").startswith(tuple(allowed)), (rel, item.error)
        assert "#entry=" in item.input_uri or item.error is None  # names no object to read
    assert "resolves outside" in (items["JPEGImages/link.jpg"].error or "")
    assert len({item.input_uri for item in items.values()}) == len(items)


def test_odd_local_images_and_masks_fail_alone(tmp_path: Path) -> None:
    masks_dataset(local_put(tmp_path / "m"))
    (tmp_path / "m" / "images" / "odd\\name.png").write_bytes(image_bytes("PNG", 3))
    images_dataset(local_put(tmp_path / "i"))
    (tmp_path / "i" / "odd\\name.png").write_bytes(image_bytes("PNG", 3))

    for root, fmt, odd in ((tmp_path / "m", "masks", "images/odd\\name.png"),
                           (tmp_path / "i", "images", "odd\\name.png")):
        items = {item.rel_path: item for item in read_dataset(str(root), format=fmt)}
        assert odd in items and len(items) == 12
        assert items[odd].error is None or items[odd].error.startswith("unsafe path"), fmt


def test_a_file_name_that_is_not_utf8_fails_alone(tmp_path: Path) -> None:
    images_dataset(local_put(tmp_path))
    with open(os.path.join(os.fsencode(tmp_path), b"bad\xff.png"), "wb") as handle:
        handle.write(image_bytes("PNG", 5))

    items = list(read_dataset(str(tmp_path), format="images"))

    [odd] = [item for item in items if item.error]
    assert odd.error == "the file name is not valid UTF-8"
    odd.rel_path.encode("utf-8")  # printable, storable
    assert len(items) == 12


@pytest.fixture
def bucket(s3_server: str) -> str:
    from scheduler.storage.s3 import make_s3_client

    name = f"odd-{uuid.uuid4().hex[:10]}"
    make_s3_client(get_settings()).create_bucket(Bucket=name)
    return name


def s3_put(bucket: str, prefix: str):  # noqa: ANN201 - a Put
    from scheduler.storage.s3 import make_s3_client

    client = make_s3_client(get_settings())
    return lambda rel, data: client.put_object(Bucket=bucket, Key=f"{prefix}/{rel}", Body=data)


def test_odd_s3_keys_fail_alone_in_every_format(bucket: str) -> None:
    put = s3_put(bucket, "ds")
    images_dataset(lambda rel, data: put(f"plain/{rel}", data))
    masks_dataset(lambda rel, data: put(f"pairs/{rel}", data))
    openlogo_dataset(lambda rel, data: put(f"voc/{rel}", data))
    for seed, key in enumerate(ODD_S3_KEYS):
        name = key.removeprefix("imgs")  # "//d.png", "/./e.png", "/../f.png"
        put(f"plain{name}", image_bytes("PNG", seed))
        put(f"pairs/images{name}", image_bytes("PNG", seed))
        put(f"voc/JPEGImages{name.replace('.png', '.jpg')}", image_bytes("JPEG", seed))
        put(f"voc/Annotations{name.replace('.png', '.xml')}", b"<annotation/>")

    for folder, fmt, good in (("plain", "images", 11), ("pairs", "masks", 11),
                              ("voc", "openlogo", 4)):
        notes: list[str] = []
        items = list(read_dataset(f"s3://{bucket}/ds/{folder}", format=fmt, notes=notes))
        odd = [item for item in items if item.error]
        assert len(items) - len(odd) == good, [(i.rel_path, i.error) for i in items]
        assert all(item.error.startswith("unsafe path") for item in odd), odd
        # each odd key is its own failed entry (an input image) or a printed skip note (an
        # annotation, which is no entry of its own)
        named = len(odd) + sum(note.startswith("skipped ") for note in notes)
        assert named >= 3, (odd, notes)
        assert len({item.input_uri for item in items}) == len(items)


def test_the_voc_size_goes_into_the_job_only_when_it_is_a_size(tmp_path: Path) -> None:
    from tests.faults.odd import voc

    openlogo_dataset(local_put(tmp_path))
    (tmp_path / "Annotations" / "x.xml").write_bytes(voc("x.bmp", (-96, 72)))
    (tmp_path / "Annotations" / "a.xml").write_bytes(voc("a.jpg", (0, 72)))

    specs = {item.rel_path: (item.error, item.mask_spec().annotated_size)
             for item in read_dataset(str(tmp_path))}

    assert specs["JPEGImages/A.JPG"] == (None, [96, 72])
    assert specs["JPEGImages/a.jpg"] == (None, None)  # no size: nothing to compare
    assert specs["JPEGImages/x.bmp"] == ("every box lies outside the image", None)


def test_a_transient_storage_error_stops_the_read_instead_of_failing_the_image(
    tmp_path: Path,
) -> None:
    # a job failed at submit is never read again: "retry" would find it without boxes
    from scheduler.datasets.openlogo import read_openlogo
    from scheduler.errors import TransientStorageError
    from scheduler.storage import LocalStorage

    class Flaky(LocalStorage):
        def read_bytes(self, key: str) -> bytes:
            if key == "Annotations/x.xml":
                raise TransientStorageError("connection reset (retry later)")
            return super().read_bytes(key)

    openlogo_dataset(local_put(tmp_path))

    with pytest.raises(TransientStorageError):
        list(read_openlogo(Flaky(tmp_path)))

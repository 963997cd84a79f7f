"""The Storage contract, run against LocalStorage (tmp folder) and S3Storage (moto server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.errors import StorageKeyError, StorageNotFound
from scheduler.settings import get_settings
from scheduler.storage import LocalStorage, Storage, open_storage


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "root")
        return
    request.getfixturevalue("s3_server")
    from scheduler.storage.s3 import S3Storage, make_s3_client

    client = make_s3_client(get_settings())
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    yield S3Storage(bucket, "some/prefix", client=client)


def test_write_read_exists_delete(storage: Storage) -> None:
    assert not storage.exists("a/b.png")
    storage.write_bytes("a/b.png", b"\x89PNG data", content_type="image/png")
    assert storage.exists("a/b.png")
    assert storage.read_bytes("a/b.png") == b"\x89PNG data"
    storage.write_bytes("a/b.png", b"replaced")
    assert storage.read_bytes("a/b.png") == b"replaced"
    storage.delete("a/b.png")
    assert not storage.exists("a/b.png")
    storage.delete("a/b.png")  # deleting twice is fine


def test_missing_key_is_not_found(storage: Storage) -> None:
    with pytest.raises(StorageNotFound):
        storage.read_bytes("nope/missing.jpg")


def test_iter_keys_is_sorted_and_prefix_filtered(storage: Storage) -> None:
    for key in ["x/2.jpg", "x/1.jpg", "x/sub/3.jpg", "xy/4.jpg", "z.txt"]:
        storage.write_bytes(key, key.encode())
    assert list(storage.iter_keys()) == ["x/1.jpg", "x/2.jpg", "x/sub/3.jpg", "xy/4.jpg", "z.txt"]
    assert list(storage.iter_keys("x/")) == ["x/1.jpg", "x/2.jpg", "x/sub/3.jpg"]
    assert list(storage.iter_keys("x")) == ["x/1.jpg", "x/2.jpg", "x/sub/3.jpg", "xy/4.jpg"]
    assert list(storage.iter_keys("x/sub/")) == ["x/sub/3.jpg"]
    assert list(storage.iter_keys("missing/")) == []


@pytest.mark.parametrize(
    "key", ["../escape.txt", "a/../../b", "/etc/passwd", "a\\b", "", "a//b", "./a"]
)
def test_unsafe_keys_refused(storage: Storage, key: str) -> None:
    with pytest.raises(StorageKeyError):
        storage.write_bytes(key, b"x")
    with pytest.raises(StorageKeyError):
        storage.read_bytes(key)


def test_uri_round_trip(storage: Storage) -> None:
    storage.write_bytes("dir/img 1.jpg", b"payload")
    uri = storage.uri_for("dir/img 1.jpg")
    reopened, key = open_storage(uri)
    assert reopened.read_bytes(key) == b"payload"

"""S3Storage specifics on a moto server: multipart uploads and error translation."""

from __future__ import annotations

import os
import socket
import uuid

import pytest

from scheduler.errors import StorageError, StorageNotFound, TransientStorageError
from scheduler.settings import get_settings
from scheduler.storage import open_storage
from scheduler.storage.s3 import S3Storage, make_s3_client


def _bucket(endpoint: str) -> tuple[S3Storage, object]:
    client = make_s3_client(get_settings())
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Storage(bucket, client=client), client


def test_large_object_goes_multipart(s3_server: str) -> None:
    storage, client = _bucket(s3_server)
    data = os.urandom(9 * 1024 * 1024 + 17)  # above the 8 MiB threshold
    storage.write_bytes("big/blob.bin", data, content_type="application/octet-stream")
    head = client.head_object(Bucket=storage.bucket, Key="big/blob.bin")  # type: ignore[attr-defined]
    assert head["ETag"].strip('"').endswith("-2")  # multipart ETag: <md5>-<parts>
    assert head["ContentType"] == "application/octet-stream"
    assert storage.read_bytes("big/blob.bin") == data


def test_small_object_single_put(s3_server: str) -> None:
    storage, client = _bucket(s3_server)
    storage.write_bytes("small.txt", b"hello", content_type="text/plain")
    head = client.head_object(Bucket=storage.bucket, Key="small.txt")  # type: ignore[attr-defined]
    assert "-" not in head["ETag"].strip('"')
    assert head["ContentType"] == "text/plain"


def test_missing_bucket_is_not_found(s3_server: str) -> None:
    storage = S3Storage("no-such-bucket", client=make_s3_client(get_settings()))
    with pytest.raises(StorageNotFound):
        storage.read_bytes("a.jpg")
    assert storage.exists("a.jpg") is False


def test_open_storage_s3_uri(s3_server: str) -> None:
    storage, _ = _bucket(s3_server)
    storage.write_bytes("data/set/a.jpg", b"jpeg")
    opened, key = open_storage(f"s3://{storage.bucket}/data/set/a.jpg")
    assert isinstance(opened, S3Storage) and key == "data/set/a.jpg"
    assert opened.read_bytes(key) == b"jpeg"
    opened, key = open_storage(f"s3://{storage.bucket}/data/")
    assert key == "data"
    assert list(opened.iter_keys(key + "/")) == ["data/set/a.jpg"]


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_endpoint_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = get_settings(
        s3_endpoint_url=f"http://127.0.0.1:{_dead_port()}", s3_region="us-east-1"
    )
    storage = S3Storage("bucket", client=make_s3_client(settings))
    with pytest.raises(TransientStorageError, match="retry later"):
        storage.read_bytes("a.jpg")


def test_access_denied_is_plain_storage_error(s3_server: str) -> None:
    storage, client = _bucket(s3_server)
    storage.write_bytes("x", b"1")
    client.put_bucket_policy(  # type: ignore[attr-defined]
        Bucket=storage.bucket,
        Policy='{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",'
        f'"Action":"s3:GetObject","Resource":"arn:aws:s3:::{storage.bucket}/*"}}]}}',
    )
    with pytest.raises(StorageError, match="403|AccessDenied") as info:
        storage.read_bytes("x")
    assert not isinstance(info.value, StorageNotFound | TransientStorageError)

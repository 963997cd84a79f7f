"""Object storage behind one interface: local folders and S3 (MinIO, moto, AWS).

storage, key = open_storage("s3://bucket/datasets/openlogo")
storage.read_bytes(join_key(key, "JPEGImages/a.jpg"))
"""

from __future__ import annotations

from scheduler.storage.base import Storage, UriResolver, check_key, join_key
from scheduler.storage.local import LocalStorage
from scheduler.storage.uri import (
    OUTPUT_EXTENSIONS,
    confine,
    normalise_location,
    open_storage,
    output_key,
    output_name,
    s3_uri,
    split_s3_uri,
    uri_name,
)


def __getattr__(name: str) -> object:
    # S3 pulls in boto3 (slow import): only when asked for.
    if name in {"S3Storage", "make_s3_client"}:
        from scheduler.storage import s3

        return getattr(s3, name)
    raise AttributeError(f"module 'scheduler.storage' has no attribute {name!r}")


__all__ = [
    "OUTPUT_EXTENSIONS",
    "LocalStorage",
    "S3Storage",
    "Storage",
    "UriResolver",
    "check_key",
    "confine",
    "join_key",
    "make_s3_client",
    "normalise_location",
    "open_storage",
    "output_key",
    "output_name",
    "s3_uri",
    "split_s3_uri",
    "uri_name",
]

"""S3 (or MinIO / moto) storage through boto3, with retries, multipart uploads and
botocore errors translated into the scheduler tree."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from scheduler.errors import ConfigError, StorageError, StorageNotFound, TransientStorageError
from scheduler.settings import Settings, redact_text, redact_url
from scheduler.storage.base import Storage, check_key, check_prefix, join_key
from scheduler.storage.uri import s3_uri

MULTIPART_THRESHOLD = 8 * 1024 * 1024  # bytes; above it uploads go in 8 MiB parts
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "503",
        "500",
    }
)
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=10,
    read_timeout=60,
)


def make_s3_client(settings: Settings | None = None) -> Any:
    """A boto3 S3 client for the configured endpoint (credentials from the AWS_* environment)."""
    endpoint = settings.s3_endpoint_url if settings else None
    region = settings.s3_region if settings else None
    return _cached_client(endpoint, region)


@lru_cache(maxsize=8)
def _cached_client(endpoint_url: str | None, region: str | None) -> Any:
    # boto3 clients are thread-safe and slow to build: one per endpoint and region.
    session = boto3.session.Session()
    try:
        return session.client("s3", endpoint_url=endpoint_url, region_name=region,
                              config=CLIENT_CONFIG)
    except ValueError as exc:  # "Invalid endpoint: <the URL, credentials and all>"
        raise ConfigError(f"invalid S3 endpoint URL {redact_url(endpoint_url)!r}") from exc


class S3Storage(Storage):
    """Objects in `bucket` under `prefix`; keys are relative to the prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any,
        multipart_threshold: int = MULTIPART_THRESHOLD,
    ) -> None:
        if not bucket:
            raise StorageError("S3 storage needs a bucket name")
        self.bucket = bucket
        self.prefix = join_key(check_prefix(prefix))
        self.client = client
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=max(multipart_threshold, 5 * 1024 * 1024),
        )

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _full(self, key: str) -> str:
        return join_key(self.prefix, check_key(key))

    def read_bytes(self, key: str) -> bytes:
        full = self._full(key)
        with translate_s3_errors(self, full):
            response = self.client.get_object(Bucket=self.bucket, Key=full)
            return bytes(response["Body"].read())

    def write_bytes(self, key: str, data: bytes, *, content_type: str | None = None,
                    metadata: Mapping[str, str] | None = None) -> None:
        """One PUT below the multipart threshold, a multipart upload above it; `metadata`
        becomes the object's user metadata (x-amz-meta-*)."""
        full = self._full(key)
        extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
        if metadata:
            extra["Metadata"] = dict(metadata)
        with translate_s3_errors(self, full):
            if len(data) < self.transfer.multipart_threshold:
                self.client.put_object(Bucket=self.bucket, Key=full, Body=data, **extra)
            else:
                self.client.upload_fileobj(
                    io.BytesIO(data),
                    self.bucket,
                    full,
                    ExtraArgs=extra or None,
                    Config=self.transfer,
                )

    def exists(self, key: str) -> bool:
        full = self._full(key)
        try:
            with translate_s3_errors(self, full):
                self.client.head_object(Bucket=self.bucket, Key=full)
        except StorageNotFound:
            return False
        return True

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        check_prefix(prefix)
        full_prefix = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        with translate_s3_errors(self, full_prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for item in page.get("Contents", ()):
                    yield item["Key"][strip:]

    def delete(self, key: str) -> None:
        full = self._full(key)
        with translate_s3_errors(self, full):
            self.client.delete_object(Bucket=self.bucket, Key=full)

    def uri_for(self, key: str) -> str:
        return s3_uri(self.bucket, self._full(key))

    def listed_uri(self, key: str) -> str:
        return s3_uri(self.bucket, f"{self.prefix}/{key}" if self.prefix else key)


@contextmanager
def translate_s3_errors(storage: S3Storage, key: str) -> Iterator[None]:
    """Turn botocore/boto3 errors raised inside into StorageNotFound / Transient / StorageError."""
    where = s3_uri(storage.bucket, key)
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise s3_error(exc, where) from exc
    except S3UploadFailedError as exc:  # boto3 wraps the real botocore error of a transfer
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, BotoCoreError | ClientError):
            raise s3_error(cause, where) from exc
        raise StorageError(redact_text(f"{where}: {exc}")) from exc


def s3_error(exc: BotoCoreError | ClientError, where: str) -> StorageError:
    """The scheduler error for one botocore exception."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = redact_text(str(error.get("Message") or code))
        if code in NOT_FOUND_CODES or status == 404:
            return StorageNotFound(f"{where} not found ({code or status})")
        if code in TRANSIENT_CODES or status >= 500 or status == 429:
            return TransientStorageError(f"{where}: {code} {message} (retry later)")
        return StorageError(f"{where}: {code}: {message}")
    if isinstance(exc, NoCredentialsError):
        return StorageError(f"{where}: no AWS credentials (set AWS_ACCESS_KEY_ID/SECRET)")
    # botocore's texts name the endpoint URL, with any credentials written into it
    text = redact_text(str(exc))
    if isinstance(exc, BotoConnectionError | HTTPClientError):  # refused, closed, timeouts
        return TransientStorageError(f"{where}: {text} (retry later)")
    return StorageError(f"{where}: {text}")

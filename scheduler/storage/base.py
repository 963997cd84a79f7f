"""The storage interface every backend implements, and the key rules they share.

A key is a relative POSIX path ("batch/sub/img.png"): no leading "/", no "." or ".."
segment, no backslash, no NUL. Backends resolve keys under their own root and refuse
anything that would leave it (StorageKeyError).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping

from scheduler.errors import StorageKeyError


class Storage(ABC):
    """A flat key -> bytes store rooted at a folder or a bucket (+ prefix)."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The object's bytes; StorageNotFound when it does not exist."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes, *, content_type: str | None = None,
                    metadata: Mapping[str, str] | None = None) -> None:
        """Store `data` at `key`, replacing any existing object atomically; `metadata`: short
        ASCII key/value pairs kept with the object where the backend can (S3 user metadata)."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object exists at `key`."""

    @abstractmethod
    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every object key starting with `prefix` (string prefix, like S3), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object at `key`; no error when it is already gone."""

    @abstractmethod
    def uri_for(self, key: str) -> str:
        """An absolute URI for `key` that `open_storage` turns back into this object."""

    def listed_uri(self, key: str) -> str:
        """The URI of a key as `iter_keys` listed it, even one the key rules refuse (to name
        it in a failed job); reading through it is refused the same way."""
        return self.uri_for(key)


# A URI -> (storage, key in it) function: `open_storage` for one-off use, a worker's caching
# `worker.services.StorageResolver`, or a test's own.
UriResolver = Callable[[str], tuple[Storage, str]]


def check_key(key: str, *, allow_empty: bool = False) -> str:
    """`key` when it is a safe relative key, else StorageKeyError (never silently fixed)."""
    if not isinstance(key, str):
        raise StorageKeyError(f"storage key must be a string, got {type(key).__name__}")
    if not key:
        if allow_empty:
            return key
        raise StorageKeyError("empty storage key")
    if "\\" in key or "\x00" in key:
        raise StorageKeyError(f"storage key {key!r} contains a backslash or NUL")
    if key.startswith("/"):
        raise StorageKeyError(f"storage key {key!r} is absolute")
    parts = key.rstrip("/").split("/")
    if any(part in {"", ".", ".."} for part in parts):
        raise StorageKeyError(f"storage key {key!r} has an empty, '.' or '..' segment")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key-like string (a trailing '/' allowed)."""
    if not prefix:
        return ""
    check_key(prefix.rstrip("/"))  # "/" alone leaves "", which check_key refuses
    return prefix


def join_key(*parts: str) -> str:
    """Join key fragments with single slashes, skipping empty ones: join_key("a/", "b") == "a/b"."""
    cleaned = [part.strip("/") for part in parts if part and part.strip("/")]
    return "/".join(cleaned)

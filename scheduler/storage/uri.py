"""URIs -> (storage, key), and the deterministic output key of an input image.

Accepted forms: `s3://bucket/key...`, `file:///abs/path`, and plain paths (relative to
the working directory or absolute). Local rule: an existing folder, or a URI ending in
"/", becomes the storage root with key ""; anything else is rooted at its parent folder
with its name as key. Callers join further keys onto the returned key with `join_key`,
so `s3://b/out` and `./out` behave the same way.

One encoding for both schemes: the path of a URI is percent-encoded UTF-8 (file names: their
bytes), every character but A-Za-z0-9 `-._~/` escaped (`s3_uri`, `Path.as_uri`), and decoded
whole: an S3 or file URI has no query and no fragment, so a literal `#` or `?` in a URI typed
by hand is part of the key. `split_s3_uri(s3_uri(b, k)) == (b, k)` for every key S3 allows.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

from scheduler.errors import StorageError, StorageKeyError
from scheduler.settings import Settings, get_settings
from scheduler.storage.base import Storage, UriResolver, check_key
from scheduler.storage.local import LocalStorage

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXT = re.compile(r"^[a-z0-9]{1,10}$")
MAX_SEGMENT = 150  # characters per output key segment (S3 keys <= 1024 bytes in total)


def open_storage(uri: str, *, settings: Settings | None = None) -> tuple[Storage, str]:
    """Split `uri` into a storage (bucket or folder) and the key inside it."""
    if not uri or not uri.strip():
        raise StorageError("empty storage URI")
    uri = uri.strip()
    if is_s3_uri(uri):
        bucket, key = split_s3_uri(uri)
        return _open_s3(bucket, key.rstrip("/"), settings)  # "s3://b/prefix/" is a folder
    return _open_local(local_path(uri), trailing_slash=uri.endswith("/"))


def is_s3_uri(uri: str) -> bool:
    return uri[:5].lower() == "s3://"


def s3_uri(bucket: str, key: str) -> str:
    """`s3://bucket/key` with the key percent-encoded (see the module docstring)."""
    return f"s3://{bucket}/{quote(key, safe='/')}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI: the inverse of `s3_uri`."""
    if not is_s3_uri(uri):
        raise StorageError(f"not an s3:// URI: {uri!r}")
    bucket, _, encoded = uri[5:].partition("/")
    if not bucket:
        raise StorageError("S3 URI without a bucket name")
    try:
        return bucket, unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StorageKeyError(f"S3 URI {uri!r} does not decode to UTF-8") from exc


def local_path(uri: str) -> Path:
    """The path a file:// URI or a plain path names (plain paths are taken as they are)."""
    if not _SCHEME.match(uri):
        return Path(uri).expanduser()
    scheme, _, rest = uri.partition("://")
    if scheme.lower() != "file":
        raise StorageError(
            f"unsupported storage URI scheme {scheme.lower()!r} in {uri!r} (s3://, file://)"
        )
    host, slash, encoded = rest.partition("/")
    if host not in ("", "localhost"):
        raise StorageError(f"file URI {uri!r} names a remote host")
    return Path(os.fsdecode(unquote_to_bytes(slash + encoded)))


def uri_name(uri: str) -> str:
    """The last path segment of a storage URI, decoded, for display ("hash#1.jpg")."""
    last = uri.rstrip("/").rsplit("/", 1)[-1]
    try:
        return unquote_to_bytes(last).decode("utf-8") if "://" in uri else last
    except UnicodeDecodeError:
        return last


def _open_s3(bucket: str, key: str, settings: Settings | None) -> tuple[Storage, str]:
    from scheduler.storage.s3 import S3Storage, make_s3_client

    check_key(key, allow_empty=True)
    client = make_s3_client(settings or get_settings())
    return S3Storage(bucket, client=client), key


def _open_local(path: Path, *, trailing_slash: bool) -> tuple[Storage, str]:
    path = path.resolve()  # a root may be given as "../data"; keys below it are confined
    if trailing_slash or path.is_dir():
        return LocalStorage(path), ""
    return LocalStorage(path.parent), path.name


def confine(resolver: UriResolver, root_uri: str) -> UriResolver:
    """`resolver`, with one change: a local file whose URI lies (by its path) inside the
    folder of `root_uri` (the folder itself, or the folder of a file there: a manifest)
    opens as a key of one LocalStorage rooted at that folder, so no symlink, whenever it
    appeared, can make a read through it leave the folder. S3 and other URIs: unchanged."""
    if is_s3_uri(root_uri.strip()):
        return resolver
    named = Path(os.path.abspath(local_path(root_uri.strip())))
    real = named.resolve()  # item URIs were made under the resolved root at submit
    folders = tuple(dict.fromkeys((named, named.parent, real, real.parent)))

    def resolve(uri: str) -> tuple[Storage, str]:
        storage, key = resolver(uri)
        if not isinstance(storage, LocalStorage) or not _is_local_uri(uri.strip()):
            return storage, key
        path = Path(os.path.abspath(local_path(uri.strip())))
        for folder in folders:
            if path != folder and path.is_relative_to(folder):
                return LocalStorage(folder), path.relative_to(folder).as_posix()
        return storage, key

    return resolve


def _is_local_uri(uri: str) -> bool:
    """A file:// URI or a plain path (not some other scheme a custom resolver knows)."""
    return not _SCHEME.match(uri) or uri.partition("://")[0].lower() == "file"


def output_key(batch_name: str, input_rel: str, ext: str) -> str:
    """`<batch>/<input path without extension>.<ext>`, made safe and deterministic.

    Characters outside [A-Za-z0-9._-] become "_"; when that (or dropping "..")
    changed the path, an 8-hex digest of the original path is appended to the name so
    that two different inputs never share an output key.
    """
    extension = ext.lower().lstrip(".")
    if not _EXT.match(extension):
        raise StorageKeyError(f"invalid output extension {ext!r}")
    raw_parts = [part for part in input_rel.replace("\\", "/").split("/") if part not in ("", ".")]
    if not raw_parts:
        raise StorageKeyError(f"empty input path {input_rel!r}")
    stem = raw_parts[-1].rsplit(".", 1)[0] if "." in raw_parts[-1][1:] else raw_parts[-1]
    raw_parts[-1] = stem
    safe_parts = [_safe_segment(part) for part in raw_parts]
    if safe_parts != raw_parts:
        digest = hashlib.sha1(input_rel.encode("utf-8")).hexdigest()[:8]
        safe_parts[-1] = f"{safe_parts[-1]}-{digest}"
    batch = _safe_segment(batch_name)
    if batch != batch_name:
        batch = f"{batch}-{hashlib.sha1(batch_name.encode('utf-8')).hexdigest()[:8]}"
    return "/".join([batch, *safe_parts]) + f".{extension}"


def _safe_segment(text: str) -> str:
    """One key segment: safe characters only, never "."/".." or empty, at most MAX_SEGMENT."""
    safe = _UNSAFE.sub("_", text).strip()
    if not safe or set(safe) == {"."}:
        safe = "_" * max(len(safe), 1)
    if len(safe) > MAX_SEGMENT:
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
        safe = f"{safe[: MAX_SEGMENT - 9]}-{digest}"
    return safe

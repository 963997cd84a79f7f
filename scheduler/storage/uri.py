"""URIs -> (storage, key), and the deterministic output key of an input image.

Accepted forms: `s3://bucket/key...`, `file:///abs/path`, and plain paths (relative to
the working directory or absolute). Local rule: an existing folder, or a URI ending in
"/", becomes the storage root with key ""; anything else is rooted at its parent folder
with its name as key. Callers join further keys onto the returned key with `join_key`,
so `s3://b/out` and `./out` behave the same way.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from scheduler.errors import ConfigError, StorageError, StorageKeyError
from scheduler.settings import Settings, get_settings
from scheduler.storage.base import Storage, check_key
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
    if not _SCHEME.match(uri):
        return _open_local(Path(uri).expanduser(), trailing_slash=uri.endswith("/"))
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "s3":
        return _open_s3(parts.netloc, parts.path, settings)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise StorageError(f"file URI {uri!r} names a remote host")
        path = unquote(parts.path)
        return _open_local(Path(path), trailing_slash=path.endswith("/"))
    raise StorageError(f"unsupported storage URI scheme {scheme!r} in {uri!r} (s3://, file://)")


def _open_s3(bucket: str, path: str, settings: Settings | None) -> tuple[Storage, str]:
    from scheduler.storage.s3 import S3Storage, make_s3_client

    if not bucket:
        raise StorageError("S3 URI without a bucket name")
    key = check_key(unquote(path).strip("/"), allow_empty=True)
    client = make_s3_client(settings or get_settings())
    return S3Storage(bucket, client=client), key


def _open_local(path: Path, *, trailing_slash: bool) -> tuple[Storage, str]:
    path = path.resolve()  # a root may be given as "../data"; keys below it are confined
    if trailing_slash or path.is_dir():
        return LocalStorage(path), ""
    return LocalStorage(path.parent), path.name


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


def normalise_location(location: str, *, folder: bool) -> str:
    """A stable form of a dataset / output location: S3 and file URIs as given (without a
    trailing slash), plain paths made absolute; `folder=True` adds a trailing "/" to local
    paths so the storage is rooted at the folder itself."""
    location = location.strip()
    if not location:
        raise ConfigError("empty location")
    if "://" in location:
        scheme, rest = location.split("://", 1)
        if scheme.lower() not in {"s3", "file"}:
            raise ConfigError(f"unsupported location {location!r} (use s3://, file:// or a path)")
        stripped = f"{scheme.lower()}://{rest.rstrip('/')}" if rest.strip("/") else location
        return stripped + "/" if folder and scheme.lower() == "file" else stripped
    path = str(Path(location).expanduser().resolve())
    return path + "/" if folder and not path.endswith("/") else path

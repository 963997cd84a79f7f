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

from scheduler.errors import ConfigError, StorageError, StorageKeyError
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


# Output extension -> the input extensions that already name that format: such an input keeps
# its own file name (a.JPG -> a.JPG, b.jpeg -> b.jpeg); any other gets ".<ext>" appended.
SAME_FORMAT = {"jpg": frozenset({"jpg", "jpeg", "jpe", "jfif"}), "png": frozenset({"png"}),
               "webp": frozenset({"webp"})}
OUTPUT_EXTENSIONS = tuple(SAME_FORMAT)  # every extension the worker writes
MAX_SUFFIX = 12  # a longer "extension" is part of the name ("a.some-long-note")


def output_key(batch_name: str, input_rel: str, ext: str, *, distinct: bool = False) -> str:
    """`<batch>/<output_name(input_rel, ext)>`: the deterministic key of an input's output."""
    batch = _safe_segment(batch_name)
    if batch != batch_name:
        batch = f"{batch}-{_digest(batch_name)}"
    return f"{batch}/{output_name(input_rel, ext, distinct=distinct)}"


def output_name(input_rel: str, ext: str, *, distinct: bool = False) -> str:
    """The output's path below the batch folder: the input's own path when the output keeps
    its format (`sub/a.JPG` -> `sub/a.JPG`), else the input's path plus `.<ext>`
    (`x.bmp` -> `x.bmp.png`, a PNG named `a.jpg` -> `a.jpg.png`). Input paths are unique, so
    these are too, but for an input named like another's converted output (`x.bmp` beside
    `x.bmp.png`) and names that differ only in case (`a.jpg`, `a.JPG`: one file on a
    case-insensitive disk); the dataset readers find those and set `distinct`.

    Characters outside [A-Za-z0-9._-] become "_"; when that (or a backslash, an empty or "."
    segment) changed the path, or with `distinct`, an 8-hex digest of the original path goes
    before the name's extension (`a b.jpg` -> `a_b-5e30dffb.jpg`), so two different inputs
    never share an output key.
    """
    extension = ext.lower().lstrip(".")
    if not _EXT.match(extension):
        raise StorageKeyError(f"invalid output extension {ext!r}")
    raw_parts = [part for part in input_rel.replace("\\", "/").split("/") if part not in ("", ".")]
    if not raw_parts:
        raise StorageKeyError(f"empty input path {input_rel!r}")
    stem, suffix = _split_name(raw_parts[-1])
    folders = [_safe_segment(part) for part in raw_parts[:-1]]
    safe_stem, safe_suffix = _safe_segment(stem), _UNSAFE.sub("_", suffix)
    changed = "/".join([*folders, safe_stem + safe_suffix]) != input_rel
    if distinct or changed:  # "a b", "a\\b" (not the folder a/), "a//b" or "./a" as written
        safe_stem = f"{safe_stem}-{_digest(input_rel)}"
    if suffix[1:].lower() not in SAME_FORMAT.get(extension, {extension}):
        safe_suffix += f".{extension}"  # the format changed: say so, keep the input's name
    return "/".join([*folders, safe_stem + safe_suffix])


def _split_name(name: str) -> tuple[str, str]:
    """("a.tar", ".gz") for "a.tar.gz"; no suffix for ".hidden", "noext" or a long tail."""
    dot = name.rfind(".")
    if dot <= 0 or len(name) - dot > MAX_SUFFIX:
        return name, ""
    return name[:dot], name[dot:]


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _safe_segment(text: str) -> str:
    """One key segment: safe characters only, never "."/".." or empty, at most MAX_SEGMENT."""
    safe = _UNSAFE.sub("_", text).strip()
    if not safe or set(safe) == {"."}:
        safe = "_" * max(len(safe), 1)
    if len(safe) > MAX_SEGMENT:
        safe = f"{safe[: MAX_SEGMENT - 9]}-{_digest(text)}"
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

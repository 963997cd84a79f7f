"""Local folder storage, confined to its root (no `..`, no absolute keys, no symlink escape)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from scheduler.errors import StorageError, StorageKeyError, StorageNotFound
from scheduler.storage.base import Storage, check_key, check_prefix


class LocalStorage(Storage):
    """Objects are files under `root`; keys are POSIX paths relative to it."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        """The file path of `key`, refused when it resolves outside the root (symlinks too)."""
        check_key(key)
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise StorageKeyError(f"storage key {key!r} resolves outside {self.root}")
        return path

    def read_bytes(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise StorageNotFound(f"no file {key!r} under {self.root}") from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key!r} under {self.root}: {exc.strerror}") from exc

    def write_bytes(self, key: str, data: bytes, *, content_type: str | None = None,
                    metadata: Mapping[str, str] | None = None) -> None:
        """Write through a temporary file and an atomic rename (no half-written outputs).

        The file gets the mode a plain `open` would give (0666 less the umask), not mkstemp's
        0600. Folders hold no object metadata: `metadata` is not kept."""
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    os.fchmod(handle.fileno(), 0o666 & ~current_umask())
                os.replace(tmp_name, path)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"cannot write {key!r} under {self.root}: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Files under the root whose key starts with `prefix`; links leaving the root skipped."""
        check_prefix(prefix)
        start = self._walk_start(prefix)
        if start is None:
            return
        keys: list[str] = []
        for folder, dirs, files in os.walk(start):
            dirs.sort()
            for name in files:
                path = Path(folder) / name
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix) and self._inside(path) and not _is_temp(name):
                    keys.append(key)
        yield from sorted(keys)

    def _walk_start(self, prefix: str) -> Path | None:
        """The deepest existing folder that holds every key with this prefix."""
        folder = prefix.rpartition("/")[0]
        start = (self.root / folder).resolve() if folder else self.root
        if not start.is_dir() or not start.is_relative_to(self.root):
            return None
        return start

    def _inside(self, path: Path) -> bool:
        return path.resolve().is_relative_to(self.root) and path.is_file()

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key!r} under {self.root}: {exc.strerror}") from exc

    def uri_for(self, key: str) -> str:
        return self.path_for(key).as_uri()


def _set_and_restore_umask() -> int:
    """The umask through os.umask, which can only read it by setting it (set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# os.umask is process-wide: calling it while other threads create files could give them the
# placeholder. Linux shows the umask in /proc without changing it; elsewhere it is read once.
_UMASK_AT_IMPORT = _set_and_restore_umask()


def current_umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _UMASK_AT_IMPORT


def _is_temp(name: str) -> bool:
    """A temporary file of an unfinished `write_bytes` (".<name>.<random>.tmp")."""
    return name.startswith(".") and name.endswith(".tmp")

"""Local folder storage, confined to its root (no `..`, no absolute keys, no symlink escape).

Every access walks the key one component at a time: each component is opened relative to
the folder above it (`dir_fd`) with O_NOFOLLOW, starting from a descriptor of the root. A
symlink met on the way is read and followed by hand, and only while it stays inside the
root; anything else is StorageKeyError. There is no window between a check and the open:
a file or folder swapped for a symlink at any moment (`ln -sf /secret ds/a.jpg`) can make
a read fail, never read outside the root.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from scheduler.errors import StorageError, StorageFull, StorageKeyError, StorageNotFound
from scheduler.storage.base import Storage, check_key, check_prefix

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO named like an image must not hang the reader (no effect on files).
_READ = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
MAX_LINKS = 40  # symlinks followed for one key, as the kernel's own limit (ELOOP)
# outputs and report pages are shared files: os.open masks this with the umask (0644 under the
# usual 022), as a plain `open` would; mkstemp's private 0600 was wrong for them
FILE_MODE = 0o666


class LocalStorage(Storage):
    """Objects are files under `root`; keys are POSIX paths relative to it."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        """The path `key` names under the root (no file system access: `..` is refused by
        the key rules, symlinks are dealt with when the file is opened)."""
        return self.root / check_key(key)

    def read_bytes(self, key: str) -> bytes:
        fd = self._open(key, _READ)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise StorageNotFound(f"{key!r} under {self.root} is not a file")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read()
        except OSError as exc:
            raise StorageError(f"cannot read {key!r} under {self.root}: {exc.strerror}") from exc
        finally:
            os.close(fd)

    def write_bytes(self, key: str, data: bytes, *, content_type: str | None = None,
                    metadata: Mapping[str, str] | None = None) -> None:
        """Write a temporary file beside the target, then rename it over the target (atomic:
        no half-written outputs); folders on the way are created inside the root. The file gets
        the mode a plain `open` would give (0666 less the umask). Folders hold no object
        metadata: `metadata` is not kept."""
        try:
            folder, name = self._parent(key, create=True)
        except StorageNotFound as exc:  # a file stands where a folder of the key should be
            raise StorageError(f"cannot write {key!r} under {self.root}: {exc}") from exc
        temp = f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temp, _CREATE | os.O_NOFOLLOW, FILE_MODE, dir_fd=folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                _unlink_quietly(temp, folder)
                raise
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(
                    f"no space left writing {key!r} under {self.root} ({exc.strerror}); free "
                    "space, then `unbrand retry` the batch"
                ) from exc
            raise StorageError(f"cannot write {key!r} under {self.root}: {exc}") from exc
        finally:
            os.close(folder)

    def exists(self, key: str) -> bool:
        try:
            fd = self._open(key, _READ)
        except StorageNotFound:
            return False
        try:
            return stat.S_ISREG(os.fstat(fd).st_mode)
        finally:
            os.close(fd)

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
        try:
            folder, name = self._parent(key, create=False)
        except StorageNotFound:
            return
        try:
            os.unlink(name, dir_fd=folder)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StorageError(f"cannot delete {key!r} under {self.root}: {exc.strerror}") from exc
        finally:
            os.close(folder)

    def uri_for(self, key: str) -> str:
        """file:// URI of the key's path (percent-encoded; symlinks are not resolved)."""
        return self.path_for(key).as_uri()

    def listed_uri(self, key: str) -> str:
        return (self.root / key).as_uri()  # a name with a backslash is the only refused one

    def _open(self, key: str, flags: int) -> int:
        """A descriptor of `key` opened with `flags`, never outside the root."""
        check_key(key)
        try:
            return open_beneath(self.root, key, flags)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise StorageNotFound(f"no file {key!r} under {self.root}") from exc
        except OSError as exc:
            raise StorageError(f"cannot open {key!r} under {self.root}: {exc.strerror}") from exc

    def _parent(self, key: str, *, create: bool) -> tuple[int, str]:
        """(descriptor of the folder holding `key`, the key's last name); the folders on the
        way are created when `create`, else a missing one is StorageNotFound."""
        check_key(key)
        folder, _, name = key.rstrip("/").rpartition("/")
        try:
            if create:
                self.root.mkdir(parents=True, exist_ok=True)  # the root is trusted as named
            return open_beneath(self.root, folder, _DIR, make_dirs=create), name
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise StorageNotFound(f"no folder for {key!r} under {self.root}") from exc
        except OSError as exc:
            raise StorageError(f"cannot open {key!r} under {self.root}: {exc.strerror}") from exc


def open_beneath(root: Path, key: str, flags: int, *, make_dirs: bool = False) -> int:
    """Open `key` below the real folder `root` one component at a time (see the module
    docstring); StorageKeyError when a symlink or `..` would leave the root, OSError for
    missing files and the like. An empty key opens the root itself."""
    folders = [os.open(root, _DIR)]
    todo = [part for part in reversed(key.split("/"))]  # pop() gives the next component
    links = 0
    try:
        while todo:
            name = todo.pop()
            if name in ("", "."):
                continue
            if name == "..":
                if len(folders) == 1:
                    raise StorageKeyError(f"storage key {key!r} leads outside {root}")
                os.close(folders.pop())
                continue
            last = not any(part not in ("", ".") for part in todo)
            try:
                fd = os.open(name, (flags if last else _DIR) | os.O_NOFOLLOW, dir_fd=folders[-1])
            except OSError as exc:
                target = _link_target(name, folders[-1], exc)
                if target is None:
                    wants_folder = not last or bool(flags & os.O_DIRECTORY)
                    if make_dirs and wants_folder and exc.errno == errno.ENOENT:
                        _make_folder(name, folders[-1])
                        todo.append(name)
                        continue
                    raise
                links += 1
                if links > MAX_LINKS:
                    raise StorageKeyError(f"storage key {key!r}: too many symlinks") from exc
                todo.extend(reversed(_relative_target(target, root, key, folders)))
                continue
            if last:
                return fd
            folders.append(fd)
        return os.dup(folders[-1])  # the key named a folder (or was empty)
    finally:
        for fd in folders:
            os.close(fd)


def _link_target(name: str, folder: int, error: OSError) -> str | None:
    """The target of the symlink `name` when `error` came from refusing to follow it."""
    if error.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return None
    try:
        return os.readlink(name, dir_fd=folder)
    except OSError:  # not a symlink (a file where a folder was expected), or gone
        return None


def _relative_target(target: str, root: Path, key: str, folders: list[int]) -> list[str]:
    """The components of a link target to walk next: a relative target continues from the
    link's folder; an absolute one must lie under the root and restarts from it."""
    if not target.startswith("/"):
        return target.split("/")
    parts = Path(target).parts
    if parts[: len(root.parts)] != root.parts:
        raise StorageKeyError(f"storage key {key!r} resolves outside {root} (symlink)")
    while len(folders) > 1:
        os.close(folders.pop())
    return list(parts[len(root.parts) :])


def _make_folder(name: str, folder: int) -> None:
    try:
        os.mkdir(name, 0o777, dir_fd=folder)
    except FileExistsError:
        pass  # made by someone else meanwhile: the next open sees it


def _unlink_quietly(name: str, folder: int) -> None:
    try:
        os.unlink(name, dir_fd=folder)
    except OSError:
        pass


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

"""LocalStorage specifics: confinement against symlinks, atomic writes."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scheduler.errors import StorageKeyError
from scheduler.storage import LocalStorage


def test_symlink_escape_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "link")
    os.symlink(outside / "secret.txt", root / "file-link")
    storage = LocalStorage(root)
    with pytest.raises(StorageKeyError, match="outside"):
        storage.read_bytes("link/secret.txt")
    with pytest.raises(StorageKeyError, match="outside"):
        storage.read_bytes("file-link")
    with pytest.raises(StorageKeyError):
        storage.write_bytes("link/new.txt", b"x")
    assert not (outside / "new.txt").exists()
    assert list(storage.iter_keys()) == []  # the escaping link is not listed


def test_symlink_inside_root_is_allowed(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.write_bytes("real/a.txt", b"inside")
    os.symlink(tmp_path / "real" / "a.txt", tmp_path / "alias.txt")
    assert storage.read_bytes("alias.txt") == b"inside"


def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.write_bytes("out/x.png", b"1" * 1000)
    storage.write_bytes("out/x.png", b"2" * 10)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.png"]
    assert (tmp_path / "out" / "x.png").read_bytes() == b"2" * 10


def test_uri_is_a_file_uri(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    assert storage.uri_for("a b/c.jpg") == (tmp_path / "a b" / "c.jpg").resolve().as_uri()


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for a test; the old one comes back after it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_mode_the_umask_gives(tmp_path: Path, umask: Callable[[int], None],
                                                    mask: int, mode: int) -> None:
    """Outputs and report pages are shared files: not mkstemp's private 0600."""
    umask(mask)
    storage = LocalStorage(tmp_path)

    storage.write_bytes("batch/out.jpg", b"jpeg")
    storage.write_bytes("report/index.html", b"<html>", content_type="text/html")

    assert stat.S_IMODE((tmp_path / "batch" / "out.jpg").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "report" / "index.html").stat().st_mode) == mode

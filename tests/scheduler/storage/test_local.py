"""LocalStorage specifics: confinement against symlinks, atomic writes."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scheduler.errors import StorageKeyError, StorageNotFound
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


def test_a_link_swapped_in_just_before_the_open_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The adversary wins every race: right before the file is opened (after any check made
    # on the path), the file and then its folder are replaced by symlinks leading outside.
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    (outside / "sub").mkdir(parents=True)
    for folder in (root, outside):
        (folder / "victim.jpg").write_bytes(folder.name.encode())
        (folder / "sub" / "x.jpg").write_bytes(folder.name.encode())
    real_os_open, real_io_open = os.open, io.open

    def swap_first() -> None:
        if not (root / "victim.jpg").is_symlink():
            (root / "victim.jpg").unlink()
            os.symlink(outside / "victim.jpg", root / "victim.jpg")
        if not (root / "sub").is_symlink():
            (root / "sub").rename(tmp_path / "old-sub")
            os.symlink(outside / "sub", root / "sub")

    def os_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).endswith(("victim.jpg", "x.jpg")):
            swap_first()
        return real_os_open(path, *args, **kwargs)

    def io_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).endswith(("victim.jpg", "x.jpg")):
            swap_first()
        return real_io_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)
    storage = LocalStorage(root)
    for key in ("victim.jpg", "sub/x.jpg"):
        try:
            data = storage.read_bytes(key)
        except StorageKeyError:
            continue
        raise AssertionError(f"{key} read {data!r} through a swapped-in link")


def test_links_are_followed_only_inside_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "real" / "deep").mkdir(parents=True)
    outside.mkdir()
    (root / "real" / "deep" / "a.jpg").write_bytes(b"inside")
    (outside / "secret.jpg").write_bytes(b"secret")
    os.symlink("real/deep", root / "alias-folder")  # relative, stays inside
    os.symlink(root / "real" / "deep" / "a.jpg", root / "absolute.jpg")  # absolute, inside
    os.symlink("../../real/deep/a.jpg", root / "real" / "deep" / "up.jpg")  # `..` inside
    os.symlink("../outside/secret.jpg", root / "dotdot.jpg")  # `..` out of the root
    os.symlink("../../outside", root / "real" / "out-folder")  # a folder outside
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    storage = LocalStorage(root)
    for key in ("alias-folder/a.jpg", "absolute.jpg", "real/deep/up.jpg"):
        assert storage.read_bytes(key) == b"inside"
        assert storage.exists(key)
    for key in ("dotdot.jpg", "real/out-folder/secret.jpg", "loop-a"):
        with pytest.raises(StorageKeyError):
            storage.read_bytes(key)
    with pytest.raises(StorageKeyError):
        storage.write_bytes("real/out-folder/new.jpg", b"x")
    assert not (outside / "new.jpg").exists()
    storage.write_bytes("alias-folder/b.jpg", b"via link")  # a folder link inside is fine
    assert (root / "real" / "deep" / "b.jpg").read_bytes() == b"via link"


def test_a_fifo_named_like_an_image_is_not_a_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    storage = LocalStorage(tmp_path)
    with pytest.raises(StorageNotFound):
        storage.read_bytes("pipe.jpg")  # returns at once instead of waiting for a writer
    assert not storage.exists("pipe.jpg")
    with pytest.raises(StorageNotFound):
        storage.read_bytes("missing/a.jpg")
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

"""open_storage URI splitting and output_key determinism/safety."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.errors import StorageError, StorageKeyError
from scheduler.storage import LocalStorage, join_key, open_storage, output_key


def test_existing_folder_is_the_root(tmp_path: Path) -> None:
    storage, key = open_storage(str(tmp_path))
    assert isinstance(storage, LocalStorage) and storage.root == tmp_path.resolve() and key == ""


def test_file_path_is_rooted_at_its_folder(tmp_path: Path) -> None:
    (tmp_path / "a b.jpg").write_bytes(b"img")
    for uri in (str(tmp_path / "a b.jpg"), (tmp_path / "a b.jpg").as_uri()):
        storage, key = open_storage(uri)
        assert isinstance(storage, LocalStorage) and storage.root == tmp_path.resolve()
        assert key == "a b.jpg" and storage.read_bytes(key) == b"img"


def test_new_folder_with_trailing_slash_is_a_root(tmp_path: Path) -> None:
    storage, key = open_storage(f"{tmp_path}/new/")
    assert isinstance(storage, LocalStorage) and storage.root == (tmp_path / "new") and key == ""
    storage, key = open_storage(f"{tmp_path}/new")  # missing, no slash: parent + name
    storage.write_bytes(join_key(key, "batch/x.png"), b"1")
    assert (tmp_path / "new" / "batch" / "x.png").read_bytes() == b"1"


def test_relative_paths_resolve_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    storage, key = open_storage("../data")
    assert isinstance(storage, LocalStorage) and storage.root == tmp_path / "data" and key == ""


@pytest.mark.parametrize("uri", ["http://example.com/a.jpg", "gs://b/a", "file://otherhost/x", " "])
def test_unsupported_uris(uri: str) -> None:
    with pytest.raises(StorageError):
        open_storage(uri)


def test_s3_keys_with_dot_dot_refused() -> None:
    with pytest.raises(StorageKeyError):
        open_storage("s3://bucket/a/../../b")


def test_join_key() -> None:
    assert join_key("a/", "/b/", "", "c.png") == "a/b/c.png"
    assert join_key("", "x") == "x"


@pytest.mark.parametrize(
    ("batch", "rel", "ext", "expected"),
    [
        ("b1", "img.jpg", "png", "b1/img.png"),
        ("b1", "sub/dir/img.JPEG", ".PNG", "b1/sub/dir/img.png"),
        ("b1", "./sub//img.jpg", "jpg", "b1/sub/img.jpg"),
        ("b1", "a.tar.gz", "png", "b1/a.tar.png"),
        ("b1", ".hidden", "png", "b1/.hidden.png"),
    ],
)
def test_output_key_plain(batch: str, rel: str, ext: str, expected: str) -> None:
    assert output_key(batch, rel, ext) == expected


def test_output_key_sanitised_names_stay_unique() -> None:
    a = output_key("b", "x/a b.jpg", "png")
    b = output_key("b", "x/a_b.jpg", "png")
    c = output_key("b", "x/a&b.jpg", "png")
    assert b == "b/x/a_b.png"
    assert len({a, b, c}) == 3
    assert a == output_key("b", "x/a b.jpg", "png")  # deterministic
    assert a.startswith("b/x/a_b-") and a.endswith(".png")


@pytest.mark.parametrize(
    "rel", ["../../etc/passwd", "/abs/x.jpg", "a/../../b.jpg", "..\\..\\x.jpg"]
)
def test_output_key_never_escapes(rel: str) -> None:
    key = output_key("batch", rel, "png")
    assert key.startswith("batch/")
    assert all(part not in {"", ".", ".."} for part in key.split("/"))


def test_output_key_batch_name_sanitised() -> None:
    key = output_key("my/batch name", "a.jpg", "png")
    assert key.count("/") == 1 and key.startswith("my_batch_name-")


def test_output_key_rejects_bad_extension() -> None:
    with pytest.raises(StorageKeyError):
        output_key("b", "a.jpg", "p/ng")

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
        ("b1", "img.jpg", "jpg", "b1/img.jpg"),  # the format stays: the input's own name
        ("b1", "sub/dir/img.JPEG", ".jpg", "b1/sub/dir/img.JPEG"),
        ("b1", "b.jpeg", "jpg", "b1/b.jpeg"),
        ("b1", "a.PNG", "png", "b1/a.PNG"),
        ("b1", "w.webp", "webp", "b1/w.webp"),
        ("b1", "img.jpg", "png", "b1/img.jpg.png"),  # the format changed: its extension added
        ("b1", "x.bmp", "png", "b1/x.bmp.png"),
        ("b1", "y.TIF", "png", "b1/y.TIF.png"),
        ("b1", "a.tar.gz", "png", "b1/a.tar.gz.png"),
        ("b1", ".hidden", "png", "b1/.hidden.png"),
        ("b1", "noext", "jpg", "b1/noext.jpg"),
    ],
)
def test_output_key_plain(batch: str, rel: str, ext: str, expected: str) -> None:
    assert output_key(batch, rel, ext) == expected


def test_output_keys_of_one_name_in_several_formats_never_meet() -> None:
    # issue #18: a.jpg, a.JPG and a.png (b.jpeg + b.jpg, x.bmp + x.png, y.tif + y.png) all
    # mapped to a.png / a.jpg, and their outputs overwrote each other
    names = ["a.jpg", "a.JPG", "a.png", "b.jpeg", "b.jpg", "x.bmp", "x.png", "y.tif", "y.png"]
    for ext in ("jpg", "png", "webp"):  # whatever format each output is written in
        keys = [output_key("b", name, ext) for name in names]
        assert len(set(keys)) == len(names), keys
    written = {name: output_key("b", name, "jpg" if "jp" in name.lower() else "png")
               for name in names}
    assert written == {"a.jpg": "b/a.jpg", "a.JPG": "b/a.JPG", "a.png": "b/a.png",
                       "b.jpeg": "b/b.jpeg", "b.jpg": "b/b.jpg", "x.bmp": "b/x.bmp.png",
                       "x.png": "b/x.png", "y.tif": "b/y.tif.png", "y.png": "b/y.png"}


def test_output_key_distinct_adds_a_digest_of_the_path() -> None:
    plain = output_key("b", "sub/a.JPG", "jpg")
    lower = output_key("b", "sub/a.jpg", "jpg", distinct=True)
    upper = output_key("b", "sub/a.JPG", "jpg", distinct=True)
    assert plain == "b/sub/a.JPG"
    assert lower.startswith("b/sub/a-") and lower.endswith(".jpg")
    assert upper.startswith("b/sub/a-") and upper.endswith(".JPG")
    assert lower.lower() != upper.lower()  # apart on a case-insensitive disk too
    assert output_key("b", "x.bmp", "png", distinct=True).endswith(".bmp.png")


@pytest.mark.parametrize("other", ["a\\b.jpg", "a//b.jpg", "./a/b.jpg", "a/./b.jpg"])
def test_output_key_of_a_path_written_oddly_is_not_the_plain_one(other: str) -> None:
    # a file named "a\b.jpg" or an S3 key "a//b.jpg" is another object than "a/b.jpg"
    assert output_key("b", "a/b.jpg", "jpg") == "b/a/b.jpg"
    assert output_key("b", other, "jpg") != "b/a/b.jpg"


def test_output_key_sanitised_names_stay_unique() -> None:
    a = output_key("b", "x/a b.jpg", "jpg")
    b = output_key("b", "x/a_b.jpg", "jpg")
    c = output_key("b", "x/a&b.jpg", "jpg")
    assert b == "b/x/a_b.jpg"
    assert len({a, b, c}) == 3
    assert a == output_key("b", "x/a b.jpg", "jpg")  # deterministic
    assert a.startswith("b/x/a_b-") and a.endswith(".jpg")


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

"""Thumbnails: served through the storage layer by job id only, resized, cached, errors mapped."""

from __future__ import annotations

import functools
import io
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from scheduler.dashboard.app import MAX_RENDERS, make_app
from scheduler.db.models import Job
from scheduler.db.session import session_scope
from scheduler.settings import get_settings
from scheduler.storage import Storage, open_storage
from scheduler.thumbnails import ThumbnailCache, ThumbnailError, make_thumbnail
from tests.fixtures.dashboard_data import LOGO_BOX, LOGO_COLOUR, Seeded, seed


class RecordingResolver:
    """The real `open_storage`, remembering every URI it was asked to open."""

    def __init__(self) -> None:
        self.uris: list[str] = []

    def __call__(self, uri: str) -> tuple[Storage, str]:
        self.uris.append(uri)
        return open_storage(uri, settings=get_settings())


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the API, /metrics and report tests run the same queries on PostgreSQL too."""
    return sqlite_url


@pytest.fixture
def seeded(db_session_factory: sessionmaker[Session], tmp_path: Path) -> Seeded:
    return seed(db_session_factory, tmp_path / "storage")


@pytest.fixture
def resolver() -> RecordingResolver:
    return RecordingResolver()


@pytest.fixture
def client(
    db_session_factory: sessionmaker[Session], seeded: Seeded, resolver: RecordingResolver
) -> Iterator[TestClient]:
    app = make_app(session_factory=db_session_factory, storage_resolver=resolver)
    with TestClient(app) as test_client:
        yield test_client


def _decode(response) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def _logo_region(thumb: np.ndarray) -> np.ndarray:
    scale = thumb.shape[1] / 320
    x1, y1, x2, y2 = (round(v * scale) for v in LOGO_BOX)
    return thumb[y1 + 4 : y2 - 4, x1 + 4 : x1 + 12]  # left strip of the box, clear of the text


def test_input_and_output_thumbnails(client: TestClient, seeded: Seeded) -> None:
    job_id = seeded.job_ids["img1.png"]
    before = client.get(f"/batches/alpha/jobs/{job_id}/thumb/input")
    after = client.get(f"/batches/alpha/jobs/{job_id}/thumb/output")
    assert before.status_code == after.status_code == 200
    assert before.headers["content-type"] == "image/jpeg"
    small_in, small_out = _decode(before), _decode(after)
    assert small_in.shape == small_out.shape == (192, 256, 3)  # 320x240 -> longest side 256
    logo_in = _logo_region(small_in).reshape(-1, 3).mean(axis=0)
    logo_out = _logo_region(small_out).reshape(-1, 3).mean(axis=0)
    assert np.abs(logo_in - np.array(LOGO_COLOUR)).max() < 20  # the magenta box is there
    assert np.abs(logo_out - np.array(LOGO_COLOUR)).max() > 60  # and gone after
    corner = np.abs(small_in[:40, :40].astype(int) - small_out[:40, :40].astype(int)).mean()
    assert corner < 3  # outside the logo both show the same picture


def test_only_uris_from_the_database_are_opened(
    client: TestClient, seeded: Seeded, resolver: RecordingResolver
) -> None:
    job_id = seeded.job_ids["img0.png"]
    probes = [
        f"/batches/alpha/jobs/{job_id}/thumb/..%2F..%2Fetc%2Fpasswd",
        f"/batches/alpha/jobs/{job_id}/thumb/input?uri=file:///etc/passwd",
        "/batches/alpha/jobs/..%2F..%2Fetc%2Fpasswd/thumb/input",
        "/batches/alpha/jobs/999999/thumb/input",
        f"/batches/beta/jobs/{job_id}/thumb/input",  # a job of another batch
        f"/batches/alpha/jobs/{seeded.job_ids['wait0.png']}/thumb/output",  # queued: no output
        f"/batches/alpha/jobs/{seeded.job_ids['bad0.jpg']}/thumb/output",  # failed: no output
    ]
    statuses = [client.get(url).status_code for url in probes]
    assert statuses[0] in (404, 422) and statuses[2] in (404, 422)
    assert statuses[1] == 200  # the extra query parameter is ignored ...
    assert statuses[3:] == [404, 404, 404, 404]
    with session_scope(client.app.state.ctx.session_factory) as session:
        known = {uri for job in session.query(Job) for uri in (job.input_uri, job.output_uri)}
    assert resolver.uris == [seeded.uri("in/img0.png")]  # ... and only the row's URI was read
    assert set(resolver.uris) <= known


def test_thumbnails_are_cached_in_memory(
    client: TestClient, seeded: Seeded, resolver: RecordingResolver
) -> None:
    url = f"/batches/alpha/jobs/{seeded.job_ids['img2.png']}/thumb/output"
    first = client.get(url)
    (seeded.root / "out/alpha/img2.png").unlink()  # served from memory from now on
    second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert len(resolver.uris) == 1
    cache = client.app.state.ctx.thumbnails
    assert (cache.hits, cache.misses, len(cache)) == (1, 1, 1)
    assert client.app.state.ctx.thumbs_served == 2


def test_missing_and_unreadable_files(client: TestClient, seeded: Seeded) -> None:
    (seeded.root / "in/img3.png").unlink()
    (seeded.root / "out/alpha/img3.png").write_bytes(b"not an image at all")
    job_id = seeded.job_ids["img3.png"]
    assert client.get(f"/batches/alpha/jobs/{job_id}/thumb/input").status_code == 404
    broken = client.get(f"/batches/alpha/jobs/{job_id}/thumb/output")
    assert broken.status_code == 415
    assert broken.headers["content-type"] == "image/svg+xml"  # a placeholder the <img> can show
    assert broken.headers["x-unbrand-reason"] == "not a readable image"
    assert b"/storage/" not in broken.content  # no path leaks into the answer
    assert client.app.state.ctx.thumbs_served == 0


def test_make_thumbnail_keeps_alpha_and_refuses_bombs() -> None:
    image = Image.new("RGBA", (600, 300), (10, 20, 30, 128))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data, media_type = make_thumbnail(buffer.getvalue())
    thumb = Image.open(io.BytesIO(data))
    assert media_type == "image/png" and thumb.mode == "RGBA" and thumb.size == (256, 128)
    red, green, blue, alpha = thumb.getpixel((5, 5))
    assert alpha == 128 and max(abs(red - 10), abs(green - 20), abs(blue - 30)) <= 1
    with pytest.raises(ThumbnailError, match="exceeds"):
        make_thumbnail(buffer.getvalue(), max_pixels=600 * 300 - 1)
    with pytest.raises(ThumbnailError):
        make_thumbnail(b"\x89PNG\r\n\x1a\n truncated")


def test_cache_evicts_least_recently_used_by_bytes() -> None:
    cache = ThumbnailCache(max_bytes=10)
    cache.put("a", (b"1234", "image/jpeg"))
    cache.put("b", (b"5678", "image/jpeg"))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", (b"90ab", "image/jpeg"))  # 12 bytes > 10: evict b
    assert cache.get("b") is None
    assert cache.get("a") == (b"1234", "image/jpeg") and cache.get("c") is not None
    assert cache.size_bytes == 8
    cache.put("huge", (b"x" * 11, "image/jpeg"))  # larger than the whole cache: not kept
    assert cache.get("huge") is None and cache.size_bytes == 8


@pytest.mark.integration
def test_thumbnails_from_s3(
    s3_server: str, db_session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import boto3

    from scheduler.db.models import Batch
    from tests.fixtures.dashboard_data import make_image

    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="media")
    client.put_object(Bucket="media", Key="in/a.png", Body=make_image(1, logo=True))
    client.put_object(Bucket="media", Key="out/s3batch/a.png", Body=make_image(1, logo=False))
    with session_scope(db_session_factory) as session:
        batch = Batch(name="s3batch", source="s3://media/in", output_root="s3://media/out")
        job = Job(
            batch=batch, input_uri="s3://media/in/a.png", output_uri="s3://media/out/s3batch/a.png",
            status="done", mask_spec={"boxes": [list(LOGO_BOX)]},
        )  # fmt: skip
        session.add(job)
        session.flush()
        job_id = job.id
    app = make_app(session_factory=db_session_factory, settings=get_settings())
    with TestClient(app) as test_client:
        before = test_client.get(f"/batches/s3batch/jobs/{job_id}/thumb/input")
        after = test_client.get(f"/batches/s3batch/jobs/{job_id}/thumb/output")
        page = test_client.get("/batches/s3batch").text
    assert before.status_code == after.status_code == 200
    logo_in = _logo_region(_decode(before)).reshape(-1, 3).mean(axis=0)
    logo_out = _logo_region(_decode(after)).reshape(-1, 3).mean(axis=0)
    assert np.abs(logo_in - np.array(LOGO_COLOUR)).max() < 20
    assert np.abs(logo_out - np.array(LOGO_COLOUR)).max() > 60
    assert "X-Amz-" not in page and "Signature" not in page  # nothing presigned reaches the page
    assert f'src="/batches/s3batch/jobs/{job_id}/thumb/input"' in page


@functools.cache
def _crafted_png(side: int = 9000) -> bytes:
    """An RGB PNG of side x side pixels in ~240 KB (all zero rows), cut short before its end:
    decoding it costs ~1.4 s and ~300 MB, and then fails."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * side)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body[:-64])
            + chunk(b"IEND", b""))


class CountingResolver:
    """open_storage, counting reads and the most that ran at the same time."""

    def __init__(self, hold: float = 0.0) -> None:
        self.hold, self.reads, self.running, self.most = hold, 0, 0, 0
        self.lock = threading.Lock()

    def __call__(self, uri: str) -> tuple[Storage, str]:
        storage, key = open_storage(uri, settings=get_settings())
        return _Counted(storage, self), key


class _Counted(Storage):
    def __init__(self, inner: Storage, counter: CountingResolver) -> None:
        self.inner, self.counter = inner, counter

    def read_bytes(self, key: str) -> bytes:
        with self.counter.lock:
            self.counter.reads += 1
            self.counter.running += 1
            self.counter.most = max(self.counter.most, self.counter.running)
        try:
            time.sleep(self.counter.hold)
            return self.inner.read_bytes(key)
        finally:
            with self.counter.lock:
                self.counter.running -= 1

    def write_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        raise AssertionError("the dashboard never writes")

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        return self.inner.iter_keys(prefix)

    def delete(self, key: str) -> None:
        raise AssertionError("the dashboard never deletes")

    def uri_for(self, key: str) -> str:
        return self.inner.uri_for(key)


def test_a_costly_broken_image_is_decoded_once_and_quickly(
    db_session_factory: sessionmaker[Session], seeded: Seeded
) -> None:
    (seeded.root / "in" / "img0.png").write_bytes(_crafted_png())
    resolver = CountingResolver()
    app = make_app(session_factory=db_session_factory, settings=get_settings(),
                   storage_resolver=resolver)
    url = f"/batches/alpha/jobs/{seeded.job_ids['img0.png']}/thumb/input"
    with TestClient(app) as client:
        started = time.perf_counter()
        first = client.get(url)
        first_s = time.perf_counter() - started
        again = [client.get(url).status_code for _ in range(5)]
    assert first.status_code == 415 and again == [415] * 5
    assert first_s < 0.5  # refused from its header, not decoded for 1.4 s
    assert resolver.reads == 1  # the failure is remembered


def test_thumbnails_are_made_a_few_at_a_time(
    db_session_factory: sessionmaker[Session], seeded: Seeded
) -> None:
    resolver = CountingResolver(hold=0.3)
    app = make_app(session_factory=db_session_factory, settings=get_settings(),
                   storage_resolver=resolver)
    names = ["img0.png", "img1.png", "img2.png", "img3.png"]
    urls = [f"/batches/alpha/jobs/{seeded.job_ids[n]}/thumb/{w}" for n in names
            for w in ("input", "output")]
    with TestClient(app) as client:
        answers: list[int] = []
        threads = [threading.Thread(target=lambda u=u: answers.append(client.get(u).status_code))
                   for u in urls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == [200] * len(urls)
    assert resolver.reads == len(urls) and resolver.most <= MAX_RENDERS

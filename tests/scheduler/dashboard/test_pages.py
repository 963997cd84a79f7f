"""The server-rendered pages: batch list, batch page filters and pagination, error pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from scheduler.dashboard.app import make_app
from scheduler.dashboard.views import format_duration
from scheduler.db.session import make_engine, make_session_factory
from tests.fixtures.dashboard_data import Seeded, seed

CARD = re.compile(r'<article class="card[^"]*" id="job-(\d+)"')


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the API, /metrics and report tests run the same queries on PostgreSQL too."""
    return sqlite_url


@pytest.fixture
def seeded(db_session_factory: sessionmaker[Session], tmp_path: Path) -> Seeded:
    return seed(db_session_factory, tmp_path / "storage")


@pytest.fixture
def client(db_session_factory: sessionmaker[Session], seeded: Seeded) -> Iterator[TestClient]:
    app = make_app(session_factory=db_session_factory, page_size=4)
    with TestClient(app) as test_client:
        yield test_client


def _cards(html: str) -> list[int]:
    return [int(job_id) for job_id in CARD.findall(html)]


def test_index_lists_batches_with_figures(client: TestClient) -> None:
    html = client.get("/").text
    assert [m for m in re.findall(r'<h2><a href="/batches/(\w+)">', html)] == [
        "alpha",
        "beta",
        "empty",
    ]
    assert "70.0%" in html and "7 / 10" in html  # alpha progress
    assert re.search(r"2 min 0\d s", html)  # alpha ETA: 3 left at 1.5/min, ~120 s
    assert "ImageInputError: cannot identify image file &#39;…&#39;" in html
    assert re.search(r'<td class="num">2</td>\s*<td><span class="reason"', html)
    assert 'href="/batches/alpha?flagged=true">2 flagged' in html
    assert re.search(r'class="seg done" style="width: 40\.000%"', html)


def test_batch_page_filters(client: TestClient, seeded: Seeded) -> None:
    ids = seeded.job_ids
    failed = client.get("/batches/alpha", params={"status": "failed"}).text
    assert _cards(failed) == [ids["bad0.jpg"], ids["bad1.jpg"], ids["huge.jpg"]]
    flagged = client.get("/batches/alpha", params={"flagged": "true"}).text
    assert _cards(flagged) == [ids["img2.png"], ids["img3.png"]]
    assert "flagged: quality 0.00 &lt; 0.5, seam_score 2 &gt; 1.8" in flagged
    below = client.get("/batches/alpha", params={"quality_below": "0.9"}).text
    assert _cards(below) == [ids["img1.png"], ids["img2.png"], ids["img3.png"]]
    combined = client.get(
        "/batches/alpha", params={"status": "done", "flagged": "true", "quality_below": "0.2"}
    ).text
    assert _cards(combined) == [ids["img2.png"]]
    empty_form = client.get(
        "/batches/alpha", params={"status": "", "quality_below": "", "page": "1"}
    ).text
    assert len(_cards(empty_form)) == 4  # an untouched form means "all", first page


def test_batch_page_images_point_at_the_thumbnail_route(client: TestClient, seeded: Seeded) -> None:
    html = client.get("/batches/alpha", params={"status": "done"}).text
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == 8  # before + after of 4 done jobs
    job = seeded.job_ids["img0.png"]
    assert f"/batches/alpha/jobs/{job}/thumb/input" in sources
    assert f"/batches/alpha/jobs/{job}/thumb/output" in sources
    assert "file://" not in "".join(sources)
    for source in sources:
        assert client.get(source).status_code == 200
    queued = client.get("/batches/alpha", params={"status": "queued"}).text
    assert len(re.findall(r"<img ", queued)) == 2  # inputs only: no output yet
    assert queued.count('<div class="no-output queued">queued</div>') == 2


def test_pagination(client: TestClient, seeded: Seeded) -> None:
    first = client.get("/batches/alpha").text
    third = client.get("/batches/alpha", params={"page": 3}).text
    assert len(_cards(first)) == 4 and len(_cards(third)) == 2  # 10 jobs, 4 per page
    assert "page 1 of 3" in first and 'href="/batches/alpha?page=2"' in first
    assert "page 3 of 3" in third and "next" not in third
    flagged_page = client.get("/batches/alpha", params={"flagged": "true"}).text
    assert "page 1 of" not in flagged_page  # 2 results fit one page
    link = client.get("/batches/alpha", params={"status": "done", "page": 1}).text
    assert "page 1 of" not in link
    everything = _cards(first) + _cards(client.get("/batches/alpha?page=2").text) + _cards(third)
    assert sorted(everything) == sorted(
        job_id for name, job_id in seeded.job_ids.items() if name not in ("c0.png", "q0.png")
    )


def test_page_errors(client: TestClient) -> None:
    assert client.get("/batches/nope").status_code == 404
    assert client.get("/batches/alpha", params={"status": "lost"}).status_code == 422
    assert client.get("/batches/alpha", params={"quality_below": "abc"}).status_code == 422
    assert client.get("/batches/alpha", params={"quality_below": "nan"}).status_code == 422
    assert client.get("/batches/alpha", params={"page": 0}).status_code == 422
    assert client.get("/static/style.css").status_code == 200


def test_database_without_schema_answers_503(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
    client = TestClient(make_app(session_factory=make_session_factory(engine)))
    page = client.get("/")
    assert page.status_code == 503 and "job database unavailable" in page.text
    api = client.get("/api/batches")
    assert api.status_code == 503 and "no such table" in api.json()["detail"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "unknown"), (0.0, "—"), (59.2, "1 min 00 s"), (42, "42 s"), (7260, "2 h 01 min")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text

"""The dashboard's JSON API on a real database (SQLite and PostgreSQL) through TestClient."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from scheduler.dashboard.app import make_app
from scheduler.settings import get_settings
from tests.fixtures.dashboard_data import Seeded, seed
from unbrand.cli.app import make_app as make_cli_app


@pytest.fixture
def seeded(db_session_factory: sessionmaker[Session], tmp_path: Path) -> Seeded:
    return seed(db_session_factory, tmp_path / "storage")


@pytest.fixture
def client(db_session_factory: sessionmaker[Session], seeded: Seeded) -> Iterator[TestClient]:
    app = make_app(session_factory=db_session_factory, settings=get_settings())
    with TestClient(app) as test_client:
        yield test_client


def test_batch_status_has_the_status_json_shape(client: TestClient, db_url: str) -> None:
    response = client.get("/api/batches/alpha")
    assert response.status_code == 200
    document = response.json()
    assert (document["name"], document["total"]) == ("alpha", 10)
    assert document["counts"] == {"queued": 2, "running": 1, "done": 4, "failed": 3, "cancelled": 0}
    empty = client.get("/api/batches/empty").json()
    assert (empty["total"], set(empty["counts"].values())) == (0, {0})
    # the same document as `unbrand status alpha --json` (which has no `progress`)
    result = CliRunner().invoke(make_cli_app(), ["status", "alpha", "--json", "--db", db_url])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(document) == set(printed) | {"progress"}
    for key in ("name", "total", "counts", "source", "output_root", "flagged", "failures"):
        assert document[key] == printed[key], key
    # a running batch's rate runs up to "now", which moves between the two requests
    assert document["throughput_per_min"] == pytest.approx(printed["throughput_per_min"], rel=0.02)
    assert document["mean_quality"] == pytest.approx(printed["mean_quality"])
    assert datetime.fromisoformat(document["created_at"]) == datetime.fromisoformat(
        printed["created_at"]
    )


def test_unknown_batch_is_404(client: TestClient) -> None:
    assert client.get("/api/batches/nope").status_code == 404
    assert client.get("/api/batches/nope/jobs").status_code == 404


def test_batch_list_has_progress_speed_quality_and_failures(client: TestClient) -> None:
    batches = client.get("/api/batches").json()
    assert [batch["name"] for batch in batches] == ["alpha", "beta", "empty"]  # newest first
    alpha = batches[0]
    assert alpha["total"] == 10
    assert alpha["progress"] == pytest.approx(0.7)
    # 3 done + 3 failed within the last 10 minutes (one done job finished 30 min ago), the
    # first of them active 4 min ago: 6 jobs in 4 min of activity, not averaged over 10 (the
    # activity runs up to the request's "now", a moment after seeding: hence rel=0.02)
    assert alpha["throughput_per_min"] == pytest.approx(1.5, rel=0.02)
    assert alpha["eta_seconds"] == pytest.approx(120.0, rel=0.02)  # 3 left at 1.5/min
    assert alpha["flagged"] == 2
    assert alpha["mean_quality"] == pytest.approx((1.0 + 0.8 + 0.0 + 0.4) / 4)
    failures = [(group["count"], group["reason"]) for group in alpha["failures"]]
    assert failures == [
        (2, "ImageInputError: cannot identify image file '…'"),
        (1, "ImageTooLargeError: N pixels exceed the limit of N"),
    ]
    assert alpha["failures"][0]["example"].startswith("ImageInputError: cannot identify")
    beta, empty = batches[1], batches[2]
    assert beta["counts"]["cancelled"] == 1 and beta["eta_seconds"] is None  # 1 queued, no speed
    assert empty["progress"] == 1.0 and empty["eta_seconds"] == 0.0


def _ids(page: dict) -> list[str]:
    return [job["input_uri"].rsplit("/", 1)[-1] for job in page["jobs"]]


def test_jobs_filtered_by_status_flag_and_quality(client: TestClient) -> None:
    done = client.get("/api/batches/alpha/jobs", params={"status": "done"}).json()
    assert done["total"] == 4
    assert _ids(done) == ["img0.png", "img1.png", "img2.png", "img3.png"]
    first = done["jobs"][0]
    assert first["metrics"] == {"mask_ratio": 0.07, "seam_score": 1.0}
    assert first["quality_score"] == 1.0 and first["flagged"] is False
    assert (first["read_ms"], first["inference_ms"], first["write_ms"]) == (20.0, 60.0, 10.0)
    flagged = client.get("/api/batches/alpha/jobs", params={"flagged": "true"}).json()
    assert _ids(flagged) == ["img2.png", "img3.png"]
    unflagged = client.get("/api/batches/alpha/jobs", params={"flagged": "false"}).json()
    assert unflagged["total"] == 8
    below = client.get("/api/batches/alpha/jobs", params={"quality_below": 0.5}).json()
    assert _ids(below) == ["img2.png", "img3.png"]
    failed = client.get("/api/batches/alpha/jobs", params={"status": "failed"}).json()
    assert [job["error"][:15] for job in failed["jobs"]] == ["ImageInputError"] * 2 + [
        "ImageTooLargeEr"
    ]


def test_jobs_pagination(client: TestClient) -> None:
    everything = client.get("/api/batches/alpha/jobs").json()
    assert everything["total"] == 10 and len(everything["jobs"]) == 10
    page = client.get("/api/batches/alpha/jobs", params={"offset": 3, "limit": 4}).json()
    assert page["total"] == 10 and (page["offset"], page["limit"]) == (3, 4)
    assert [job["id"] for job in page["jobs"]] == [job["id"] for job in everything["jobs"][3:7]]


def test_bad_query_values_are_refused(client: TestClient) -> None:
    assert client.get("/api/batches/alpha/jobs", params={"status": "lost"}).status_code == 422
    assert client.get("/api/batches/alpha/jobs", params={"limit": 0}).status_code == 422
    assert client.get("/api/batches/alpha/jobs", params={"offset": -1}).status_code == 422


def test_openapi_schema_describes_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/batches",
        "/api/batches/{name}",
        "/api/batches/{name}/jobs",
    }
    components = schema["components"]["schemas"]
    assert {"name", "total", "counts", "eta_seconds"} <= set(components["BatchInfo"]["properties"])
    assert set(components["StatusCounts"]["properties"]) == {
        "queued",
        "running",
        "done",
        "failed",
        "cancelled",
    }
    params = {p["name"] for p in schema["paths"]["/api/batches/{name}/jobs"]["get"]["parameters"]}
    assert {"status", "flagged", "quality_below", "offset", "limit"} <= params

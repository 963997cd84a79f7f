"""The dashboard under hostile requests, on SQLite and PostgreSQL: parameters that would overflow
the database are refused, batch names with "/" work on every page, every API status code is in
the OpenAPI schema (thumbnail limits: test_dashboard_thumbs.py; the fuzzer:
test_dashboard_fuzz.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from scheduler.dashboard.app import make_app
from scheduler.db.models import Batch, Job
from scheduler.db.session import make_engine, make_session_factory, session_scope
from scheduler.settings import get_settings
from tests.fixtures.dashboard_data import LOGO_BOX, Seeded, make_image, seed

SLASHED = "team/april run"  # a batch name with a slash and a space


@pytest.fixture
def seeded(db_session_factory: sessionmaker[Session], tmp_path: Path) -> Seeded:
    done = seed(db_session_factory, tmp_path / "storage")
    (tmp_path / "storage" / "in" / "slashed.png").write_bytes(make_image(1, logo=True))
    with session_scope(db_session_factory) as session:
        batch = Batch(name=SLASHED, source=done.uri("in"), output_root=done.uri("out"))
        job = Job(batch=batch, input_uri=done.uri("in/slashed.png"),
                  mask_spec={"boxes": [list(LOGO_BOX)]})
        session.add(job)
        session.flush()
        done.job_ids["slashed.png"] = job.id
    return done


@pytest.fixture
def client(db_session_factory: sessionmaker[Session], seeded: Seeded) -> Iterator[TestClient]:
    app = make_app(session_factory=db_session_factory, settings=get_settings())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


OVERFLOWING = [
    "/api/batches/alpha/jobs?offset=99999999999999999999",
    "/api/batches/alpha/jobs?offset=9223372036854775808",
    "/api/batches/alpha/jobs?quality_below=nan",
    "/api/batches/alpha/jobs?quality_below=inf",
    "/api/batches/a%00b",
    "/api/batches/a%00b/jobs",
    "/batches/alpha?page=99999999999999999999",
    "/batches/alpha?page=192153584101141163",  # (page - 1) * 48 just past a bigint
    "/batches/a%00b",
    "/batches/alpha/jobs/99999999999999999999/thumb/input",
]


def test_parameters_the_database_cannot_take_are_refused(client: TestClient) -> None:
    answers = {url: client.get(url).status_code for url in OVERFLOWING}
    assert answers == dict.fromkeys(OVERFLOWING, 422)  # not 500, not "503 bigint out of range"


def test_batch_names_with_a_slash_work_everywhere(client: TestClient, seeded: Seeded) -> None:
    encoded = "team%2Fapril%20run"
    assert client.get(f"/api/batches/{encoded}").json()["name"] == SLASHED
    assert client.get(f"/api/batches/{encoded}/jobs").json()["total"] == 1
    page = client.get(f"/batches/{encoded}")
    assert page.status_code == 200 and f'href="/batches/{encoded}?' in page.text
    thumb = client.get(f"/batches/{encoded}/jobs/{seeded.job_ids['slashed.png']}/thumb/input")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert client.get("/api/batches/team").status_code == 404  # no confusion with a prefix
    assert client.get("/api/batches/100%2541").status_code == 404  # '%' stays a '%'
    index = client.get("/").text
    assert f'href="/batches/{encoded}"' in index


def test_the_schema_documents_every_status_the_api_answers(
    client: TestClient, db_session_factory: sessionmaker[Session]
) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/api/batches", "/api/batches/{name}", "/api/batches/{name}/jobs"):
        documented = set(schema["paths"][path]["get"]["responses"])
        assert {"200", "503"} <= documented, path
        if "{name}" in path:
            assert {"404", "422"} <= documented, path
    with socket.socket() as sock:  # a port nothing listens on: the database is down
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = make_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{port}/gone",
                         connect_args={"connect_timeout": 2})
    down = make_app(session_factory=make_session_factory(engine), settings=get_settings())
    with TestClient(down, raise_server_exceptions=False) as unreachable:
        for path in ("/api/batches", "/api/batches/alpha", "/api/batches/alpha/jobs"):
            answer = unreachable.get(path)
            assert answer.status_code == 503, path  # as documented, with the documented body
            assert set(answer.json()) == {"detail"} and "unavailable" in answer.json()["detail"]
    engine.dispose()

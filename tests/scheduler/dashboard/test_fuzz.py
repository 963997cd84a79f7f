"""The dashboard's API fuzzed by Schemathesis from its own OpenAPI schema: `unbrand dashboard`
as a real process on seeded data (SQLite and PostgreSQL), every check on, a fixed seed; any
failure (a server error, an undocumented status code, a body off its schema) fails the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scheduler.db.models import Batch
from scheduler.db.session import session_scope
from tests.fixtures.dashboard_data import seed
from tests.fixtures.dashboard_process import REPO, free_port, wait_until_up

pytest.importorskip("schemathesis", reason="schemathesis is in the test extra")

EXAMPLES = 40  # per operation and phase: ~15 s on the 2-core machine
SEED = 20261118


@pytest.mark.integration
def test_schemathesis_finds_nothing(db_url: str, db_session_factory: sessionmaker[Session],
                                    tmp_path: Path) -> None:
    seed(db_session_factory, tmp_path / "storage")
    with session_scope(db_session_factory) as session:
        session.add(Batch(name="team/april run", source="s3://b/x", output_root="s3://b/out"))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "unbrand", "dashboard", "--port", str(port), "--db", db_url,
         "--log-level", "warning"],
        cwd=REPO, env={**os.environ, "UNBRAND_DATABASE_URL": db_url},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        fuzz = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json",
             "--checks", "all", "--max-examples", str(EXAMPLES), "--seed", str(SEED),
             "--workers", "1", "--no-color"],
            cwd=tmp_path, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
    finally:
        server.send_signal(signal.SIGINT)
        server_log, _ = server.communicate(timeout=30)
    report = fuzz.stdout[-6000:] + fuzz.stderr[-2000:]
    assert fuzz.returncode == 0, report
    assert "No issues found" in fuzz.stdout, report
    assert b"Traceback" not in server_log, server_log.decode(errors="replace")[-4000:]

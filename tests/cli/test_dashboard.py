"""`unbrand dashboard` as a real process: it serves the API and /metrics from the --db database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine, make_session_factory
from tests.fixtures.dashboard_data import seed
from tests.fixtures.dashboard_process import REPO, free_port, wait_until_up
from unbrand.cli.app import make_app


def test_dashboard_command_serves_the_database(sqlite_url: str, tmp_path: Path) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    seeded = seed(make_session_factory(engine), tmp_path / "storage")
    engine.dispose()
    port = free_port()
    command = [sys.executable, "-m", "unbrand", "dashboard", "--port", str(port)]
    env = {**os.environ, "UNBRAND_DATABASE_URL": sqlite_url}
    process = subprocess.Popen(
        [*command, "--db", sqlite_url], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        assert httpx.get(f"{base}/api/batches/alpha").json()["counts"]["done"] == 4
        metrics = httpx.get(f"{base}/metrics").text
        assert 'unbrand_jobs{batch="alpha",status="failed"} 3.0' in metrics
        thumb = httpx.get(f"{base}/batches/alpha/jobs/{seeded.job_ids['img0.png']}/thumb/input")
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert f"dashboard on http://127.0.0.1:{port}/" in output.decode()


def test_dashboard_command_refuses_a_bad_database_url() -> None:
    result = CliRunner().invoke(make_app(), ["dashboard", "--db", "nonsense://"])
    assert result.exit_code == 2
    assert "error: " in result.output and "nonsense" in result.output

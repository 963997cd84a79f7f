"""`unbrand dashboard` as a real process: it serves the API and /metrics from the --db database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine, make_session_factory
from tests.scheduler.dashboard_data import seed
from unbrand.cli.app import make_app

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(base: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dashboard exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/api/batches", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("dashboard did not answer in time")


def test_dashboard_command_serves_the_database(sqlite_url: str, tmp_path: Path) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    seeded = seed(make_session_factory(engine), tmp_path / "storage")
    engine.dispose()
    port = _free_port()
    command = [sys.executable, "-m", "unbrand", "dashboard", "--port", str(port)]
    env = {**os.environ, "UNBRAND_DATABASE_URL": sqlite_url}
    process = subprocess.Popen(
        [*command, "--db", sqlite_url], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
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

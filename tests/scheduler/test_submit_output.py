"""submit checks that the output can be written before any job exists, and says so about the
output (not, as jobs used to, `input not found` for every image)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from scheduler.errors import ConfigError
from scheduler.settings import get_settings
from scheduler.submit import WRITE_PROBE, check_output
from unbrand.cli.app import make_app

REPO = Path(__file__).resolve().parents[2]


def _submit(*args: str, db: str, redis_url: str) -> object:
    return CliRunner().invoke(make_app(), ["submit", str(REPO / "demo"), *args, "--db", db,
                                           "-Q", "cpu"],
                              env={"UNBRAND_BROKER_URL": redis_url})


def test_a_missing_output_bucket_stops_submit_with_exit_2_and_no_jobs(
    s3_server: str, sqlite_url: str, redis_url: str
) -> None:
    result = _submit("-o", "s3://no-such-bucket/results", db=sqlite_url, redis_url=redis_url)

    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert result.output.strip() == (  # type: ignore[attr-defined]
        "error: the output s3://no-such-bucket/results cannot be written: its bucket or "
        "folder does not exist (NoSuchBucket)")
    status = CliRunner().invoke(make_app(), ["status", "--json", "--db", sqlite_url])
    assert json.loads(status.output) == []


def test_a_writable_bucket_is_accepted_and_keeps_no_probe(
    s3_server: str, sqlite_url: str, redis_url: str
) -> None:
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="results")

    result = _submit("-o", "s3://results/nightly", db=sqlite_url, redis_url=redis_url)

    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "insert 6 new jobs" in result.output  # type: ignore[attr-defined]
    assert client.list_objects_v2(Bucket="results").get("KeyCount", 0) == 0


def test_a_local_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(ConfigError, match=f"^the output {blocker.as_uri()}/ is not writable"):
        check_output(f"{blocker.as_uri()}/", settings=get_settings())
    assert not any(p.name.startswith(WRITE_PROBE) for p in tmp_path.rglob("*"))

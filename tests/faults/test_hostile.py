"""The hostile-input corpus (tests/faults/corpus.py) through the embedded runner and once
through submit + a real Celery worker: each bad input fails its own job with a readable
reason, the good and odd-but-valid ones are processed, and the batch always finishes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from scheduler.settings import get_settings
from tests.faults.conftest import BUCKET, Services, assert_nothing_lost
from tests.faults.corpus import manifest_corpus, voc_corpus
from unbrand.cli.app import make_app


def rows_of(db_url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text("SELECT * FROM jobs")).mappings()]
    finally:
        engine.dispose()


def spec_of(row: dict[str, Any]) -> dict[str, Any]:
    spec = row["mask_spec"] or {}
    return json.loads(spec) if isinstance(spec, str) else spec  # SQLite hands back the text


def by_name(rows: list[dict[str, Any]], expected: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The job row of each corpus entry (matched on the end of its input URI)."""
    found = {}
    for name in expected:
        # a usable entry keeps its dataset path; a refused one names the offending path
        matches = [r for r in rows if spec_of(r).get("rel_path", "").endswith(name)]
        matches = matches or [r for r in rows if name in (r["error"] or "")]
        assert len(matches) == 1, (name, [(r["input_uri"], r["error"]) for r in rows])
        found[name] = matches[0]
    return found


def check_outcomes(rows: list[dict[str, Any]], expected: dict[str, str]) -> None:
    assert len(rows) == len(expected)
    for name, row in by_name(rows, expected).items():
        want = expected[name]
        if want == "done":
            assert row["status"] == "done", (name, row["error"])
            assert row["output_uri"]
            continue
        error = row["error"] or ""
        assert row["status"] == "failed", (name, row["status"])
        assert error and "\n" not in error and len(error) < 600, (name, error)
        assert "Traceback" not in error and "internal error" not in error, (name, error)
        if want != "bad":
            assert error.startswith(want), (name, error)


def test_hostile_corpus_through_the_embedded_runner(tmp_path: Path, tiny_inpainter) -> None:
    from worker.runner import run_embedded

    settings = get_settings(max_pixels=20_000_000)
    expected = manifest_corpus(tmp_path / "m")
    started = time.monotonic()
    summary = run_embedded(str(tmp_path / "m" / "list.csv"), out_dir=tmp_path / "out-m",
                           inpainter=tiny_inpainter, settings=settings)
    check_outcomes(rows_of(summary.db_url), expected)
    done = sum(1 for v in expected.values() if v == "done")
    assert summary.counts["done"] == done and summary.counts["running"] == 0
    assert len([p for p in (tmp_path / "out-m").rglob("*") if p.is_file()
                and p.suffix != ".db" and "unbrand.db" not in p.name]) == done
    assert time.monotonic() - started < 120  # the bomb is refused, not decoded

    expected_voc = voc_corpus(tmp_path / "voc")
    voc = run_embedded(str(tmp_path / "voc"), out_dir=tmp_path / "out-v",
                       inpainter=tiny_inpainter, settings=settings)
    check_outcomes(rows_of(voc.db_url), expected_voc)
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() \
        else "\0"
    for row in rows_of(voc.db_url):  # the external entity was never resolved
        assert hostname not in str(row["mask_spec"]) and hostname not in (row["error"] or "")


@pytest.mark.integration
@pytest.mark.slow
def test_hostile_corpus_through_submit_and_a_worker(services: Services, tmp_path: Path) -> None:
    expected = manifest_corpus(tmp_path / "m")
    client = services.client()
    for path in (tmp_path / "m").iterdir():
        client.put_object(Bucket=BUCKET, Key=f"corpus/{path.name}", Body=path.read_bytes())
    services.start_worker("hostile@faults", UNBRAND_MAX_PIXELS="20000000")
    result = CliRunner().invoke(make_app(), [
        "submit", f"s3://{BUCKET}/corpus/list.csv", "--output", f"s3://{BUCKET}/out",
        "--name", "corpus", "--queue", "cpu"], env=services.cli_env())
    assert result.exit_code == 0, result.output

    rows = services.wait_final(240)

    check_outcomes(rows, expected)
    assert_nothing_lost(services, rows, "out/")

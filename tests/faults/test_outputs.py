"""Every image out, exactly once (issue #18): inputs whose names differ only in case or
format each get their own output, in every dataset format, on a local folder and on S3
(item 1); odd entries (a backslash in a name, S3 keys with `//`, `/./` or `/../`, an image
that is a link leaving the root, `../../../etc/passwd` in a split file) fail their own jobs
while the rest is processed (item 11)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from scheduler.settings import get_settings
from tests.faults.conftest import BUCKET, FINAL, Services, assert_nothing_lost
from tests.faults.odd import (
    BOX,
    images_dataset,
    local_put,
    manifest_dataset,
    masks_dataset,
    odd_local_openlogo,
    odd_s3_images,
    openlogo_dataset,
)
from unbrand.cli.app import make_app

FIXED_BOX = ["--box", ",".join(str(v) for v in BOX)]


def batch_rows(db_url: str, name: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            query = sa.text("SELECT j.* FROM jobs j JOIN batches b ON b.id = j.batch_id "
                            "WHERE b.name = :name ORDER BY j.id")
            return [dict(row) for row in conn.execute(query, {"name": name}).mappings()]
    finally:
        engine.dispose()


def rel_of(row: dict[str, Any]) -> str:
    spec = row["mask_spec"] or {}
    return str((json.loads(spec) if isinstance(spec, str) else spec).get("rel_path"))


def check_outcomes(rows: list[dict[str, Any]], expected: dict[str, str]) -> None:
    """One job per input, each with its expected outcome ("a|b": either), a one-line reason."""
    by_rel = {rel_of(row): row for row in rows}
    assert sorted(by_rel) == sorted(expected) and len(rows) == len(expected), \
        sorted(by_rel)
    for rel, want in expected.items():
        row = by_rel[rel]
        assert row["status"] in FINAL, (rel, row["status"])
        got = "done" if row["status"] == "done" else row["error"] or ""
        assert got.startswith(tuple(want.split("|"))), (rel, row["status"], row["error"])
        assert "\n" not in got and "internal error" not in got


def test_every_input_gets_its_own_output_on_a_local_folder(tmp_path: Path,
                                                            tiny_inpainter: Any) -> None:
    from worker.runner import run_embedded

    builders = {"images": images_dataset, "masks": masks_dataset,
                "manifest": manifest_dataset, "openlogo": openlogo_dataset}
    for fmt, build in builders.items():
        root = tmp_path / fmt
        expected = build(local_put(root))
        source = root / "list.csv" if fmt == "manifest" else root
        options = None
        if fmt == "images":
            from scheduler.options import batch_options

            options = batch_options(boxes=[",".join(str(v) for v in BOX)])
        out = tmp_path / f"out-{fmt}"
        summary = run_embedded(str(source), out_dir=out, format=fmt, inpainter=tiny_inpainter,
                               settings=get_settings(), options=options)

        rows = batch_rows(summary.db_url, summary.batch_name)
        check_outcomes(rows, expected)
        files = sorted(str(p.relative_to(out)) for p in out.rglob("*")
                       if p.is_file() and not p.name.startswith("unbrand.db"))
        outputs = sorted(Path(row["output_uri"].removeprefix("file://")).relative_to(out)
                         .as_posix() for row in rows)
        assert files == outputs and len(files) == len(expected), (fmt, files)
        assert len({f.casefold() for f in files}) == len(files), files  # case-insensitive disk


@pytest.mark.integration
@pytest.mark.slow
def test_every_input_gets_its_own_output_and_odd_entries_fail_alone_on_s3(
    services: Services, tmp_path: Path
) -> None:
    client = services.client()

    def under(prefix: str) -> Any:
        return lambda rel, data: client.put_object(Bucket=BUCKET, Key=f"{prefix}/{rel}",
                                                   Body=data)

    batches = {  # name: (source, expected outcomes, extra submit arguments)
        "plain": (f"s3://{BUCKET}/plain", odd_s3_images(under("plain")),
                  ["--format", "images", *FIXED_BOX]),
        "pairs": (f"s3://{BUCKET}/pairs", masks_dataset(under("pairs")), []),
        "rows": (f"s3://{BUCKET}/rows/list.csv", manifest_dataset(under("rows")), []),
        "voc": (str(tmp_path / "voc"), odd_local_openlogo(tmp_path / "voc"), []),
    }
    services.start_worker("outputs@faults")
    for name, (source, _, extra) in batches.items():
        result = CliRunner().invoke(make_app(), [
            "submit", source, "--output", f"s3://{BUCKET}/out", "--name", name, "--queue", "cpu",
            *extra], env=services.cli_env())
        assert result.exit_code == 0, (name, result.output)

    rows = services.wait_final(300)

    assert_nothing_lost(services, rows, "out/")
    for name, (_, expected, _) in batches.items():
        check_outcomes(batch_rows(services.direct_db, name), expected)
    keys = services.output_keys("out/")
    assert len(keys) == sum(row["status"] == "done" for row in rows)
    assert len({key.casefold() for key in keys}) == len(keys)
    assert "out/plain/imgs/a.JPG" in keys or any(k.startswith("out/plain/imgs/a-") for k in keys)
    assert "out/plain/imgs/x.bmp.png" not in keys  # x.bmp meets x.bmp.png: both digested
    assert "out/plain/imgs/y.tif.png" in keys and "out/plain/imgs/b.jpeg" in keys

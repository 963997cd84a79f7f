"""100,000 job rows into PostgreSQL in well under a minute, and a re-submit adds none."""

from __future__ import annotations

import time

import pytest

from scheduler.db import crud
from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine, make_session_factory, session_scope

ROWS = 100_000


@pytest.mark.slow
@pytest.mark.integration
def test_bulk_insert_100k_rows_on_postgres(postgres_url: str) -> None:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    specs = [
        {
            "input_uri": f"s3://bucket/openlogo/JPEGImages/img_{i:07d}.jpg",
            "mask_spec": {
                "boxes": [[10, 20, 110, 90]],
                "mask_uri": None,
                "truth_uri": None,
                "labels": ["adidas"],
            },
        }
        for i in range(ROWS)
    ]
    with session_scope(factory) as session:
        batch_id = crud.create_batch(session, name="big", source="s3://b", output_root="s3://o").id
    started = time.perf_counter()
    with session_scope(factory) as session:
        ids = crud.bulk_insert_jobs(session, batch_id=batch_id, jobs=specs)
    elapsed = time.perf_counter() - started
    print(f"\nbulk_insert_jobs: {ROWS} rows into PostgreSQL in {elapsed:.2f} s")
    assert len(ids) == ROWS
    assert elapsed < 60

    with session_scope(factory) as session:  # re-submitting the same dataset inserts nothing
        assert crud.bulk_insert_jobs(session, batch_id=batch_id, jobs=specs[:5000]) == []
        assert crud.count_by_status(session, batch_id=batch_id)["queued"] == ROWS
    engine.dispose()

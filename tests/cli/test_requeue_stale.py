"""`unbrand requeue-stale`: running rows whose worker vanished go back to the queue and are
published again; rows with a fresh heartbeat and finished rows are left alone."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa
from typer.testing import CliRunner

from scheduler.db import crud
from scheduler.db.migrate import upgrade
from scheduler.db.models import utcnow
from scheduler.db.session import make_engine, make_session_factory, session_scope
from unbrand.cli.app import make_app

pytestmark = pytest.mark.integration


def queued_messages(url: str, queue: str) -> list[int]:
    """The job id of each message waiting in a Redis queue (body = [args, kwargs, embed])."""
    client = redis.Redis.from_url(url)
    try:
        bodies = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    finally:
        client.close()
    return [json.loads(_decode(body["body"], body))[0][0] for body in bodies]


def _decode(payload: str, message: dict) -> str:
    import base64

    if message["properties"].get("body_encoding") == "base64":
        return base64.b64decode(payload).decode()
    return payload


def test_requeue_stale_takes_back_only_abandoned_running_jobs(
    postgres_url: str, redis_url: str
) -> None:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    now = utcnow()
    with session_scope(factory) as session:
        batch = crud.create_batch(session, name="s", source="/in", output_root="/out/",
                                  options={"queue": "cpu"})
        other = crud.create_batch(session, name="other", source="/in2", output_root="/out/")
        ids = crud.bulk_insert_jobs(session, batch_id=batch.id, jobs=[
            {"input_uri": f"/in/{i}.png", "mask_spec": {"boxes": [[0, 0, 4, 4]]}}
            for i in range(4)])
        [foreign] = crud.bulk_insert_jobs(session, batch_id=other.id, jobs=[
            {"input_uri": "/in2/x.png", "mask_spec": {"boxes": [[0, 0, 4, 4]]}}])
        long_ago = now - timedelta(seconds=600)
        for job_id in (ids[0], ids[1], foreign):  # claimed 10 min ago, never heard of since
            assert crud.claim_job(session, job_id=job_id, worker="gone@host", now=long_ago)
        assert crud.claim_job(session, job_id=ids[2], worker="alive@host", now=now)
        assert crud.mark_done(session, job_id=ids[1], output_uri="/out/1.png", worker="gone@host")

    result = CliRunner().invoke(make_app(), ["requeue-stale", "s", "--older-than", "60",
                                             "--db", postgres_url],
                                env={"UNBRAND_BROKER_URL": redis_url})

    assert result.exit_code == 0, result.output
    assert "1 stale job(s) (no heartbeat for 60 s) requeued; 1 published to queue cpu" \
        in result.output
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT id, status FROM jobs")).all())
    engine.dispose()
    assert rows == {ids[0]: "queued", ids[1]: "done", ids[2]: "running", ids[3]: "queued",
                    foreign: "running"}
    assert queued_messages(redis_url, "cpu") == [ids[0]]

    again = CliRunner().invoke(make_app(), ["requeue-stale", "s", "--db", postgres_url],
                               env={"UNBRAND_BROKER_URL": redis_url})
    assert again.exit_code == 0 and "0 stale job(s)" in again.output
    missing = CliRunner().invoke(make_app(), ["requeue-stale", "nope", "--db", postgres_url],
                                 env={"UNBRAND_BROKER_URL": redis_url})
    assert missing.exit_code == 2

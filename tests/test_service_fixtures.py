"""The service fixtures themselves: isolated, usable, cleaned up."""

from __future__ import annotations

import os

import sqlalchemy as sa

from tests.fixtures.services import (
    PG_ADMIN_URL,
    REDIS_CLAIM_KEY,
    claimed_redis_database,
    fresh_postgres_database,
)


def test_postgres_url_is_a_fresh_database(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        assert name.startswith("unbrand_t_")
        assert sa.inspect(conn).get_table_names() == []
    engine.dispose()


def _pg_database_exists(name: str) -> bool:
    admin = sa.create_engine(PG_ADMIN_URL)
    with admin.connect() as conn:
        row = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
    admin.dispose()
    return row is not None


def test_postgres_database_is_dropped_afterwards(postgres_url: str) -> None:
    with fresh_postgres_database() as url:
        name = sa.make_url(url).database
        assert name is not None and _pg_database_exists(name)
        engine = sa.create_engine(url)  # an open connection does not block the drop
        connection = engine.connect()
    assert not _pg_database_exists(name)
    connection.invalidate()
    engine.dispose()


def test_redis_url_is_an_empty_claimed_database(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    assert client.ping()
    assert client.keys("*") == [REDIS_CLAIM_KEY.encode()]
    client.set("k", "v")
    assert client.get("k") == b"v"
    client.close()


def test_redis_database_is_flushed_afterwards(redis_url: str) -> None:
    import redis

    with claimed_redis_database() as url:
        assert url is not None and url != redis_url  # the claimed number is not handed out twice
        client = redis.Redis.from_url(url)
        client.set("left-over", "1")
    assert client.dbsize() == 0
    client.close()


def test_s3_server_sets_credentials_and_serves(s3_server: str) -> None:
    import boto3

    assert os.environ["UNBRAND_S3_ENDPOINT_URL"] == s3_server
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="fixture-check")
    client.put_object(Bucket="fixture-check", Key="a", Body=b"1")
    assert client.get_object(Bucket="fixture-check", Key="a")["Body"].read() == b"1"

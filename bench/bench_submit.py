"""Benchmark: submit a 100,000-row manifest into PostgreSQL + Redis (target <= 60 s).

Creates a throw-away PostgreSQL database and uses an empty Redis database number, writes
a CSV manifest of N rows (the image files need not exist: nothing is processed), then
times `submit_dataset` (read manifest -> bulk insert + commit -> publish every job) and a
second, idempotent re-submit. Prints the figures; the database is dropped afterwards.

    nice -n 10 /work/venv/bin/python bench/bench_submit.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler.db.migrate import upgrade  # noqa: E402
from scheduler.db.session import make_engine, make_session_factory  # noqa: E402
from scheduler.settings import get_settings  # noqa: E402
from scheduler.submit import submit_dataset  # noqa: E402

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def write_manifest(folder: Path, rows: int) -> Path:
    path = folder / "manifest.csv"
    with path.open("w") as handle:
        handle.write("image,boxes,labels\n")
        for i in range(rows):
            x, y = i % 400, (i // 400) % 300
            handle.write(f"images/{i // 1000:03d}/img{i:06d}.jpg,{x} {y} {x + 64} {y + 48},"
                         f"brand{i % 27}\n")
    return path


def backend_cpu(engine: sa.Engine, database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving `database` (same machine)."""
    tick = os.sysconf("SC_CLK_TCK")
    with engine.connect() as conn:
        pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d "
                                    "AND pid <> pg_backend_pid()"), {"d": database}).scalars()
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def empty_redis_db(host: str) -> str:
    for db in range(15, 0, -1):
        client = redis.Redis(host=host, port=6379, db=db)
        if client.dbsize() == 0:
            client.close()
            return f"redis://{host}:6379/{db}"
        client.close()
    raise SystemExit("no empty Redis database number")


def run(rows: int) -> None:
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(load)} at start")
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"unbrand_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    broker = empty_redis_db("127.0.0.1")
    client = redis.Redis.from_url(broker)
    try:
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        settings = get_settings(database_url=url, broker_url=broker)
        with tempfile.TemporaryDirectory() as tmp:
            manifest = write_manifest(Path(tmp), rows)
            for label in ("first submit", "re-submit"):
                pg_cpu, broker_cpu = backend_cpu(admin, name), redis_cpu(client)
                start, cpu = time.perf_counter(), time.process_time()
                report = submit_dataset(str(manifest), output=str(Path(tmp) / "out"),
                                        session_factory=factory, settings=settings,
                                        name="bench", queue="cpu")
                total, cpu = time.perf_counter() - start, time.process_time() - cpu
                pg_cpu = backend_cpu(admin, name) - pg_cpu
                broker_cpu = redis_cpu(client) - broker_cpu
                t = report.timings
                print(f"{label}: {rows} rows in {total:.1f} s wall, {cpu:.1f} s CPU of this "
                      f"process (read {t['read_s']:.1f} s, insert+commit {t['insert_s']:.1f} s, "
                      f"publish {t['publish_s']:.1f} s) -> inserted {report.inserted}, "
                      f"published {report.published}, {rows / total:,.0f} rows/s")
                print(f"  CPU seconds: submitting process {cpu:.1f} + PostgreSQL backends "
                      f"{pg_cpu:.1f} + Redis server {broker_cpu:.1f} = "
                      f"{cpu + pg_cpu + broker_cpu:.1f} s")
        with engine.connect() as conn:
            count = conn.scalar(sa.text("SELECT count(*) FROM jobs"))
        print(f"rows in jobs: {count}; messages in Redis queue 'cpu': {client.llen('cpu')}")
        engine.dispose()
    finally:
        client.flushdb()
        client.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="manifest rows")
    run(parser.parse_args().rows)


if __name__ == "__main__":
    main()

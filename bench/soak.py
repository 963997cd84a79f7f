"""Soak test: 2 Celery workers, N small images on moto S3, random SIGKILLs; nothing may be lost.

    .venv/bin/python bench/soak.py --images 500 --kills 3 [--fast] [--write]

Starts its own PostgreSQL database (on 127.0.0.1:5432), a private redis-server with an
append-only file, a moto S3 server and two `celery worker --pool solo` processes with a tiny
random model. While the batch runs it SIGKILLs a random worker `--kills` times (each
restarted a second later, as a container restart policy would) and then reports:
jobs lost (not done at the end: target 0), duplicated outputs (objects beyond one per done
job: target 0), failed jobs, throughput (images/s over the processing window) and, for each
kill, the seconds until the job the killed worker held was done again. The workers run with
the product's default settings (heartbeat 10 s, stale after 60 s, visibility timeout
3600 s); `--fast` shortens them as the fault tests do.
`--write` replaces bench/RESULTS-soak.md with the figures and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from tests.faults.conftest import (  # noqa: E402 - the same helpers as the fault tests
    BUCKET,
    MotoServer,
    RedisServer,
    Worker,
)
from tests.faults.data import png  # noqa: E402

ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
FAST = {"UNBRAND_VISIBILITY_TIMEOUT": "5", "UNBRAND_TASK_TIME_LIMIT": "4",
        "UNBRAND_HEARTBEAT_INTERVAL": "0.5", "UNBRAND_STALE_AFTER": "4"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=500, help="number of small images")
    parser.add_argument("--kills", type=int, default=3, help="random worker SIGKILLs")
    parser.add_argument("--size", type=int, nargs=2, default=(64, 48), help="image W H")
    parser.add_argument("--timeout", type=float, default=900, help="give up after S seconds")
    parser.add_argument("--fast", action="store_true",
                        help="shortened visibility timeout / heartbeat / stale-after")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the kill plan")
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS-soak.md")
    return parser.parse_args()


def save_tiny_weights(path: Path) -> None:
    from inpaint_core.model.checkpoint import save_inference_checkpoint
    from tests.fixtures.models import make_tiny_generator

    save_inference_checkpoint(make_tiny_generator(), path, card={"model_version": "tiny-soak"})


def upload(client: Any, count: int, size: tuple[int, int]) -> str:
    rows = ["image,boxes"]
    for i in range(count):
        client.put_object(Bucket=BUCKET, Key=f"soak/i{i:05d}.png", Body=png(*size, seed=i))
        rows.append(f'i{i:05d}.png,"[[8, 8, 30, 24]]"')
    client.put_object(Bucket=BUCKET, Key="soak/list.csv", Body="\n".join(rows).encode())
    return f"s3://{BUCKET}/soak/list.csv"


def counts(db: str) -> dict[str, int]:
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text(
                "SELECT status, count(*) FROM jobs GROUP BY status")).all())
    finally:
        engine.dispose()


def job_rows(db: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(
                "SELECT id, status, attempts, output_uri, started_at, finished_at FROM jobs"
            )).mappings()]
    finally:
        engine.dispose()


def running_on(db: str, worker: str) -> list[int]:
    engine = sa.create_engine(db)
    try:
        with engine.connect() as conn:
            return [int(i) for i in conn.execute(sa.text(
                "SELECT id FROM jobs WHERE status = 'running' AND worker = :w"), {"w": worker}
            ).scalars()]
    finally:
        engine.dispose()


def recovery_seconds(rows: list[dict[str, Any]], kills: list[dict[str, Any]]) -> list[float]:
    """For each job a killed worker held: seconds from the kill until it was done again."""
    finished = {r["id"]: r["finished_at"] for r in rows if r["status"] == "done"}
    out = []
    for kill in kills:
        for job_id in kill["jobs"]:
            if finished.get(job_id) is not None:
                out.append(round(finished[job_id].timestamp() - kill["at"], 1))
    return out


def run_batch(args: argparse.Namespace, tmp: Path, db: str, redis: RedisServer,
              s3: MotoServer, client: Any) -> dict[str, Any]:

    from typer.testing import CliRunner

    from unbrand.cli.app import make_app

    weights = tmp / "tiny.safetensors"
    save_tiny_weights(weights)
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNBRAND_")}
    env.update(FAST if args.fast else {}, UNBRAND_DATABASE_URL=db, UNBRAND_BROKER_URL=redis.url,
               UNBRAND_S3_ENDPOINT_URL=s3.url, UNBRAND_MODEL_WEIGHTS=str(weights),
               UNBRAND_DEVICE="cpu", UNBRAND_PRECISION="fp32", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               PYTHONPATH=str(REPO))
    source = upload(client, args.images, tuple(args.size))
    workers = [Worker(env, tmp / f"w{i}.log", f"w{i}@soak") for i in range(2)]
    for worker in workers:
        worker.wait_ready()
    cli_env = {k: v for k, v in env.items() if k.startswith(("UNBRAND_", "AWS_"))}
    result = CliRunner().invoke(make_app(), ["submit", source, "--output", f"s3://{BUCKET}/out",
                                             "--name", "soak", "--queue", "cpu"], env=cli_env)
    if result.exit_code != 0:
        raise RuntimeError(result.output)
    rng = random.Random(args.seed)
    plan = sorted(rng.uniform(0.1, 0.8) for _ in range(args.kills))  # fractions done
    kills, restarts, started = [], 0, time.monotonic()
    while time.monotonic() - started < args.timeout:
        now = counts(db)
        finished = sum(now.get(s, 0) for s in ("done", "failed", "cancelled"))
        if finished >= args.images:
            break
        if plan and finished >= plan[0] * args.images:
            plan.pop(0)
            index = rng.randrange(len(workers))
            held = running_on(db, workers[index].name)
            workers[index].kill()
            kills.append({"at_finished": finished, "worker": workers[index].name,
                          "jobs": held, "at": time.time()})
            time.sleep(1.0)  # a restart policy brings it back
            restarts += 1
            workers[index] = Worker(env, tmp / f"w{index}-{restarts}.log",
                                    f"w{index}r{restarts}@soak")
        time.sleep(0.5)
    for worker in workers:
        worker.stop()
    return {"kills": kills, "wall_s": time.monotonic() - started}


def measure(args: argparse.Namespace, db: str, client: Any, run: dict[str, Any]
            ) -> dict[str, Any]:
    rows = job_rows(db)
    done = [r for r in rows if r["status"] == "done"]
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="out/"):
        keys += [item["Key"] for item in page.get("Contents", [])]
    outputs = {r["output_uri"].removeprefix(f"s3://{BUCKET}/") for r in done}
    window = (max(r["finished_at"] for r in done) - min(r["started_at"] for r in rows
                                                        if r["started_at"])).total_seconds()
    return {
        "images": args.images, "kills": len(run["kills"]),
        "kill_log": [{k: v for k, v in kill.items() if k != "at"} for kill in run["kills"]],
        "recovery_s": recovery_seconds(rows, run["kills"]), "fast": args.fast,
        "done": len(done), "failed": sum(r["status"] == "failed" for r in rows),
        "lost": args.images - len(done) - sum(r["status"] == "failed" for r in rows),
        "not_done": args.images - len(done),
        "by_status": {s: sum(r["status"] == s for r in rows)
                      for s in ("queued", "running", "done", "failed", "cancelled")},
        "timed_out": run["wall_s"] >= args.timeout,
        "duplicated_outputs": len(keys) - len(outputs) + (len(done) - len(outputs)),
        "stray_outputs": len(set(keys) - outputs),
        "retried_jobs": sum(r["attempts"] > 1 for r in rows),
        "processing_s": round(window, 1), "wall_s": round(run["wall_s"], 1),
        "images_per_s": round(len(done) / window, 2) if window > 0 else 0.0,
    }


def main() -> int:
    args = parse_args()
    load_before = [round(v, 2) for v in os.getloadavg()]
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"unbrand_soak_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db = admin.url.set(database=name).render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory(prefix="unbrand-soak-") as folder:
        tmp = Path(folder)
        redis, s3 = RedisServer(tmp / "redis"), MotoServer()
        try:
            from scheduler.db.migrate import upgrade

            upgrade(db)
            redis.start()
            s3.start()
            client = __import__("boto3").client(
                "s3", endpoint_url=s3.url, aws_access_key_id="testing",
                aws_secret_access_key="testing", region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            figures = measure(args, db, client, run_batch(args, tmp, db, redis, s3, client))
        finally:
            redis.stop()
            s3.stop()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    figures["load_before"] = load_before
    print(json.dumps(figures, indent=2))
    if args.write:
        write_results(figures, " ".join(sys.argv[1:]))
    return 0 if figures["not_done"] == 0 and figures["duplicated_outputs"] == 0 else 1


def write_results(figures: dict[str, Any], argv: str) -> None:
    text = f"""# Soak: 2 workers, random SIGKILLs

Command: `.venv/bin/python bench/soak.py {argv}`
(2 `celery worker --pool solo` processes, tiny random model, PostgreSQL, private Redis with
AOF, moto S3, on this 2-core CPU machine; {"shortened settings (--fast)" if figures['fast']
else "the default settings: heartbeat 10 s, stale after 60 s, visibility timeout 3600 s"};
load average before the run: {figures['load_before']}).

| figure | value | target |
|---|---|---|
| images | {figures['images']} | |
| worker SIGKILLs | {figures['kills']} | 3 |
| jobs done | {figures['done']} | all |
| jobs failed | {figures['failed']} | 0 |
| jobs lost (not in a final state) | {figures['lost']} | 0 |
| status counts at the end | {figures['by_status']} (timed out: {figures['timed_out']}) | |
| duplicated outputs | {figures['duplicated_outputs']} | 0 |
| stray output objects | {figures['stray_outputs']} | 0 |
| jobs that needed a 2nd attempt | {figures['retried_jobs']} | |
| throughput | {figures['images_per_s']} images/s over {figures['processing_s']} s | |
| seconds from each kill until the killed worker's job was done | {figures['recovery_s']} \
| a minute or two |

Kills: {json.dumps(figures['kill_log'])}
"""
    (REPO / "bench" / "RESULTS-soak.md").write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())

"""Recovery of jobs whose worker vanished, run by every live worker with the default settings.

A worker killed mid-job (SIGKILL, out of memory, power loss) leaves its job `running` with a
heartbeat that stops. Every live worker sweeps now and then: running rows whose heartbeat is
older than UNBRAND_STALE_AFTER go back to `queued` (one UPDATE ... RETURNING, so two sweepers
never take the same row; each counts a lost attempt) and are published again to their batch's
queue, after the commit. The dead worker's own message, redelivered by Redis after the
visibility timeout, finds the job done or running elsewhere and does nothing. Embedded runs
(`unbrand run`) are left to their runner, which takes its own stale rows back when it starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from scheduler.db import crud
from scheduler.db.session import session_scope
from scheduler.options import BatchOptions
from scheduler.queue import DEFAULT_QUEUE

log = logging.getLogger(__name__)

Publish = Callable[[Sequence[int], str], object]  # (job ids, queue)


def sweep_interval(heartbeat_interval: float, stale_after: float) -> float:
    """How often a worker sweeps: a quarter of the stale time, at least one heartbeat."""
    return max(heartbeat_interval, stale_after / 4)


def sweep_stale(factory: sessionmaker[Session], *, stale_after: float, publish: Publish) -> int:
    """Requeue and republish the stale running jobs of worker batches; returns how many."""
    by_queue: dict[str, list[int]] = {}
    with session_scope(factory) as session:
        for job_id, raw in crud.stale_running_jobs(session, older_than=stale_after):
            options = BatchOptions.load(raw)
            if not options.embedded:
                by_queue.setdefault(options.queue or DEFAULT_QUEUE, []).append(job_id)
        requeued = {queue: crud.requeue_stale(session, older_than=stale_after, job_ids=ids)
                    for queue, ids in by_queue.items()}
    total = 0
    for queue, ids in requeued.items():  # strictly after the commit
        if ids:
            publish(ids, queue)
            log.warning("requeued %d job(s) whose worker vanished: %s", len(ids), ids[:20])
            total += len(ids)
    return total

"""The Celery application of the workers (`celery -A worker.celery_app worker` or `unbrand worker`).

Delivery rules (see design.md, "Delivery guarantees"):
- JSON messages only, results ignored (the job row is the result);
- `task_acks_late` + `task_reject_on_worker_lost` + prefetch 1: a worker that dies mid-job
  leaves its message unacknowledged and another worker gets it;
- the Redis `visibility_timeout` is longer than the task time limit, so a slow job is not
  redelivered while it still runs;
- two queues, `gpu` and `cpu`; the broker URL comes only from the settings.

Start-up (main process): wait for the database and the broker, record the worker row and
keep its `last_seen` fresh. Each prefork child drops inherited connections; the model is
loaded lazily by the first task in each process (worker/model_cache.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from celery import Celery, signals

from scheduler.queue import DEFAULT_QUEUE, broker_options, json_only, publish_jobs, task_queues
from scheduler.settings import Settings, get_settings
from worker.services import (
    heartbeats,
    process_resources,
    record_worker,
    touch_worker,
    wait_for_services,
)
from worker.sweeper import sweep_interval, sweep_stale
from worker.watchdog import soft_time_limit

log = logging.getLogger(__name__)

def configure(app: Celery, settings: Settings) -> None:
    """Apply unbrand's delivery rules and limits from `settings` to `app`."""
    json_only(app)
    soft = soft_time_limit(settings.task_time_limit)
    app.conf.update(
        broker_url=settings.broker_url,
        broker_transport_options=broker_options(settings),
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit,
        task_soft_time_limit=soft,
        task_ignore_result=True,
        task_queues=task_queues(),
        task_default_queue=DEFAULT_QUEUE,
        task_create_missing_queues=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
    )


def make_celery(settings: Settings | None = None) -> Celery:
    """The worker app with the task module registered."""
    settings = settings or get_settings()
    app = Celery("unbrand", include=["worker.tasks"])
    configure(app, settings)
    return app


app = make_celery()

_stop_beats: list[Callable[[], None]] = []  # the worker row's heartbeat and the stale sweep
# Intra-op threads for each prefork child, so N children do not each grab every core.
_child_threads: int | None = None
# a threads pool runs several jobs in one process: they share one model (worker/batcher.py)
_threads_pool = False


def shares_model() -> bool:
    """Whether this process runs jobs side by side (`--pool threads`) on one shared model."""
    return _threads_pool


@signals.worker_init.connect
def _on_worker_init(sender: Any = None, **_: Any) -> None:
    """Main process: wait for DB and broker before consuming anything; share the cores."""
    global _child_threads, _threads_pool
    resources = process_resources()
    wait_for_services(resources.settings, resources.engine)
    concurrency = int(getattr(sender, "concurrency", 1) or 1)
    pool = str(getattr(sender, "pool_cls", ""))  # "prefork" or the resolved pool class
    if concurrency > 1 and "prefork" in pool:
        _child_threads = max(1, (os.cpu_count() or 1) // concurrency)
    _threads_pool = concurrency > 1 and "thread" in pool.lower()


@signals.worker_ready.connect
def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    """Main process: record this worker and start its heartbeat."""
    resources = process_resources()
    name = sender.hostname if sender is not None else f"worker@{os.getpid()}"
    queues = ",".join(sorted(q.name for q in sender.app.amqp.queues.consume_from.values())) \
        if sender is not None else ""
    record_worker(resources.session_factory, name=name, queues=queues)
    factory = resources.session_factory
    settings = resources.settings
    _stop_beats.append(heartbeats().start(
        lambda: touch_worker(factory, name=name), settings.heartbeat_interval))
    _stop_beats.append(heartbeats().start(
        lambda: sweep_stale(factory, stale_after=settings.stale_after, publish=_republish),
        sweep_interval(settings.heartbeat_interval, settings.stale_after)))
    log.info("worker %s ready on queues %s", name, queues)


@signals.worker_shutdown.connect
def _on_worker_shutdown(**_: Any) -> None:
    while _stop_beats:
        _stop_beats.pop()()


def _republish(job_ids: Sequence[int], queue: str) -> None:
    """Send jobs again through this worker's own app (the sweep's publisher)."""
    publish_jobs(list(job_ids), queue=queue, settings=process_resources().settings, client=app)


@signals.worker_process_init.connect
def _on_child_start(**_: Any) -> None:
    """Prefork child: never reuse the parent's connections; take its share of the cores."""
    process_resources().reset_after_fork()
    if _child_threads is not None:
        import torch

        torch.set_num_threads(_child_threads)

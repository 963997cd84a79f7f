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
from collections.abc import Callable
from typing import Any

from celery import Celery, signals

from scheduler.queue import DEFAULT_QUEUE, broker_options, json_only, task_queues
from scheduler.settings import Settings, get_settings
from worker.services import (
    heartbeats,
    process_resources,
    record_worker,
    touch_worker,
    wait_for_services,
)

log = logging.getLogger(__name__)

# Seconds between the soft limit (the task can record its failure) and the hard kill.
SOFT_LIMIT_MARGIN = 30


def configure(app: Celery, settings: Settings) -> None:
    """Apply unbrand's delivery rules and limits from `settings` to `app`."""
    json_only(app)
    soft = max(1, settings.task_time_limit - SOFT_LIMIT_MARGIN)
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

_stop_worker_heartbeat: Callable[[], None] | None = None
# Intra-op threads for each prefork child, so N children do not each grab every core.
_child_threads: int | None = None


@signals.worker_init.connect
def _on_worker_init(sender: Any = None, **_: Any) -> None:
    """Main process: wait for DB and broker before consuming anything; share the cores."""
    global _child_threads
    resources = process_resources()
    wait_for_services(resources.settings, resources.engine)
    concurrency = int(getattr(sender, "concurrency", 1) or 1)
    pool = str(getattr(sender, "pool_cls", ""))  # "prefork" or the resolved pool class
    if concurrency > 1 and "prefork" in pool:
        _child_threads = max(1, (os.cpu_count() or 1) // concurrency)


@signals.worker_ready.connect
def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    """Main process: record this worker and start its heartbeat."""
    global _stop_worker_heartbeat
    resources = process_resources()
    name = sender.hostname if sender is not None else f"worker@{os.getpid()}"
    queues = ",".join(sorted(q.name for q in sender.app.amqp.queues.consume_from.values())) \
        if sender is not None else ""
    record_worker(resources.session_factory, name=name, queues=queues)
    factory = resources.session_factory
    _stop_worker_heartbeat = heartbeats().start(
        lambda: touch_worker(factory, name=name), resources.settings.heartbeat_interval
    )
    log.info("worker %s ready on queues %s", name, queues)


@signals.worker_shutdown.connect
def _on_worker_shutdown(**_: Any) -> None:
    if _stop_worker_heartbeat is not None:
        _stop_worker_heartbeat()


@signals.worker_process_init.connect
def _on_child_start(**_: Any) -> None:
    """Prefork child: never reuse the parent's connections; take its share of the cores."""
    process_resources().reset_after_fork()
    if _child_threads is not None:
        import torch

        torch.set_num_threads(_child_threads)

"""One model shared by the jobs of a process that run side by side, their crops batched.

A worker that runs several jobs at once (`unbrand worker --pool threads -c N`, `unbrand run
--jobs N`) keeps each job's CPU work (reading, decoding, refinement, prefill planning, metrics,
encoding, upload) in that job's own thread, so it overlaps the model's work on other jobs;
only the forward passes go through one thread that owns the model. That thread takes the
first waiting request and every other request already waiting, and runs all their crops
through `Inpainter.fill` together (crops of equal size share forward passes across jobs), so
on a GPU the device gets batches instead of one crop at a time. Nothing waits for company:
with one job in flight it runs alone, at once.

Every job still owns its row: claim, heartbeat, ownership check before writing, late ack
(worker/pipeline.py); the batcher only computes pixels.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class _Request:
    images: Sequence[np.ndarray]
    masks: Sequence[np.ndarray]
    fills: Sequence[np.ndarray]
    keep_background: Sequence[bool]
    result: Future[list[np.ndarray]] = field(default_factory=Future)


class SharedInpainter:
    """An Inpainter for many threads: `fill` calls are batched on one model thread; every other
    attribute is the wrapped Inpainter's."""

    def __init__(self, inner: Any, *, max_images: int = 16) -> None:
        self.inner = inner
        self.max_images = max_images  # images in one combined call at most
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="model", daemon=True)
        self._thread.start()
        self.calls = 0  # combined `fill` calls made (what batching saved shows in it)
        self.images = 0  # images they held

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def fill(self, images: Sequence[np.ndarray], masks: Sequence[np.ndarray],
             fills: Sequence[np.ndarray], *, keep_background: Sequence[bool]) -> list[np.ndarray]:
        """`Inpainter.fill`, computed together with whatever other jobs are waiting."""
        request = _Request(images, masks, fills, keep_background)
        self._requests.put(request)
        return request.result.result()

    def close(self) -> None:
        """Stop the model thread once the waiting requests are served."""
        self._requests.put(None)
        self._thread.join(timeout=60)

    def _serve(self) -> None:
        while True:
            first = self._requests.get()
            if first is None:
                return
            batch = [first]
            while sum(len(r.images) for r in batch) < self.max_images:
                try:
                    more = self._requests.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._requests.put(None)  # serve this batch, then stop
                    break
                batch.append(more)
            self._run(batch)

    def _run(self, batch: list[_Request]) -> None:
        images = [image for r in batch for image in r.images]
        try:
            outputs = self.inner.fill(
                images, [m for r in batch for m in r.masks], [f for r in batch for f in r.fills],
                keep_background=[k for r in batch for k in r.keep_background])
        except Exception as exc:
            if len(batch) == 1:
                batch[0].result.set_exception(exc)
                return
            log.warning("a combined forward pass failed (%s): running its jobs one by one", exc)
            for request in batch:  # only the job that causes it fails
                self._run([request])
            return
        self.calls += 1
        self.images += len(images)
        start = 0
        for request in batch:
            request.result.set_result(outputs[start : start + len(request.images)])
            start += len(request.images)

"""One model shared by jobs that run side by side: their crops are batched, results unchanged."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inpaint_core.inference.inpainter import Inpainter
from inpaint_core.inference.remove import remove
from tests.fixtures.images import photo_like
from tests.fixtures.models import TINY, RecordingGenerator
from worker.batcher import SharedInpainter
from worker.runner import run_embedded

DEMO = Path(__file__).resolve().parents[2] / "demo"


@pytest.fixture
def tiny_generator() -> RecordingGenerator:
    import torch

    torch.manual_seed(0)
    return RecordingGenerator(TINY).eval()


class Gated(Inpainter):
    """A real Inpainter whose first `fill` waits until released (a long forward pass)."""

    def __init__(self, generator: RecordingGenerator) -> None:
        super().__init__(generator)
        self.gate = threading.Event()
        self.first = True

    def fill(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        if self.first:
            self.first = False
            self.gate.wait(10)
        return super().fill(*args, **kwargs)


def test_jobs_waiting_on_the_model_share_one_forward_pass(
    tiny_generator: RecordingGenerator,
) -> None:
    inner = Gated(tiny_generator)
    shared = SharedInpainter(inner)
    images = [photo_like(64, 64, seed=s) for s in range(4)]
    results: dict[int, np.ndarray] = {}

    def job(index: int) -> None:
        results[index] = remove(shared, images[index], boxes=[[20, 20, 40, 36]]).output

    threads = [threading.Thread(target=job, args=(i,)) for i in range(4)]
    threads[0].start()
    while not tiny_generator.calls and inner.first:  # the first job holds the model ...
        threading.Event().wait(0.01)
    for thread in threads[1:]:
        thread.start()
    threading.Event().wait(0.3)  # ... while the three others queue up
    inner.gate.set()
    for thread in threads:
        thread.join(30)
    shared.close()

    assert [shape[0] for shape in tiny_generator.calls] == [1, 3]  # the three went together
    assert (shared.calls, shared.images) == (2, 4)
    alone = Inpainter(tiny_generator)
    for index, image in enumerate(images):
        expected = remove(alone, image, boxes=[[20, 20, 40, 36]]).output
        assert np.abs(results[index].astype(int) - expected.astype(int)).max() <= 1


class FailsOnSeven(Inpainter):
    def fill(self, images: Any, *args: Any, **kwargs: Any) -> list[np.ndarray]:
        if any(int(image[0, 0, 0]) == 7 for image in images):
            raise RuntimeError("bad input")
        return super().fill(images, *args, **kwargs)


def test_a_failing_job_in_a_combined_pass_fails_alone(
    tiny_generator: RecordingGenerator,
) -> None:
    shared = SharedInpainter(FailsOnSeven(tiny_generator))
    good, bad = photo_like(64, 64), photo_like(64, 64, seed=1)
    bad[0, 0] = 7
    mask = np.zeros((64, 64), bool)
    mask[20:30, 20:30] = True
    requests = [(good, mask), (bad, mask), (good, mask)]
    outcomes: list[Any] = [None] * 3

    def job(index: int) -> None:
        image, region = requests[index]
        try:
            outcomes[index] = shared.fill([image], [region], [region], keep_background=[True])
        except RuntimeError as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=job, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    shared.close()
    assert isinstance(outcomes[1], RuntimeError)
    assert isinstance(outcomes[0], list) and isinstance(outcomes[2], list)


@pytest.mark.slow
def test_an_embedded_run_with_several_jobs_gives_the_same_outputs(
    tmp_path: Path, tiny_inpainter: Any,
) -> None:
    one = run_embedded(str(DEMO), out_dir=tmp_path / "one", inpainter=tiny_inpainter)
    three = run_embedded(str(DEMO), out_dir=tmp_path / "three", inpainter=tiny_inpainter,
                         jobs=3)
    assert one.ok and three.ok and three.processed == one.processed == 6
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.jpg"))
    assert files == sorted(p.relative_to(tmp_path / "three")
                           for p in (tmp_path / "three").rglob("*.jpg"))
    from inpaint_core.masks.imageio import read_image

    for rel in files:
        a = read_image((tmp_path / "one" / rel).read_bytes()).rgb.astype(int)
        b = read_image((tmp_path / "three" / rel).read_bytes()).rgb.astype(int)
        assert np.abs(a - b).mean() < 0.5  # JPEG of the same pixels (batched in other groups)

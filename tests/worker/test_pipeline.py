"""The per-job pipeline on SQLite + a temp folder + a tiny random Inpainter."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from inpaint_core.masks.imageio import read_image
from inpaint_core.masks.modes import BOX_MARGIN
from scheduler.db import crud
from scheduler.db.models import Batch, Job
from scheduler.db.session import session_scope
from scheduler.errors import TransientStorageError
from scheduler.settings import get_settings
from scheduler.storage import LocalStorage, Storage, UriResolver
from tests.fixtures.images import encode, photo
from worker.pipeline import PipelineOptions, process_job
from worker.services import StorageResolver

BOX = [10, 8, 30, 24]  # 20 x 16 pixels of a 64 x 48 image


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


@pytest.fixture
def resolver() -> StorageResolver:
    return StorageResolver(get_settings())


def run(job_id: int, factory: sessionmaker[Session], inpainter: Any,
        resolver: UriResolver, **options: Any) -> Any:
    return process_job(job_id, session_factory=factory, inpainter_provider=lambda: inpainter,
                       storage_resolver=resolver, worker_name="w1",
                       options=PipelineOptions(**options))


def job_row(factory: sessionmaker[Session], job_id: int) -> Job:
    with session_scope(factory) as session:
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def test_done_job_writes_output_and_records_timings_and_metrics(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    tiny_inpainter: Any, resolver: StorageResolver, tmp_path: Path,
) -> None:
    image = photo()
    (inputs / "a.png").write_bytes(encode(image))
    [job_id] = add_jobs([{"input_uri": str(inputs / "a.png"),
                          "mask_spec": {"boxes": [BOX], "rel_path": "sub/a.png"}}])

    outcome = run(job_id, session_factory, tiny_inpainter, resolver)

    assert outcome.status == "done"
    out_file = tmp_path / "out" / "b1" / "sub" / "a.png"
    assert outcome.output_uri == out_file.resolve().as_uri()
    result = read_image(out_file.read_bytes())
    fill = tiny_inpainter.fill_region(_box_mask(), BOX_MARGIN)
    assert np.array_equal(fill, _box_mask())  # a box job fills its box exactly, no margin
    assert np.array_equal(result.rgb[~fill], image[~fill])  # outside the fill: same bytes
    assert not np.array_equal(result.rgb[_box_mask()], image[_box_mask()])
    job = job_row(session_factory, job_id)
    assert job.status == "done" and job.attempts == 1 and job.worker == "w1"
    assert job.model_version == "tiny-test"
    assert all(value is not None and value >= 0 for value in (job.read_ms, job.inference_ms,
                                                               job.write_ms))
    assert job.metrics["mask_ratio"] == pytest.approx(20 * 16 / (64 * 48))
    assert job.metrics["fill_ratio"] == pytest.approx(fill.mean())
    assert job.metrics["seam_score"] > 0
    assert job.quality_score is not None and 0 <= job.quality_score <= 1
    with session_scope(session_factory) as session:
        assert session.get(Batch, job.batch_id).finished_at is not None


def _box_mask() -> np.ndarray:
    mask = np.zeros((48, 64), bool)
    mask[BOX[1]:BOX[3], BOX[0]:BOX[2]] = True
    return mask


def test_rerun_is_skipped_and_a_requeued_job_writes_the_same_bytes(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    tiny_inpainter: Any, resolver: StorageResolver, tmp_path: Path,
) -> None:
    (inputs / "a.jpg").write_bytes(encode(photo(), "JPEG"))
    [job_id] = add_jobs([{"input_uri": str(inputs / "a.jpg"), "mask_spec": {"boxes": [BOX]}}])
    first = run(job_id, session_factory, tiny_inpainter, resolver)
    out_file = tmp_path / "out" / "b1" / "a.jpg"  # JPEG in -> JPEG out, key from the input name
    data = out_file.read_bytes()
    assert first.status == "done" and data[:3] == b"\xff\xd8\xff"

    assert run(job_id, session_factory, tiny_inpainter, resolver).status == "skipped"
    with session_scope(session_factory) as session:  # force a second real execution
        session.get(Job, job_id).status = "failed"
        crud.requeue_failed(session, job_ids=[job_id])
    second = run(job_id, session_factory, tiny_inpainter, resolver)

    assert second.status == "done" and second.output_uri == first.output_uri
    assert out_file.read_bytes() == data
    assert sorted(p.name for p in out_file.parent.iterdir()) == ["a.jpg"]  # no temp files left
    assert job_row(session_factory, job_id).attempts == 2


def test_truth_image_gives_reference_metrics(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    tiny_inpainter: Any, resolver: StorageResolver,
) -> None:
    clean = photo(seed=1)
    logo = clean.copy()
    logo[_box_mask()] = [255, 0, 0]
    (inputs / "a.png").write_bytes(encode(logo))
    (inputs / "a_truth.png").write_bytes(encode(clean))
    spec = {"boxes": [BOX], "truth_uri": str(inputs / "a_truth.png")}
    [job_id] = add_jobs([{"input_uri": str(inputs / "a.png"), "mask_spec": spec}])

    assert run(job_id, session_factory, tiny_inpainter, resolver).status == "done"

    metrics = job_row(session_factory, job_id).metrics
    assert metrics["psnr_outside"] == 100.0  # outside the fill region nothing changed
    assert 0 < metrics["psnr_hole"] < 100.0
    assert set(metrics) >= {"l1", "psnr", "ssim", "l1_hole", "ssim_hole"}


def test_bad_inputs_fail_only_their_own_job(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    tiny_inpainter: Any, resolver: StorageResolver,
) -> None:
    for name in ("good", "inverted", "nothing", "ok"):
        (inputs / f"{name}.png").write_bytes(encode(photo()))
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    Image.new("L", (10, 10), 255).save(inputs / "square_mask.png")  # 1:1, the image is 4:3
    jobs = [
        {"input_uri": str(inputs / "broken.png"), "mask_spec": {"boxes": [BOX]}},
        {"input_uri": str(inputs / "missing.png"), "mask_spec": {"boxes": [BOX]}},
        {"input_uri": str(inputs / "good.png"),
         "mask_spec": {"mask_uri": str(inputs / "square_mask.png")}},
        {"input_uri": str(inputs / "inverted.png"), "mask_spec": {"boxes": [[5, 5, 2, 9]]}},
        {"input_uri": str(inputs / "nothing.png"), "mask_spec": {"boxes": None}},
        {"input_uri": str(inputs / "ok.png"), "mask_spec": {"boxes": [BOX]}},
    ]
    ids = add_jobs(jobs)

    outcomes = [run(job_id, session_factory, tiny_inpainter, resolver) for job_id in ids]

    assert [o.status for o in outcomes] == ["failed"] * 5 + ["done"]
    errors = [job_row(session_factory, job_id).error for job_id in ids[:5]]
    assert errors[0].startswith("bad image:")
    assert errors[1].startswith("input not found:")
    assert errors[2].startswith("bad image:") and "mask" in errors[2]
    assert errors[3].startswith("bad dataset entry:") and "inverted" in errors[3]
    assert errors[4] == "bad dataset entry: the job has neither boxes nor a mask file"
    assert all(job_row(session_factory, i).attempts == 1 for i in ids)


def test_empty_boxes_copy_the_input_and_alpha_is_kept(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    tiny_inpainter: Any, resolver: StorageResolver, tmp_path: Path,
) -> None:
    rgba = np.dstack([photo(), np.full((48, 64), 200, np.uint8)])
    (inputs / "a.png").write_bytes(encode(rgba))
    (inputs / "b.png").write_bytes(encode(photo(seed=3)))
    ids = add_jobs([{"input_uri": str(inputs / "a.png"), "mask_spec": {"boxes": [BOX]}},
                    {"input_uri": str(inputs / "b.png"), "mask_spec": {"boxes": []}}])

    assert [run(i, session_factory, tiny_inpainter, resolver).status for i in ids] == ["done"] * 2

    with Image.open(tmp_path / "out" / "b1" / "a.png") as out:
        assert out.mode == "RGBA"
        assert np.array_equal(np.asarray(out)[..., 3], rgba[..., 3])
    copied = read_image((tmp_path / "out" / "b1" / "b.png").read_bytes()).rgb
    assert np.array_equal(copied, photo(seed=3))
    assert job_row(session_factory, ids[1]).metrics["mask_ratio"] == 0.0
    assert job_row(session_factory, ids[1]).metrics["seam_score"] == 1.0


class FlakyStorage(LocalStorage):
    """A real LocalStorage whose first `failures` reads raise TransientStorageError."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures

    def read_bytes(self, key: str) -> bytes:
        if self.failures > 0:
            self.failures -= 1
            raise TransientStorageError("connection reset by peer")
        return super().read_bytes(key)


def test_transient_error_hands_the_job_back_and_propagates(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    tiny_inpainter: Any, tmp_path: Path,
) -> None:
    (inputs / "a.png").write_bytes(encode(photo()))
    [job_id] = add_jobs([{"input_uri": "a.png", "mask_spec": {"boxes": [BOX]}}])
    flaky = FlakyStorage(inputs, failures=1)
    outputs = LocalStorage(tmp_path / "out")

    def resolve(uri: str) -> tuple[Storage, str]:
        return (outputs, "") if uri.startswith(str(tmp_path / "out")) else (flaky, uri)

    with pytest.raises(TransientStorageError):
        run(job_id, session_factory, tiny_inpainter, resolve)
    job = job_row(session_factory, job_id)
    assert (job.status, job.attempts) == ("queued", 1)

    assert run(job_id, session_factory, tiny_inpainter, resolve).status == "done"
    assert job_row(session_factory, job_id).attempts == 2


def test_a_fresh_claim_elsewhere_is_busy_and_a_stale_one_is_taken_over(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    tiny_inpainter: Any, resolver: StorageResolver,
) -> None:
    (inputs / "a.png").write_bytes(encode(photo()))
    [job_id] = add_jobs([{"input_uri": str(inputs / "a.png"), "mask_spec": {"boxes": [BOX]}}])
    with session_scope(session_factory) as session:
        assert crud.claim_job(session, job_id=job_id, worker="other")

    busy = run(job_id, session_factory, tiny_inpainter, resolver, stale_after=60.0)
    assert busy.status == "busy" and "other" in busy.error
    time.sleep(0.3)
    taken = run(job_id, session_factory, tiny_inpainter, resolver, stale_after=0.2,
                heartbeat_interval=0.1)
    assert taken.status == "done"
    job = job_row(session_factory, job_id)
    assert (job.worker, job.attempts) == ("w1", 2)


class SlowInpainter:
    """Delegates to a real Inpainter after a pause, and can run an action mid-job."""

    def __init__(self, inner: Any, pause: float, action: Callable[[], None] = lambda: None):
        self.inner, self.pause, self.action = inner, pause, action
        self.model_version = inner.model_version

    def fill(self, images: list[np.ndarray], masks: list[np.ndarray], fills: list[np.ndarray],
             *, keep_background: list[bool]) -> list[np.ndarray]:
        time.sleep(self.pause)
        self.action()
        return self.inner.fill(images, masks, fills, keep_background=keep_background)

    def fill_region(self, mask: np.ndarray, margin: int | None = None) -> np.ndarray:
        return self.inner.fill_region(mask, margin)

    def realness(self, output: np.ndarray, fill: np.ndarray) -> float | None:
        return self.inner.realness(output, fill)


def test_heartbeat_is_refreshed_while_the_model_runs(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    tiny_inpainter: Any, resolver: StorageResolver,
) -> None:
    (inputs / "a.png").write_bytes(encode(photo()))
    [job_id] = add_jobs([{"input_uri": str(inputs / "a.png"), "mask_spec": {"boxes": [BOX]}}])
    beats: list[Any] = []

    def look() -> None:
        beats.append(job_row(session_factory, job_id).heartbeat_at)

    slow = SlowInpainter(tiny_inpainter, pause=0.5, action=look)
    assert run(job_id, session_factory, slow, resolver, heartbeat_interval=0.1).status == "done"
    job = job_row(session_factory, job_id)
    assert (beats[0] - job.started_at).total_seconds() >= 0.3


def test_a_job_cancelled_while_running_stays_cancelled(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    tiny_inpainter: Any, resolver: StorageResolver,
) -> None:
    (inputs / "a.png").write_bytes(encode(photo()))
    [job_id] = add_jobs([{"input_uri": str(inputs / "a.png"), "mask_spec": {"boxes": [BOX]}}])

    def cancel() -> None:
        with session_scope(session_factory) as session:
            crud.mark_cancelled(session, job_id=job_id)

    outcome = run(job_id, session_factory, SlowInpainter(tiny_inpainter, 0.0, cancel), resolver)
    assert outcome.status == "skipped"
    assert job_row(session_factory, job_id).status == "cancelled"


def test_unexpected_errors_are_recorded_on_the_job(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    resolver: StorageResolver, tiny_inpainter: Any,
) -> None:
    (inputs / "a.png").write_bytes(encode(photo()))
    [job_id] = add_jobs([{"input_uri": str(inputs / "a.png"), "mask_spec": {"boxes": [BOX]}}])

    class Exploding:
        model_version = "x"

        def __getattr__(self, name: str) -> Any:
            return getattr(tiny_inpainter, name)

        def fill(self, *args: Any, **kwargs: Any) -> list[np.ndarray]:
            raise RuntimeError("CUDA out of memory")

    outcome = run(job_id, session_factory, Exploding(), resolver)
    assert outcome.status == "failed"
    assert job_row(session_factory, job_id).error == (
        "internal error: RuntimeError: CUDA out of memory")


def test_a_critic_adds_disc_realness_and_can_flag_the_job(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    resolver: StorageResolver,
) -> None:
    import torch

    from inpaint_core.evaluation.critic import Critic
    from inpaint_core.inference.inpainter import Inpainter
    from inpaint_core.model.network import PatchDiscriminator
    from tests.fixtures.models import make_tiny_generator

    def judged_by(value: float) -> Inpainter:
        disc = PatchDiscriminator(8)
        torch.nn.init.zeros_(disc.conv[-1].weight)
        torch.nn.init.constant_(disc.conv[-1].bias, value)  # the same verdict on every patch
        return Inpainter(make_tiny_generator(), device="cpu", precision="fp32",
                         critic=Critic(disc, size=64))

    (inputs / "a.png").write_bytes(encode(photo()))
    ids = add_jobs([{"input_uri": str(inputs / "a.png"), "mask_spec": {"boxes": [BOX]}},
                    {"input_uri": str(inputs / "a.png") + "?again",
                     "mask_spec": {"boxes": [BOX], "rel_path": "b.png"}}])
    (inputs / "a.png?again").write_bytes(encode(photo()))

    assert run(ids[0], session_factory, judged_by(0.8), resolver).status == "done"
    assert run(ids[1], session_factory, judged_by(-0.5), resolver).status == "done"
    real, fake = job_row(session_factory, ids[0]), job_row(session_factory, ids[1])
    assert real.metrics["disc_realness"] == pytest.approx(1.0, abs=1e-3)  # as real as around it
    assert fake.metrics["disc_realness"] == pytest.approx(0.0, abs=1e-3)  # nothing looks real
    assert fake.flagged and fake.quality_score < real.quality_score  # under min_disc_realness


def test_a_job_over_the_time_limit_fails_with_a_reason_that_says_so(
    session_factory: sessionmaker[Session], add_jobs: Any, inputs: Path,
    tiny_inpainter: Any, resolver: StorageResolver, tmp_path: Path,
) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    class Slow:
        """Delegates to the tiny Inpainter, but its inference hits Celery's soft time limit."""

        def __getattr__(self, name: str) -> Any:
            return getattr(tiny_inpainter, name)

        def fill(self, *args: Any, **kwargs: Any) -> Any:
            raise SoftTimeLimitExceeded()

    (inputs / "a.png").write_bytes(encode(photo()))
    [job_id] = add_jobs([{"input_uri": str(inputs / "a.png"), "mask_spec": {"boxes": [BOX]}}])

    outcome = run(job_id, session_factory, Slow(), resolver, time_limit=120)

    job = job_row(session_factory, job_id)
    assert outcome.status == "failed" and job.status == "failed"
    assert job.error.startswith("time limit: the job ran longer than the task time limit (120 s)")
    assert not list((tmp_path / "out").rglob("*.png"))  # nothing written

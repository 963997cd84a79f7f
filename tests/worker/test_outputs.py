"""What a job writes: the source's metadata and compression kept (or --quality), the mode the
umask gives, S3 object metadata naming job, batch and model, and an output error that names
the output."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image, ImageCms, JpegImagePlugin
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from inpaint_core.masks.imagemeta import estimate_quality
from scheduler.db.models import Job
from scheduler.db.session import session_scope
from scheduler.settings import get_settings
from unbrand.cli.app import make_app
from worker.pipeline import process_job
from worker.services import StorageResolver

REPO = Path(__file__).resolve().parents[2]
KODAK = REPO / "demo" / "JPEGImages" / "demo_03_kodim15.jpg"
BOX = "300,100,420,160"


def _copyright_exif() -> bytes:
    exif = Image.Exif()
    exif[0x8298] = "(c) Jane Doe"
    exif[0x010F] = "Canon"
    return exif.tobytes()


def _q80_photo(folder: Path) -> Path:
    """A 768 x 512 photo saved at quality 80 with EXIF and an ICC profile, as a camera would."""
    folder.mkdir(parents=True, exist_ok=True)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    path = folder / "photo.jpg"
    Image.open(KODAK).convert("RGB").save(path, "JPEG", quality=80, exif=_copyright_exif(),
                                          icc_profile=icc, dpi=(300, 300))
    return path


def _run(tmp_path: Path, weights: Path, *extra: str) -> Any:
    args = ["run", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-w", str(weights),
            "--device", "cpu", "--precision", "fp32", "--box", BOX, *extra]
    return CliRunner().invoke(make_app(), args)


def _output(tmp_path: Path) -> Path:
    [written] = sorted((tmp_path / "out").glob("in-*/photo.jpg"))
    return written


def test_run_keeps_metadata_compression_and_shared_mode(tmp_path: Path,
                                                         tiny_weights: Path) -> None:
    source = _q80_photo(tmp_path / "in")

    result = _run(tmp_path, tiny_weights, "--quiet")

    assert result.exit_code == 0, result.output
    written = _output(tmp_path)
    assert stat.S_IMODE(written.stat().st_mode) == 0o644  # under the usual umask 022
    before, after = Image.open(source), Image.open(written)
    assert after.getexif()[0x8298] == "(c) Jane Doe" and after.getexif()[0x010F] == "Canon"
    assert after.info["icc_profile"] == before.info["icc_profile"]
    assert after.info["dpi"] == pytest.approx((300, 300))
    assert JpegImagePlugin.get_sampling(after) == JpegImagePlugin.get_sampling(before)
    assert estimate_quality(list(after.quantization[0])) == 80
    assert written.stat().st_size <= 1.3 * source.stat().st_size
    assert not np.array_equal(np.asarray(after), np.asarray(before))  # the box was repainted


def test_quality_is_a_batch_option_and_a_rerun_with_another_is_refused(
    tmp_path: Path, tiny_weights: Path
) -> None:
    _q80_photo(tmp_path / "in")

    first = _run(tmp_path, tiny_weights, "--quality", "50", "--quiet")
    other = _run(tmp_path, tiny_weights, "--quality", "60")

    assert first.exit_code == 0, first.output
    assert estimate_quality(list(Image.open(_output(tmp_path)).quantization[0])) == 50
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'out' / 'unbrand.db'}")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT options FROM batches")).scalar_one()
    engine.dispose()
    assert json.loads(stored)["jpeg_quality"] == 50
    assert other.exit_code == 2 and "--quality 50 -> 60" in other.output


def _jpeg_with_logo() -> bytes:
    rgb = np.full((48, 64, 3), 120, np.uint8)
    rgb[10:20, 10:30] = (230, 20, 160)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def s3_batch(s3_server: str, session_factory: sessionmaker[Session]) -> tuple[Any, int]:
    """Bucket "photos" holding one image; batch "nightly" writing to s3://cleaned/results."""
    from scheduler.db import crud

    client = boto3.client("s3", endpoint_url=s3_server)
    for bucket in ("photos", "cleaned"):
        client.create_bucket(Bucket=bucket)
    client.put_object(Bucket="photos", Key="a.jpg", Body=_jpeg_with_logo())
    with session_scope(session_factory) as session:
        batch = crud.create_batch(session, name="nightly", source="s3://photos/",
                                  output_root="s3://cleaned/results/", options={})
        [job_id] = crud.bulk_insert_jobs(session, batch_id=batch.id, jobs=[
            {"input_uri": "s3://photos/a.jpg", "mask_spec": {"boxes": [[10, 10, 30, 20]]}}])
    return client, job_id


def _process(job_id: int, factory: sessionmaker[Session], inpainter: Any) -> Any:
    return process_job(job_id, session_factory=factory, inpainter_provider=lambda: inpainter,
                       storage_resolver=StorageResolver(get_settings()), worker_name="w1")


def test_s3_outputs_carry_job_batch_and_model_in_their_metadata(
    s3_batch: tuple[Any, int], session_factory: sessionmaker[Session], tiny_inpainter: Any
) -> None:
    client, job_id = s3_batch

    outcome = _process(job_id, session_factory, tiny_inpainter)

    assert outcome.status == "done", outcome.error
    head = client.head_object(Bucket="cleaned", Key="results/nightly/a.jpg")
    assert head["ContentType"] == "image/jpeg"
    assert head["Metadata"] == {"unbrand-job-id": str(job_id), "unbrand-batch": "nightly",
                                "unbrand-model-version": "tiny-test"}


def test_a_missing_output_bucket_fails_the_job_naming_the_output(
    s3_batch: tuple[Any, int], session_factory: sessionmaker[Session], tiny_inpainter: Any
) -> None:
    client, job_id = s3_batch
    client.delete_bucket(Bucket="cleaned")

    outcome = _process(job_id, session_factory, tiny_inpainter)

    assert outcome.status == "failed"
    with session_scope(session_factory) as session:
        error = session.get(Job, job_id).error
    assert error.startswith("output not writable: s3://cleaned/results/nightly/a.jpg")
    assert "NoSuchBucket" in error and "input" not in error



def test_run_quiet_and_no_progress(tmp_path: Path, tiny_weights: Path) -> None:
    _q80_photo(tmp_path / "in")

    plain = _run(tmp_path, tiny_weights)
    no_bar = _run(tmp_path, tiny_weights, "--no-progress")
    quiet = _run(tmp_path, tiny_weights, "-q")

    assert "removing logos" in plain.output and "this run:" in plain.output
    assert "removing logos" not in no_bar.output and "this run:" in no_bar.output
    lines = [line for line in quiet.output.splitlines() if line.strip()]
    assert quiet.exit_code == 0 and len(lines) == 1
    assert lines[0].startswith("batch in-") and "1 images, 1 done, 0 failed" in lines[0]

"""Submit with mask options: stored in the batch, plain image folders, one option set a batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from scheduler.db.models import Batch, Job
from scheduler.db.session import session_scope
from scheduler.errors import BatchExistsError, DatasetError
from scheduler.options import BatchOptions, fixed_watermark
from scheduler.settings import get_settings
from scheduler.submit import submit_dataset
from unbrand.cli.app import make_app


def _images(root: Path, *rels: str) -> Path:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((12, 16, 3), 128, np.uint8)).save(path)
    return root


def _submit(factory: sessionmaker[Session], source: Path, out: Path, **kwargs: object):
    return submit_dataset(str(source), output=str(out), session_factory=factory,
                          settings=get_settings(), publish=False, **kwargs)


def _batch_and_jobs(factory: sessionmaker[Session]) -> tuple[dict, list[tuple[str, dict]]]:
    with session_scope(factory) as session:
        batch = session.scalar(sa.select(Batch))
        jobs = session.execute(sa.select(Job.input_uri, Job.mask_spec).order_by(Job.id)).all()
        return dict(batch.options), [(uri, dict(spec)) for uri, spec in jobs]


def test_fixed_boxes_read_a_plain_folder_and_are_stored_in_the_batch(
    db_session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    source = _images(tmp_path / "photos", "b.png", "a.jpg", "sub/c.png")
    fixed = fixed_watermark(boxes=["0.75,0.8,1.0,1.0"])
    options = BatchOptions(mask_mode="refine", fixed=fixed)

    report = _submit(db_session_factory, source, tmp_path / "out", options=options)

    assert (report.items, report.inserted, report.invalid) == (3, 3, 0)
    stored, jobs = _batch_and_jobs(db_session_factory)
    assert stored["mask_mode"] == "refine" and stored["fixed"] == fixed
    assert [spec["rel_path"] for _, spec in jobs] == ["a.jpg", "b.png", "sub/c.png"]
    assert all("boxes" not in spec and "mask_uri" not in spec for _, spec in jobs)


def test_a_plain_folder_without_fixed_masks_is_refused(
    db_session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    source = _images(tmp_path / "photos", "a.png")
    with pytest.raises(DatasetError, match="cannot tell the dataset format"):
        _submit(db_session_factory, source, tmp_path / "out")
    with pytest.raises(DatasetError, match="'images' format has no annotations"):
        _submit(db_session_factory, source, tmp_path / "out", format="images")
    with session_scope(db_session_factory) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 0


def test_other_mask_options_on_the_same_batch_are_refused(
    db_session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    source = _images(tmp_path / "photos", "a.png")
    boxes = BatchOptions(fixed=fixed_watermark(boxes=["1,1,5,5"]))
    _submit(db_session_factory, source, tmp_path / "out", options=boxes)
    again = _submit(db_session_factory, source, tmp_path / "out",
                    options=BatchOptions(fixed=fixed_watermark(boxes=["1,1,5,5"])))
    assert (again.inserted, again.existing) == (0, 1)

    refine = BatchOptions(mask_mode="refine", fixed=boxes.fixed)
    with pytest.raises(BatchExistsError, match=r"other options \(mask mode 'box' -> "
                                               r"'refine'\).*choose another --name"):
        _submit(db_session_factory, source, tmp_path / "out", options=refine)
    with pytest.raises(BatchExistsError, match="other options"):  # a dry run says so too
        _submit(db_session_factory, source, tmp_path / "out", options=refine, dry_run=True)
    other = BatchOptions(fixed=fixed_watermark(boxes=["1,1,6,6"]))
    with pytest.raises(BatchExistsError, match="fixed boxes / mask changed"):
        _submit(db_session_factory, source, tmp_path / "out", options=other)
    renamed = _submit(db_session_factory, source, tmp_path / "out", options=refine, name="tight")
    assert renamed.batch_created and renamed.inserted == 1


def test_outputs_inside_the_source_folder_are_not_read_back(
    db_session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    source = _images(tmp_path / "photos", "a.png", "out/batch/a.png")
    options = BatchOptions(fixed=fixed_watermark(boxes=["1,1,5,5"]))
    report = _submit(db_session_factory, source, source / "out", options=options)
    assert report.items == 1 and "1 images inside the output folder" in report.warnings[0]


def test_submit_command_rejects_bad_fixed_values_before_touching_anything(
    tmp_path: Path
) -> None:
    source = _images(tmp_path / "photos", "a.png")
    db = tmp_path / "jobs.db"
    base = ["submit", str(source), "--output", str(tmp_path / "out"), "--db", f"sqlite:///{db}"]
    runner = CliRunner()
    cases = [
        (["--box", "5,5,1,1"], "is empty: x2 must exceed x1"),
        (["--box", "0.8,0.9,1.2,1.0"], "fractions of the image must lie within 0..1"),
        (["--box", "10,10,50,30", "--scale-with-image"], "needs the reference size"),
        (["--mask", str(tmp_path / "nowhere.png")], "cannot read the fixed mask"),
        (["--mask-mode", "tight"], "'tight' is not one of 'box', 'refine'"),
    ]
    for extra, message in cases:
        result = runner.invoke(make_app(), [*base, *extra], env={"COLUMNS": "200"})
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output, (extra, result.output)
    assert not db.exists()


def test_submit_command_stores_the_options(
    redis_url: str, tmp_path: Path
) -> None:
    source = _images(tmp_path / "photos", "a.png", "b.png")
    mask = np.zeros((12, 16), np.uint8)
    mask[8:12, 10:16] = 255
    Image.fromarray(mask).save(tmp_path / "wm.png")
    db = f"sqlite:///{tmp_path / 'jobs.db'}"
    result = CliRunner().invoke(
        make_app(),
        ["submit", str(source), "--output", str(tmp_path / "out"), "--db", db, "--queue", "cpu",
         "--mask", str(tmp_path / "wm.png"), "--anchor", "bottom-right", "--mask-mode", "refine"],
        env={"UNBRAND_BROKER_URL": redis_url})
    assert result.exit_code == 0, result.output
    assert "insert 2 new jobs" in result.output and "publish 2 to queue cpu" in result.output
    assert "every worker must see that path" in result.output
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        options = conn.execute(sa.select(Batch.options)).scalar_one()
    engine.dispose()
    assert options["mask_mode"] == "refine"
    assert options["fixed"]["mask_uri"] == str((tmp_path / "wm.png").resolve())
    assert options["fixed"]["reference_size"] == [16, 12]
    assert options["fixed"]["anchor"] == "bottom-right" and options["fixed"]["boxes"] == []


def test_plain_images_and_a_fixed_mask_on_s3(
    s3_server: str, db_session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import io
    import uuid

    from scheduler.storage.s3 import make_s3_client

    client = make_s3_client(get_settings())
    bucket = f"fx-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    png = io.BytesIO()
    Image.fromarray(np.full((6, 8), 255, np.uint8)).save(png, format="PNG")
    for key in ("photos/x.png", "photos/deep/y.png", "marks/wm.png"):
        client.put_object(Bucket=bucket, Key=key, Body=png.getvalue())
    fixed = fixed_watermark(mask=f"s3://{bucket}/marks/wm.png", scale_with_image=True)
    assert fixed is not None and fixed["reference_size"] == [8, 6]

    report = submit_dataset(f"s3://{bucket}/photos", output=f"s3://{bucket}/out",
                            session_factory=db_session_factory, settings=get_settings(),
                            options=BatchOptions(fixed=fixed), publish=False)

    assert (report.items, report.inserted) == (2, 2)
    stored, jobs = _batch_and_jobs(db_session_factory)
    assert stored["fixed"]["mask_uri"] == f"s3://{bucket}/marks/wm.png"
    assert [uri for uri, _ in jobs] == [f"s3://{bucket}/photos/deep/y.png",
                                        f"s3://{bucket}/photos/x.png"]

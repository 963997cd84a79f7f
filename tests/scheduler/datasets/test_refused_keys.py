"""S3 keys the key rules refuse (`//`, `/./`, `..`, a backslash) cost only their own entry: an
input image becomes a failed job naming the key, any other such key a printed note; the rest of
the dataset is submitted (before, one such key stopped the whole submit with exit code 2)."""

from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from scheduler.db.models import Job
from scheduler.db.session import session_scope
from scheduler.settings import get_settings
from scheduler.storage import open_storage, split_s3_uri
from unbrand.cli.app import make_app

pytestmark = pytest.mark.integration

VOC = (b"<annotation><filename>{name}.jpg</filename><size><width>32</width><height>24</height>"
       b"</size><object><name>acme</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>9</xmax>"
       b"<ymax>9</ymax></bndbox></object></annotation>")


def _image(fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 200, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def _bucket(keys: dict[str, bytes]) -> str:
    storage, _ = open_storage(f"s3://t-{uuid.uuid4().hex[:12]}", settings=get_settings())
    client = storage.client  # type: ignore[attr-defined]
    client.create_bucket(Bucket=storage.bucket)  # type: ignore[attr-defined]
    for key, body in keys.items():
        client.put_object(Bucket=storage.bucket, Key=key, Body=body)  # type: ignore[attr-defined]
    return str(storage.bucket)  # type: ignore[attr-defined]


def _submit(bucket: str, db_url: str, redis_url: str, *extra: str,
            name: str = "odd") -> tuple[int, str]:
    result = CliRunner().invoke(make_app(), [
        "submit", f"s3://{bucket}/ds", "--output", f"s3://{bucket}/out", "--name", name,
        "--queue", "cpu", *extra], env={"UNBRAND_DATABASE_URL": db_url,
                                        "UNBRAND_BROKER_URL": redis_url})
    return result.exit_code, result.output


def _jobs(factory: sessionmaker[Session]) -> dict[str, Job]:
    with session_scope(factory) as session:
        jobs = session.scalars(sa.select(Job)).all()
    return {split_s3_uri(job.input_uri)[1]: job for job in jobs}


def test_plain_images_with_refused_keys(s3_server: str, db_url: str, redis_url: str,
                                        db_session_factory: sessionmaker[Session]) -> None:
    bucket = _bucket({"ds/a.png": _image(), "ds//b.png": _image(), "ds/sub/./c.png": _image(),
                      "ds/sub/../d.png": _image(), "ds/back\\slash.png": _image(),
                      "ds/notes//readme.txt": b"text"})

    code, output = _submit(bucket, db_url, redis_url, "--format", "images", "--box", "0,0,4,4")

    assert code == 0, output
    jobs = _jobs(db_session_factory)
    assert sorted(jobs) == ["ds//b.png", "ds/a.png", "ds/back\\slash.png", "ds/sub/../d.png",
                            "ds/sub/./c.png"]
    assert jobs["ds/a.png"].status == "queued"
    for key in ("ds//b.png", "ds/sub/./c.png", "ds/sub/../d.png", "ds/back\\slash.png"):
        job = jobs[key]
        assert job.status == "failed" and job.error.startswith("bad dataset entry: "), key
        assert repr(key) in job.error and "rename" in job.error, job.error
    assert "4 unusable" in output and "publish 1 to queue cpu" in output
    assert "note: skipped 'ds/notes//readme.txt'" in output


def test_masks_and_openlogo_layouts_with_refused_keys(
    s3_server: str, db_url: str, redis_url: str, db_session_factory: sessionmaker[Session]
) -> None:
    bucket = _bucket({"ds/images/a.png": _image(), "ds/masks/a.png": _image(),
                      "ds/images//b.png": _image(), "ds/masks//a2.png": _image()})

    code, output = _submit(bucket, db_url, redis_url)

    assert code == 0, output
    jobs = _jobs(db_session_factory)
    assert jobs["ds/images/a.png"].status == "queued"
    assert jobs["ds/images//b.png"].status == "failed"
    assert "note: skipped 'ds/masks//a2.png'" in output  # a mask: no entry of its own

    bucket = _bucket({"ds/Annotations/a.xml": VOC.replace(b"{name}", b"a"),
                      "ds/JPEGImages/a.jpg": _image("JPEG"),
                      "ds/Annotations/c.xml": VOC.replace(b"{name}", b"c"),
                      "ds/JPEGImages//c.jpg": _image("JPEG"),
                      "ds/Annotations/./d.xml": VOC.replace(b"{name}", b"d")})
    code, output = _submit(bucket, db_url, redis_url, name="voc")

    assert code == 0, output
    with session_scope(db_session_factory) as session:
        rows = session.execute(sa.select(Job.input_uri, Job.status, Job.error)
                               .where(Job.batch.has(name="voc"))).all()
    found = {split_s3_uri(uri)[1]: (status, error) for uri, status, error in rows}
    assert found["ds/JPEGImages/a.jpg"][0] == "queued"
    assert found["ds/JPEGImages/c.jpg"][0] == "failed"  # its annotation's entry: no image
    assert len(found) == 2
    assert "note: skipped 'ds/JPEGImages//c.jpg'" in output
    assert "note: skipped 'ds/Annotations/./d.xml'" in output

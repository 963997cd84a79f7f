"""Datasets for the fault tests: small PNG photos and one big slow one, as an S3 manifest."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
from PIL import Image

from tests.faults.conftest import BUCKET, Services
from tests.worker.conftest import photo

DEMO = Path(__file__).resolve().parents[2] / "demo" / "JPEGImages" / "demo_00_kodim04.jpg"


def png(width: int, height: int, seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo(width, height, seed)).save(buffer, format="PNG")
    return buffer.getvalue()


@functools.cache
def big_jpeg(width: int = 6000, height: int = 4000) -> bytes:
    """A large real photo: seconds per job, so a worker can be hit while it runs."""
    with Image.open(DEMO) as image:
        big = image.convert("RGB").resize((width, height), Image.BILINEAR)
    buffer = io.BytesIO()
    big.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def upload_manifest(services: Services, prefix: str, *, small: int = 0, big: int = 0,
                    small_size: tuple[int, int] = (96, 72)) -> str:
    """`small` small PNGs and `big` big JPEGs with one box each under s3://BUCKET/prefix/;
    returns the manifest URI (big ones first)."""
    client = services.client()
    rows = ["image,boxes"]
    if big:
        data = big_jpeg()
        for i in range(big):
            client.put_object(Bucket=BUCKET, Key=f"{prefix}/big{i}.jpg", Body=data)
            rows.append(f'big{i}.jpg,"[[100, 100, 700, 500]]"')
    for i in range(small):
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/s{i:04d}.png", Body=png(*small_size, i))
        rows.append(f's{i:04d}.png,"[[8, 8, 40, 30]]"')
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/list.csv",
                      Body=("\n".join(rows) + "\n").encode())
    return f"s3://{BUCKET}/{prefix}/list.csv"


def mean_abs_diff(a: bytes, b: bytes) -> float:
    with Image.open(io.BytesIO(a)) as x, Image.open(io.BytesIO(b)) as y:
        return float(np.abs(np.asarray(x, dtype=float) - np.asarray(y, dtype=float)).mean())

"""Datasets for the fault tests: small PNG photos and one big slow one, as an S3 manifest."""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from tests.faults.conftest import BUCKET, Services
from tests.fixtures.images import photo

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


def box_grid(count: int, width: int = 6000, height: int = 4000) -> list[list[int]]:
    """`count` logo-sized boxes spread over a big photo: each one is a separate crop for the
    model, so the job's running time grows with `count` (about 0.5 s a box on 2 cores)."""
    columns = max(1, round((count * width / height) ** 0.5))
    rows = -(-count // columns)
    step_x, step_y = width // (columns + 1), height // (rows + 1)
    grid = [[step_x * (c + 1) - 150, step_y * (r + 1) - 100, step_x * (c + 1) + 150,
             step_y * (r + 1) + 100] for r in range(rows) for c in range(columns)]
    return grid[:count]


def upload_manifest(services: Services, prefix: str, *, small: int = 0, big: int = 0,
                    small_size: tuple[int, int] = (96, 72), big_boxes: int = 1) -> str:
    """`small` small PNGs with one box each and `big` big JPEGs with `big_boxes` boxes each
    under s3://BUCKET/prefix/; returns the manifest URI (big ones first)."""
    client = services.client()
    rows = ["image,boxes"]
    if big:
        data = big_jpeg()
        for i in range(big):
            client.put_object(Bucket=BUCKET, Key=f"{prefix}/big{i}.jpg", Body=data)
            boxes = [[100, 100, 700, 500]] if big_boxes == 1 else box_grid(big_boxes)
            rows.append(f'big{i}.jpg,"{json.dumps(boxes)}"')
    for i in range(small):
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/s{i:04d}.png", Body=png(*small_size, i))
        rows.append(f's{i:04d}.png,"[[8, 8, 40, 30]]"')
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/list.csv",
                      Body=("\n".join(rows) + "\n").encode())
    return f"s3://{BUCKET}/{prefix}/list.csv"


def mean_abs_diff(a: bytes, b: bytes) -> float:
    with Image.open(io.BytesIO(a)) as x, Image.open(io.BytesIO(b)) as y:
        return float(np.abs(np.asarray(x, dtype=float) - np.asarray(y, dtype=float)).mean())

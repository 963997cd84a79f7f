"""Worker test fixtures: a tiny random Inpainter, its weights file, small images and a job database.

The Inpainter is real (inpaint_core.inference.inpainter with a randomly initialised tiny generator);
the database is a migrated SQLite file; storage is a LocalStorage temp folder.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

TINY = {"width": 8, "blocks": 2, "rates": (1, 2), "work_size": 32, "name": "tiny"}


def tiny_generator(seed: int = 0) -> Any:
    import torch

    from inpaint_core.model.config import AOTConfig
    from inpaint_core.model.network import AOTGenerator

    torch.manual_seed(seed)
    return AOTGenerator(AOTConfig(**TINY)).eval()


@pytest.fixture(scope="session")
def tiny_inpainter() -> Any:
    """A real Inpainter around a tiny random generator (CPU, fp32)."""
    from inpaint_core.inference.inpainter import Inpainter

    return Inpainter(tiny_generator(), device="cpu", precision="fp32", model_version="tiny-test")


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny fp16 safetensors checkpoint + card, as `--weights` / UNBRAND_MODEL_WEIGHTS."""
    from inpaint_core.model.checkpoint import save_inference_checkpoint

    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_inference_checkpoint(tiny_generator(), path, card={"model_version": "tiny-test"})
    return path


def photo(width: int = 64, height: int = 48, seed: int = 0) -> np.ndarray:
    """A smooth colour field with mild noise: image-like, deterministic."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], -1)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def logo_scene(width: int = 160, height: int = 120) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A red emblem (disc + two bars) on a noisy gradient, and its box padded by 5 px."""
    import cv2

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([40 + x * 120 / width, 90 + y * 80 / height,
                     160 - (x + y) * 60 / (width + height)], -1)
    image = np.clip(base + rng.normal(0, 5, base.shape), 0, 255).astype(np.uint8)
    logo = np.zeros((height, width), np.uint8)
    cv2.circle(logo, (50, 60), 14, 1, -1)
    cv2.rectangle(logo, (66, 52), (110, 58), 1, -1)
    cv2.rectangle(logo, (66, 63), (100, 68), 1, -1)
    shape = logo.astype(bool)
    image[shape] = (200, 20, 30)
    rows, cols = np.nonzero(shape)
    box = [int(cols.min()) - 5, int(rows.min()) - 5, int(cols.max()) + 6, int(rows.max()) + 6]
    return image, shape, box


def encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def session_factory(sqlite_url: str) -> sessionmaker[Session]:
    """A session factory on a migrated SQLite database."""
    from scheduler.db.migrate import upgrade
    from scheduler.db.session import make_engine, make_session_factory

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def add_jobs(session_factory: sessionmaker[Session], tmp_path: Path) -> Callable[..., list[int]]:
    """Create a batch (outputs under tmp_path/out/) and insert jobs; returns their ids."""
    from scheduler.db import crud
    from scheduler.db.session import session_scope

    def add(specs: list[dict[str, Any]], *, name: str = "b1", options: dict | None = None
            ) -> list[int]:
        with session_scope(session_factory) as session:
            batch = crud.get_batch_by_name(session, name=name) or crud.create_batch(
                session, name=name, source=str(tmp_path / "in"),
                output_root=str(tmp_path / "out") + "/", options=options or {})
            return crud.bulk_insert_jobs(session, batch_id=batch.id, jobs=specs)

    return add

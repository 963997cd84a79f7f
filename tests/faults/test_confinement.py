"""Reads stay inside the dataset, whatever happens between submit and run: files, a folder, a
mask and a truth image replaced by symlinks leading out (absolute and through `..`) fail their
own jobs as unsafe; the worker, the dashboard and the report never read the outside files."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image

from scheduler.dashboard.app import make_app
from scheduler.db.session import make_engine, make_session_factory
from scheduler.report.builder import write_report
from scheduler.settings import get_settings
from scheduler.storage import open_storage
from tests.fixtures.images import photo

BOX = "[[8, 8, 40, 30]]"
SWAPPED_INPUTS = ("victim.png", "sub/x.png", "dots.png")  # the images themselves (not a mask)
SECRET = (255, 0, 255)  # the outside files are solid magenta: easy to spot anywhere


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def _dataset(root: Path, outside: Path) -> dict[str, str]:
    """A manifest dataset and an outside folder; {image: expected outcome after the swaps}."""
    secret = _png(np.full((72, 96, 3), SECRET, np.uint8))
    (outside / "sub").mkdir(parents=True)
    for path in (outside / "secret.png", outside / "sub" / "x.png"):
        path.write_bytes(secret)
    (outside / "mask.png").write_bytes(_png(np.zeros((72, 96, 3), np.uint8)))
    for folder in ("sub", "real", "masks", "truth"):
        (root / folder).mkdir(parents=True)
    names = ["good.png", "victim.png", "sub/x.png", "dots.png", "real/alias.png", "masked.png",
             "truthy.png"]
    for number, name in enumerate(names):
        (root / name).write_bytes(_png(photo(96, 72, number)))
    os.symlink("real/alias.png", root / "alias.png")  # a link that stays inside: fine
    (root / "masks" / "masked.png").write_bytes(_png(np.zeros((72, 96), np.uint8)))
    (root / "truth" / "truthy.png").write_bytes(_png(photo(96, 72, 9)))
    rows = ["image,boxes,mask,truth", f'good.png,"{BOX}",,', f'victim.png,"{BOX}",,',
            f'sub/x.png,"{BOX}",,', f'dots.png,"{BOX}",,', f'alias.png,"{BOX}",,',
            f'masked.png,"{BOX}",masks/masked.png,', f'truthy.png,"{BOX}",,truth/truthy.png']
    (root / "list.csv").write_text("\n".join(rows) + "\n")
    return {"good.png": "done", "alias.png": "done", "victim.png": "unsafe path",
            "sub/x.png": "unsafe path", "dots.png": "unsafe path", "masked.png": "unsafe path",
            "truthy.png": "unsafe path"}


def _swap(root: Path, outside: Path) -> None:
    """What an attacker with write access to the dataset does after submit."""
    def link(path: Path, target: str | Path) -> None:
        path.unlink()
        os.symlink(target, path)

    link(root / "victim.png", outside / "secret.png")  # a file, absolute link
    (root / "sub" / "x.png").unlink()
    (root / "sub").rmdir()
    os.symlink(outside / "sub", root / "sub")  # a parent folder
    link(root / "dots.png", Path("..") / outside.name / "secret.png")  # relative, through `..`
    link(root / "masks" / "masked.png", outside / "mask.png")  # a mask
    link(root / "truth" / "truthy.png", outside / "secret.png")  # a truth image


def _rows(db_url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text("SELECT * FROM jobs")).mappings()]
    finally:
        engine.dispose()


def _rel(row: dict[str, Any]) -> str:
    spec = row["mask_spec"]
    return str((spec if isinstance(spec, dict) else {}).get("rel_path"))


def test_links_swapped_in_after_submit_lead_nowhere(
    tmp_path: Path, postgres_url: str, tiny_inpainter: Any
) -> None:
    from worker.runner import RunHooks, run_embedded

    root, outside, out = tmp_path / "ds", tmp_path / "outside", tmp_path / "out"
    expected = _dataset(root, outside)
    swapped: list[int] = []

    def after_submit(total: int, remaining: int) -> None:  # jobs recorded, none run yet
        _swap(root, outside)
        swapped.append(remaining)

    summary = run_embedded(str(root / "list.csv"), out_dir=out, db_url=postgres_url,
                           inpainter=tiny_inpainter, hooks=RunHooks(start=after_submit))

    assert swapped == [len(expected)]
    rows = _rows(postgres_url)
    outcomes = {_rel(row): row for row in rows}
    assert sorted(outcomes) == sorted(expected)
    for name, want in expected.items():
        row = outcomes[name]
        if want == "done":
            assert row["status"] == "done", (name, row["error"])
        else:
            assert row["status"] == "failed" and row["error"].startswith(want), (name, row)
            assert row["output_uri"] is None
    done = sorted(row["output_uri"] for row in rows if row["status"] == "done")
    files = sorted(path.as_uri() for path in (out / summary.batch_name).rglob("*")
                   if path.is_file())
    assert files == done  # one output per done job, nothing for the refused ones
    for uri in done:
        storage, key = open_storage(uri)
        pixels = np.asarray(Image.open(io.BytesIO(storage.read_bytes(key))).convert("RGB"))
        assert not (pixels == SECRET).all(axis=-1).any()  # no outside pixel made it in

    engine = make_engine(postgres_url)
    factory = make_session_factory(engine)
    try:
        with TestClient(make_app(session_factory=factory, settings=get_settings())) as client:
            for name in expected:
                answer = client.get(
                    f"/batches/{summary.batch_name}/jobs/{outcomes[name]['id']}/thumb/input")
                assert answer.status_code == (404 if name in SWAPPED_INPUTS else 200), name
        report = write_report(factory, summary.batch_name, tmp_path / "report",
                              resolver=lambda uri: open_storage(uri, settings=get_settings()))
    finally:
        engine.dispose()
    # every input but the swapped ones, and the outputs of the two done jobs
    assert report.thumbnails == len(expected) - len(SWAPPED_INPUTS) + 2
    assert len([p for p in report.problems if "input" in p]) == len(SWAPPED_INPUTS)

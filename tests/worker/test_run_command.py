"""`unbrand run` (the embedded default) through CliRunner, and run_embedded's resume logic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from typer.testing import CliRunner

from tests.worker.conftest import encode, photo

pytest.importorskip("inpaint_core.inpainter")

from inpaint_core.imageio import read_image  # noqa: E402
from worker.cli import make_cli  # noqa: E402
from worker.runner import RunHooks, run_embedded  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo"


def statuses(db_file: Path) -> dict[str, int]:
    engine = sa.create_engine(f"sqlite:///{db_file}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
    engine.dispose()
    return {status: count for status, count in rows}


def test_run_processes_the_demo_and_a_rerun_does_nothing(tmp_path: Path,
                                                          tiny_weights: Path) -> None:
    out = tmp_path / "out"
    args = ["run", str(DEMO), "--out", str(out), "--weights", str(tiny_weights),
            "--device", "cpu", "--precision", "fp32"]

    first = CliRunner().invoke(make_cli(), args)

    assert first.exit_code == 0, first.output
    assert "6 images, 6 done, 0 failed" in first.output
    outputs = sorted(out.glob("demo-*/JPEGImages/*.jpg"))
    assert [p.name for p in outputs] == sorted(p.name for p in (DEMO / "JPEGImages").glob("*.jpg"))
    for path in outputs:  # same size as the input, and really changed inside the logo boxes
        before = read_image((DEMO / "JPEGImages" / path.name).read_bytes()).rgb
        after = read_image(path.read_bytes()).rgb
        assert after.shape == before.shape
        assert np.abs(after.astype(int) - before.astype(int)).max() > 40
    assert statuses(out / "unbrand.db") == {"done": 6}
    stamps = [p.stat().st_mtime_ns for p in outputs]

    second = CliRunner().invoke(make_cli(), args)

    assert second.exit_code == 0, second.output
    assert "this run: 0 processed" in second.output
    assert [p.stat().st_mtime_ns for p in outputs] == stamps


class Interrupting:
    """A real Inpainter that raises KeyboardInterrupt on its `after`-th image (Ctrl-C mid-job)."""

    def __init__(self, inner: Any, after: int) -> None:
        self.inner, self.after, self.calls = inner, after, 0
        self.model_version = inner.model_version

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return self.inner.inpaint(image, mask)

    def fill_region(self, mask: np.ndarray) -> np.ndarray:
        return self.inner.fill_region(mask)

    def realness(self, output: np.ndarray, fill: np.ndarray) -> float | None:
        return self.inner.realness(output, fill)


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path: Path, tiny_inpainter: Any) -> None:
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_embedded(str(DEMO), out_dir=out, inpainter=Interrupting(tiny_inpainter, after=3))
    assert statuses(out / "unbrand.db") == {"done": 2, "running": 1, "queued": 3}

    seen: list[tuple[int, int]] = []
    summary = run_embedded(str(DEMO), out_dir=out, inpainter=tiny_inpainter,
                           hooks=RunHooks(start=lambda total, left: seen.append((total, left))))

    assert seen == [(6, 4)]  # the job left running by the dead run is queued again
    assert summary.processed == 4 and summary.ok
    assert summary.counts["done"] == 6 and summary.total == 6


def test_bad_images_fail_alone_and_the_exit_code_says_so(tmp_path: Path,
                                                         tiny_weights: Path) -> None:
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    for name in ("a", "b"):
        (data / "images" / f"{name}.png").write_bytes(encode(photo()))
    (data / "images" / "c.png").write_bytes(b"truncated")
    for name in ("a", "b", "c"):
        mask = np.zeros((48, 64), np.uint8)
        mask[10:20, 10:30] = 255
        Image.fromarray(mask).save(data / "masks" / f"{name}.png")
    out = tmp_path / "out"

    result = CliRunner().invoke(make_cli(), ["run", str(data), "--out", str(out),
                                             "--weights", str(tiny_weights)])

    assert result.exit_code == 1, result.output
    assert "3 images, 2 done, 1 failed" in result.output
    assert "failed images/c.png: bad image:" in result.output
    assert statuses(out / "unbrand.db") == {"done": 2, "failed": 1}


def test_missing_default_weights_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trimmed install without the shipped weights fails with a message, not a traceback."""
    import inpaint_core.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "default_weights_path", lambda: tmp_path / "none.safetensors")
    result = CliRunner().invoke(make_cli(), ["run", str(DEMO), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no trained default weights" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()  # nothing written before the model is there


def test_unknown_format_and_missing_source_exit_2(tmp_path: Path, tiny_weights: Path) -> None:
    base = ["--out", str(tmp_path / "o"), "--weights", str(tiny_weights)]
    bad_format = CliRunner().invoke(make_cli(), ["run", str(DEMO), "--format", "coco", *base])
    missing = CliRunner().invoke(make_cli(), ["run", str(tmp_path / "nowhere"), *base])
    assert bad_format.exit_code == 2 and "unknown dataset format 'coco'" in bad_format.output
    assert missing.exit_code == 2 and "error:" in missing.output

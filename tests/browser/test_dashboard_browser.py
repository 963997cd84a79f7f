"""The dashboard in a real headless Chromium: pages render, thumbnails load and are painted.

The dashboard runs under uvicorn in a thread on 127.0.0.1 (a free port) over a SQLite
file seeded with real rows and real images; Chromium takes screenshots and dumps the DOM.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from PIL import Image

from scheduler.dashboard.app import make_app
from scheduler.db.migrate import upgrade
from scheduler.db.session import make_engine, make_session_factory
from tests.fixtures.dashboard_data import LOGO_COLOUR, Seeded, seed
from tests.fixtures.services import service_missing

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Set UNBRAND_SCREENSHOT_DIR to keep the screenshots for a look (they stay in tmp_path otherwise).
SHOTS = os.environ.get("UNBRAND_SCREENSHOT_DIR")


@dataclass
class Served:
    base: str
    app: FastAPI
    seeded: Seeded


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    if CHROMIUM is None:
        service_missing("chromium is not installed (apt-get install chromium)")
    url = f"sqlite:///{tmp_path / 'unbrand.db'}"
    upgrade(url)
    engine = make_engine(url)
    seeded = seed(make_session_factory(engine), tmp_path / "storage")
    app = make_app(session_factory=make_session_factory(engine))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield Served(base=f"http://127.0.0.1:{port}", app=app, seeded=seeded)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def _chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
        *extra,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def _screenshot(url: str, tmp_path: Path, name: str) -> np.ndarray:
    png = tmp_path / f"{name}.png"
    _chromium(url, tmp_path / f"profile-{name}", f"--screenshot={png}")
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, Path(SHOTS) / f"{name}.png")
    image = Image.open(png).convert("RGB")
    assert image.size == (1280, 900)
    return np.asarray(image)


def _near(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 30) -> int:
    return int((np.abs(pixels.astype(int) - np.array(colour)).max(axis=-1) <= tolerance).sum())


def test_batch_page_renders_with_thumbnails(served: Served, tmp_path: Path) -> None:
    pixels = _screenshot(f"{served.base}/batches/alpha", tmp_path, "batch-alpha")
    assert pixels.std() > 20  # not a blank page
    # the magenta logo boxes are drawn only inside the "before" thumbnails: they were painted
    assert _near(pixels, LOGO_COLOUR) > 2000
    # 4 done jobs x (input + output) answered 200; the failed/queued inputs do not exist
    assert served.app.state.ctx.thumbs_served == 8

    dom = _chromium(f"{served.base}/batches/alpha", tmp_path / "profile-dom", "--dump-dom").stdout
    assert "<h1>alpha</h1>" in dom
    assert dom.count("<img ") == 14  # 10 inputs + 4 outputs
    assert dom.count("/thumb/output") == 4
    sources = re.findall(r'<img src="([^"]+)"', dom)
    assert len(sources) == 14
    assert all(re.fullmatch(r"/batches/alpha/jobs/\d+/thumb/(input|output)", s) for s in sources)


def test_batch_list_renders(served: Served, tmp_path: Path) -> None:
    pixels = _screenshot(f"{served.base}/", tmp_path, "batches")
    assert pixels.std() > 20
    # done (green), failed (red) and running (amber) segments of alpha's progress bar
    assert _near(pixels, (0x2E, 0x9D, 0x5B), 10) > 1000
    assert _near(pixels, (0xD6, 0x45, 0x41), 10) > 1000
    dom = _chromium(f"{served.base}/", tmp_path / "profile-dom", "--dump-dom").stdout
    for name in ("alpha", "beta", "empty"):
        assert f'<a href="/batches/{name}">{name}</a>' in dom
    assert "ImageTooLargeError" in dom

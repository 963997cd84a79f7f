"""The dashboard's FastAPI application: shared context, error pages, routers, static files.

`make_app` wires a session factory and a storage resolver into one app; the pages
(views.py), the JSON API (api.py) and the Prometheus endpoint (metrics.py) all read the
job database only, and images only through the storage layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from threading import BoundedSemaphore, Lock
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from inpaint_core.masks.formats import DEFAULT_MAX_PIXELS
from scheduler.db.stats import DEFAULT_WINDOW_MINUTES
from scheduler.errors import DatabaseError
from scheduler.settings import Settings, get_settings
from scheduler.storage import Storage, UriResolver, open_storage
from scheduler.thumbnails import DEFAULT_CACHE_BYTES, ThumbnailCache

PACKAGE_DIR = Path(__file__).resolve().parent
MAX_RENDERS = 2  # thumbnails decoded at the same time: memory stays a few times one decode
RENDER_WAIT_S = 10.0  # a thumbnail request waits this long for a turn, then gets 503
MAX_NAME = 200  # characters in a batch name (the column's size)
MAX_OFFSET = 2**31 - 1  # rows skipped by a page: any real batch, and no database overflows
BATCH_PATHS = ("/batches/", "/api/batches/")


class ErrorOut(BaseModel):
    """What a 404 or 503 of the API says."""

    detail: str


@dataclass
class DashboardContext:
    """What every route needs; one per app (kept in `app.state.ctx`)."""

    session_factory: sessionmaker[Session]
    storage_resolver: UriResolver
    thumbnails: ThumbnailCache
    window_minutes: float = DEFAULT_WINDOW_MINUTES
    page_size: int = 48
    max_pixels: int = DEFAULT_MAX_PIXELS
    thumbs_served: int = 0
    renders: BoundedSemaphore = field(default_factory=lambda: BoundedSemaphore(MAX_RENDERS),
                                      repr=False)
    _lock: Lock = field(default_factory=Lock, repr=False)

    def count_thumbnail(self) -> None:
        """Record one thumbnail answered with 200 (tests and operators read it)."""
        with self._lock:
            self.thumbs_served += 1


def default_storage_resolver(settings: Settings) -> UriResolver:
    """Open any job URI (s3://, file://, plain path) with the process settings."""

    def resolve(uri: str) -> tuple[Storage, str]:
        return open_storage(uri, settings=settings)

    return resolve


def make_app(
    *,
    session_factory: sessionmaker[Session],
    settings: Settings | None = None,
    storage_resolver: UriResolver | None = None,
    window_minutes: float = DEFAULT_WINDOW_MINUTES,
    page_size: int = 48,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
) -> FastAPI:
    """A dashboard app reading the database behind `session_factory`."""
    from scheduler.dashboard import api, metrics, views

    settings = settings or get_settings()
    app = FastAPI(
        title="unbrand dashboard",
        description="Batches, jobs, quality figures and Prometheus metrics of unbrand.",
        version="1",
    )
    app.state.ctx = DashboardContext(
        session_factory=session_factory,
        storage_resolver=storage_resolver or default_storage_resolver(settings),
        thumbnails=ThumbnailCache(cache_bytes),
        window_minutes=window_minutes,
        page_size=page_size,
        max_pixels=settings.max_pixels,
    )
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    app.include_router(views.router)
    app.include_router(api.router)
    app.include_router(metrics.make_router(session_factory))
    app.add_exception_handler(DatabaseError, _database_unavailable)
    app.add_middleware(KeepEncodedSlashes)
    return app


class KeepEncodedSlashes:
    """Route batch pages on the request's path with `%2F` and `%25` still encoded, so that a
    batch name holding "/" stays one path segment (Starlette routes on the decoded path,
    where "a%2Fb" is two segments and every page of batch "a/b" was 404). `batch_name`
    decodes the segment; both ends agree because only these two escapes are kept."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raw = scope.get("raw_path")
        if scope["type"] == "http" and raw and scope["path"].startswith(BATCH_PATHS):
            scope = {**scope, "path": _decode_but_slashes(raw.decode("latin-1"))}
        await self.app(scope, receive, send)


_KEPT_ESCAPE = re.compile(r"(%2[fF5])")


def _decode_but_slashes(raw: str) -> str:
    pieces = _KEPT_ESCAPE.split(raw)  # odd positions: the kept escapes themselves
    return "".join(piece.upper() if i % 2 else unquote(piece) for i, piece in enumerate(pieces))


def batch_name(
    name: str = PathParam(
        ..., min_length=1, max_length=3 * MAX_NAME, pattern=r"^[^\x00]+$",
        description="Batch name; a '/' in it is sent as %2F.",
    ),
) -> str:
    """The batch name of a route (a FastAPI dependency): its path segment, decoded."""
    return unquote(name)


async def _database_unavailable(request: Request, exc: Exception) -> PlainTextResponse:
    """The database refused or is unreachable: 503 with the (password-free) reason."""
    message = f"job database unavailable: {exc}"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=503)  # type: ignore[return-value]
    return PlainTextResponse(message, status_code=503)


def context(request: Request) -> DashboardContext:
    """The app's DashboardContext (a FastAPI dependency)."""
    return request.app.state.ctx  # type: ignore[no-any-return]

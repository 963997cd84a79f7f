"""The web dashboard (FastAPI + Jinja2, server-rendered): batches, jobs, thumbnails, API, metrics.

Build one with `scheduler.dashboard.app.make_app(session_factory=...)`; `unbrand dashboard`
serves it with uvicorn. It only reads the job database and the storage layer.
"""

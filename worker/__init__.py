"""Data plane of unbrand: the Celery app, the task, the per-job pipeline and the data-plane CLI."""

import inpaint_core  # noqa: F401  (sets OpenMP's wait policy before anything loads torch)

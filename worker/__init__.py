"""Data plane of unbrand: the Celery app, the task, the per-job pipeline and the data-plane CLI."""

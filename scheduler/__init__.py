"""Control plane of unbrand: settings, job database, storage, dataset readers, submit, CLI,
dashboard.

Importable without torch; never imports `worker` (tasks are sent by name).
"""

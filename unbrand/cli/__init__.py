"""The `unbrand` command line: one Typer verb per module concern, heavy imports inside commands.

    app.py         the root app, --version, registration of every verb
    exits.py       exit codes and the only place errors become them
    mask_flags.py  the mask options shared by run and submit
    run.py         run (embedded: SQLite + folder + in-process)
    batches.py     submit, status, wait, retry, cancel, requeue-stale
    worker.py      worker (a Celery worker process)
    db.py, dashboard.py, report.py
    inpaint.py     inpaint (one photo)
    masks.py       find-logo, refine-masks
    training.py    train, export;  critic.py  train-critic
    benchmark.py   make-benchmark, evaluate
"""

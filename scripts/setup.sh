#!/usr/bin/env bash
# Create .venv with the CPU build of PyTorch and unbrand installed (editable), plus test extras.
# A rerun with nothing changed skips pip: the stamp in .venv records the hash of what the
# install depends on (pyproject.toml, setup.py, the torch pin, the Python version).
# UNBRAND_SETUP_FORCE=1 reinstalls anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_PIN="torch==2.13.0"
STAMP=.venv/.unbrand-setup-stamp
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
want=$( { cat pyproject.toml setup.py; echo "$TORCH_PIN"; .venv/bin/python --version; } \
  | sha256sum | cut -d' ' -f1)
if [ "${UNBRAND_SETUP_FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
  && .venv/bin/python -c "import unbrand.cli.app" 2>/dev/null; then
  exit 0  # up to date
fi
# Pin torch first: an unpinned torch would pull the CUDA build and several GB of packages.
# --no-compile: Python compiles only the modules it imports, on first use (saves ~35 s for torch).
.venv/bin/python -m pip install -q --no-compile --disable-pip-version-check "$TORCH_PIN" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q --no-compile --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -c "import torch, inpaint_core, scheduler, worker, unbrand.cli.app"
echo "$want" > "$STAMP"

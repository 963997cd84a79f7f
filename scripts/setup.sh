#!/usr/bin/env bash
# Create .venv with the CPU build of PyTorch and unbrand installed (editable), plus test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# Pin torch first: an unpinned torch would pull the CUDA build and several GB of packages.
.venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -c "import torch, inpaint_core, scheduler, worker" 

#!/usr/bin/env bash
# The README's test command: set up .venv, start PostgreSQL and Redis if needed, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
if ! command -v chromium >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "chromium could not be installed; browser tests will be skipped"
fi
exec .venv/bin/python -m pytest "$@"

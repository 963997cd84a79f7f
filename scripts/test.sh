#!/usr/bin/env bash
# The README's test command: set up .venv, start PostgreSQL and Redis if needed, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
if ! command -v chromium >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "chromium could not be installed; the browser tests will fail"
fi
if ! command -v docker-compose >/dev/null 2>&1; then  # validates docker-compose.yml (no daemon)
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null) \
    || echo "docker-compose could not be installed; the compose validation test will fail"
fi
# every service and tool the tests use is now there: a missing one fails its tests, never skips them
export UNBRAND_TEST_REQUIRE_SERVICES=1
exec .venv/bin/python -m pytest "$@"

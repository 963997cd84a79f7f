#!/usr/bin/env bash
# The README's first command: set up .venv, then remove the logos of the bundled sample (demo/)
# on this machine (SQLite + local folder + in-process). Running it again resumes or does nothing.
# Extra arguments go to `unbrand run` (e.g. --weights PATH, --device cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${UNBRAND_DEMO_OUT:-unbrand-out}
status=0
.venv/bin/unbrand run demo/ --out "$OUT" "$@" || status=$?
if [ -f "$OUT/unbrand.db" ]; then
  OUT_ABS=$(cd "$OUT" && pwd)
  echo
  for folder in "$OUT_ABS"/demo-*/; do
    [ -d "$folder" ] && echo "Cleaned images: $folder"
  done
  echo "Job database:   $OUT_ABS/unbrand.db"
  echo "                (.venv/bin/unbrand status --db sqlite:///$OUT_ABS/unbrand.db)"
fi
exit "$status"

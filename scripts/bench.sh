#!/usr/bin/env bash
# Lifecycle benchmark (not a test): load a generated 2,000-project portfolio and fire 20,000 lifecycle events
# through the service layer on SQLite and PostgreSQL (127.0.0.1:5432, skipped when it does not answer), next to
# a naive-ORM and a raw-SQL baseline. Options: --projects N, --events-only, --skip-pg, --pg-url URL,
# --profile FILE (see `./scripts/bench.sh --help`). Results: bench/results/lifecycle-<timestamp>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import govflow' 2>/dev/null || "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e .
exec "$VENV/bin/python" -m bench.lifecycle "$@"

#!/usr/bin/env bash
# Install govflow into .venv (if needed) and run the demo on the embedded SQLite default (./govflow.db).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e .
exec "$VENV/bin/govflow" demo --reset "$@"

#!/usr/bin/env bash
# Install govflow with its development tools into .venv (if needed), then lint, type-check and run every test.
# PostgreSQL tests run when 127.0.0.1:5432 answers and are skipped otherwise (GOVFLOW_REQUIRE_PG=1 makes them
# mandatory, as .ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]'
# axe-core, which the browser tests inject into every page (package-lock.json pins it); without npm the
# accessibility checks are skipped, unless GOVFLOW_REQUIRE_BROWSER=1 (CI) makes them fail
if command -v npm >/dev/null 2>&1; then
    npm ci --no-audit --no-fund --loglevel=error
fi
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
exec "$VENV/bin/python" -m pytest "$@"

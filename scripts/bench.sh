#!/usr/bin/env bash
# Benchmarks (not tests), on SQLite and PostgreSQL (127.0.0.1:5432, skipped when it does not answer):
#
#   ./scripts/bench.sh [lifecycle] [options]   load a generated 2,000-project portfolio and fire 20,000 lifecycle
#       events through the service layer, next to a naive-ORM and a raw-SQL baseline. Options: --projects N,
#       --events-only, --skip-pg, --pg-url URL, --profile FILE. Results: bench/results/lifecycle-<timestamp>.json.
#   ./scripts/bench.sh governance [options]    a national-scale portfolio (20,000 projects, ~5,000,000 evidence
#       rows): evidence import vs plain inserts, run_sweep vs a naive ORM sweep and a hand-written query, and
#       `govflow run all` wall time and peak RSS. Options: --scale 0.1 (quick), --skip-pg, --pg-url URL,
#       --sample N, --no-prefect, --profile-sweep FILE. Results: bench/results/governance-<timestamp>.json.
#
#   ./scripts/bench.sh api [options]           the REST API under a 200 req/s open-loop load on project reads
#       (20,000 projects; uvicorn in its own process, load from this one on loopback); --knee steps the offered
#       rate per path and reports each path's knee (p99 ≤ 50 ms) against the baseline's. Results: api-<timestamp>.json.
#   ./scripts/bench.sh evidence [options]      where the evidence import's time goes (the whole import, reading the
#       file, the write, and on PostgreSQL the write without its foreign-key checks), repeated on fresh copies.
#       Results: evidence-<timestamp>.json.
#   ./scripts/bench.sh web [options]           server time of the board (and its coverage-chart frame), orders,
#       overdue, cuts, audit-trail and department lists (first page, searched and filtered, deep pages) (20,000
#       projects). --pages TEXT: only the pages whose name contains TEXT (e.g. coverage, department).
#       Results: web-<timestamp>.json.
#   ./scripts/bench.sh workers [options]       `govflow run all` without Prefect, on a running Prefect server, and
#       shared by Prefect workers (GOVFLOW_FLOW_CHUNK_RUNS=deployment), side by side: ratios with their spread.
#       Options: --scale 0.25, --repeats 3, --workers 2, --skip-sqlite. Results: workers-<timestamp>.json.
# `./scripts/bench.sh governance --help` (or lifecycle --help) lists every option.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import govflow' 2>/dev/null || "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e .
bench=lifecycle
case "${1:-}" in
    lifecycle | governance | api | web | evidence | workers)
        bench="$1"
        shift
        ;;
esac
exec "$VENV/bin/python" -m "bench.$bench" "$@"

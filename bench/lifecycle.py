"""Lifecycle benchmark: load a generated portfolio, then fire every project's 10 events through the service layer.

    ./scripts/bench.sh [--projects N] [--events-only] [--skip-pg] [--pg-url URL] [--profile FILE]

On SQLite (a temp file) and on PostgreSQL (a throwaway ``govflow_bench_<hex>`` database created from the admin
database, dropped afterwards; skipped with a note when the server does not answer), in one run:

1. generate a portfolio of N projects (:mod:`bench.generate`) and write it as JSON; once, also write it as
   YAML and time ``load_portfolio`` of the YAML file (parse + check + write) into a scratch SQLite database;
2. ``services.init_db`` and ``services.load_portfolio`` of the JSON document, timed;
3. 10 × N events through ``services.fire_event`` (permission table, guards, optimistic version check, hash
   chain, outbox: exactly what ``govflow event`` does), interleaved across projects; every event must be
   accepted; then ``services.verify_audit`` must find the chain intact and of the expected length, and every
   project must be retired;
4. the same events on fresh copies of the loaded database by the two baselines of :mod:`bench.baselines`
   (naive ORM, raw SQL floor), so the ratios compare runs on the same machine at the same time.

Results are printed and written to ``bench/results/lifecycle-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import psycopg
import sqlalchemy
from sqlalchemy import func
from sqlmodel import col, select

from bench import baselines
from bench.databases import DEFAULT_PG_ADMIN_URL, Database, PgServer, SqliteFiles, libpq_uri
from bench.generate import Portfolio, generate, write_json, write_yaml
from bench.schedule import Step, schedule
from bench.timing import Timing, load_average, stopwatch
from govflow.lifecycle import portfolio, services
from govflow.lifecycle.services import App
from govflow.models.db import make_engine, unit_of_work
from govflow.models.tables import AuditHead, Project
from govflow.settings import Settings
from govflow.states.phases import Phase

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_EVENTS_PER_S = 1000.0
TARGET_LOAD_S = 30.0

SERVICE, NAIVE, RAW = "govflow service layer", "naive ORM", "raw SQL floor"


@dataclass
class PathResult:
    path: str
    events: int
    seconds: float
    #: CPU seconds of this process (on SQLite that includes the database's work; on PostgreSQL it does not)
    cpu_seconds: float
    verify_seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.events / self.cpu_seconds


@dataclass
class BackendResult:
    backend: str
    version: str
    init_seconds: float = 0.0
    load_seconds: float = 0.0
    paths: list[PathResult] = field(default_factory=list)
    #: service path: event -> {count, mean_ms, p50_ms, p95_ms, max_ms}
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped: str | None = None

    def path(self, name: str) -> PathResult | None:
        return next((p for p in self.paths if p.path == name), None)


@dataclass
class DocumentTimes:
    projects: int
    json_bytes: int
    generate_seconds: float
    json_parse_seconds: float | None = None
    yaml_bytes: int | None = None
    yaml_load_seconds: float | None = None


class Databases(Protocol):
    backend: str

    def create(self) -> Database: ...

    def copy(self, source: Database, label: str) -> Database: ...

    def drop(self, db: Database) -> None: ...


def say(text: str = "") -> None:
    print(text, flush=True)


def new_app(db: Database) -> App:
    return App(Settings(database_url=db.url), make_engine(db.url))


# ------------------------------------------------------------------------------------------------ the document


def measure_document(pf: Portfolio, workdir: Path, *, with_yaml: bool, generate_s: float) -> DocumentTimes:
    """Write the JSON document (what the backends load); with ``with_yaml``, time the YAML form's load once."""
    json_path = workdir / "portfolio.json"
    times = DocumentTimes(len(pf.codes), write_json(pf.document, json_path), generate_s)
    say(
        f"document: {times.projects:,} projects, JSON {times.json_bytes / 1e6:.1f} MB (generated in {generate_s:.1f} s)"
    )
    if not with_yaml:
        return times
    with stopwatch() as t:
        portfolio.parse_file(json_path)
    times.json_parse_seconds = t.wall
    yaml_path = workdir / "portfolio.yaml"
    times.yaml_bytes = write_yaml(pf.document, yaml_path)
    files = SqliteFiles(workdir)
    scratch = files.create("yaml-load")
    app = new_app(scratch)
    try:
        services.init_db(app)
        with stopwatch() as t:
            services.load_portfolio(app, yaml_path, None)
        times.yaml_load_seconds = t.wall
    finally:
        app.engine.dispose()
        files.drop(scratch)
        yaml_path.unlink()
    say(
        f"document: JSON parse (read + validate) {times.json_parse_seconds:.1f} s; "
        f"YAML {times.yaml_bytes / 1e6:.1f} MB: `load_portfolio` into SQLite {times.yaml_load_seconds:.1f} s"
    )
    return times


# ------------------------------------------------------------------------------------------------ the paths


def fire_all(app: App, steps: Sequence[Step]) -> tuple[Timing, dict[str, list[float]]]:
    """Every step through ``services.fire_event``; each must be accepted. Returns the time and latencies by event."""
    latencies: dict[str, list[float]] = defaultdict(list)
    clock = time.perf_counter
    with stopwatch() as timing:
        for step in steps:
            t0 = clock()
            result = services.fire_event(app, step.project, step.event, step.actor)
            latencies[step.event.value].append(clock() - t0)
            if not result.accepted:
                reasons = "; ".join(f"{r.code} ({r.clause}): {r.message}" for r in result.reasons)
                raise AssertionError(
                    f"{step.project} {step.event}: refused: {reasons} — the generator is wrong"
                )
    return timing, latencies


def latency_table(latencies: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    out = {}
    for event, values in latencies.items():
        ms = sorted(v * 1000 for v in values)
        out[event] = {
            "count": len(ms),
            "mean_ms": statistics.fmean(ms),
            "p50_ms": ms[len(ms) // 2],
            "p95_ms": ms[min(len(ms) - 1, int(len(ms) * 0.95))],
            "max_ms": ms[-1],
        }
    return out


def audit_length(app: App) -> int:
    with unit_of_work(app.engine, write=False) as s:
        return int(s.execute(select(col(AuditHead.seq))).scalar_one())


def check_result(app: App, path: str, expected_events: int, projects: int) -> float:
    """``services.verify_audit`` finds the whole chain intact, and every project is retired; returns the verify time."""
    with stopwatch() as t:
        report = services.verify_audit(app)
    if not report.ok or report.checked != expected_events:
        raise AssertionError(
            f"{path}: audit chain {'intact' if report.ok else 'BROKEN'}, {report.checked} events "
            f"(expected {expected_events}): {report.problem_en}"
        )
    with unit_of_work(app.engine, write=False) as s:
        q = select(col(Project.phase), func.count()).group_by(col(Project.phase))
        phases = Counter({str(ph): int(n) for ph, n in s.execute(q)})
    if phases != Counter({Phase.RETIRED.value: projects}):
        raise AssertionError(f"{path}: projects end in {dict(phases)}, expected all {projects} retired")
    return t.wall


def _path_done(result: BackendResult, path: PathResult) -> None:
    result.paths.append(path)
    say(
        f"{result.backend}: {path.path}: {path.rate:,.0f} events/s ({path.cpu_rate:,.0f} per CPU-second); "
        f"audit verify {path.verify_seconds:.1f} s"
    )


def run_backend(
    dbs: Databases,
    version: str,
    json_path: Path,
    projects: int,
    steps: Sequence[Step],
    *,
    baselines_too: bool,
    profile: Path | None,
) -> BackendResult:
    result = BackendResult(dbs.backend, version)
    created: list[Database] = []
    n = len(steps)
    try:
        db = dbs.create()
        created.append(db)
        app = new_app(db)
        with stopwatch() as t:
            services.init_db(app)
        result.init_seconds = t.wall
        with stopwatch() as t:
            services.load_portfolio(app, json_path, None)
        result.load_seconds = t.wall
        expected = audit_length(app) + n
        app.engine.dispose()  # a PostgreSQL template must have nobody connected
        say(
            f"{dbs.backend}: init_db {result.init_seconds:.1f} s, load_portfolio (JSON) {result.load_seconds:.1f} s"
        )
        copies = {}
        if baselines_too:
            for label in ("orm", "raw"):
                copies[label] = dbs.copy(db, label)
                created.append(copies[label])

        app = new_app(db)
        say(f"{dbs.backend}: {SERVICE}: firing {n:,} events …")
        profiler = cProfile.Profile() if profile is not None else None
        if profiler is not None:
            profiler.enable()
        timing, latencies = fire_all(app, steps)
        if profiler is not None and profile is not None:
            profiler.disable()
            write_profile(profiler, profile, dbs.backend)
        result.latency_ms = latency_table(latencies)
        _path_done(
            result,
            PathResult(SERVICE, n, timing.wall, timing.cpu, check_result(app, SERVICE, expected, projects)),
        )
        app.engine.dispose()
        if not baselines_too:
            return result

        app = new_app(copies["orm"])
        say(f"{dbs.backend}: {NAIVE}: firing {n:,} events …")
        timing = baselines.naive_orm(app.engine, steps)
        _path_done(
            result,
            PathResult(NAIVE, n, timing.wall, timing.cpu, check_result(app, NAIVE, expected, projects)),
        )
        app.engine.dispose()

        raw = copies["raw"]
        say(f"{dbs.backend}: {RAW}: firing {n:,} events …")
        if dbs.backend == "sqlite":
            timing = baselines.raw_sqlite(raw.dbapi_target, steps)
        else:
            timing = baselines.raw_postgres(raw.dbapi_target, steps)
        app = new_app(raw)
        _path_done(
            result, PathResult(RAW, n, timing.wall, timing.cpu, check_result(app, RAW, expected, projects))
        )
        app.engine.dispose()
        return result
    finally:
        for db in created:
            dbs.drop(db)


def write_profile(profiler: cProfile.Profile, path: Path, backend: str) -> None:
    target = path.with_name(f"{path.stem}-{backend}{path.suffix or '.prof'}")
    profiler.dump_stats(str(target))
    say(
        f"{backend}: profile written to {target} (a profiled run's rate is not comparable); top 25 by own time:"
    )
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)


# ------------------------------------------------------------------------------------------------ report


def report(results: Sequence[BackendResult], doc: DocumentTimes) -> dict[str, str]:
    say()
    header = (
        f"{'path':<24}{'events':>8}{'seconds':>9}{'events/s':>10}{'vs naive ORM':>14}{'vs raw floor':>14}"
        f"{'CPU s':>8}{'events/CPU-s':>14}"
    )
    for r in results:
        say(f"== {r.backend} ({r.version})")
        if r.skipped:
            say(f"   skipped: {r.skipped}")
            continue
        say(
            f"   init_db {r.init_seconds:.2f} s · load_portfolio (JSON, {doc.projects:,} projects) {r.load_seconds:.2f} s"
        )
        say("   " + header)
        naive, raw = r.path(NAIVE), r.path(RAW)
        for p in r.paths:
            vs_naive = f"{p.rate / naive.rate:.2f}×" if naive else "–"
            vs_raw = f"{p.rate / raw.rate:.2f}×" if raw else "–"
            say(
                f"   {p.path:<24}{p.events:>8,}{p.seconds:>9.2f}{p.rate:>10,.0f}{vs_naive:>14}{vs_raw:>14}"
                f"{p.cpu_seconds:>8.2f}{p.cpu_rate:>14,.0f}"
            )
        say("   ratios: events/s of the path ÷ events/s of the reference; CPU: this process only")
        say(
            f"   {SERVICE}, ms per event (mean / p95): "
            + ", ".join(f"{e} {v['mean_ms']:.2f}/{v['p95_ms']:.2f}" for e, v in r.latency_ms.items())
        )
    say()
    verdicts: dict[str, str] = {}
    sqlite = next((r for r in results if r.backend == "sqlite"), None)
    service = sqlite.path(SERVICE) if sqlite else None
    if service is not None:
        verdicts["events"] = "MET" if service.rate >= TARGET_EVENTS_PER_S else "NOT MET"
        say(
            f"target ≥ {TARGET_EVENTS_PER_S:,.0f} events/s with the full audit chain on SQLite: {verdicts['events']} "
            f"({service.rate:,.0f} events/s; {service.cpu_rate:,.0f} per CPU-second)"
        )
    if doc.yaml_load_seconds is not None:
        load_s, what = doc.yaml_load_seconds, "YAML document, parse + check + write, SQLite"
    elif sqlite is not None and not sqlite.skipped:
        load_s, what = sqlite.load_seconds, "JSON document only (--events-only: YAML not timed), SQLite"
    else:
        return verdicts
    verdicts["load"] = "MET" if load_s < TARGET_LOAD_S else "NOT MET"
    say(
        f"load < {TARGET_LOAD_S:.0f} s: {verdicts['load']} ({load_s:.1f} s, {doc.projects:,} projects, {what})"
    )
    return verdicts


def save(
    results: Sequence[BackendResult],
    doc: DocumentTimes,
    verdicts: dict[str, str],
    args: argparse.Namespace,
    started: datetime,
    load: tuple[float | None, float | None],
) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"lifecycle-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out: dict[str, Any] = {
        "benchmark": "lifecycle",
        "started": started.isoformat(),
        "seconds": (datetime.now(UTC) - started).total_seconds(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1m": {"start": load[0], "end": load[1]},
            "python": platform.python_version(),
            "sqlalchemy": sqlalchemy.__version__,
            "sqlite": sqlite3.sqlite_version,
        },
        "document": asdict(doc),
        "backends": [
            {
                **asdict(r),
                "paths": [
                    {**asdict(p), "events_per_s": p.rate, "events_per_cpu_s": p.cpu_rate} for p in r.paths
                ],
            }
            for r in results
        ],
        "targets": verdicts,
    }
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.lifecycle", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--projects", type=int, default=2000, help="portfolio size (default 2000 → 20,000 events)"
    )
    ap.add_argument(
        "--events-only",
        action="store_true",
        help="quick iterations: load and the service path only (no YAML timing, no baselines)",
    )
    ap.add_argument("--skip-pg", action="store_true", help="SQLite only")
    ap.add_argument(
        "--pg-url",
        default=os.environ.get("GOVFLOW_BENCH_PG_URL", DEFAULT_PG_ADMIN_URL),
        help="admin database used to create and drop the throwaway databases "
        "(default: $GOVFLOW_BENCH_PG_URL or %(default)s)",
    )
    ap.add_argument("--seed", type=int, default=733, help="seed of the generated portfolio")
    ap.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="FILE",
        help="run the service path under cProfile, write FILE-<backend>.prof (distorts its rate)",
    )
    return ap.parse_args(argv)


def pg_version(admin_url: str) -> str:
    with psycopg.connect(libpq_uri(admin_url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def postgres(
    args: argparse.Namespace, json_path: Path, projects: int, steps: Sequence[Step]
) -> BackendResult:
    if args.skip_pg:
        return BackendResult("postgresql", "–", skipped="--skip-pg")
    server = PgServer(args.pg_url)
    problem = server.unreachable()
    if problem is not None:
        say(f"postgresql: SKIPPED — not reachable at {server.where}: {problem}")
        return BackendResult("postgresql", server.where, skipped=f"not reachable: {problem}")
    return run_backend(
        server,
        f"PostgreSQL {pg_version(args.pg_url)}, {server.where}",
        json_path,
        projects,
        steps,
        baselines_too=not args.events_only,
        profile=args.profile,
    )


def _fmt(load: float | None) -> str:
    return "?" if load is None else f"{load:.2f}"


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so the throwaway databases and files are still dropped."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    started, load_before = datetime.now(UTC), load_average()
    say(
        f"govflow lifecycle benchmark · {platform.platform()} · {os.cpu_count()} CPUs · "
        f"Python {platform.python_version()} · load average {_fmt(load_before)}"
    )
    if load_before is not None and load_before > 1.0:
        say("note: the machine is busy (1-minute load average > 1): wall-clock rates will be noisy")
    with tempfile.TemporaryDirectory(prefix="govflow-bench-") as tmp:
        workdir = Path(tmp)
        with stopwatch() as t:
            pf = generate(args.projects, today=started.date(), seed=args.seed)
        doc = measure_document(pf, workdir, with_yaml=not args.events_only, generate_s=t.wall)
        json_path = workdir / "portfolio.json"
        steps, projects = schedule(pf), len(pf.codes)
        del pf  # the document is on disk now; the loader reads it from there
        sqlite_result = run_backend(
            SqliteFiles(workdir),
            f"SQLite {sqlite3.sqlite_version}, temp file",
            json_path,
            projects,
            steps,
            baselines_too=not args.events_only,
            profile=args.profile,
        )
        results = [sqlite_result, postgres(args, json_path, projects, steps)]
    verdicts = report(results, doc)
    load_after = load_average()
    say(f"load average (1 min): {_fmt(load_before)} at start, {_fmt(load_after)} at end")
    say(f"results: {save(results, doc, verdicts, args, started, (load_before, load_after))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Prefect's share of a nightly run, and what Prefect workers add (issue 13: distributed runs and speed).

    ./scripts/bench.sh workers [--scale 0.25] [--repeats 3] [--workers 2] [--skip-sqlite|--skip-pg] [--pg-url URL]

A national-scale portfolio (:mod:`bench.national`, ``--scale`` of its 20,000 projects) is generated once per
database; then, ``--repeats`` times and each time on a fresh copy, side by side in one run:

``--no-prefect``
    ``govflow run all --as-of D --no-prefect``: the service functions called directly (the baseline);
``prefect``
    ``govflow run all --as-of D`` with ``PREFECT_API_URL`` set: on a *running* Prefect server (``prefect server
    start``, started by this bench on its own PostgreSQL database), the chunks as Prefect tasks in the
    command's process. Target: ≤ 1.3× the baseline;
``workers`` (PostgreSQL only)
    ``all`` triggered through its deployment on a process work pool served by ``--workers`` ``prefect worker
    start`` processes with ``GOVFLOW_FLOW_CHUNK_RUNS=deployment``: each chunk its own flow run, taken by
    whichever worker is free; timed from the trigger to the flow run's end.

The order of the modes rotates between repeats; each ratio is taken within one repeat (the same minute of the
same machine), and the report gives the median and the spread (min–max) of the ratios. All processes run on
this machine: with two workers on two cores shared with other work the speed-up says what splitting costs and
gains here, not what two hosts would give. Results: ``bench/results/workers-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import national
from bench.databases import DEFAULT_PG_ADMIN_URL, Database, PgServer, SqliteFiles, libpq_uri
from bench.timing import load_average
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
BIN = Path(sys.executable).parent
TARGET_PREFECT_RATIO = 1.3
#: seconds any one step may take on a loaded machine
PATIENCE = 1800.0
MODES = ("no-prefect", "prefect", "workers")


def say(text: str = "") -> None:
    print(text, flush=True)


@dataclass
class Repeat:
    seconds: dict[str, float] = field(default_factory=dict)
    load: float | None = None

    def ratio(self, mode: str) -> float | None:
        base = self.seconds.get("no-prefect")
        return self.seconds[mode] / base if base and mode in self.seconds else None


@dataclass
class BackendRun:
    backend: str
    projects: int = 0
    repeats: list[Repeat] = field(default_factory=list)
    chunks: dict[str, int] = field(default_factory=dict)
    workers_seen: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GOVFLOW_"))}
    env.update({"PREFECT_HOME": str(home), "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    env.update(extra)
    return env


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process and everything below it, SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in [*_descendants(proc.pid), proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        try:
            proc.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_for(condition: Callable[[], bool], what: str, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)


def run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=PATIENCE)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-3000:]}")


# ---------------------------------------------------------------------------------------------- the Prefect side


@dataclass
class Cluster:
    api: str
    deployment: str
    pool: str
    workdir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)


@contextmanager
def prefect_server(pg: PgServer, workdir: Path) -> Iterator[Cluster]:
    """``prefect server start`` on a throwaway PostgreSQL database (with pg_trgm); stopped and dropped after."""
    db = pg.create("prefect")
    with psycopg.connect(libpq_uri(db.url), autocommit=True) as conn:
        conn.execute(b"CREATE EXTENSION IF NOT EXISTS pg_trgm")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    cluster = Cluster(api, f"bench-{os.getpid()}", f"govflow-bench-{os.getpid()}", workdir)
    url = db.url.replace("postgresql+psycopg://", "postgresql+asyncpg://")
    env = base_env(
        workdir / "prefect-server",
        PREFECT_API_DATABASE_CONNECTION_URL=url,
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_API_URL=api,
    )
    server = start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env,
        workdir / "prefect-server.log",
    )
    cluster.procs.append(server)
    try:
        wait_for(lambda: _healthy(api), "the Prefect server to answer")
        operator = base_env(
            workdir / "operator", PREFECT_API_URL=api, GOVFLOW_DEPLOYMENT_NAME=cluster.deployment
        )
        run([str(BIN / "prefect"), "work-pool", "create", cluster.pool, "--type", "process"], operator)
        run([str(BIN / "govflow"), "schedule", "--work-pool", cluster.pool, "--json"], operator)
        yield cluster
    finally:
        for proc in reversed(cluster.procs):
            stop(proc)
        pg.drop(db)


def start_workers(cluster: Cluster, n: int, in_flight: int) -> None:
    for i in range(1, n + 1):
        name = f"bench-worker-{i}"
        env = base_env(
            cluster.workdir / name,
            PREFECT_API_URL=cluster.api,
            PREFECT_WORKER_QUERY_SECONDS="1",
            GOVFLOW_DEPLOYMENT_NAME=cluster.deployment,
            GOVFLOW_FLOW_CHUNK_RUNS="deployment",
            GOVFLOW_FLOW_CHUNK_WORKERS=str(in_flight),
        )
        argv = [
            str(BIN / "prefect"),
            "worker",
            "start",
            "--pool",
            cluster.pool,
            "--name",
            name,
            "--type",
            "process",
        ]
        cluster.procs.append(start(argv, env, cluster.workdir / f"{name}.log"))
        cluster.workers.append(name)


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# ---------------------------------------------------------------------------------------------- measuring


def measure_command(db: Database, workdir: Path, *, api: str | None) -> float:
    """``govflow run all`` in a child process: wall seconds (``api`` None: ``--no-prefect``)."""
    env = base_env(workdir / "command-prefect", GOVFLOW_DATABASE_URL=db.url)
    argv = [str(BIN / "govflow"), "run", "all", "--as-of", national.AS_OF.isoformat(), "--json"]
    if api is None:
        argv.append("--no-prefect")
    else:
        env["PREFECT_API_URL"] = api
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=PATIENCE, cwd=workdir)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"govflow run all failed ({done.returncode}): {done.stderr[-3000:]}")
    return seconds


def measure_workers(db: Database, cluster: Cluster) -> float:
    """``all`` through its deployment on the pool: seconds from the trigger to the flow run's end."""
    with httpx.Client(base_url=cluster.api, timeout=30) as http:
        deployment = http.get(f"/deployments/name/govflow-all/{cluster.deployment}").json()
        started = time.perf_counter()
        made = http.post(
            f"/deployments/{deployment['id']}/create_flow_run",
            json={"parameters": {"as_of": national.AS_OF.isoformat(), "database_url": db.url}},
        )
        made.raise_for_status()
        run_id = made.json()["id"]
        while True:
            state = http.get(f"/flow_runs/{run_id}").json()["state"]["type"]
            if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            if time.perf_counter() - started > PATIENCE:
                raise TimeoutError(f"the run of all did not end within {PATIENCE:.0f} s")
            time.sleep(0.25)
    seconds = time.perf_counter() - started
    if state != "COMPLETED":
        raise RuntimeError(f"the run of all through the workers ended {state} (logs in {cluster.workdir})")
    return seconds


def chunk_workers(db: Database) -> tuple[dict[str, int], list[str]]:
    """How many chunks each check had and which workers ran them (the last distributed run's ``flow_chunk``)."""
    with psycopg.connect(libpq_uri(db.url)) as conn:
        rows = conn.execute(b"SELECT flow, count(*) FROM flow_chunk GROUP BY flow").fetchall()
        chunks: dict[str, int] = {str(k): int(v) for k, v in rows}
        workers = [str(w) for (w,) in conn.execute(b"SELECT DISTINCT worker FROM flow_chunk ORDER BY 1")]
    return chunks, workers


def run_backend(
    dbs: SqliteFiles | PgServer, args: argparse.Namespace, workdir: Path, cluster: Cluster
) -> BackendRun:
    name = dbs.backend
    out = BackendRun(name)
    base = dbs.create("base")
    app = App.from_settings(Settings(database_url=base.url))
    services.init_db(app)
    app.engine.dispose()
    created = [base]
    try:
        summary = national.generate(base, workdir, scale=args.scale, seed=args.seed)
        out.projects = summary.projects
        say(f"{name}: {summary.projects:,} projects ({summary.swept_projects:,} swept)")
        modes = [m for m in MODES if m != "workers" or (name == "postgresql" and args.workers)]
        for i in range(args.repeats):
            rep = Repeat(load=load_average())
            order = modes[i % len(modes) :] + modes[: i % len(modes)]
            for mode in order:
                db = dbs.copy(base, f"r{i}_{mode.replace('-', '_')}")
                created.append(db)
                if mode == "workers":
                    rep.seconds[mode] = measure_workers(db, cluster)
                    out.chunks, out.workers_seen = chunk_workers(db)
                else:
                    rep.seconds[mode] = measure_command(
                        db, workdir, api=cluster.api if mode == "prefect" else None
                    )
                say(f"{name}: repeat {i + 1} {mode:<10} {rep.seconds[mode]:7.1f} s")
                dbs.drop(db)
                created.remove(db)
            out.repeats.append(rep)
    finally:
        for db in created:
            dbs.drop(db)
    return out


# ---------------------------------------------------------------------------------------------- report


def spread(values: Sequence[float]) -> str:
    if not values:
        return "—"
    return f"{statistics.median(values):.2f}× (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def report(results: Sequence[BackendRun], args: argparse.Namespace) -> None:
    say()
    say(
        f"run all at scale {args.scale:g} ({', '.join(f'{r.backend} {r.projects:,} projects' for r in results)})"
    )
    for r in results:
        say(f"== {r.backend}")
        for mode in MODES:
            secs = [rep.seconds[mode] for rep in r.repeats if mode in rep.seconds]
            if secs:
                say(
                    f"   {mode:<11} median {statistics.median(secs):7.1f} s  ({' / '.join(f'{s:.1f}' for s in secs)})"
                )
        prefect = [x for rep in r.repeats if (x := rep.ratio("prefect")) is not None]
        met = bool(prefect) and statistics.median(prefect) <= TARGET_PREFECT_RATIO
        say(
            f"   prefect / --no-prefect   {spread(prefect)}  target ≤ {TARGET_PREFECT_RATIO}×: {'MET' if met else 'NOT MET'}"
        )
        workers = [x for rep in r.repeats if (x := rep.ratio("workers")) is not None]
        if workers:
            vs_prefect = [
                rep.seconds["prefect"] / rep.seconds["workers"]
                for rep in r.repeats
                if "workers" in rep.seconds
            ]
            say(f"   {args.workers} workers / --no-prefect {spread(workers)}")
            say(f"   speed-up of {args.workers} workers over one process on Prefect: {spread(vs_prefect)}")
            say(f"   chunks per check {r.chunks}; workers that ran chunks: {', '.join(r.workers_seen)}")
        loads = [rep.load for rep in r.repeats if rep.load is not None]
        if loads:
            say(
                f"   load average during the repeats: {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores"
            )


def save(results: Sequence[BackendRun], args: argparse.Namespace, started: datetime) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"workers-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    body: dict[str, Any] = {
        "started": started.isoformat(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "args": vars(args),
        "results": [
            {
                "backend": r.backend,
                "projects": r.projects,
                "chunks": r.chunks,
                "workers_seen": r.workers_seen,
                "repeats": [{"seconds": rep.seconds, "load": rep.load} for rep in r.repeats],
            }
            for r in results
        ],
    }
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench.sh workers", description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.25, help="of the 20,000-project national portfolio")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--workers", type=int, default=2, help="Prefect workers for the distributed run (0: none)"
    )
    ap.add_argument("--in-flight", type=int, default=0, help="chunk flow runs at once (default: --workers)")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument(
        "--skip-pg", action="store_true", help="govflow on SQLite only (Prefect's server stays on PostgreSQL)"
    )
    ap.add_argument("--pg-url", default=DEFAULT_PG_ADMIN_URL)
    ap.add_argument("--seed", type=int, default=733)
    args = ap.parse_args(argv)
    pg = PgServer(args.pg_url)
    if why := pg.unreachable():
        say(f"PostgreSQL at {pg.where} does not answer ({why}): the Prefect server of this bench needs it")
        return 2
    started = datetime.now(UTC)
    results = []
    with tempfile.TemporaryDirectory(prefix="govflow-bench-workers-") as tmp:
        workdir = Path(tmp)
        with prefect_server(pg, workdir) as cluster:
            if args.workers:
                start_workers(cluster, args.workers, args.in_flight or args.workers)
            if not args.skip_sqlite:
                sqlite_dir = workdir / "sqlite"
                sqlite_dir.mkdir()
                results.append(run_backend(SqliteFiles(sqlite_dir), args, workdir, cluster))
            if not args.skip_pg:
                results.append(run_backend(pg, args, workdir, cluster))
    report(results, args)
    say(f"results: {save(results, args, started)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

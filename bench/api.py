"""API load benchmark (issue 5): project reads at a fixed rate against `govflow serve`, on SQLite and PostgreSQL.

A national-scale portfolio (20,000 projects by default, ``bench.national``) is generated into a throwaway
database, the API runs in its own process (uvicorn, ``--workers``), and this process sends an open-loop load on
loopback: requests are *scheduled* at the target rate and each latency is measured from its scheduled time, so
a server that falls behind shows it in p99 instead of silently lowering the rate. Every run is bounded in
requests and time. The baseline measured in the same run is ``GET /api/auth/me`` (token check only): the ratio
says what reading a project costs on top of authentication.

    python -m bench.api [--scale 1.0] [--rate 200] [--seconds 15] [--workers 2] [--skip-pg] [--skip-sqlite]
    python -m bench.api --knee [--rates 100,200,…] [--seconds 8]

``--knee`` steps the offered rate up for each path (the baseline first) until p99 exceeds 50 ms, a request
fails or the rate is not sustained, in each of ``--tries`` attempts: the last rate that held is the path's knee, and each project read's knee
is reported as a share of the baseline's (issue 13: project show and the project list hold ≥ 60 %).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bench.databases import Database, PgServer, SqliteFiles, settle
from bench.national import generate
from govflow.access import auth
from govflow.lifecycle.services import App
from govflow.models.db import make_engine
from govflow.models.migrate import upgrade
from govflow.settings import Settings

TARGET_RATE = 200.0
TARGET_P99_MS = 100.0
#: the knee: the highest offered rate a path holds with p99 within this, no error, the rate sustained
KNEE_P99_MS = 50.0
KNEE_SHARE = 0.60
KNEE_RATES = (100, 200, 300, 400, 500, 600, 700, 800, 1000, 1200, 1500)


@dataclass(frozen=True)
class LoadResult:
    name: str
    sent: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(db: Database, scale: float, tmp: Path, *, generated: bool = False) -> tuple[str, list[str]]:
    """Generate the portfolio (unless ``generated``); return an API token of a program-office user and every
    project code."""
    if not generated:
        engine = make_engine(db.url)
        upgrade(engine)
        engine.dispose()
        (tmp / "csv").mkdir(exist_ok=True)
        generate(db, tmp / "csv", scale=scale)
    settle(db)
    engine = make_engine(db.url)
    try:
        with engine.connect() as conn:
            user = conn.execute(
                text("SELECT name FROM app_user WHERE role = 'program_office' LIMIT 1")
            ).scalar_one()
            codes = [str(c) for c in conn.execute(text("SELECT code FROM project")).scalars()]
        token = auth.issue_token(App(Settings(database_url=db.url), engine), None, str(user))
    finally:
        engine.dispose()
    return token, codes


def start_server(db: Database, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GOVFLOW_DATABASE_URL": db.url,
        "GOVFLOW_SECRET_KEY": secrets.token_urlsafe(48),
    }
    cmd = [
        sys.executable, "-m", "uvicorn", "govflow.web.site:from_environment", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/openapi.json")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the API did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


async def _load(
    port: int, token: str, paths: Sequence[str], rate: float, n: int
) -> tuple[list[float], Counter[str], float]:
    """Open loop on one asyncio thread (a light client leaves the two cores to the server): request ``i`` is
    due at ``start + i / rate`` and goes out on an idle keep-alive connection (a new one if none is idle). A
    kept-alive connection the server has closed meanwhile (uvicorn closes idle ones after 5 s) is retried once on a
    new connection, as an HTTP client does; any other failure is an error, counted by kind."""
    loop = asyncio.get_running_loop()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    start = loop.time() + 0.5
    request = "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n\r\n"

    async def exchange(path: str, reused: bool) -> int:
        reader, writer = idle.pop() if reused else await asyncio.open_connection("127.0.0.1", port)
        writer.write(request.format(path).encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        idle.append((reader, writer))
        return status

    async def one(i: int) -> None:
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        path = paths[i % len(paths)]
        try:
            try:
                status = await exchange(path, reused=bool(idle))
            except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
                status = await exchange(path, reused=False)  # the server closed the idle connection
            if status != 200:
                errors[f"HTTP {status}"] += 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError, StopIteration, ValueError) as exc:
            errors[type(exc).__name__] += 1
        latencies.append((loop.time() - due) * 1000)

    await asyncio.gather(*(one(i) for i in range(n)))
    took = loop.time() - start
    for _, writer in idle:
        writer.close()
    return latencies, errors, took


def run_load(
    name: str, port: int, token: str, paths: Sequence[str], rate: float, seconds: float
) -> LoadResult:
    """Send ``rate × seconds`` requests scheduled evenly; latency counts from each request's scheduled time, so
    a server that falls behind shows it in p99 instead of silently lowering the rate."""
    n = int(rate * seconds)
    latencies, errors, took = asyncio.run(_load(port, token, paths, rate, n))
    q = statistics.quantiles(latencies, n=100)
    if errors:
        print(f"  {name}: errors {dict(errors)}")
    return LoadResult(name, n, sum(errors.values()), took, statistics.median(latencies), q[98])


def measure(
    db: Database, scale: float, rate: float, seconds: float, workers: int, tmp: Path
) -> list[LoadResult]:
    token, codes = prepare(db, scale, tmp)
    rng = random.Random(733)
    shows = [f"/api/v1/projects/{rng.choice(codes)}" for _ in range(2000)]
    lists = [f"/api/v1/projects?page={rng.randint(1, 50)}&size=20" for _ in range(200)]
    port = free_port()
    server = start_server(db, port, workers)
    try:
        run_load("warm-up", port, token, shows, rate / 2, 3)
        return [
            run_load("baseline GET /api/auth/me", port, token, ["/api/auth/me"], rate, seconds),
            run_load("GET /api/v1/projects/{code}", port, token, shows, rate, seconds),
            run_load("GET /api/v1/projects?page&size=20", port, token, lists, rate, seconds),
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)


def holds(r: LoadResult, rate: float) -> bool:
    return r.errors == 0 and r.p99_ms <= KNEE_P99_MS and r.rate >= rate * 0.98


def knees(
    db: Database,
    scale: float,
    rates: Sequence[float],
    seconds: float,
    workers: int,
    tmp: Path,
    *,
    generated: bool = False,
    tries: int = 1,
) -> dict[str, object]:
    """Each path's knee on one server: the offered rate stepped up until it no longer holds
    (:func:`holds`) in any of ``tries`` attempts; the steps and the knees as shares of the baseline's."""
    token, codes = prepare(db, scale, tmp, generated=generated)
    rng = random.Random(733)
    paths = {
        "baseline GET /api/auth/me": ["/api/auth/me"],
        "GET /api/v1/projects/{code}": [f"/api/v1/projects/{rng.choice(codes)}" for _ in range(2000)],
        "GET /api/v1/projects?page&size=20": [
            f"/api/v1/projects?page={rng.randint(1, 50)}&size=20" for _ in range(200)
        ],
    }
    port = free_port()
    server = start_server(db, port, workers)
    steps: dict[str, list[dict[str, object]]] = {}
    knee: dict[str, float] = {}
    try:
        run_load("warm-up", port, token, paths["GET /api/v1/projects/{code}"], 50, 3)
        for name, urls in paths.items():
            steps[name] = []
            knee[name] = 0.0
            for rate in rates:
                for _ in range(tries):  # a stall of the shared machine is not the server's knee
                    r = run_load(name, port, token, urls, rate, seconds)
                    ok = holds(r, rate)
                    steps[name].append({**r.__dict__, "offered": rate, "rate": r.rate, "holds": ok})
                    print(
                        f"  {name:<38} {rate:>6.0f}/s offered {r.rate:>7.1f}/s p50 {r.p50_ms:>7.1f} ms "
                        f"p99 {r.p99_ms:>8.1f} ms errors {r.errors} {'holds' if ok else 'BREAKS'}",
                        flush=True,
                    )
                    if ok:
                        break
                    time.sleep(1)
                if not ok:
                    break
                knee[name] = rate
                time.sleep(1)  # let the server drain between steps
    finally:
        server.terminate()
        server.wait(timeout=30)
    base = knee["baseline GET /api/auth/me"]
    shares = {name: (k / base if base else 0.0) for name, k in knee.items()}
    for name, k in knee.items():
        share = shares[name]
        met = (
            ""
            if name.startswith("baseline")
            else f"  target ≥ {KNEE_SHARE:.0%}: {'MET' if share >= KNEE_SHARE else 'NOT MET'}"
        )
        print(f"  knee {name:<38} {k:>6.0f} req/s ({share:.0%} of the baseline){met}")
    return {"steps": steps, "knee": knee, "share_of_baseline": shares}


def report(backend: str, results: list[LoadResult]) -> list[dict[str, object]]:
    base = results[0]
    print(
        f"\n{backend}: {'path':<38} {'req':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'p99/base':>9} errors"
    )
    rows = []
    for r in results:
        ratio = r.p99_ms / base.p99_ms if base.p99_ms else float("nan")
        print(
            f"{'':<{len(backend) + 1}} {r.name:<38} {r.sent:>6} {r.rate:>7.1f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {ratio:>9.2f} {r.errors}"
        )
        rows.append({**r.__dict__, "rate": r.rate, "p99_vs_baseline": ratio})
    for r in results[1:]:
        met = r.rate >= TARGET_RATE * 0.98 and r.p99_ms <= TARGET_P99_MS and r.errors == 0
        print(
            f"  target {TARGET_RATE:.0f} req/s with p99 ≤ {TARGET_P99_MS:.0f} ms — {r.name}: {'MET' if met else 'NOT MET'}"
        )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 20,000 projects")
    ap.add_argument("--rate", type=float, default=TARGET_RATE)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--knee", action="store_true", help="step the offered rate per path; report each knee")
    ap.add_argument(
        "--rates",
        type=lambda v: [float(x) for x in v.split(",")],
        default=list(KNEE_RATES),
        help="the offered rates --knee steps through (comma-separated)",
    )
    ap.add_argument(
        "--tries",
        type=int,
        default=2,
        help="--knee: attempts per offered rate before a path counts as broken (a busy machine stalls)",
    )
    ap.add_argument(
        "--db-url",
        help="--knee on a portfolio bench.national already generated (SQLite file or PostgreSQL database), "
        "instead of generating one per backend",
    )
    args = ap.parse_args(argv)
    if args.knee and args.seconds == 15.0:
        args.seconds = 8.0

    def run(db: Database, tmp: Path) -> object:
        if args.knee:
            return knees(
                db,
                args.scale,
                args.rates,
                args.seconds,
                args.workers,
                tmp,
                generated=bool(args.db_url),
                tries=args.tries,
            )
        return report(db.backend, measure(db, args.scale, args.rate, args.seconds, args.workers, tmp))

    out: dict[str, object] = {
        "scale": args.scale,
        "rate": args.rate,
        "workers": args.workers,
        "knee": args.knee,
    }
    with tempfile.TemporaryDirectory(prefix="govflow-bench-api-") as d:
        tmp = Path(d)
        if args.db_url:
            backend = "sqlite" if args.db_url.startswith("sqlite") else "postgresql"
            name = args.db_url.split("///", 1)[1] if backend == "sqlite" else args.db_url.rsplit("/", 1)[1]
            out[backend] = run(Database(backend, args.db_url, name), tmp)
        if not args.skip_sqlite and not args.db_url:
            db = SqliteFiles(tmp).create("api")
            print("sqlite:", flush=True)
            out["sqlite"] = run(db, tmp)
        if not args.skip_pg and not args.db_url:
            pg = PgServer()
            why = pg.unreachable()
            if why:
                print(f"\npostgresql: skipped ({why})")
            else:
                pdb = pg.create("api")
                try:
                    print("postgresql:", flush=True)
                    out["postgresql"] = run(pdb, tmp)
                finally:
                    pg.drop(pdb)
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"api-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(
        json.dumps(out, indent=2, default=str)
    )


if __name__ == "__main__":
    main()

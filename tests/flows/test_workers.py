"""One nightly run shared by two Prefect workers (issue 13 item 1), for real: ``prefect server start`` on its own
PostgreSQL database (with pg_trgm), a process work pool, the deployments registered as an operator does
(``prefect work-pool create``, ``govflow schedule --work-pool``) and two ``prefect worker start`` processes
with ``GOVFLOW_FLOW_CHUNK_RUNS=deployment``. ``all`` is triggered through its deployment:

1. both workers run chunks, and the end state (findings, orders, cuts, outbox, audit trail) and the run's
   result equal those of a run in a single process on an identical database;
2. one worker (not the one running ``all``) is SIGKILLed with its flow-run processes while it works a chunk:
   the run still completes — the chunk is resubmitted to the other worker — with the same end state.

Slow (several minutes on a busy two-core machine): ``pytest -m workers tests/flows/test_workers.py`` runs it
alone; ``-m 'not slow'`` skips it. PostgreSQL only (two processes writing one SQLite file is not a setup).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from bench import national
from govflow.governance import scheduling
from govflow.governance.checks import ALL
from govflow.governance.chunkruns import CHUNKS
from govflow.settings import Settings
from tests.flows.test_schedule import free_port, healthy, start, wait

if TYPE_CHECKING:  # fixtures come from conftest.py; only their types are imported
    from tests.conftest import PgServer
    from tests.flows.conftest import CleanEnv, Look

pytestmark = [pytest.mark.slow, pytest.mark.workers]

BIN = Path(sys.executable).parent
#: projects per chunk: the portfolio is small (50 projects), so that sweep, deadlines and cuts each have three
CHUNK_SIZE = 15
WORKERS = ("worker-a", "worker-b")
#: seconds any step may take on a loaded two-core machine
PATIENCE = 600


@pytest.fixture
def portfolio(db_url: str, tmp_path: Path) -> str:
    """The benchmark's national portfolio at its smallest (50 projects with agreements, deliveries, missed
    milestones and projects in operation), so that every check has work in several chunks."""
    from bench.databases import Database

    name = make_url(db_url).database or ""
    national.generate(Database("postgresql", db_url, name), tmp_path, scale=0.0025)
    return db_url


@dataclass
class Cluster:
    api: str
    pool: str
    deployment: str
    workers: dict[str, subprocess.Popen[bytes]]
    logs: Path
    #: the Prefect server's own database
    prefect_db: str


@pytest.fixture
def cluster(_pg_server: PgServer, clean_env: CleanEnv, tmp_path: Path) -> Iterator[Cluster]:
    """The Prefect server on a throwaway PostgreSQL database, the pool, the deployments and two workers; every
    process (and its flow-run processes) stopped and the database dropped afterwards."""
    prefect_db = _pg_server.create("prefect_t", template="template0")
    admin = create_engine(_pg_server.url(prefect_db), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    finally:
        admin.dispose()
    db_url = _pg_server.url(prefect_db).replace("postgresql+psycopg://", "postgresql+asyncpg://")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    pool, name = f"govflow-{secrets.token_hex(3)}", f"test-{secrets.token_hex(3)}"
    logs = tmp_path / "logs"
    logs.mkdir()

    def env(home: str, **extra: str) -> dict[str, str]:
        return clean_env({"PREFECT_HOME": str(tmp_path / home), "PREFECT_API_URL": api, **extra})

    started: list[subprocess.Popen[bytes]] = []
    try:
        server = start(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env(
                "server",
                PREFECT_API_DATABASE_CONNECTION_URL=db_url,
                PREFECT_SERVER_UI_ENABLED="false",
            ),
            logs / "server.log",
        )
        started.append(server)
        wait(lambda: healthy(api), server, PATIENCE, "the Prefect server to answer")
        operator = env("operator", GOVFLOW_DEPLOYMENT_NAME=name)
        command([str(BIN / "prefect"), "work-pool", "create", pool, "--type", "process"], operator)
        command([str(BIN / "govflow"), "schedule", "--work-pool", pool, "--json"], operator)
        workers = {}
        for worker in WORKERS:
            proc = start(
                [
                    str(BIN / "prefect"),
                    "worker",
                    "start",
                    "--pool",
                    pool,
                    "--name",
                    worker,
                    "--type",
                    "process",
                ],
                env(
                    worker,
                    PREFECT_WORKER_QUERY_SECONDS="1",  # take new chunk runs within a second (default 10)
                    GOVFLOW_DEPLOYMENT_NAME=name,
                    GOVFLOW_FLOW_CHUNK_RUNS="deployment",
                    GOVFLOW_FLOW_CHUNK_SIZE=str(CHUNK_SIZE),
                    GOVFLOW_FLOW_CHUNK_WORKERS="2",
                    GOVFLOW_FLOW_CHUNK_CLAIM_SECONDS="45",
                ),
                logs / f"{worker}.log",
                cwd=tmp_path,
            )
            started.append(proc)
            workers[worker] = proc
        yield Cluster(api, pool, name, workers, logs, _pg_server.url(prefect_db))
    finally:
        for proc in reversed(started):
            kill_tree(proc.pid, signal.SIGTERM)
        for proc in reversed(started):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                kill_tree(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        _pg_server.drop_later(prefect_db)


@pytest.mark.pg
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_workers_share_the_run_and_survive_losing_one(
    cluster: Cluster, portfolio: str, clone: Callable[[str], str], look: Look
) -> None:
    twin, second = clone(portfolio), clone(portfolio)
    expected = scheduling.run_direct(
        Settings(database_url=twin, flow_chunk_size=CHUNK_SIZE), ALL, national.AS_OF
    )
    reference = end_state(look, twin)

    # 1. both workers take chunks; the end state is the single process's
    first = trigger(cluster, portfolio)
    assert finished(cluster, first) == "COMPLETED", logs(cluster)
    chunks = chunk_rows(portfolio)
    assert {c["status"] for c in chunks} == {"completed"}
    assert {c["worker"] for c in chunks} == set(WORKERS), chunks
    assert {c["flow"] for c in chunks} >= {"sweep", "deadlines", "cuts"}
    assert [c["attempts"] for c in chunks] == [1] * len(chunks)
    assert end_state(look, portfolio) == reference
    runs = {r["flow"]: r for r in look.flow_runs(portfolio)}
    assert runs[ALL]["status"] == "completed"
    assert runs[ALL]["stats"] == json.loads(json.dumps(expected, default=str))

    # 2. a worker dies mid-run, with the flow-run processes it started: the run completes all the same
    run = trigger(cluster, second)
    victim = kill_a_chunk_worker(cluster, second)
    assert finished(cluster, run) == "COMPLETED", logs(cluster)
    chunks = chunk_rows(second)
    assert {c["status"] for c in chunks} == {"completed"}
    again = [c for c in chunks if c["attempts"] > 1]
    assert again, chunks  # the chunk the victim held was submitted again …
    assert {c["worker"] for c in again} == set(WORKERS) - {victim}  # … and worked by the other worker
    assert "CRASHED" in chunk_flow_runs(cluster)  # its first flow run is marked crashed on Prefect too
    assert end_state(look, second) == reference
    assert {r["flow"]: r["status"] for r in look.flow_runs(second)}[ALL] == "completed"
    assert prefect_kept_on_postgresql(cluster) > len(chunks)  # Prefect's own records are in its PostgreSQL


# ---------------------------------------------------------------------------------------------- helpers


def command(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=PATIENCE)
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"


def prefect_kept_on_postgresql(cluster: Cluster) -> int:
    """How many flow runs the Prefect server keeps in its PostgreSQL database."""
    engine = create_engine(cluster.prefect_db)
    try:
        with engine.connect() as c:
            return int(c.exec_driver_sql("SELECT count(*) FROM flow_run").scalar_one())
    finally:
        engine.dispose()


def trigger(cluster: Cluster, database_url: str) -> str:
    """Start ``all`` through its deployment on the pool (as its cron schedule would); the flow run's id."""
    with httpx.Client(base_url=cluster.api, timeout=30) as http:
        deployment = http.get(f"/deployments/name/govflow-all/{cluster.deployment}").json()
        made = http.post(
            f"/deployments/{deployment['id']}/create_flow_run",
            json={"parameters": {"as_of": national.AS_OF.isoformat(), "database_url": database_url}},
        )
        made.raise_for_status()
        return str(made.json()["id"])


def finished(cluster: Cluster, flow_run_id: str) -> str:
    """Wait for the flow run to end; its state type."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        state = prefect_states(cluster, [flow_run_id])[flow_run_id]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(1)
    raise AssertionError(f"flow run {flow_run_id} did not finish within {PATIENCE} s\n{logs(cluster)}")


def prefect_states(cluster: Cluster, ids: list[str]) -> dict[str, str]:
    with httpx.Client(base_url=cluster.api, timeout=30) as http:
        found = http.post("/flow_runs/filter", json={"flow_runs": {"id": {"any_": ids}}}).json()
    return {r["id"]: r["state"]["type"] for r in found}


def chunk_flow_runs(cluster: Cluster) -> list[str]:
    """The state types of every flow run of the chunk deployment."""
    with httpx.Client(base_url=cluster.api, timeout=30) as http:
        found = http.post(
            "/flow_runs/filter",
            json={
                "flows": {"name": {"any_": ["govflow-chunk"]}},
                "deployments": {"name": {"any_": [cluster.deployment]}},
            },
        ).json()
    return [r["state"]["type"] for r in found]


def chunk_rows(url: str) -> list[dict[str, Any]]:
    """The chunks of every run (``flow_chunk``)."""
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return [dict(r) for r in c.execute(select(CHUNKS).order_by(CHUNKS.c.id)).mappings()]
    finally:
        engine.dispose()


def kill_a_chunk_worker(cluster: Cluster, url: str) -> str:
    """SIGKILL the worker that does not run ``all`` — with its flow-run processes, as if its host died — at a
    moment it works a chunk (preferably one it has claimed); its name."""
    deadline = time.monotonic() + PATIENCE
    parent: int | None = None
    while parent is None:
        assert time.monotonic() < deadline, "the run of all never started"
        holder = next((r["holder"] for r in running_runs(url) if r["flow"] == ALL), None)
        parent = int(holder.split(":")[1]) if holder else None
        time.sleep(0.2)
    tree = {name: proc.pid for name, proc in cluster.workers.items()}
    victim = next(name for name, pid in tree.items() if parent not in descendants(pid))
    pid = tree[victim]
    claimed_by_victim = 0.0
    while True:
        assert time.monotonic() < deadline, f"{victim} never took a chunk\n{logs(cluster)}"
        below = descendants(pid)
        held = [r for r in chunk_rows(url) if r["status"] == "running" and holder_pid(r["holder"]) in below]
        if held or (below and claimed_by_victim and time.monotonic() > claimed_by_victim):
            break
        if below and not claimed_by_victim:
            claimed_by_victim = time.monotonic() + 20  # a flow run started: wait a while for it to claim
        time.sleep(0.05)
    kill_tree(pid, signal.SIGKILL)
    cluster.workers[victim].wait(timeout=30)
    return victim


def running_runs(url: str) -> list[dict[str, Any]]:
    from govflow.governance.flowruns import RUNS

    engine = create_engine(url)
    try:
        with engine.connect() as c:
            running = select(RUNS).where(RUNS.c.status == "running")
            return [dict(r) for r in c.execute(running).mappings()]
    finally:
        engine.dispose()


def holder_pid(holder: str | None) -> int | None:
    return int(holder.split(":")[1]) if holder else None


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def kill_tree(pid: int, sig: signal.Signals) -> None:
    """``sig`` to ``pid`` and every process below it (flow-run processes have sessions of their own)."""
    for target in [*descendants(pid), pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, sig)


def end_state(look: Look, url: str) -> dict[str, list[str]]:
    """What the runs left (findings, orders, steps, cuts, outbox) and the audit trail, without the order in
    which chunks ran: events as sorted rows, without their sequence numbers, hashes and times."""
    from govflow.models.facts import t
    from govflow.models.tables import AuditEvent

    state = look.snapshot(url)
    audit = t(AuditEvent)
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            rows = c.execute(select(audit)).mappings()
            state["audit_event"] = sorted(
                json.dumps(
                    {
                        k: v
                        for k, v in r.items()
                        if k not in ("id", "seq", "prev_hash", "hash") and not isinstance(v, datetime)
                    },
                    sort_keys=True,
                    default=str,
                    ensure_ascii=False,
                )
                for r in rows
            )
    finally:
        engine.dispose()
    return state


def logs(cluster: Cluster) -> str:
    """The last lines of every process's log, for a failure's message."""
    parts = []
    for log in sorted(cluster.logs.iterdir()):
        lines = log.read_text(errors="replace").splitlines()[-40:]
        parts.append(f"--- {log.name}\n" + "\n".join(lines))
    return "\n".join(parts)

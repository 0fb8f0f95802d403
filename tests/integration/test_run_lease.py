"""The lease of a governance run (``govflow/governance/flowruns.py``) on SQLite and PostgreSQL: who counts as alive,
the heartbeat, and what a later run does with a ``running`` row of a holder on another host. The real-process
races (a second ``govflow run``, a SIGKILLed one) are in ``tests/cli/test_run_lease.py``."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select, update

from govflow.governance import flowruns
from govflow.governance.flowruns import LEASE_SECONDS, holder_alive, recorded_run, this_holder
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import FlowRun
from govflow.models.types import utcnow
from govflow.states.errors import RunInProgress

RUNS = t(FlowRun)
DAY = date(2026, 11, 26)
ELSEWHERE = "another-host.example:4242:1"


def test_a_holder_on_this_host_is_alive_while_its_process_is() -> None:
    now = utcnow()
    assert holder_alive(this_holder(), None, now)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        start = flowruns._process_start(child.pid)
        holder = f"{socket.gethostname()}:{child.pid}:{start}"
        assert holder_alive(holder, None, now)
        # the same pid with another start time is another process: the holder is gone
        assert not holder_alive(f"{socket.gethostname()}:{child.pid}:{int(start or 0) + 1}", None, now)
    finally:
        child.kill()
        child.wait()
    assert not holder_alive(holder, None, now)  # dead (and reaped)
    # the heartbeat says nothing about a holder on this host: its process does
    assert not holder_alive(holder, now, now)


def test_a_holder_on_another_host_is_alive_while_its_heartbeat_is_fresh() -> None:
    now = utcnow()
    assert holder_alive(ELSEWHERE, now - timedelta(seconds=LEASE_SECONDS - 1), now)
    assert not holder_alive(ELSEWHERE, now - timedelta(seconds=LEASE_SECONDS + 1), now)
    assert not holder_alive(ELSEWHERE, None, now)
    assert not holder_alive(None, now, now)


def _foreign_run(app: App, flow: str, heartbeat_age: float) -> int:
    with unit_of_work(app.engine) as s:
        run_id: int = s.execute(
            insert(RUNS)
            .values(
                flow=flow,
                as_of=DAY,
                started_at=app.clock(),
                status="running",
                stats={},
                holder=ELSEWHERE,
                heartbeat_at=utcnow() - timedelta(seconds=heartbeat_age),
            )
            .returning(RUNS.c.id)
        ).scalar_one()
    return run_id


def _status(app: App, run_id: int) -> str:
    with unit_of_work(app.engine, write=False) as s:
        return str(s.execute(select(RUNS.c.status).where(RUNS.c.id == run_id)).scalar_one())


def test_a_live_run_on_another_host_keeps_the_lease(app: App) -> None:
    other = _foreign_run(app, "sweep", heartbeat_age=5)
    with pytest.raises(RunInProgress) as caught, recorded_run(app, "sweep", DAY):
        pytest.fail("the body must not run")
    assert ELSEWHERE in caught.value.message and ELSEWHERE in caught.value.message_en
    assert caught.value.exit_code == 5 and caught.value.http_status == 409
    assert _status(app, other) == "running"
    # another day, or another flow, is not excluded
    with recorded_run(app, "sweep", DAY + timedelta(days=1)) as stats:
        stats["ok"] = 1
    with recorded_run(app, "cuts", DAY) as stats:
        stats["ok"] = 1


def test_a_run_whose_heartbeat_stopped_on_another_host_is_marked_crashed(app: App) -> None:
    other = _foreign_run(app, "sweep", heartbeat_age=LEASE_SECONDS + 5)
    with recorded_run(app, "sweep", DAY) as stats:
        stats["ok"] = 1
    assert _status(app, other) == "crashed"
    with unit_of_work(app.engine, write=False) as s:
        statuses = sorted(s.execute(select(RUNS.c.status).where(RUNS.c.flow == "sweep")).scalars())
    assert statuses == ["completed", "crashed"]


def test_any_run_marks_every_stale_running_row(app: App) -> None:
    stale = [_foreign_run(app, flow, heartbeat_age=LEASE_SECONDS + 5) for flow in ("sweep", "all")]
    fresh = _foreign_run(app, "deadlines", heartbeat_age=1)
    with recorded_run(app, "dispatch", None) as stats:
        stats["ok"] = 1
    assert [_status(app, r) for r in stale] == ["crashed", "crashed"]
    assert _status(app, fresh) == "running"


def test_a_running_run_renews_its_heartbeat(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flowruns, "HEARTBEAT_SECONDS", 0.05)
    beats: list[object] = []
    renewed = threading.Event()
    with recorded_run(app, "sweep", DAY):
        with unit_of_work(app.engine) as s:  # pretend the last beat was long ago
            s.execute(
                update(RUNS)
                .where(RUNS.c.status == "running")
                .values(heartbeat_at=utcnow() - timedelta(hours=1))
            )
        for _ in range(100):
            with unit_of_work(app.engine, write=False) as s:
                beat = s.execute(select(RUNS.c.heartbeat_at).where(RUNS.c.status == "running")).scalar_one()
            beats.append(beat)
            if beat > utcnow() - timedelta(minutes=1):
                renewed.set()
                break
            renewed.wait(0.05)
    assert renewed.is_set(), beats

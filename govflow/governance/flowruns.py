"""A record of every governance run (flow, as_of, what it did, how it ended) for operators and audit, and the
lease that keeps two runs of one flow for one day apart.

The run's ``flow_run`` row is its lease. While a run works, its row is ``running`` and names its ``holder``
(``host:pid:process start``) and a ``heartbeat_at`` the holder renews every :data:`HEARTBEAT_SECONDS` (real time).
The partial unique index ``uq_flow_run_running`` (flow, as_of) lets one row per flow and day be ``running``, so on
SQLite and PostgreSQL alike the database itself refuses the second run's insert; the second run then looks at
the holder:

* alive: it stops with :class:`~govflow.states.errors.RunInProgress` (exit 5, HTTP 409), naming the holder;
* gone: the row is marked ``crashed`` and the run takes the lease.

A holder is gone when it ran on this host and no process with its pid and start time exists (a SIGKILLed run is
seen at once; a reused pid has another start time), or when it ran on another host and its heartbeat is older
than :data:`LEASE_SECONDS`. Every run first marks every stale ``running`` row crashed, of any flow and day, so
a killed run is marked by the next run of anything. Dispatch (``as_of`` NULL) is not excluded: its outbox rows
have leases of their own and dispatchers share the work (``dispatch.py``); its stale rows are marked all the same.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from govflow.governance import checks
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import FlowRun, Project
from govflow.models.types import utcnow
from govflow.states.errors import RunInProgress

log = logging.getLogger(__name__)

RUNS = t(FlowRun)
#: how often a running run renews its heartbeat, and how old a heartbeat of another host's run may get
HEARTBEAT_SECONDS = 15.0
LEASE_SECONDS = 120.0


class RunStats(dict[str, Any]):
    """The statistics a run's body fills in, and the id of its ``flow_run`` row (``run_id``: the run its
    distributed chunks belong to, :mod:`govflow.governance.chunkruns`)."""

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id


@contextmanager
def recorded_run(
    app: App, flow: str, as_of: date | None, prefect_flow_run_id: str | None = None
) -> Iterator[RunStats]:
    """Record a run; the body fills the yielded dict with its statistics. A failure is recorded and re-raised.

    Raises :class:`RunInProgress` before the body runs when a live run of ``flow`` for ``as_of`` holds the lease."""
    mark_crashed(app)
    run_id = _claim(app, flow, as_of, prefect_flow_run_id)
    stats = RunStats(run_id)
    beat = Heartbeat(app.engine, run_id)
    try:
        yield stats
    except BaseException as exc:
        beat.stop()
        with unit_of_work(app.engine) as s:
            s.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id)
                .values(
                    finished_at=app.clock(),
                    status="failed",
                    stats=dict(stats),
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                )
            )
        raise
    beat.stop()
    with unit_of_work(app.engine) as s:
        s.execute(
            update(RUNS)
            .where(RUNS.c.id == run_id)
            .values(finished_at=app.clock(), status="completed", stats=dict(stats))
        )


def require_free(app: App, flow: str, as_of: date | None) -> None:
    """Raise :class:`RunInProgress` now if a live run of ``flow`` for ``as_of`` holds the lease (a command checks
    before it starts Prefect; the lease itself is taken by :func:`recorded_run`)."""
    if as_of is None:
        return
    live = [r for r in _running(app, and_(RUNS.c.flow == flow, RUNS.c.as_of == as_of)) if r.alive()]
    if live:
        raise _in_progress(flow, as_of, live[0])


def _claim(app: App, flow: str, as_of: date | None, prefect_flow_run_id: str | None) -> int:
    """Insert this run's ``running`` row; the unique index refuses it while another row of ``flow`` and ``as_of``
    runs. A holder found gone is marked crashed and the insert tried again."""
    holder = this_holder()
    for _ in range(3):
        try:
            with unit_of_work(app.engine) as s:
                run_id: int = s.execute(
                    insert(RUNS)
                    .values(
                        flow=flow,
                        as_of=as_of,
                        started_at=app.clock(),
                        status="running",
                        stats={},
                        prefect_flow_run_id=prefect_flow_run_id,
                        holder=holder,
                        heartbeat_at=utcnow(),
                    )
                    .returning(RUNS.c.id)
                ).scalar_one()
            return run_id
        except IntegrityError:
            other = _running(app, and_(RUNS.c.flow == flow, RUNS.c.as_of == as_of))
            live = [r for r in other if r.alive()]
            if live:
                raise _in_progress(flow, as_of, live[0]) from None
            _crash(app, other)
    raise _in_progress(flow, as_of, None)


@dataclass(frozen=True)
class _Running:
    id: int
    flow: str
    as_of: date | None
    started_at: datetime
    holder: str | None
    heartbeat_at: datetime | None

    def alive(self, now: datetime | None = None) -> bool:
        return holder_alive(self.holder, self.heartbeat_at, now or utcnow())


def _running(app: App, where: Any = None) -> list[_Running]:
    q = select(
        RUNS.c.id, RUNS.c.flow, RUNS.c.as_of, RUNS.c.started_at, RUNS.c.holder, RUNS.c.heartbeat_at
    ).where(RUNS.c.status == "running")
    if where is not None:
        q = q.where(where)
    with unit_of_work(app.engine, write=False) as s:
        return [_Running(*r) for r in s.execute(q.order_by(RUNS.c.id))]


def mark_crashed(app: App) -> int:
    """Mark every ``running`` row whose holder is gone ``crashed``; returns how many."""
    return _crash(app, [r for r in _running(app) if not r.alive()])


def _crash(app: App, rows: list[_Running]) -> int:
    done = 0
    for r in rows:
        cutoff = utcnow() - timedelta(seconds=LEASE_SECONDS)
        # fenced: still running, same holder, and (another host's run) its heartbeat not renewed meanwhile
        fence = [RUNS.c.id == r.id, RUNS.c.status == "running"]
        if not on_this_host(r.holder):
            fence.append(or_(RUNS.c.heartbeat_at.is_(None), RUNS.c.heartbeat_at < cutoff))
        with unit_of_work(app.engine) as s:
            hit = s.execute(
                update(RUNS)
                .where(*fence)
                .values(
                    status="crashed",
                    finished_at=app.clock(),
                    error=(
                        f"运行进程已不在（{r.holder or '未知'}），由后来的运行标记为中断 / "
                        f"the process running it ({r.holder or 'unknown'}) is gone; marked by a later run"
                    ),
                )
                .returning(RUNS.c.id)
            ).first()
        if hit is not None:
            done += 1
            log.warning(
                "flow run %s (%s %s, %s) was left running: marked crashed", r.id, r.flow, r.as_of, r.holder
            )
    return done


def _in_progress(flow: str, as_of: date | None, r: _Running | None) -> RunInProgress:
    zh, en = checks.label(flow), checks.label(flow, "en")
    day = f"（依据日期 {as_of}）" if as_of else ""
    day_en = f" for {as_of}" if as_of else ""
    who = f"，由 {r.holder} 于 {r.started_at:%Y-%m-%d %H:%M:%S} UTC 开始" if r and r.holder else ""
    who_en = f", started by {r.holder} at {r.started_at:%Y-%m-%d %H:%M:%S} UTC" if r and r.holder else ""
    return RunInProgress(
        f"「{zh}」{day}已有一次运行正在进行{who}；本次未运行，请待其结束后再试",
        f"another run of {en}{day_en} is in progress{who_en}; this one did not run, try again when it ends",
    )


# ---------------------------------------------------------------------------------------------- holders


def this_holder() -> str:
    """``host:pid:process start`` of this process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or ''}"


def holder_alive(holder: str | None, heartbeat_at: datetime | None, now: datetime) -> bool:
    """Whether the run of ``holder`` can still be working (see the module docstring)."""
    if holder is None:
        return False
    if on_this_host(holder):
        _, pid, start = holder.rsplit(":", 2)
        return _process_alive(int(pid), start)
    return heartbeat_at is not None and now - heartbeat_at < timedelta(seconds=LEASE_SECONDS)


def on_this_host(holder: str | None) -> bool:
    return holder is not None and holder.rsplit(":", 2)[0] == socket.gethostname()


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux ``/proc``); None when there is no such
    process, it is a zombie, or there is no ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return None if fields[0] in ("Z", "X") else fields[19]


def _process_alive(pid: int, start: str) -> bool:
    if start:
        return _process_start(pid) == start
    try:  # no /proc where the holder ran: ask the kernel whether the pid exists
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Heartbeat:
    """Renews the ``heartbeat_at`` of a ``running`` row (a run's, or a chunk's in ``table``) every
    :data:`HEARTBEAT_SECONDS` on a daemon thread until stopped. A failed renewal is logged and tried again at
    the next beat (a busy SQLite file, a dropped connection)."""

    def __init__(self, engine: Engine, run_id: int, table: Table = RUNS) -> None:
        self._engine, self._run_id, self._table = engine, run_id, table
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"govflow-heartbeat-{run_id}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stopped.wait(HEARTBEAT_SECONDS):
            try:
                with unit_of_work(self._engine) as s:
                    table = self._table
                    s.execute(
                        update(table)
                        .where(table.c.id == self._run_id, table.c.status == "running")
                        .values(heartbeat_at=utcnow())
                    )
            except Exception:  # a missed beat must not end the run
                log.warning("flow run %s: heartbeat not written", self._run_id, exc_info=True)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


def project_id_chunks(app: App, phases: set[str] | frozenset[str], size: int = 2000) -> list[tuple[int, int]]:
    """Inclusive (first id, last id) ranges of at most ``size`` projects in ``phases``: one Prefect task each."""
    p = t(Project)
    with unit_of_work(app.engine, write=False) as s:
        ids = [
            int(i)
            for i in s.execute(select(p.c.id).where(p.c.phase.in_(sorted(phases))).order_by(p.c.id)).scalars()
        ]
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]

"""Distributed runs: the chunks of a chunked check (sweep, deadlines, cuts …) as flow runs of their own on a
Prefect work pool, so that several workers share one nightly run (``GOVFLOW_FLOW_CHUNK_RUNS=deployment``).

The run of the check holds the lease of its flow and day (its ``flow_run`` row, :mod:`flowruns`). It plans
its chunks — the same ranges of project ids as in process (:func:`scheduling.chunk_plan`) — as ``flow_chunk``
rows, hands each to a :class:`Launcher` (Prefect: a flow run of the chunk deployment, started with
``run_deployment``; :mod:`govflow.flows.governance`), waits until every chunk is completed and adds their
results up as the in-process path does (:func:`scheduling.merge`).

A chunk's flow run works it through :func:`work`: it claims the row (a lease like a run's: the holder
``host:pid:process start`` and a heartbeat), calls the check's service on the range (one transaction, as in
process) and stores the result on the row. The services are idempotent for a day, so a chunk worked again —
retried, or resubmitted after its worker died — ends in the same state as a chunk worked once; a chunk
already completed, or held by a live process, is left alone.

What the waiting run does with a chunk it submitted, each time it looks (every :data:`POLL_SECONDS`):

* completed: done;
* running, its holder alive: wait. Holder gone (a killed worker: on this host no such process, seen at once;
  on another host no heartbeat for :data:`flowruns.LEASE_SECONDS`): the chunk is marked crashed, so is its
  Prefect flow run, and the chunk is submitted again;
* not claimed (yet): its flow run ended ``Failed`` (the service raised, after the flow's own retries): the
  run fails with the chunk's error; ended ``Crashed``, ``Cancelled`` or ``Completed`` without working it, or
  started but claimed nothing within ``GOVFLOW_FLOW_CHUNK_CLAIM_SECONDS``: submitted again; waiting for a
  worker: wait.

A chunk is submitted at most :data:`MAX_ATTEMPTS` times; at most ``parallel`` chunks are in flight at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import insert, or_, select, update

from govflow.governance import checks
from govflow.governance.flowruns import (
    LEASE_SECONDS,
    RUNS,
    Heartbeat,
    holder_alive,
    on_this_host,
    this_holder,
)
from govflow.governance.scheduling import open_app
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import FlowChunk
from govflow.models.types import utcnow
from govflow.settings import Settings
from govflow.states.errors import GovflowError

log = logging.getLogger(__name__)

CHUNKS = t(FlowChunk)
#: how often the waiting run looks at its chunks (seconds)
POLL_SECONDS = 1.0
#: how many times one chunk is submitted before the run gives up
MAX_ATTEMPTS = 3
#: Prefect state types (``StateType`` values) the decisions read
_LOST = frozenset({"CRASHED", "CANCELLED", "COMPLETED"})
_STARTED = frozenset({"PENDING", "RUNNING"})


class ChunkFailed(GovflowError):
    """A chunk of a distributed run failed (its error named), or could not be run after
    :data:`MAX_ATTEMPTS` submissions: the run fails, as in process when a chunk raises."""


@dataclass(frozen=True)
class ChunkRow:
    id: int
    run_id: int
    flow: str
    as_of: date
    first_id: int
    last_id: int
    status: str
    attempts: int
    prefect_flow_run_id: str | None
    worker: str | None
    holder: str | None
    heartbeat_at: datetime | None
    result: dict[str, Any]
    error: str | None

    def alive(self, now: datetime | None = None) -> bool:
        return holder_alive(self.holder, self.heartbeat_at, now or utcnow())

    @property
    def label(self) -> str:
        return f"{self.flow} {self.as_of} {self.first_id}–{self.last_id}"


class Launcher(Protocol):
    """Starts chunk flow runs and tells how they stand (Prefect's ``run_deployment`` and flow run states)."""

    def submit(self, chunk: ChunkRow, attempt: int) -> str:
        """Start a flow run working ``chunk`` (its ``attempt``-th); its id."""
        ...

    def states(self, flow_run_ids: Sequence[str]) -> Mapping[str, str]:
        """The state type (``SCHEDULED``, ``PENDING``, ``RUNNING``, ``COMPLETED``, ``FAILED``, ``CRASHED`` …)
        of each flow run by id."""
        ...

    def crashed(self, flow_run_id: str, message: str) -> None:
        """Mark a flow run whose process is gone crashed (best effort)."""
        ...


# ---------------------------------------------------------------------------------------------- the run's side


def drive(
    settings: Settings,
    run_id: int,
    flow: str,
    as_of: date,
    chunks: Sequence[tuple[int, int]],
    launcher: Launcher,
    parallel: int,
) -> list[dict[str, Any]]:
    """Run ``chunks`` of the run ``run_id`` through ``launcher`` (see the module docstring); their results, in
    the order of ``chunks``."""
    with open_app(settings) as app:
        planned = plan(app, run_id, flow, as_of, chunks)
        waiting = [c.id for c in planned if c.status != "completed"]
        inflight: dict[int, _Submitted] = {}
        while True:
            rows = {c.id: c for c in read(app, run_id)}
            states = launcher.states([f.flow_run_id for f in inflight.values()]) if inflight else {}
            for cid, sub in list(inflight.items()):
                row, state = rows[cid], states.get(sub.flow_run_id)
                if row.status == "completed":
                    del inflight[cid]
                    continue
                if state in _STARTED and sub.started is None:
                    sub.started = time.monotonic()
                waited = time.monotonic() - sub.started if sub.started is not None else 0.0
                if _lost(app, row, state, waited, settings, launcher, sub.flow_run_id):
                    inflight[cid] = _submit(app, row, launcher)
            while waiting and len(inflight) < parallel:
                cid = waiting.pop(0)
                inflight[cid] = _submit(app, rows[cid], launcher)
            if not waiting and not inflight:
                return [rows[c.id].result for c in planned]
            time.sleep(POLL_SECONDS)


def plan(app: App, run_id: int, flow: str, as_of: date, chunks: Sequence[tuple[int, int]]) -> list[ChunkRow]:
    """The ``flow_chunk`` rows of the run (created once; a run resumed finds them again)."""
    if not read(app, run_id):
        with unit_of_work(app.engine) as s:
            s.execute(
                insert(CHUNKS),
                [
                    {
                        "run_id": run_id,
                        "flow": flow,
                        "as_of": as_of,
                        "first_id": lo,
                        "last_id": hi,
                        "status": "pending",
                        "attempts": 0,
                        "result": {},
                    }
                    for lo, hi in chunks
                ],
            )
    return read(app, run_id)


def read(app: App, run_id: int) -> list[ChunkRow]:
    """The chunks of a run, in the order of their ranges."""
    cols = [CHUNKS.c[f] for f in ChunkRow.__dataclass_fields__]
    with unit_of_work(app.engine, write=False) as s:
        found = s.execute(select(*cols).where(CHUNKS.c.run_id == run_id).order_by(CHUNKS.c.first_id))
        return [ChunkRow(*r) for r in found]


def _lost(
    app: App,
    row: ChunkRow,
    state: str | None,
    waited: float,
    settings: Settings,
    launcher: Launcher,
    flow_run_id: str,
) -> bool:
    """Whether the chunk must be submitted again (raises :class:`ChunkFailed` when it failed)."""
    if row.status == "running":
        if row.alive():
            return False
        message = f"the process working chunk {row.label} ({row.holder}, worker {row.worker}) is gone"
        if not _fence_crashed(app, row, message):
            return False  # it moved on meanwhile: judged at the next look
        log.warning("%s; submitting it again", message)
        launcher.crashed(row.prefect_flow_run_id or flow_run_id, message)
        return True
    if state == "FAILED":
        raise ChunkFailed(
            f"分块 {row.label} 运行失败：{row.error or '见 Prefect 流程运行 ' + flow_run_id}",
            f"chunk {row.label} failed: {row.error or 'see Prefect flow run ' + flow_run_id}",
        )
    if state in _LOST:
        log.warning("chunk %s: its flow run %s ended %s without working it", row.label, flow_run_id, state)
        return True
    if state in _STARTED and waited > settings.flow_chunk_claim_seconds:
        message = (
            f"flow run {flow_run_id} did not take chunk {row.label} "
            f"within {settings.flow_chunk_claim_seconds:.0f} s"
        )
        log.warning("%s; submitting it again", message)
        launcher.crashed(flow_run_id, message)
        return True
    return False


@dataclass
class _Submitted:
    flow_run_id: str
    #: when its flow run was first seen started (pending or running), monotonic
    started: float | None = None


def _submit(app: App, row: ChunkRow, launcher: Launcher) -> _Submitted:
    if row.attempts >= MAX_ATTEMPTS:
        raise ChunkFailed(
            f"分块 {row.label} 已提交 {row.attempts} 次仍未完成：{row.error or '运行它的进程均已中断'}",
            f"chunk {row.label} was submitted {row.attempts} times and never completed: "
            f"{row.error or 'every process running it was lost'}",
        )
    flow_run_id = launcher.submit(row, row.attempts + 1)
    with unit_of_work(app.engine) as s:
        s.execute(
            update(CHUNKS)
            .where(CHUNKS.c.id == row.id)
            .values(attempts=CHUNKS.c.attempts + 1, prefect_flow_run_id=flow_run_id)
        )
    return _Submitted(flow_run_id)


def _fence_crashed(app: App, row: ChunkRow, message: str) -> bool:
    """Mark a running chunk crashed, unless another process took it meanwhile or (another host's) its heartbeat
    was renewed."""
    fence = [CHUNKS.c.id == row.id, CHUNKS.c.status == "running", CHUNKS.c.holder == row.holder]
    if not on_this_host(row.holder):
        cutoff = utcnow() - timedelta(seconds=LEASE_SECONDS)
        fence.append(or_(CHUNKS.c.heartbeat_at.is_(None), CHUNKS.c.heartbeat_at < cutoff))
    with unit_of_work(app.engine) as s:
        hit = s.execute(
            update(CHUNKS)
            .where(*fence)
            .values(status="crashed", finished_at=utcnow(), error=message[:2000])
            .returning(CHUNKS.c.id)
        ).first()
    return hit is not None


# ---------------------------------------------------------------------------------------------- the chunk's side


def work(
    settings: Settings,
    run_id: int,
    first_id: int,
    *,
    worker: str | None = None,
    prefect_flow_run_id: str | None = None,
) -> dict[str, Any] | None:
    """Work one chunk of run ``run_id`` (the one starting at project id ``first_id``): claim it, call its check's
    service on its range, store the result. None when there was nothing to do: the chunk is completed, a live
    process holds it, or the run that planned it has ended."""
    with open_app(settings) as app:
        row = claim(app, run_id, first_id, this_holder(), worker, prefect_flow_run_id)
        if row is None:
            return None
        beat = Heartbeat(app.engine, row.id, CHUNKS)
        try:
            service = checks.get(row.flow).resolve()
            result: dict[str, Any] = service(app, row.as_of, (row.first_id, row.last_id)).to_dict()
        except BaseException as exc:
            beat.stop()
            _end(app, row, "failed", error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        beat.stop()
        _end(app, row, "completed", result=result)
        return result


def claim(
    app: App,
    run_id: int,
    first_id: int,
    holder: str,
    worker: str | None,
    prefect_flow_run_id: str | None,
) -> ChunkRow | None:
    """Take the chunk's lease for ``holder`` (see :func:`work`); the row as claimed, or None."""
    with unit_of_work(app.engine, write=False) as s:
        parent = s.execute(select(RUNS.c.status).where(RUNS.c.id == run_id)).scalar_one_or_none()
    row = next((c for c in read(app, run_id) if c.first_id == first_id), None)
    if row is None or parent != "running":
        log.warning(
            "chunk %s of run %s: the run has ended or never planned it; nothing done", first_id, run_id
        )
        return None
    if row.status == "completed" or (row.status == "running" and row.holder != holder and row.alive()):
        log.info("chunk %s is %s (%s); nothing done", row.label, row.status, row.holder)
        return None
    fence = [CHUNKS.c.id == row.id, CHUNKS.c.status == row.status]
    fence.append(CHUNKS.c.holder.is_(None) if row.holder is None else CHUNKS.c.holder == row.holder)
    now = utcnow()
    with unit_of_work(app.engine) as s:
        hit = s.execute(
            update(CHUNKS)
            .where(*fence)
            .values(
                status="running",
                holder=holder,
                heartbeat_at=now,
                started_at=now,
                finished_at=None,
                worker=worker,
                prefect_flow_run_id=prefect_flow_run_id or row.prefect_flow_run_id,
                error=None,
            )
            .returning(CHUNKS.c.id)
        ).first()
    if hit is None:
        return None  # another process claimed it first
    return next(c for c in read(app, run_id) if c.id == row.id)


def _end(
    app: App, row: ChunkRow, status: str, *, result: dict[str, Any] | None = None, error: str = ""
) -> None:
    """Record how the chunk ended, if it is still this process's (the waiting run may have judged it lost)."""
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error or None}
    if result is not None:
        values["result"] = result
    with unit_of_work(app.engine) as s:
        s.execute(
            update(CHUNKS)
            .where(CHUNKS.c.id == row.id, CHUNKS.c.status == "running", CHUNKS.c.holder == row.holder)
            .values(**values)
        )

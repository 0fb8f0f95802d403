"""A record of every governance run (flow, as_of, what it did, how it ended) for operators and audit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update

from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import FlowRun, Project

RUNS = t(FlowRun)


@contextmanager
def recorded_run(
    app: App, flow: str, as_of: date | None, prefect_flow_run_id: str | None = None
) -> Iterator[dict[str, Any]]:
    """Record a run; the body fills the yielded dict with its statistics. A failure is recorded and re-raised."""
    with unit_of_work(app.engine) as s:
        run_id = s.execute(
            insert(RUNS)
            .values(
                flow=flow,
                as_of=as_of,
                started_at=app.clock(),
                status="running",
                stats={},
                prefect_flow_run_id=prefect_flow_run_id,
            )
            .returning(RUNS.c.id)
        ).scalar_one()
    stats: dict[str, Any] = {}
    try:
        yield stats
    except BaseException as exc:
        with unit_of_work(app.engine) as s:
            s.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id)
                .values(
                    finished_at=app.clock(),
                    status="failed",
                    stats=stats,
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                )
            )
        raise
    with unit_of_work(app.engine) as s:
        s.execute(
            update(RUNS)
            .where(RUNS.c.id == run_id)
            .values(finished_at=app.clock(), status="completed", stats=stats)
        )


def project_id_chunks(app: App, phases: set[str] | frozenset[str], size: int = 2000) -> list[tuple[int, int]]:
    """Inclusive (first id, last id) ranges of at most ``size`` projects in ``phases``: one Prefect task each."""
    p = t(Project)
    with unit_of_work(app.engine, write=False) as s:
        ids = [
            int(i)
            for i in s.execute(select(p.c.id).where(p.c.phase.in_(sorted(phases))).order_by(p.c.id)).scalars()
        ]
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]

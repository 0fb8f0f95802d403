"""``project_tally``: how many projects are in each phase, kept by triggers on ``project`` (migration 0016).

The triggers run in the transaction that writes ``project``, whoever writes it, so the table always equals
:func:`derived` (tests check it after every kind of write). A bulk load that bypasses triggers (PostgreSQL's
``session_replication_role = replica``, as ``bench.national`` loads) runs :data:`DERIVE_SQL` afterwards.

:func:`projects_in` is what a project list's total reads instead of counting the projects.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, String, bindparam, func, select

from govflow.models.tables import Project, ProjectTally

TALLY, PROJECT = ProjectTally.__table__, Project.__table__  # type: ignore[attr-defined]

#: every phase's number derived again from the projects (after a load that bypassed the triggers)
DERIVE_SQL = (
    "UPDATE project_tally SET n = (SELECT count(*) FROM project WHERE project.phase = project_tally.phase)",
    "INSERT INTO project_tally (phase, n) SELECT phase, count(*) FROM project "
    "WHERE phase NOT IN (SELECT phase FROM project_tally) GROUP BY phase",
)


def projects_in(phase: bool) -> Any:
    """The number of projects (in the phase bound as ``phase`` when ``phase``), as a scalar subquery."""
    q = select(func.coalesce(func.sum(TALLY.c.n), 0))
    if phase:
        q = q.where(TALLY.c.phase == bindparam("phase", type_=String))
    return q.correlate(None).scalar_subquery()


def derive(conn: Connection) -> None:
    """Derive every phase's number from the projects again."""
    for statement in DERIVE_SQL:
        conn.exec_driver_sql(statement)


def derived(conn: Connection) -> dict[str, int]:
    """What ``project_tally`` should hold, from the projects (phases with none left out)."""
    q = select(PROJECT.c.phase, func.count()).group_by(PROJECT.c.phase)
    return {str(phase): int(n) for phase, n in conn.execute(q)}


def held(conn: Connection) -> dict[str, int]:
    """What ``project_tally`` holds (phases with none left out)."""
    q = select(TALLY.c.phase, TALLY.c.n).where(TALLY.c.n != 0)
    return {str(phase): int(n) for phase, n in conn.execute(q)}

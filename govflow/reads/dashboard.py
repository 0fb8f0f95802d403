"""Read models of the dashboard beyond the use cases: what a user may fire now, what is still missing
before the next step (the guards run without firing), sharing coverage per department, and SVG charts.

Everything here reads in one read-only unit of work and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from govflow.governance import rectification
from govflow.governance.obligations import PROJECT, coverage_query, read_obligations
from govflow.lifecycle.precheck import EXITS, Check, dry_run
from govflow.lifecycle.services import Actor, App, ProjectView, _project_row, business_date
from govflow.models.db import unit_of_work
from govflow.models.facts import load_facts, t
from govflow.models.tables import Project
from govflow.reads import secrecy
from govflow.states.guards import consulted_departments
from govflow.states.obligations import Coverage, ObligationVerdict, coverage
from govflow.states.permissions import Role, decide
from govflow.states.verdict import Reason


def previews(app: App, code: str, actor_name: str, *, on: date | None = None) -> list[Check]:
    """The next steps of the project (exits left out), each as the dry run judges it now: who may fire it and
    what would be refused (:func:`govflow.lifecycle.precheck.dry_run`, the one judgment every surface shows)."""
    return [c for c in dry_run(app, code, actor_name, on=on) if c.event not in EXITS]


def consulted(app: App, code: str) -> dict[str, str]:
    """Whose opinion the proposal must carry (第九条 征求意见): :func:`govflow.states.guards.consulted_departments`
    on the project's facts — its related departments, and the providers and parties of its catalog and
    agreements; code → ``related`` or ``provider``."""
    with unit_of_work(app.engine, write=False) as s:
        p = _project_row(s, code)
        facts = load_facts(
            s,
            p,
            p["lead_code"],
            frozenset({"departments", "catalog", "agreements"}),
            business_date(app.clock()),
        )
    return consulted_departments(facts)


def opinion_departments(actor: Actor, view: ProjectView, consulted: list[str]) -> list[str]:
    """The departments concerned (``consulted``, 第九条 征求意见) ``actor`` may record an opinion for, for the
    form's choices: the program office any of them; a department user its own, when the permission table lets
    it. ``services.record_opinion`` decides; this only keeps the form honest."""
    denied = decide(
        actor.role,
        "opinion.record",
        user=actor.name,
        user_department=actor.department,
        lead=view.lead_department,
        participants=frozenset(view.departments) | frozenset(consulted),
    )
    if denied is not None:
        return []
    if actor.role is Role.DEPARTMENT:
        return [d for d in consulted if d == actor.department]
    return list(consulted)


#: the order actions of the orders list (the lead department's evidence has its own form)
ORDER_ACTIONS: tuple[str, ...] = ("verify", "reject", "extend", "reopen")


def order_actions(
    actor: Actor, order: rectification.OrderView, unrectified: Reason | None = None
) -> list[str]:
    """The actions ``actor`` may take on ``order`` now, as the order's dry run
    (:func:`govflow.governance.rectification.order_refusals`) judges them: the list shows those forms, the order's
    own page every one with why it would be refused. ``unrectified``: why it cannot be verified today
    (:func:`govflow.governance.rectification.unverifiable`)."""
    refusals = rectification.order_refusals(actor, order, unrectified)
    return [name for name in ORDER_ACTIONS if not refusals[name]]


@dataclass(frozen=True)
class DepartmentCoverage:
    """Sharing coverage of the agreement items a department provides (:func:`govflow.states.obligations.coverage`)."""

    department: str
    department_name: str
    cover: Coverage

    @property
    def due(self) -> int:
        return self.cover.due

    @property
    def delivered(self) -> int:
        return self.cover.delivered

    @property
    def percent(self) -> Decimal:
        return self.cover.percent


def coverage_by_department(
    app: App, on: date, reader: secrecy.Reader | None = None
) -> list[DepartmentCoverage]:
    """Sharing coverage per providing department on ``on``, every project's agreement items judged by the one
    evaluator's rules (第八条 实现进度、更新频度, 第十一条) in one set-based statement
    (:func:`govflow.governance.obligations.coverage_query`, proved to count what
    :func:`govflow.states.obligations.coverage` counts): departments with something due, by code.

    Counts per provider over the whole portfolio; no item's code, name or text is read. With a ``reader`` (a
    page), an item that reader may not see (第二条第三款) is not counted, as the project page leaves it out of the
    project's coverage: not even its count shows. Without one, the system's figures, every item counted, as the
    cut evidence finance and audit see counts them."""
    where = () if reader is None else (secrecy.secret_visible(reader),)
    with unit_of_work(app.engine, write=False) as s:
        conn = s.connection()  # held for the unit of work (reads on PostgreSQL are in autocommit mode)
        if conn.dialect.name != "postgresql":
            rows = conn.execute(coverage_query(on, *where)).all()
        else:
            # the plan's cost (every agreement item, a probe each) crosses PostgreSQL's JIT thresholds, and
            # compiling it with inlining and optimization took 200-300 ms of a statement that runs in 250:
            # off for this statement, back to the server's setting for the pooled connection's next use; and
            # its joins hashed: over every agreement item, the nested loops the planner chose (an index probe
            # into catalog_item per item) took 254 ms where hash joins take 169 (20,000 projects, a program
            # office reader)
            conn.exec_driver_sql("SET jit = off")
            conn.exec_driver_sql("SET enable_nestloop = off")
            try:
                rows = conn.execute(coverage_query(on, *where)).all()
            finally:
                conn.exec_driver_sql("RESET enable_nestloop")
                conn.exec_driver_sql("RESET jit")
    covers = [
        DepartmentCoverage(str(r.provider), str(r.provider_name), Coverage(int(r.due), int(r.delivered)))
        for r in rows
    ]
    return sorted(covers, key=lambda c: c.department)  # by code as Python orders it, whatever the collation


@dataclass(frozen=True)
class ProjectObligations:
    """Every agreement item of one project judged on ``on``, keyed by (agreement, catalog, consumer) codes."""

    on: date
    verdicts: dict[tuple[str, str, str], ObligationVerdict]
    cover: Coverage


def project_obligations(
    app: App, code: str, on: date, reader: secrecy.Reader | None = None
) -> ProjectObligations:
    """The obligations and sharing coverage of one project on ``on`` — the same figures as the cut evidence's.

    With a ``reader`` (a page), an item that reader may not see (第二条第三款) is left out of the verdicts and of
    the coverage, as it is left out of the agreement list beside them: not even its count shows. Without one,
    the figures are the system's, all items counted, as in the cut evidence finance and audit see."""
    with unit_of_work(app.engine, write=False) as s:
        rows = read_obligations(s, on, PROJECT.c.code == code)
        if reader is not None:
            seen = secrecy.visibility(s, reader, project_codes=[code])
            rows = [r for r in rows if not seen.hides(r.catalog, project=code)]
    verdicts = {(r.agreement, r.catalog, r.consumer): r.judge(on) for r in rows}
    return ProjectObligations(on, verdicts, coverage(r.judge(on) for r in rows))


def project_count(app: App) -> int:
    with unit_of_work(app.engine, write=False) as s:
        return int(s.execute(select(func.count()).select_from(t(Project))).scalar_one())

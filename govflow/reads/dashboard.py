"""Read models of the dashboard beyond the use cases: what a user may fire now, what is still missing
before the next step (the guards run without firing), sharing coverage per department, and SVG charts.

Everything here reads in one read-only unit of work and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select

from govflow.governance import rectification
from govflow.lifecycle.services import Actor, App, ProjectView, _project_row, business_date, get_actor
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, PARTS, load_facts, related_departments, t
from govflow.models.tables import Agreement, AgreementItem, CatalogItem, DeliveryEvidence, Project
from govflow.reads import secrecy
from govflow.states.guards import GuardContext, guard_for
from govflow.states.lifecycle import events_from, transition_for
from govflow.states.permissions import TABLE, Role, decide, event_action
from govflow.states.phases import Event, Phase
from govflow.states.verdict import Reason

#: events that only make sense with a reason a person types (the form asks for it)
NEEDS_REASON = frozenset({Event.REFUSE, Event.WITHDRAW, Event.FAIL_ACCEPTANCE})
#: events that are never "the next step" of a project (exits, not progress)
EXITS = frozenset({Event.REFUSE, Event.WITHDRAW, Event.FAIL_ACCEPTANCE, Event.RETIRE})


@dataclass(frozen=True)
class Preview:
    """What the guard of ``event`` would say now, without firing it."""

    event: Event
    target: Phase
    allowed: bool  # the user may fire it (permission table and department scope)
    reasons: tuple[Reason, ...]
    roles: tuple[Role, ...] = ()  # who may fire it (the permission table)

    @property
    def ready(self) -> bool:
        return not self.reasons


def previews(app: App, code: str, actor_name: str, *, on: date | None = None) -> list[Preview]:
    """For each event the lifecycle allows from the project's phase (exits left out): who may fire it and what
    its guard would refuse today. Pure reading: nothing is fired, nothing is audited."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        participants = frozenset(related_departments(s, int(p["id"])))
        source = Phase(p["phase"])
        day = on or business_date(app.clock())
        seen = secrecy.visibility(s, actor, project_ids=[int(p["id"])])  # 第二条第三款: no secret item named
        out: list[Preview] = []
        for ev in events_from(source):
            if ev in EXITS:
                continue
            tr = transition_for(ev, source)
            if tr is None:  # pragma: no cover - events_from only lists events with a transition
                continue
            facts = load_facts(s, p, p["lead_code"], PARTS.get(ev, frozenset()), day)
            verdict = guard_for(ev)(facts, GuardContext(ev, source, day))
            denied = decide(
                actor.role,
                event_action(ev),
                user=actor.name,
                user_department=actor.department,
                lead=p["lead_code"],
                participants=participants,
            )
            roles = tuple(TABLE.get(event_action(ev), {}))
            reasons = seen.reasons(verdict.reasons, code)
            out.append(Preview(ev, Phase(tr.dest), denied is None, reasons, roles))
        return out


def allowed_events(app: App, code: str, actor_name: str) -> list[Event]:
    """The events allowed from the project's phase AND permitted to this user: the buttons on its page."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        participants = frozenset(related_departments(s, int(p["id"])))
        return [
            ev
            for ev in events_from(Phase(p["phase"]))
            if decide(
                actor.role,
                event_action(ev),
                user=actor.name,
                user_department=actor.department,
                lead=p["lead_code"],
                participants=participants,
            )
            is None
        ]


def opinion_departments(actor: Actor, view: ProjectView) -> list[str]:
    """The related departments ``actor`` may record an opinion for (第九条 征求意见), for the form's choices:
    the program office any of them; a department user its own, when the permission table lets it (a related
    department, not the lead). ``services.record_opinion`` decides; this only keeps the form honest."""
    related = frozenset(view.departments)
    denied = decide(
        actor.role,
        "opinion.record",
        user=actor.name,
        user_department=actor.department,
        lead=view.lead_department,
        participants=related,
    )
    if denied is not None:
        return []
    if actor.role is Role.DEPARTMENT:
        return [d for d in view.departments if d == actor.department]
    return list(view.departments)


#: the order actions of the orders page, each with the use case's permission action and allowed statuses
ORDER_ACTIONS: tuple[tuple[str, Any], ...] = (
    ("verify", rectification.VERIFY),
    ("reject", rectification.REJECT),
    ("extend", rectification.EXTEND),
    ("reopen", rectification.REOPEN),
)


def order_actions(actor: Actor, order: rectification.OrderView) -> list[str]:
    """The actions ``actor`` may take on ``order`` now: the permission table allows it and the order's status is
    one the use case accepts. The use cases decide; this only decides which forms to show."""
    return [
        name
        for name, change in ORDER_ACTIONS
        if order.status in change.allowed
        and decide(
            actor.role,
            change.action,
            user=actor.name,
            user_department=actor.department,
            lead=order.department,
        )
        is None
    ]


@dataclass(frozen=True)
class Coverage:
    department: str
    department_name: str
    due: int  # agreement items whose 实现进度 date has passed
    delivered: int  # of those, the ones with any delivery on record

    @property
    def percent(self) -> float:
        return 100.0 * self.delivered / self.due if self.due else 100.0


def coverage_by_department(app: App, on: date) -> list[Coverage]:
    """Sharing coverage per providing department: agreement items due by ``on`` that show any delivery
    (第八条 实现进度, 第十一条). Set-based: one query, grouped in SQL."""
    ai, ag, ci, de = t(AgreementItem), t(Agreement), t(CatalogItem), t(DeliveryEvidence)
    delivered = (
        select(de.c.catalog_item_id, de.c.consumer_id)
        .where(de.c.day <= on)
        .group_by(de.c.catalog_item_id, de.c.consumer_id)
        .subquery()
    )
    q = (
        select(
            DEPT.c.code,
            DEPT.c.name,
            func.count(ai.c.id).label("due"),
            func.count(delivered.c.catalog_item_id).label("delivered"),
        )
        .select_from(ai)
        .join(ag, ag.c.id == ai.c.agreement_id)
        .join(ci, ci.c.id == ai.c.catalog_item_id)
        .join(DEPT, DEPT.c.id == ci.c.provider_id)
        .outerjoin(
            delivered,
            and_(
                delivered.c.catalog_item_id == ai.c.catalog_item_id,
                delivered.c.consumer_id == ai.c.consumer_id,
            ),
        )
        .where(ai.c.due.is_not(None), ai.c.due <= on)
        .group_by(DEPT.c.code, DEPT.c.name)
        .order_by(DEPT.c.code)
    )
    with unit_of_work(app.engine, write=False) as s:
        return [Coverage(str(r.code), str(r.name), int(r.due), int(r.delivered)) for r in s.execute(q)]


def project_count(app: App) -> int:
    with unit_of_work(app.engine, write=False) as s:
        return int(s.execute(select(func.count()).select_from(t(Project))).scalar_one())


def last_deliveries(app: App, code: str) -> dict[tuple[str, str], date]:
    """The last delivery day per (catalog item code, consumer department code) of one project."""
    de, ci = t(DeliveryEvidence), t(CatalogItem)
    q = (
        select(ci.c.code, DEPT.c.code.label("consumer"), func.max(de.c.day).label("last"))
        .select_from(de)
        .join(ci, ci.c.id == de.c.catalog_item_id)
        .join(DEPT, DEPT.c.id == de.c.consumer_id)
        .join(t(Project), t(Project).c.id == de.c.project_id)
        .where(t(Project).c.code == code)
        .group_by(ci.c.code, DEPT.c.code)
    )
    with unit_of_work(app.engine, write=False) as s:
        return {(str(r.code), str(r.consumer)): r.last for r in s.execute(q)}

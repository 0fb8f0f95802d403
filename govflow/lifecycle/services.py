"""The service layer: one use case, one unit of work. CLI, flows, API and web call these and nothing lower.

Every function takes plain values (codes, names, dates), resolves the acting user, checks the permission
table (deny by default) and writes its audit event in the same transaction as its change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Any, ClassVar, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from govflow.governance.outbox import enqueue
from govflow.lifecycle import portfolio, tabular
from govflow.models import audit, calendars
from govflow.models.audit import AuditRecord
from govflow.models.db import make_engine, unit_of_work
from govflow.models.facts import DEPT, PARTS, load_facts, related_departments, t
from govflow.models.policies import active_policy
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    AppUser,
    AuditEvent,
    CatalogAuthorization,
    CatalogItem,
    Opinion,
    OrderStep,
    Project,
    ProjectDepartment,
    RectificationOrder,
    Review,
    ReviewJudgment,
)
from govflow.models.types import utcnow
from govflow.reads import secrecy
from govflow.settings import Settings
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    OutOfScope,
    PermissionDenied,
    RuleRefused,
    UsageError,
)
from govflow.states.guards import GuardContext, guard_for
from govflow.states.lifecycle import events_from, fire, invalid_event, transition_for
from govflow.states.permissions import Role, Scope, allowed_scope, decide, event_action
from govflow.states.phases import Event, Phase, ReviewStage
from govflow.states.sharing import FocusPoint, Judgment, OpinionVerdict
from govflow.states.verdict import Reason

PROJECT, USER = t(Project), t(AppUser)
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class App:
    """What every use case needs: the database, the settings, the calendar and a clock (fixed in tests)."""

    settings: Settings
    engine: Engine
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_settings(cls, settings: Settings) -> App:
        return cls(settings, make_engine(settings.database_url))

    def ready(self) -> App:
        """This app, once its database is known to be at the installed schema (``NotInitialised`` otherwise:
        exit 2 telling the operator to run ``govflow init``). Entry points call it before any use case."""
        from govflow.models import migrate

        try:
            migrate.require_current(self.engine)
        except Exception:
            self.engine.dispose()  # nobody will use this app: return the connection the check took
            raise
        return self

    def today(self) -> date:
        """Today in Beijing by the app's clock."""
        return business_date(self.clock())

    #: how long a long-lived process (API, web) trusts its copy of the stored calendar years before asking again
    CALENDAR_RECHECK_SECONDS: ClassVar[float] = 5.0
    _calendar: WorkCalendar | None = field(default=None, init=False, repr=False, compare=False)
    _calendar_stamp: calendars.Stamp = field(default=(), init=False, repr=False, compare=False)
    _calendar_checked: float = field(default=0.0, init=False, repr=False, compare=False)

    @property
    def calendar(self) -> WorkCalendar:
        """The working-day calendar: packaged years, the years imported into the database (the same for every
        process) and, for tests, the override file. Re-read when an import changed the stored years."""
        now = time.monotonic()
        if self._calendar is None or now - self._calendar_checked >= self.CALENDAR_RECHECK_SECONDS:
            stamp = calendars.calendar_stamp(self.engine)
            if self._calendar is None or stamp != self._calendar_stamp:
                stored = calendars.stored_years(self.engine)
                self._calendar = WorkCalendar.official(self.settings.calendar_file, stored)
                self._calendar_stamp = stamp
            self._calendar_checked = now
        return self._calendar

    def forget_calendar(self) -> None:
        """Read the calendar afresh on next use (after this process imported a year)."""
        self._calendar = None


@dataclass(frozen=True)
class Actor:
    name: str
    role: Role
    department: str | None = None  # department code
    department_id: int | None = None


#: How far ahead of the clock an effective time may lie (clock skew between machines), never more.
FUTURE_TOLERANCE = timedelta(minutes=5)
BEIJING = ZoneInfo("Asia/Shanghai")


def business_date(moment: datetime) -> date:
    """The calendar day a moment falls on in Beijing: deadlines and due dates are Beijing days."""
    return moment.astimezone(BEIJING).date()


#: The local operator: commands run from the server's shell without ``--as``.
OPERATOR = Actor("operator", Role.ADMIN)


_ACTOR_BY_NAME = (
    select(USER.c.name, USER.c.role, USER.c.active, USER.c.department_id, DEPT.c.code)
    .outerjoin(DEPT, DEPT.c.id == USER.c.department_id)
    .where(USER.c.name == bindparam("name"))
)


def get_actor(session: Session, name: str | None) -> Actor:
    if name is None:
        return OPERATOR
    r = session.execute(_ACTOR_BY_NAME, {"name": name}).first()
    if r is None or not r.active:
        raise NotFound(f"用户 {name} 不存在或已停用", f"user {name} does not exist or is inactive")
    return Actor(str(r.name), Role(r.role), r.code, r.department_id)


_PROJECT_BY_CODE = (
    select(
        PROJECT.c.id,
        PROJECT.c.code,
        PROJECT.c.name,
        PROJECT.c.phase,
        PROJECT.c.version,
        PROJECT.c.last_event_at,
        PROJECT.c.om_budget,
        PROJECT.c.created_at,
        PROJECT.c.lead_department_id,
        DEPT.c.code.label("lead_code"),
        DEPT.c.name.label("lead_name"),
    )
    .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
    .where(PROJECT.c.code == bindparam("code"))
)


def project_missing(code: str) -> NotFound:
    """What a reader is told of a project that does not exist, or that it may not see (no existence oracle)."""
    return NotFound(f"项目 {code} 不存在", f"project {code} does not exist")


def _project_row(session: Session, code: str) -> Any:
    r = session.execute(_PROJECT_BY_CODE, {"code": code}).first()
    if r is None:
        raise project_missing(code)
    return r._mapping


def _security_event(app: App, actor: Actor, action: str, reason: Reason, project: str | None) -> None:
    """A denial is itself an audit fact (a security event), written in its own transaction."""
    with unit_of_work(app.engine) as s:
        audit.append(
            s,
            [
                AuditRecord(
                    kind="security",
                    outcome="denied",
                    action=action,
                    actor=actor.name,
                    role=actor.role.value,
                    occurred_at=app.clock(),
                    project_code=project,
                    reasons=[_reason_dict(reason)],
                )
            ],
        )


def use_case(fn: Callable[P, R]) -> Callable[P, R]:
    """Mark a public use case: a permission denial inside it is recorded as a security event after its own
    transaction has rolled back (writing it from inside would wait on that transaction's lock)."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (PermissionDenied, OutOfScope) as exc:
            pending = exc.pending_audit
            if isinstance(pending, _PendingDenial):
                exc.pending_audit = None
                _security_event(pending.app, pending.actor, pending.action, pending.reason, pending.project)
            raise

    return wrapper


@dataclass(frozen=True)
class _PendingDenial:
    app: App
    actor: Actor
    action: str
    reason: Reason
    project: str | None


def authorize(
    app: App,
    session: Session,
    actor: Actor,
    action: str,
    project: Any | None = None,
    *,
    audit_denial: bool = True,
    missing: NotFound | None = None,
) -> None:
    """Deny by default; a denial is written to the audit trail and raised as :class:`PermissionDenied`, or, when
    the actor's department may not even read the project, as :class:`OutOfScope`: the same answer as for a
    record that does not exist (``missing``, by default the project's), so a denial never tells what exists."""
    participants: frozenset[str] = frozenset()
    lead = None
    if project is not None:
        lead = project["lead_code"]
        # only the PARTICIPANT and RELATED scopes look at the related departments
        if allowed_scope(actor.role, action) in (Scope.PARTICIPANT, Scope.RELATED):
            participants = frozenset(related_departments(session, int(project["id"])))
    reason = decide(
        actor.role,
        action,
        user=actor.name,
        user_department=actor.department,
        lead=lead,
        participants=participants,
    )
    if reason is None:
        return
    exc: PermissionDenied | OutOfScope = PermissionDenied([reason])
    if project is not None and not _may_read(session, actor, project):
        exc = OutOfScope(missing or project_missing(str(project["code"])))
    if audit_denial:
        exc.pending_audit = _PendingDenial(
            app, actor, action, reason, project["code"] if project is not None else None
        )
    raise exc


def _may_read(session: Session, actor: Actor, project: Any) -> bool:
    """Whether the project is in the actor's reading scope (``project.read``), denials aside."""
    scope = allowed_scope(actor.role, "project.read")
    if scope is Scope.ALL:
        return True
    if scope is None or actor.department is None:
        return False
    dept = actor.department
    return dept == project["lead_code"] or dept in related_departments(session, int(project["id"]))


def _reason_dict(r: Reason) -> dict[str, Any]:
    d: dict[str, Any] = {"code": r.code, "clause": r.clause, "message": r.message, "message_en": r.message_en}
    if r.path:
        d["path"] = r.path
    if r.detail:
        d["detail"] = r.detail
    return d


E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], value: str, what_zh: str, what_en: str) -> E:
    """A vocabulary value, or a usage error that lists the allowed values."""
    try:
        return kind(value)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in kind)
        raise UsageError(
            f"{what_zh}取值“{value}”无效；可选：{allowed}", f"invalid {what_en} '{value}'; one of: {allowed}"
        ) from exc


def bump_version(session: Session, project_id: int, expected: int | None = None) -> int:
    """Every change to a project or its materials moves its version; a stale ``expected`` is a conflict."""
    cond = PROJECT.c.id == project_id
    if expected is not None:
        cond = and_(cond, PROJECT.c.version == expected)
    res = session.execute(
        update(PROJECT).where(cond).values(version=PROJECT.c.version + 1).returning(PROJECT.c.version)
    )
    row = res.first()
    if row is None:
        raise _conflict(expected)
    return int(row[0])


def _conflict(expected: int | None) -> Conflict:
    return Conflict(
        f"项目已被他人修改（预期版本 {expected}），请刷新后重试",
        f"the project was changed by someone else (expected version {expected}); reload and try again",
    )


# ---------------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class EventResult:
    project: str
    event: Event
    accepted: bool
    from_phase: Phase
    to_phase: Phase
    version: int
    at: datetime
    reasons: tuple[Reason, ...] = ()
    order: str | None = None
    deadline: date | None = None

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {
            "project": self.project,
            "event": self.event.value,
            "accepted": self.accepted,
            "refused": not self.accepted,
            "from": self.from_phase.value,
            "to": self.to_phase.value,
            "phase": self.to_phase.value,
            "version": self.version,
            "at": self.at.isoformat(),
            "reasons": [r.to_dict(lang) for r in self.reasons],
        }
        if self.order:
            out["rectification_order"] = {
                "code": self.order,
                "deadline": self.deadline.isoformat() if self.deadline else None,
            }
        return out


@use_case
def fire_event(
    app: App,
    code: str,
    event: Event | str,
    actor_name: str | None,
    *,
    reason: str | None = None,
    at: datetime | None = None,
    expect_version: int | None = None,
) -> EventResult:
    """Fire a lifecycle event. Optimistic: the project is read, judged, then written only if its version is
    still the one that was judged (or ``expect_version``); otherwise :class:`Conflict` and nothing changes."""
    try:
        ev = Event(event)
    except ValueError as exc:
        raise UsageError(
            f"未知事件 {event}；可用事件：{', '.join(e.value for e in Event)}",
            f"unknown event {event}; events: {', '.join(e.value for e in Event)}",
        ) from exc
    if at is not None and at.tzinfo is None:
        raise UsageError("--at 须带时区（如 2026-03-01T09:00:00+08:00）", "--at needs a timezone offset")
    now = app.clock()
    try:
        when = at.astimezone(UTC) if at is not None else now
    except OverflowError as exc:
        raise UsageError(f"--at 超出可表示的时间范围：{at}", f"--at is out of range: {at}") from exc
    # 1. read and judge (no locks held)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, event_action(ev), p)
        if expect_version is not None and expect_version != int(p["version"]):
            raise _conflict(expect_version)
        source = Phase(p["phase"])
        if transition_for(ev, source) is None:
            raise invalid_event(ev, source)
        if when > now + FUTURE_TOLERANCE:
            raise RuleRefused(
                [
                    Reason(
                        "AT_IN_FUTURE",
                        "govflow 生命周期",
                        f"生效时间 {when.isoformat()} 晚于当前时间：补录历史只能使用过去的时间",
                        f"effective time {when.isoformat()} is in the future; backfilling takes past times only",
                    )
                ]
            )
        if when < p["last_event_at"]:
            raise RuleRefused(
                [
                    Reason(
                        "AT_BEFORE_LAST_EVENT",
                        "govflow 生命周期",
                        f"生效时间 {when.isoformat()} 早于项目最近一次事件 {p['last_event_at'].isoformat()}",
                        f"effective time {when.isoformat()} is earlier than the last event {p['last_event_at'].isoformat()}",
                    )
                ]
            )
        on = business_date(when)
        facts = load_facts(s, p, p["lead_code"], PARTS.get(ev, frozenset()), on)
    judged_version = int(p["version"])
    phase = [source.value]
    outcome = fire(
        lambda: phase[0], lambda v: phase.__setitem__(0, v), facts, GuardContext(ev, source, on, reason)
    )
    # 2. write, if nobody moved the project meanwhile
    order_code: str | None = None
    deadline: date | None = None
    with unit_of_work(app.engine) as s:
        moved = outcome.dest is not source or outcome.accepted
        # A refusal is checked too: it must not be recorded against a phase the project has since left.
        if moved:
            params = {"pid": p["id"], "judged": judged_version, "phase": outcome.dest.value, "at": when}
            row = s.execute(_MOVE_PROJECT, params).first()
        else:
            row = s.execute(_CHECK_PROJECT, {"pid": p["id"], "judged": judged_version}).first()
        if row is None:
            raise _conflict(judged_version)
        version = int(row[0])
        if outcome.accepted and ev is Event.FAIL_ACCEPTANCE:
            order_code, deadline = _open_acceptance_order(app, s, p, on, when, actor, reason)
        if outcome.accepted and ev is Event.PASS_ACCEPTANCE:
            _close_acceptance_orders(s, p, on, when, actor)
        seq = audit.append(
            s,
            [
                AuditRecord(
                    kind="decision",
                    outcome="accepted" if outcome.accepted else "refused",
                    action=ev.value,
                    actor=actor.name,
                    role=actor.role.value,
                    occurred_at=when,
                    project_code=p["code"],
                    from_phase=source.value,
                    to_phase=outcome.dest.value,
                    reasons=[_reason_dict(r) for r in outcome.reasons],
                    note=reason,
                )
            ],
        )
        # the record and the lead department's notice keep every word (the notice is projected for its recipient
        # when it is sent); the actor's answer hides the secret items it may not see (第二条第三款)
        notice = reasons = outcome.reasons
        if reasons:
            reasons = secrecy.visibility(s, actor, project_ids=[int(p["id"])]).reasons(reasons)
        _notify_decision(s, seq, p, ev, outcome.accepted, source, outcome.dest, notice, order_code, deadline)
    return EventResult(
        p["code"], ev, outcome.accepted, source, outcome.dest, version, when, reasons, order_code, deadline
    )


#: the only statement that writes a phase: guarded by the version that was judged (optimistic lock)
_MOVE_PROJECT = (
    update(PROJECT)
    .where(and_(PROJECT.c.id == bindparam("pid"), PROJECT.c.version == bindparam("judged")))
    .values(phase=bindparam("phase"), version=PROJECT.c.version + 1, last_event_at=bindparam("at"))
    .returning(PROJECT.c.version)
)
_CHECK_PROJECT = (
    update(PROJECT)
    .where(and_(PROJECT.c.id == bindparam("pid"), PROJECT.c.version == bindparam("judged")))
    .values(version=PROJECT.c.version)
    .returning(PROJECT.c.version)
)


def _open_acceptance_order(
    app: App, s: Session, p: Any, on: date, when: datetime, actor: Actor, reason: str | None
) -> tuple[str, date]:
    """不予通过验收 opens a 限期整改 order (第十一条) with the reasons the acceptance guard would give now."""
    facts = load_facts(s, p, p["lead_code"], PARTS[Event.PASS_ACCEPTANCE], on)
    reasons = [
        _reason_dict(r)
        for r in guard_for(Event.PASS_ACCEPTANCE)(
            facts, GuardContext(Event.PASS_ACCEPTANCE, Phase.ACCEPTANCE_REVIEW, on)
        ).reasons
    ]
    if reason:
        reasons.append(
            {
                "code": "ACCEPTANCE_FAILED",
                "clause": "733号文 第十一条",
                "message": reason,
                "message_en": reason,
            }
        )
    ro = t(RectificationOrder)
    n = s.execute(select(func.count()).select_from(ro).where(ro.c.project_id == p["id"])).scalar_one()
    code = f"RO-{p['code']}-{int(n) + 1:02d}"
    policy = active_policy(s)
    workdays = policy.rectification.workdays
    deadline = app.calendar.add_workdays(on, workdays)
    order_id = s.execute(
        insert(ro)
        .values(
            code=code,
            project_id=p["id"],
            origin="fail_acceptance",
            reasons=reasons,
            notice_date=on,
            workdays=workdays,
            original_deadline=deadline,
            policy_version=policy.version,
            deadline=deadline,
            status="open",
        )
        .returning(ro.c.id)
    ).scalar_one()
    # its first step, as the deadlines flow writes for the orders it issues
    s.execute(
        insert(t(OrderStep)).values(
            key=f"{code}/issued",
            order_id=order_id,
            kind="issued",
            on=on,
            at=when,
            actor=actor.name,
            note=f"整改期限 {deadline.isoformat()}（通知日后 {workdays} 个工作日，733号文 第十一条）",
            payload={
                "deadline": deadline.isoformat(),
                "workdays": workdays,
                "policy_version": policy.version,
            },
        )
    )
    return code, deadline


def _close_acceptance_orders(s: Session, p: Any, on: date, when: datetime, actor: Actor) -> None:
    """Passing acceptance settles the orders a failed acceptance opened (限期整改 done): close them, on time or
    late, with a step each, so the deadline flow stops reminding and escalating them."""
    ro, st = t(RectificationOrder), t(OrderStep)
    open_orders = s.execute(
        select(ro.c.id, ro.c.code, ro.c.deadline).where(
            ro.c.project_id == p["id"], ro.c.origin == "fail_acceptance", ro.c.status != "closed"
        )
    ).all()
    for oid, code, deadline in open_orders:
        s.execute(
            update(ro)
            .where(ro.c.id == oid)
            .values(
                status="closed",
                closed_on=on,
                closed_late=on > deadline,
                closed_reason="acceptance_passed",
                version=ro.c.version + 1,
            )
        )
        s.execute(
            insert(st).values(
                key=f"{code}/close/acceptance",
                order_id=oid,
                kind="close",
                on=on,
                at=when,
                actor=actor.name,
                note="通过验收，整改完成（733号文 第十一条）",
                payload={"reason": "acceptance_passed", "late": on > deadline},
            )
        )


_NOTIFY = {Event.INTAKE, Event.APPROVE, Event.REFUSE, Event.PASS_ACCEPTANCE, Event.FAIL_ACCEPTANCE}


def _notify_decision(
    s: Session,
    seq: int,
    p: Any,
    ev: Event,
    accepted: bool,
    source: Phase,
    dest: Phase,
    reasons: Sequence[Reason],
    order: str | None,
    deadline: date | None,
) -> None:
    """The program office's decisions are notified to the lead department, via the outbox (sent after commit)."""
    if ev not in _NOTIFY:
        return
    enqueue(
        s,
        f"decision:{seq}",
        f"decision.{ev.value}.{'accepted' if accepted else 'refused'}",
        Role.DEPARTMENT.value,
        {
            "project": p["code"],
            "project_name": p["name"],
            "department": p["lead_code"],
            "event": ev.value,
            "accepted": accepted,
            "from": source.value,
            "to": dest.value,
            "reasons": [_reason_dict(r) for r in reasons],
            "order": order,
            "deadline": deadline.isoformat() if deadline else None,
        },
        project_code=p["code"],
    )


# ---------------------------------------------------------------------------------------------- reads


@dataclass(frozen=True)
class ProjectView:
    code: str
    name: str
    phase: Phase
    version: int
    lead_department: str
    lead_department_name: str
    departments: list[str]
    om_budget: str
    last_event_at: datetime
    next_events: list[Event]
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "phase": self.phase.value,
            "phase_label": self.phase.label(lang),
            "version": self.version,
            "lead_department": self.lead_department,
            "lead_department_name": self.lead_department_name,
            "departments": self.departments,
            "om_budget": self.om_budget,
            "last_event_at": self.last_event_at.isoformat(),
            "next_events": [e.value for e in self.next_events],
            **self.counts,
        }


@use_case
def show_project(app: App, code: str, actor_name: str | None = None) -> ProjectView:
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.read", p)
        departments = related_departments(s, int(p["id"]))
        counts = _material_counts(s, int(p["id"]), actor)
    return ProjectView(
        code=p["code"],
        name=p["name"],
        phase=Phase(p["phase"]),
        version=int(p["version"]),
        lead_department=p["lead_code"],
        lead_department_name=p["lead_name"],
        departments=departments,
        om_budget=f"{p['om_budget']:.2f}",
        last_event_at=p["last_event_at"],
        next_events=events_from(Phase(p["phase"])),
        counts=counts,
    )


def _material_counts_statement() -> Any:
    ci, ag, ai, op, rv = t(CatalogItem), t(Agreement), t(AgreementItem), t(Opinion), t(Review)
    pid: Any = bindparam("project_id")

    def n(table: Any, cond: Any) -> Any:
        return select(func.count()).select_from(table).where(cond).scalar_subquery()

    # 第二条第三款: a secret item the reader may not see is not even counted
    visible = secrecy.secret_visible_bound()
    items = (
        select(func.count())
        .select_from(ai.join(ag, ag.c.id == ai.c.agreement_id).join(ci, ci.c.id == ai.c.catalog_item_id))
        .where(ag.c.project_id == pid, visible)
    )
    return select(
        n(ci, and_(ci.c.project_id == pid, visible)).label("catalog_items"),
        n(ag, ag.c.project_id == pid).label("agreements"),
        items.scalar_subquery().label("agreement_items"),
        n(op, op.c.project_id == pid).label("opinions"),
        n(rv, rv.c.project_id == pid).label("reviews"),
    )


#: built once: a project read is the API's hottest path
_MATERIAL_COUNTS = _material_counts_statement()


def _material_counts(s: Session, project_id: int, reader: Actor) -> dict[str, int]:
    """How many catalog items, agreements, agreement items, opinions and reviews of a project ``reader`` sees:
    one statement."""
    row = s.execute(_MATERIAL_COUNTS, {"project_id": project_id, **secrecy.reader_binds(reader)}).one()
    return {k: int(v) for k, v in row._mapping.items()}


_PROJECT_COLUMNS = (
    PROJECT.c.code,
    PROJECT.c.name,
    PROJECT.c.phase,
    PROJECT.c.version,
    DEPT.c.code.label("lead"),
    DEPT.c.name.label("lead_name"),
)


def _project_filters(
    actor: Actor, phase: str | None, department: str | None, overdue: bool = False
) -> list[ColumnElement[bool]]:
    """What narrows a project list, on the project table alone (so that a page can be found in its indexes)."""
    where: list[ColumnElement[bool]] = []
    if phase:
        where.append(PROJECT.c.phase == Phase(phase).value)
    if department:
        lead = select(DEPT.c.id).where(DEPT.c.code == department).scalar_subquery()
        where.append(PROJECT.c.lead_department_id == lead)
    if overdue:
        # at least one rectification order past its deadline and not under review (限期整改, 第十一条)
        ro = t(RectificationOrder)
        where.append(PROJECT.c.id.in_(select(ro.c.project_id).where(ro.c.status == "overdue")))
    if actor.role is Role.DEPARTMENT:
        pd = t(ProjectDepartment)
        mine = select(pd.c.project_id).where(pd.c.department_id == actor.department_id)
        where.append((PROJECT.c.lead_department_id == actor.department_id) | PROJECT.c.id.in_(mine))
    return where


def _projects_query(actor: Actor, phase: str | None, department: str | None, overdue: bool = False) -> Any:
    return (
        select(*_PROJECT_COLUMNS)
        .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
        .where(*_project_filters(actor, phase, department, overdue))
        .order_by(PROJECT.c.code)
    )


@use_case
def list_projects(
    app: App,
    actor_name: str | None = None,
    *,
    phase: str | None = None,
    department: str | None = None,
    overdue: bool = False,
) -> list[dict[str, Any]]:
    """Every project the actor may see (departments: those they lead or take part in), by code; ``overdue``:
    only those with at least one overdue rectification order."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "project.list")
        return [dict(r._mapping) for r in s.execute(_projects_query(actor, phase, department, overdue))]


@use_case
def page_projects(
    app: App,
    actor_name: str | None,
    *,
    page: int,
    size: int,
    phase: str | None = None,
    department: str | None = None,
    overdue: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """One page of :func:`list_projects` and the total, paged in SQL (a national portfolio has 20,000)."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "project.list")
        where = _project_filters(actor, phase, department, overdue)
        total = int(s.execute(select(func.count()).select_from(PROJECT).where(*where)).scalar_one())
        # the page's ids first, from the code index alone; then their rows (a deep OFFSET over joined rows took
        # 12 ms at page 1,000 of 20,000 projects on SQLite, the ids alone 0.2 ms)
        ids = (
            select(PROJECT.c.id)
            .where(*where)
            .order_by(PROJECT.c.code)
            .limit(size)
            .offset((max(page, 1) - 1) * size)
        )
        rows = s.execute(
            select(*_PROJECT_COLUMNS)
            .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
            .where(PROJECT.c.id.in_(ids))
            .order_by(PROJECT.c.code)
        )
        return [dict(r._mapping) for r in rows], total


@use_case
def project_history(app: App, code: str, actor_name: str | None = None) -> list[dict[str, Any]]:
    """Every accepted and refused event of a project, oldest first, with reasons and clauses."""
    ae = t(AuditEvent)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.history", p)
        q = (
            select(
                ae.c.seq,
                ae.c.kind,
                ae.c.outcome,
                ae.c.action,
                ae.c.actor,
                ae.c.role,
                ae.c.occurred_at,
                ae.c.from_phase,
                ae.c.to_phase,
                ae.c.reasons,
                ae.c.clauses,
                ae.c.note,
            )
            .where(ae.c.project_code == code)
            .order_by(ae.c.seq)
        )
        rows = [dict(r._mapping) for r in s.execute(q)]
        seen = secrecy.visibility(s, actor, project_ids=[int(p["id"])])
    for row in rows:  # 第二条第三款: the record keeps every word, the reader gets what it may see
        row["reasons"] = seen.reason_dicts(row["reasons"], code)
        row["note"] = seen.text(row["note"], project=code)
    return rows


# ---------------------------------------------------------------------------------------------- materials


@use_case
def record_review(
    app: App,
    code: str,
    actor_name: str,
    *,
    stage: str,
    agency: str | None,
    on: date,
    judgments: Mapping[str, tuple[str, str | None]],
    conclusion: str | None,
) -> int:
    """评审意见 (第十条第一款): the review agency judges the five focus points; returns the new version."""
    st = _choice(ReviewStage, stage, "评审阶段", "stage")
    parsed = {
        _choice(FocusPoint, k, "评审重点", "focus point"): (
            _choice(Judgment, v, f"「{k}」的判断", f"judgment of {k}"),
            c,
        )
        for k, (v, c) in judgments.items()
    }
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "review.record", p)
        expected = {
            ReviewStage.PROPOSAL: Phase.PROPOSAL_REVIEW,
            ReviewStage.FEASIBILITY: Phase.FEASIBILITY_REVIEW,
            ReviewStage.DESIGN: Phase.DESIGN_REVIEW,
        }[st]
        if p["phase"] != expected.value:
            raise RuleRefused(
                [
                    Reason(
                        "NOT_IN_REVIEW",
                        "733号文 第十条第一款",
                        f"项目当前阶段为「{Phase(p['phase']).zh}」，不能登记{st.label()}评审意见（须处于「{expected.zh}」）",
                        f"the project is in '{Phase(p['phase']).en}'; a {st.label('en')} review needs '{expected.en}'",
                    )
                ]
            )
        rid = s.execute(
            insert(t(Review))
            .values(
                project_id=p["id"],
                stage=st.value,
                agency=agency or actor.name,
                reviewed_on=on,
                conclusion=conclusion,
            )
            .returning(t(Review).c.id)
        ).scalar_one()
        if parsed:
            s.execute(
                insert(t(ReviewJudgment)),
                [
                    {"review_id": rid, "focus_point": k.value, "judgment": v.value, "comment": c}
                    for k, (v, c) in parsed.items()
                ],
            )
        version = bump_version(s, int(p["id"]))
        missing = [fp for fp in FocusPoint if fp not in parsed]
        _materials_audit(
            app,
            s,
            actor,
            code,
            "review.record",
            f"{st.value}: "
            + ", ".join(f"{k.value}={v.value}" for k, (v, _) in parsed.items())
            + (f"; 未判断: {', '.join(m.value for m in missing)}" if missing else ""),
            "733号文 第十条第一款",
        )
        return version


@use_case
def record_opinion(
    app: App,
    code: str,
    actor_name: str,
    *,
    department: str,
    on: date,
    verdict: str,
    unmet_needs: list[dict[str, str | None]],
    comment: str | None,
) -> int:
    """征求意见 (第九条): a related department's opinion, entered by itself or by the program office."""
    try:
        v = OpinionVerdict(verdict)
    except ValueError as exc:
        raise UsageError(
            f"意见结论 {verdict} 无效；可选：{', '.join(x.value for x in OpinionVerdict)}",
            f"invalid verdict {verdict}; one of {', '.join(x.value for x in OpinionVerdict)}",
        ) from exc
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "opinion.record", p)
        needs = [n for n in unmet_needs if str(n.get("name") or "").strip()]
        if len(needs) != len(unmet_needs) or (v is OpinionVerdict.UNMET_NEEDS and not needs):
            raise RuleRefused(
                [
                    Reason(
                        "UNMET_NEEDS_NOT_LISTED",
                        "733号文 第九条",
                        f"部门 {department} 的意见为“需求未满足”时须列出未满足的共享需求，且每项需求须有名称",
                        f"an opinion of {department} saying needs are unmet must list them, each with a name",
                        "unmet_needs",
                        {"department": department},
                    )
                ]
            )
        related = related_departments(s, int(p["id"]))
        if department not in related or (actor.role is Role.DEPARTMENT and actor.department != department):
            raise RuleRefused(
                [
                    Reason(
                        "NOT_RELATED_DEPARTMENT",
                        "733号文 第九条",
                        f"部门 {department} 不是项目 {code} 的相关部门，或登记人无权代其出具意见",
                        f"department {department} is not a related department of {code}, or the user may not speak for it",
                    )
                ]
            )
        dept_id, dept_name = s.execute(select(DEPT.c.id, DEPT.c.name).where(DEPT.c.code == department)).one()
        s.execute(
            insert(t(Opinion)).values(
                project_id=p["id"],
                department_id=dept_id,
                given_on=on,
                verdict=v.value,
                unmet_needs=unmet_needs,
                comment=comment,
            )
        )
        version = bump_version(s, int(p["id"]))
        _materials_audit(
            app,
            s,
            actor,
            code,
            "opinion.record",
            f"{dept_name}（{department}）意见：{v.label()}"
            + (
                f"；未满足的共享需求：{'、'.join(str(n.get('name')) for n in unmet_needs)}"
                if unmet_needs
                else ""
            ),
            "733号文 第九条",
        )
        return version


def verify_audit(app: App) -> audit.ChainReport:
    with unit_of_work(app.engine, write=False) as s:
        return audit.verify(s)


@use_case
def add_user(
    app: App,
    actor_name: str | None,
    *,
    name: str,
    role: str,
    department: str | None,
    display_name: str | None,
) -> None:
    try:
        r = Role(role)
    except ValueError as exc:
        raise UsageError(
            f"角色 {role} 无效；可选：{', '.join(x.value for x in Role)}", f"invalid role {role}"
        ) from exc
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "user.admin")
        dept_id = None
        if department:
            dept_id = s.execute(select(DEPT.c.id).where(DEPT.c.code == department)).scalar()
            if dept_id is None:
                raise NotFound(f"部门 {department} 不存在", f"department {department} does not exist")
        elif r is Role.DEPARTMENT:
            raise UsageError("建设部门用户须指定 --department", "a department user needs --department")
        if s.execute(select(USER.c.id).where(USER.c.name == name)).first() is not None:
            raise Conflict(f"用户 {name} 已存在", f"user {name} already exists")
        s.execute(
            insert(USER).values(
                name=name, role=r.value, department_id=dept_id, display_name=display_name, active=True
            )
        )
        audit.append(
            s,
            [
                AuditRecord(
                    kind="security",
                    outcome="recorded",
                    action="user.add",
                    actor=actor.name,
                    role=actor.role.value,
                    occurred_at=app.clock(),
                    note=f"{name} ({r.value}, {department or '-'})",
                )
            ],
        )


def department_names(session: Session) -> dict[str, str]:
    return {str(c): str(n) for c, n in session.execute(select(DEPT.c.code, DEPT.c.name))}


def init_db(app: App) -> tuple[str | None, str]:
    """Create or migrate the database to the newest schema; returns (revision before, revision after)."""
    from govflow.models import migrate

    before = migrate.current(app.engine)
    migrate.upgrade(app.engine)
    return before, migrate.head()


# ---------------------------------------------------------------------------------------------- bulk input


@use_case
def load_portfolio(app: App, path: Path, actor_name: str | None = None) -> portfolio.LoadSummary:
    """`govflow load FILE`: the whole document is checked first and written in one transaction, or nothing is."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "portfolio.load")  # before reading a file the actor may not load at all
    # shape errors do not stop here: load() reports them with the rule breaches of the rows that parsed
    parsed = portfolio.parse_document(path)
    with unit_of_work(app.engine) as s:
        # creating users (possibly admins) is user administration, even when their rows are malformed
        if parsed.doc.users or "users" in parsed.kept:
            authorize(app, s, actor, "user.admin")
        now = app.clock()
        return portfolio.load(s, parsed, actor=actor.name, role=actor.role.value, now=now, today=now.date())


@use_case
def import_evidence(app: App, path: Path, actor_name: str | None = None, *, replace: bool = False) -> int:
    """Delivery evidence from a CSV/XLSX export of the exchange platform; all rows or none.

    The file is read and checked (:mod:`govflow.lifecycle.evidence`) between two transactions: a read that resolves the
    actor, refuses a role that may not import at all and loads the codes rows may name, and the write, which
    checks the department scope on every project the file names (before any row error is shown: a report
    must not tell a department about projects it may not see), refuses a file imported before (same SHA-256),
    writes the sums — refusing every row whose (item, consumer, day) is already on record, unless ``replace``
    — and records one audit event. Reading a million rows inside the write transaction would hold SQLite's
    write lock for seconds.
    """
    from govflow.lifecycle import evidence  # imported here: the rest of this module does not need it

    action = "evidence.import"
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, action)
        refs = evidence.References.load(s)
    batch = evidence.read_evidence(path, refs, app.clock().date())
    with unit_of_work(app.engine) as s:
        evidence.lock(s)  # one import at a time: the same file twice at once is recorded once
        # the department scope on every project named, read in bulk; a refusal goes through authorize
        codes, refused = evidence.refused_project(
            s, actor.role, action, actor.name, actor.department, batch.project_ids
        )
        if refused is not None:
            authorize(app, s, actor, action, _project_row(s, refused))
        evidence.refuse_if_imported(s, batch)
        written = evidence.write_evidence(s, batch, replace=replace)  # or every bad row, raised at once
        audit.append(
            s,
            [
                AuditRecord(
                    kind="data",
                    outcome="recorded",
                    action=action,
                    actor=actor.name,
                    role=actor.role.value,
                    occurred_at=app.clock(),
                    note=evidence.audit_note(batch, written, codes),
                )
            ],
        )
        return written.keys


#: phases in which the lead department may still change its catalog (the proposal, or its refinement, 第九条)
CATALOG_EDIT_PHASES = frozenset({Phase.DRAFT, Phase.PROPOSAL_APPROVED, Phase.REJECTED})


@use_case
def import_catalog(app: App, code: str, path: Path, actor_name: str) -> dict[str, int]:
    """共享信息目录 from CSV/XLSX into a project: new codes are added, known codes are refined in place.

    All or nothing: shape, rule and reference problems of every row are reported together, once.
    """
    rows = tabular.read_catalog(path)  # an unreadable file or a wrong header is refused here; bad rows below
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "catalog.import", p)
        if Phase(p["phase"]) not in CATALOG_EDIT_PHASES:
            allowed = "、".join(ph.zh for ph in sorted(CATALOG_EDIT_PHASES))
            raise RuleRefused(
                [
                    Reason(
                        "CATALOG_LOCKED",
                        "733号文 第九条",
                        f"项目处于「{Phase(p['phase']).zh}」，共享信息目录只能在{allowed}阶段编制或细化",
                        f"the project is in '{Phase(p['phase']).en}'; its catalog can only change in draft, "
                        "proposal approved or rejected",
                    )
                ]
            )
        departments = set(s.execute(select(DEPT.c.code)).scalars())
        reasons = tabular.catalog_problems(rows, departments)
        if reasons:
            raise InvalidInput(reasons)
        items = rows.values
        ci, auth = t(CatalogItem), t(CatalogAuthorization)
        dept_id = {str(c): int(i) for i, c in s.execute(select(DEPT.c.id, DEPT.c.code))}
        known = {
            str(c): int(i) for i, c in s.execute(select(ci.c.id, ci.c.code).where(ci.c.project_id == p["id"]))
        }
        added = refined = 0
        for item in items:
            values = portfolio.catalog_values(item, int(p["id"]), dept_id[item.provider])
            if item.code in known:
                item_id = known[item.code]
                s.execute(update(ci).where(ci.c.id == item_id).values(**values))
                s.execute(delete(auth).where(auth.c.catalog_item_id == item_id))
                refined += 1
            else:
                item_id = s.execute(insert(ci).values(**values).returning(ci.c.id)).scalar_one()
                added += 1
            if item.authorized_codes:
                s.execute(
                    insert(auth),
                    [
                        {"catalog_item_id": item_id, "department_id": dept_id[c]}
                        for c in dict.fromkeys(item.authorized_codes)
                    ],
                )
        version = bump_version(s, int(p["id"]))
        _materials_audit(
            app,
            s,
            actor,
            code,
            "catalog.import",
            f"{path.name}: 新增 {added} 条，细化 {refined} 条",
            "733号文 第九条",
        )
        return {"added": added, "refined": refined, "version": version}


#: phases in which the lead department may still change its proposal materials (needs analysis)
PROPOSAL_EDIT_PHASES = frozenset({Phase.DRAFT, Phase.REJECTED})


def _edit_refused(
    code: str, phase: Phase, what_zh: str, what_en: str, allowed: frozenset[Phase], cite: str
) -> RuleRefused:
    names = "、".join(p.zh for p in sorted(allowed))
    return RuleRefused(
        [
            Reason(
                "MATERIALS_LOCKED",
                cite,
                f"项目 {code} 处于「{phase.zh}」，{what_zh}只能在{names}阶段修改",
                f"project {code} is in '{phase.en}'; its {what_en} can only change in "
                + ", ".join(p.en for p in sorted(allowed)),
            )
        ]
    )


def _materials_audit(
    app: App, s: Session, actor: Actor, code: str, action: str, note: str, cite: str
) -> None:
    audit.append(
        s,
        [
            AuditRecord(
                kind="data",
                outcome="recorded",
                action=action,
                actor=actor.name,
                role=actor.role.value,
                occurred_at=app.clock(),
                project_code=code,
                note=note,
                clauses=[cite],
            )
        ],
    )


@use_case
def add_agreements(app: App, code: str, path: Path, actor_name: str) -> dict[str, int]:
    """信息共享协定或联合发文 (第八条) from a YAML/JSON file into an existing project, all or nothing.

    Agreements are added, never overwritten (a signed agreement is a record); any phase before the project's
    end, since 第八条 asks that authorizations be adjusted while the system runs too."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "project.edit", _project_row(s, code))
    agreements = portfolio.parse_agreements(path)
    with unit_of_work(app.engine) as s:
        p = _project_row(s, code)
        authorize(app, s, actor, "project.edit", p)
        phase = Phase(p["phase"])
        if phase in (Phase.RETIRED, Phase.WITHDRAWN):
            allowed = frozenset(Phase) - {Phase.RETIRED, Phase.WITHDRAWN}
            raise _edit_refused(code, phase, "共享协定", "agreements", allowed, "733号文 第八条")
        ci, ag = t(CatalogItem), t(Agreement)
        reasons = portfolio.check_new_agreements(
            agreements,
            project=code,
            catalog=set(s.execute(select(ci.c.code).where(ci.c.project_id == p["id"])).scalars()),
            existing_codes=set(s.execute(select(ag.c.code).where(ag.c.project_id == p["id"])).scalars()),
            departments=set(s.execute(select(DEPT.c.code)).scalars()),
        )
        if reasons:
            raise InvalidInput(reasons)
        written = portfolio.write_agreements(s, code, int(p["id"]), agreements)
        version = bump_version(s, int(p["id"]))
        _materials_audit(
            app, s, actor, code, "agreement.add",
            f"{path.name}: 协定 {', '.join(a.code for a in agreements)}（{written['agreement_items']} 个条目）",
            "733号文 第八条",
        )  # fmt: skip
        return {**written, "version": version}


@use_case
def set_needs_analysis(
    app: App,
    code: str,
    actor_name: str,
    *,
    internal: str | None,
    external: str | None,
    central_local: str | None,
) -> int:
    """需求分析 (第九条): the three dimensions of sharing needs; given dimensions replace the recorded ones."""
    from govflow.models.tables import NeedsAnalysis

    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.edit", p)
        if Phase(p["phase"]) not in PROPOSAL_EDIT_PHASES:
            raise _edit_refused(
                code, Phase(p["phase"]), "需求分析", "needs analysis", PROPOSAL_EDIT_PHASES, "733号文 第九条"
            )
        na = t(NeedsAnalysis)
        given = {
            k: v
            for k, v in (("internal", internal), ("external", external), ("central_local", central_local))
            if v is not None
        }
        if not given:
            raise UsageError(
                "至少给出一个维度（--internal / --external / --central-local）", "give at least one dimension"
            )
        if s.execute(select(na.c.id).where(na.c.project_id == p["id"])).first() is None:
            s.execute(insert(na).values(project_id=p["id"], needs=[], **given))
        else:
            s.execute(update(na).where(na.c.project_id == p["id"]).values(**given))
        version = bump_version(s, int(p["id"]))
        _materials_audit(app, s, actor, code, "needs.set", "需求分析：" + "、".join(given), "733号文 第九条")
        return version

"""What every use case shares: the application (database, settings, calendar, clock), the acting user, the
permission check that records denials, optimistic locking, and setting up the database and users."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import wraps
from typing import Any, ClassVar, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, bindparam, insert, select, update
from sqlmodel import Session

from govflow.governance import anchoring
from govflow.models import audit, calendars
from govflow.models.audit import AuditRecord
from govflow.models.db import make_engine, require_schema, unit_of_work
from govflow.models.facts import DEPT, related_departments, t
from govflow.models.tables import (
    AppUser,
    Project,
)
from govflow.models.types import utcnow
from govflow.settings import Settings
from govflow.states import inputs
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import Conflict, NotFound, OutOfScope, PermissionDenied, UsageError
from govflow.states.permissions import Role, Scope, allowed_scope, decide
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
        try:
            require_schema(self.engine)
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


def get_actor(session: Session, name: str | Actor | None) -> Actor:
    """The active user ``name`` (None: the local operator). An :class:`Actor` is taken as it is: an entry point
    that has just resolved it (the API, from a token or a session in the same request) saves the read."""
    if name is None:
        return OPERATOR
    if isinstance(name, Actor):
        return name
    r = session.execute(_ACTOR_BY_NAME, {"name": name}).first()
    if r is None or not r.active:
        raise NotFound(f"用户 {name} 不存在或已停用", f"user {name} does not exist or is inactive")
    return Actor(str(r.name), Role(r.role), r.code, r.department_id)


#: a project and its lead department by code (``:code``)
PROJECT_BY_CODE = (
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
    r = session.execute(PROJECT_BY_CODE, {"code": code}).first()
    if r is None:
        raise project_missing(code)
    return r._mapping


def record_change(
    app: App,
    s: Session,
    actor: Actor,
    action: str,
    *,
    kind: str = "data",
    outcome: str = "recorded",
    at: datetime | None = None,
    **fields: Any,
) -> None:
    """Append to the trail, in the unit of work ``s``, the one event of ``actor``'s ``action`` (its name and role,
    at the app's clock unless ``at``); ``fields`` are the rest of :class:`AuditRecord` (project, note, clauses …)."""
    record = AuditRecord(
        kind=kind,
        outcome=outcome,
        action=action,
        actor=actor.name,
        role=actor.role.value,
        occurred_at=at or app.clock(),
        **fields,
    )
    audit.append(s, [record])


def _security_event(app: App, actor: Actor, action: str, reason: Reason, project: str | None) -> None:
    """A denial is itself an audit fact (a security event), written in its own transaction."""
    with unit_of_work(app.engine) as s:
        record_change(
            app,
            s,
            actor,
            action,
            kind="security",
            outcome="denied",
            project_code=project,
            reasons=[_reason_dict(reason)],
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
    related: Collection[str] | None = None,
) -> None:
    """Deny by default; a denial is written to the audit trail and raised as :class:`PermissionDenied`, or, when
    the actor's department may not even read the project, as :class:`OutOfScope`: the same answer as for a
    record that does not exist (``missing``, by default the project's), so a denial never tells what exists.
    A caller that has read the project's related departments with it passes them (``related``), else they are
    read here when the scope needs them."""
    participants: frozenset[str] = frozenset()
    lead = None
    if project is not None:
        lead = project["lead_code"]
        # only the PARTICIPANT and RELATED scopes look at the related departments
        if allowed_scope(actor.role, action) in (Scope.PARTICIPANT, Scope.RELATED):
            participants = frozenset(
                related if related is not None else related_departments(session, int(project["id"]))
            )
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
    if project is not None and not _may_read(session, actor, project, related):
        exc = OutOfScope(missing or project_missing(str(project["code"])))
    if audit_denial:
        exc.pending_audit = _PendingDenial(
            app, actor, action, reason, project["code"] if project is not None else None
        )
    raise exc


def _may_read(session: Session, actor: Actor, project: Any, related: Collection[str] | None = None) -> bool:
    """Whether the project is in the actor's reading scope (``project.read``), denials aside."""
    scope = allowed_scope(actor.role, "project.read")
    if scope is Scope.ALL:
        return True
    if scope is None or actor.department is None:
        return False
    dept = actor.department
    if dept == project["lead_code"]:
        return True
    return dept in (related if related is not None else related_departments(session, int(project["id"])))


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


def verify_audit(app: App) -> audit.ChainReport:
    """The hash chain, held to the anchors outside the database when they are configured."""
    return anchoring.verify(app.engine, app.settings)


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
    inputs.require_text({"name": (name, True), "display_name": (display_name, True)})
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
        record_change(
            app, s, actor, "user.add", kind="security", note=f"{name} ({r.value}, {department or '-'})"
        )


def department_names(session: Session) -> dict[str, str]:
    return {str(c): str(n) for c, n in session.execute(select(DEPT.c.code, DEPT.c.name))}


def init_db(app: App) -> tuple[str | None, str]:
    """Create or migrate the database to the newest schema; returns (revision before, revision after)."""
    from govflow.models import migrate

    before = migrate.current(app.engine)
    migrate.upgrade(app.engine)
    return before, migrate.head()

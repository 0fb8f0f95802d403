"""The lists people work with on the dashboard (issue 12 item 4): the pipeline board's projects, rectification
orders, the overdue list and cut recommendations — searched, filtered, sorted and paged in SQL.

Each use case checks the permission table and narrows the rows to what the reader may see *in the query* (a
department user: the projects it leads or takes part in), before any count or page is taken; what the page shows
of a row (secret items, 第二条第三款) is then projected by :mod:`govflow.reads.governed` for the reader, as on
every other surface. A page never fetches more rows than it shows (a national portfolio has 20,000 projects).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal_column, or_, select
from sqlmodel import Session

from govflow.governance import cut_assessment
from govflow.governance import cuts as cut_module
from govflow.governance.cuts import CutView
from govflow.governance.orders import ORDER, PROJECT, STEP, OrderView, StepView, order_query, order_view
from govflow.governance.policy_service import active_policy
from govflow.lifecycle.core import Actor, App, authorize, get_actor, use_case
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import CatalogItem, CutRecommendation, ProjectDepartment
from govflow.reads import governed
from govflow.states.errors import CalendarDataMissing, UsageError
from govflow.states.permissions import Role
from govflow.states.phases import Phase
from govflow.states.vocabulary import CutStatus, OrderStatus

CUT = t(CutRecommendation)
#: rows on one page of a list unless the reader asks for another size
PAGE_SIZE = 20
#: a reader may ask for up to this many rows a page
MAX_SIZE = 200


@dataclass(frozen=True)
class ListQuery:
    """What a reader asked of a list: words to search for, filters, a sort and a page."""

    q: str | None = None
    department: str | None = None
    phase: str | None = None
    status: str | None = None
    overdue: bool = False
    sort: str | None = None
    desc: bool = False
    page: int = 1
    size: int = PAGE_SIZE

    def __post_init__(self) -> None:
        object.__setattr__(self, "page", max(int(self.page), 1))
        object.__setattr__(self, "size", min(max(int(self.size), 1), MAX_SIZE))
        q = (self.q or "").strip()[:100]
        object.__setattr__(self, "q", q or None)
        if self.phase is not None and self.phase not in {p.value for p in Phase}:
            raise UsageError(f"阶段 {self.phase} 无效", f"invalid phase {self.phase}")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere (its own % and _ taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(q: str | None, *columns: Any) -> list[ColumnElement[bool]]:
    if not q:
        return []
    pattern = like_pattern(q)
    return [or_(*(c.ilike(pattern, escape="\\") for c in columns))]


def _department_scope(actor: Actor) -> list[ColumnElement[bool]]:
    """A department user reads the projects it leads or takes part in; other roles all (permission table)."""
    if actor.role is not Role.DEPARTMENT:
        return []
    pd = t(ProjectDepartment)
    mine = select(pd.c.project_id).where(pd.c.department_id == actor.department_id)
    return [or_(PROJECT.c.lead_department_id == actor.department_id, PROJECT.c.id.in_(mine))]


def _lead_is(department: str | None) -> list[ColumnElement[bool]]:
    if not department:
        return []
    lead = select(DEPT.c.id).where(DEPT.c.code == department).scalar_subquery()
    return [PROJECT.c.lead_department_id == lead]


def _phase_order() -> Any:
    """A project's phase in lifecycle order (the board's columns), for sorting."""
    return case({p.value: i for i, p in enumerate(Phase)}, value=PROJECT.c.phase, else_=len(Phase))


def _ordered(columns: dict[str, Any], query: ListQuery, default: str, tie: Any) -> list[Any]:
    key = query.sort if query.sort in columns else default
    col = columns[key]
    return [col.desc() if query.desc else col.asc(), tie]


# ---------------------------------------------------------------------------------------------- projects


@dataclass(frozen=True)
class BoardPage:
    """The board for one query: projects per phase (all phases, on the other filters), the first cards of each
    column, and one page of the sortable project list."""

    counts: dict[str, int]
    cards: dict[str, list[dict[str, Any]]]
    items: list[dict[str, Any]]
    total: int
    page: int
    size: int


_PROJECT_COLUMNS = (
    PROJECT.c.code,
    PROJECT.c.name,
    PROJECT.c.phase,
    PROJECT.c.version,
    PROJECT.c.last_event_at,
    DEPT.c.code.label("lead"),
    DEPT.c.name.label("lead_name"),
)
PROJECT_SORTS = ("code", "name", "phase", "lead", "last_event")


def _project_where(actor: Actor, query: ListQuery, *, phase: bool = True) -> list[ColumnElement[bool]]:
    where = [*_department_scope(actor), *_lead_is(query.department)]
    where += _search(query.q, PROJECT.c.code, PROJECT.c.name)
    if phase and query.phase:
        where.append(PROJECT.c.phase == query.phase)
    if query.overdue:
        # at least one rectification order past its deadline (限期整改, 第十一条)
        where.append(PROJECT.c.id.in_(select(ORDER.c.project_id).where(ORDER.c.status == "overdue")))
    return where


@use_case
def board(app: App, actor_name: str, query: ListQuery, *, cards: int = 12) -> BoardPage:
    """The pipeline board for ``query`` (search in code and name, lead department, phase, overdue)."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "project.list")
        where = _project_where(actor, query, phase=False)
        counts = {
            str(ph): int(n)
            for ph, n in s.execute(
                select(PROJECT.c.phase, func.count()).where(*where).group_by(PROJECT.c.phase)
            )
        }
        if query.phase:
            where.append(PROJECT.c.phase == query.phase)
        total = sum(counts.values()) if not query.phase else counts.get(query.phase, 0)
        by_phase: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # the first cards of each column, in one pass over the projects alone: numbered within their phase,
        # the first ``cards`` of each kept, then joined to their lead department
        numbered = (
            select(
                PROJECT.c.id,
                func.row_number().over(partition_by=PROJECT.c.phase, order_by=PROJECT.c.code).label("n"),
            )
            .where(*where)
            .subquery()
        )
        if cards > 0:
            first = (
                select(*_PROJECT_COLUMNS)
                .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
                .where(PROJECT.c.id.in_(select(numbered.c.id).where(numbered.c.n <= cards)))
                .order_by(PROJECT.c.phase, PROJECT.c.code)
            )
            for r in s.execute(first):
                by_phase[str(r.phase)].append(dict(r._mapping))
        sorts = {
            "code": PROJECT.c.code,
            "name": PROJECT.c.name,
            "phase": _phase_order(),
            "lead": DEPT.c.name,
            "last_event": PROJECT.c.last_event_at,
        }
        order = _ordered(sorts, query, "code", PROJECT.c.code)
        # the page's ids first, from the project table alone (a deep page sorts narrow rows), then their rows;
        # sorting by the lead department's name needs the join
        ids = select(PROJECT.c.id).where(*where)
        if query.sort == "lead":
            ids = ids.join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
        chosen = ids.order_by(*order).limit(query.size).offset(query.offset)
        q = (
            select(*_PROJECT_COLUMNS)
            .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
            .where(PROJECT.c.id.in_(chosen))
            .order_by(*order)
        )
        items = [dict(r._mapping) for r in s.execute(q)]
    return BoardPage(counts, dict(by_phase), items, total, query.page, query.size)


def providers(app: App) -> int:
    """How many departments provide a catalog item: the bars of the board's coverage chart at most (a chart
    sized before it is drawn). One count over the catalog."""
    ci = t(CatalogItem)
    with unit_of_work(app.engine, write=False) as s:
        return int(s.execute(select(func.count(func.distinct(ci.c.provider_id)))).scalar_one())


# ---------------------------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class OrderLine:
    """One order with its steps (oldest first) and, while it is not closed, the working days it is overdue on
    ``as_of`` (SPEC §4: the working days after the deadline up to and including that day; 0 before). None: the
    count reaches into a year the working-day calendar has no data for yet (the page still shows the order)."""

    order: OrderView
    overdue_workdays: int | None
    #: the policy's escalation step reached (its level and name), for the overdue list
    escalation: tuple[int, str | None] = (0, None)


@dataclass(frozen=True)
class OrderPage:
    items: list[OrderLine]
    total: int
    page: int
    size: int
    #: orders per status among those the query matches whatever their status (the status filter's counts)
    counts: dict[str, int] = field(default_factory=dict)


ORDER_SORTS = ("urgency", "deadline", "notice_date", "project", "code", "department")
_RANK = case(
    {
        OrderStatus.OVERDUE.value: 0,
        OrderStatus.EVIDENCE_SUBMITTED.value: 1,
        OrderStatus.OPEN.value: 2,
        OrderStatus.CLOSED.value: 3,
    },
    value=ORDER.c.status,
    else_=4,
)


def _order_where(app: App, s: Session, actor: Actor, query: ListQuery) -> list[ColumnElement[bool]]:
    authorize(app, s, actor, "order.read")
    where = [*_department_scope(actor), *_lead_is(query.department)]
    where += _search(query.q, ORDER.c.code, PROJECT.c.code, PROJECT.c.name)
    if query.phase:
        where.append(PROJECT.c.phase == query.phase)
    if query.overdue:
        where.append(ORDER.c.status == OrderStatus.OVERDUE.value)
    return where


def _order_sorts() -> dict[str, Any]:
    # a pending deadline (期限待定, NULL) lies in a year not yet known: after every known one
    pending_last = case((ORDER.c.deadline.is_(None), 1), else_=0)
    return {
        "urgency": _RANK,
        "deadline": pending_last,
        "notice_date": ORDER.c.notice_date,
        "project": PROJECT.c.code,
        "code": ORDER.c.code,
        "department": literal_column("lead_name"),  # order_query's label of the lead department's name
    }


def _order_by(query: ListQuery, default: str) -> list[Any]:
    sorts = _order_sorts()
    key = query.sort if query.sort in sorts else default
    then = [ORDER.c.deadline.desc() if query.desc else ORDER.c.deadline.asc(), ORDER.c.code]
    if key == "deadline":
        first = sorts["deadline"]
        return [first, *then]
    col = sorts[key]
    if key == "urgency":  # most urgent first; "desc" turns the whole order round
        return [col.desc() if query.desc else col.asc(), sorts["deadline"], *then]
    return [col.desc() if query.desc else col.asc(), ORDER.c.code]


def _status_ok(status: str | None) -> str | None:
    if status is not None and status not in {st.value for st in OrderStatus}:
        raise UsageError(
            f"状态 {status} 无效；可选：{', '.join(st.value for st in OrderStatus)}",
            f"invalid status {status}; one of {', '.join(st.value for st in OrderStatus)}",
        )
    return status


@use_case
def orders(app: App, actor_name: str, query: ListQuery, *, as_of: date, open_only: bool = False) -> OrderPage:
    """A page of the rectification orders the reader may read (search in the order's and project's code and the
    project's name; lead department, project phase, status, overdue), with their steps, as the reader may see
    them. Default order: most urgent first (overdue, awaiting verification, open, closed), then by deadline.
    ``open_only``: the orders not closed yet (the department page's)."""
    status = _status_ok(query.status)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        where = _order_where(app, s, actor, query)
        if open_only:
            where.append(ORDER.c.status != OrderStatus.CLOSED.value)
        base = order_query().where(*where)
        counts = {st.value: 0 for st in OrderStatus}
        for st, n in s.execute(
            select(ORDER.c.status, func.count())
            .select_from(ORDER.join(PROJECT, PROJECT.c.id == ORDER.c.project_id))
            .where(*where)
            .group_by(ORDER.c.status)
        ):
            counts[str(st)] = int(n)
        if status is not None:
            base = base.where(ORDER.c.status == status)
        total = counts.get(status, 0) if status else sum(counts.values())
        rows = list(
            s.execute(base.order_by(*_order_by(query, "urgency")).limit(query.size).offset(query.offset))
        )
        views = [order_view(r) for r in rows]
        views = _with_steps(s, views)
        views = governed.seen_orders(s, actor, views)
    return OrderPage(_lines(app, views, as_of), total, query.page, query.size, counts)


def _with_steps(s: Session, views: list[OrderView]) -> list[OrderView]:
    if not views:
        return views
    q = (
        select(ORDER.c.code.label("order_code"), STEP)
        .join(ORDER, ORDER.c.id == STEP.c.order_id)
        .where(ORDER.c.code.in_([v.code for v in views]))
        .order_by(STEP.c.order_id, STEP.c.id)
    )
    steps: dict[str, list[StepView]] = defaultdict(list)
    for r in s.execute(q):
        steps[str(r.order_code)].append(
            StepView(r.key, r.kind, r.on, r.at, r.actor, r.note, dict(r.payload or {}))
        )
    return [replace(v, steps=tuple(steps.get(v.code, ()))) for v in views]


def _lines(app: App, views: list[OrderView], as_of: date) -> list[OrderLine]:
    cal = app.calendar
    out = []
    for o in views:
        days: int | None = 0
        if o.status is not OrderStatus.CLOSED and o.deadline is not None and o.deadline < as_of:
            try:
                days = cal.workdays_after(o.deadline, as_of)
            except CalendarDataMissing:
                days = None
        out.append(OrderLine(o, days))
    return out


OVERDUE_SORTS = ("deadline", "project", "department", "notice_date", "code")


@use_case
def overdue(app: App, actor_name: str, query: ListQuery, *, as_of: date) -> OrderPage:
    """A page of the orders overdue on ``as_of`` (today: past their deadline and not closed, 限期整改 第十一条),
    most overdue first (the earliest deadline), with the working days overdue and the escalation step reached.
    The report file for any past day is :func:`govflow.reads.reports.overdue_report`."""
    status = _status_ok(query.status)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "report.overdue")
        where = _order_where(app, s, actor, replace(query, overdue=False))
        where += [ORDER.c.deadline.is_not(None), ORDER.c.deadline < as_of, ORDER.c.status != "closed"]
        if status is not None:
            where.append(ORDER.c.status == status)
        total = int(
            s.execute(
                select(func.count())
                .select_from(ORDER.join(PROJECT, PROJECT.c.id == ORDER.c.project_id))
                .where(*where)
            ).scalar_one()
        )
        sort = query if query.sort in OVERDUE_SORTS else replace(query, sort="deadline")
        rows = list(
            s.execute(
                order_query()
                .where(*where)
                .order_by(*_order_by(sort, "deadline"))
                .limit(query.size)
                .offset(query.offset)
            )
        )
        views = governed.seen_orders(s, actor, [order_view(r) for r in rows])
        steps = active_policy(s).rectification.escalation
    lines = []
    for line in _lines(app, views, as_of):
        days = line.overdue_workdays or 0
        reached = [st for st in steps if st.after_workdays <= days]
        top = max(reached, key=lambda st: st.level) if reached else None
        lines.append(replace(line, escalation=(top.level, top.name) if top else (0, None)))
    return OrderPage(lines, total, query.page, query.size)


@use_case
def overdue_spans(app: App, actor_name: str) -> list[tuple[date | None, date | None]]:
    """Of every order the reader may read that was ever overdue: the day it became overdue and the day it was
    closed (None: open), for the overdue-over-time chart. Two columns, no order views."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "order.read")
        q = (
            select(ORDER.c.overdue_since, ORDER.c.closed_on)
            .select_from(ORDER.join(PROJECT, PROJECT.c.id == ORDER.c.project_id))
            .where(ORDER.c.overdue_since.is_not(None), *_department_scope(actor))
        )
        return [(a, b) for a, b in s.execute(q)]


# ---------------------------------------------------------------------------------------------- cuts


@dataclass(frozen=True)
class CutTotals:
    count: int
    base_budget: Decimal
    amount: Decimal


@dataclass(frozen=True)
class CutPage:
    items: list[CutView]
    total: int
    page: int
    size: int
    #: the sums over every recommendation the query matches (all pages), and per status
    totals: CutTotals
    by_status: dict[str, CutTotals]
    #: the budget years that have recommendations, newest first
    periods: list[str]


CUT_SORTS = ("amount", "percent", "project", "budget", "status")


@use_case
def cuts(app: App, actor_name: str, period: str, query: ListQuery) -> CutPage:
    """A page of one budget year's cut recommendations (search in the project's code and name, lead department,
    status), the largest cut first, with the year's totals (all pages) per status."""
    per = cut_assessment.parse_period(period)
    st = cut_assessment.parse_status(query.status)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "cuts.read")
        where = [CUT.c.period == per, *_department_scope(actor), *_lead_is(query.department)]
        where += _search(query.q, PROJECT.c.code, PROJECT.c.name)
        joined = CUT.join(PROJECT, PROJECT.c.id == CUT.c.project_id)
        by_status = {
            str(status): CutTotals(int(n), Decimal(b or 0), Decimal(a or 0))
            for status, n, b, a in s.execute(
                select(CUT.c.status, func.count(), func.sum(CUT.c.base_budget), func.sum(CUT.c.amount))
                .select_from(joined)
                .where(*where)
                .group_by(CUT.c.status)
            )
        }
        if st is not None:
            where.append(CUT.c.status == st.value)
        chosen = [v for k, v in by_status.items() if st is None or k == st.value]
        totals = CutTotals(
            sum(v.count for v in chosen),
            sum((v.base_budget for v in chosen), Decimal("0.00")),
            sum((v.amount for v in chosen), Decimal("0.00")),
        )
        sorts = {
            "amount": CUT.c.amount,
            "percent": CUT.c.percent,
            "project": PROJECT.c.code,
            "budget": CUT.c.base_budget,
            "status": CUT.c.status,
        }
        key = query.sort if query.sort in sorts else "amount"
        # the largest cut first unless asked otherwise; "desc" turns the chosen order round
        down = not query.desc if key in ("amount", "percent", "budget") else query.desc
        col = sorts[key]
        q = (
            cut_module._view_query()
            .where(*where)
            .order_by(col.desc() if down else col.asc(), PROJECT.c.code)
            .limit(query.size)
            .offset(query.offset)
        )
        views = [cut_module._view(r) for r in s.execute(q)]
        periods = [
            str(p) for p in s.execute(select(CUT.c.period).distinct().order_by(CUT.c.period.desc())).scalars()
        ]
    return CutPage(
        governed.cuts_for(app, actor_name, views),
        totals.count,
        query.page,
        query.size,
        totals,
        by_status,
        periods,
    )


CUT_STATUSES = tuple(c.value for c in CutStatus)

__all__ = [
    "CUT_SORTS",
    "ORDER_SORTS",
    "OVERDUE_SORTS",
    "PROJECT_SORTS",
    "BoardPage",
    "CutPage",
    "CutTotals",
    "ListQuery",
    "OrderLine",
    "OrderPage",
    "board",
    "cuts",
    "orders",
    "overdue",
    "overdue_spans",
]

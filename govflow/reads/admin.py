"""Read use cases the dashboard needs beyond those of :mod:`govflow.reads.queries` and :mod:`govflow.governance.rectification`:
a page of rectification orders with their steps and working days overdue, and the departments to choose from.

They read in one read-only unit of work each and change nothing; permissions are checked by the use cases they
build on (``order.read`` through :func:`govflow.governance.rectification.list_orders`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select

from govflow.governance.rectification import (
    ORDER,
    STEP,
    OrderStatus,
    OrderView,
    StepView,
    list_orders,
    order_refusals,
)
from govflow.lifecycle.services import App, get_actor, use_case
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT
from govflow.reads import governed
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import CalendarDataMissing
from govflow.states.verdict import Reason

#: orders on one page of the orders list
ORDER_PAGE_SIZE = 20


@dataclass(frozen=True)
class OrderLine:
    """One order with its steps (oldest first) and, while it is not closed, the working days it is overdue on
    ``as_of`` (SPEC §4: the working days after the deadline up to and including that day; 0 before). None: the
    count reaches into a year the working-day calendar has no data for yet (the page still shows the order)."""

    order: OrderView
    overdue_workdays: int | None


@dataclass(frozen=True)
class OrderPage:
    items: list[OrderLine]
    total: int
    page: int
    size: int
    #: orders per status among all the actor may read (the filter's counts)
    counts: dict[str, int]


@use_case
def order_page(
    app: App,
    actor_name: str,
    *,
    as_of: date,
    status: str | None = None,
    page: int = 1,
    size: int = ORDER_PAGE_SIZE,
) -> OrderPage:
    """A page of the orders ``actor_name`` may read, optionally of one status, with their steps.

    The most urgent first: overdue, then awaiting verification, then open, then closed; within each by deadline.
    """
    every = list_orders(app, actor_name)
    counts = {st.value: 0 for st in OrderStatus}
    for o in every:
        counts[o.status.value] += 1
    chosen = [o for o in every if status is None or o.status.value == status]
    rank = {
        OrderStatus.OVERDUE: 0,
        OrderStatus.EVIDENCE_SUBMITTED: 1,
        OrderStatus.OPEN: 2,
        OrderStatus.CLOSED: 3,
    }
    # a pending deadline (期限待定) lies in a year not yet known: after every known one
    chosen.sort(key=lambda o: (rank[o.status], o.deadline is None, o.deadline or date.min, o.code))
    page, size = max(page, 1), max(size, 1)
    shown = chosen[(page - 1) * size : page * size]
    steps = _steps_by_order(app, [o.code for o in shown])
    # 第二条第三款: what the page shows of each order, steps included, as the actor may see it
    shown = governed.orders_for(
        app, actor_name, [replace(o, steps=tuple(steps.get(o.code, ()))) for o in shown]
    )
    cal = app.calendar
    lines = []
    for o in shown:
        days: int | None = 0
        if o.status is not OrderStatus.CLOSED and o.deadline is not None and o.deadline < as_of:
            try:
                days = cal.workdays_after(o.deadline, as_of)
            except CalendarDataMissing:
                days = None
        lines.append(OrderLine(o, days))
    return OrderPage(lines, len(chosen), page, size, counts)


@dataclass(frozen=True)
class OrderDetail:
    """One order for its page: the order (steps included, as the actor may see it), its working days overdue
    and left on ``as_of``, and what each change would be refused for now (the order's dry run)."""

    order: OrderView
    overdue_workdays: int | None
    #: working days after ``as_of`` up to and including the deadline (0 once it has passed); None: the deadline
    #: is pending, or the count reaches into a year the working-day calendar has no data for yet
    workdays_left: int | None
    refusals: dict[str, list[Reason]]


@use_case
def order_detail(app: App, actor_name: str, code: str, *, as_of: date) -> OrderDetail:
    """The order page's read: :func:`govflow.reads.governed.show_order` (permission and secrecy), the working
    days counted by the product's calendar (:meth:`WorkCalendar.workdays_after`), and
    :func:`govflow.governance.rectification.order_refusals` for its buttons."""
    o = governed.show_order(app, code, actor_name)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
    cal = app.calendar
    return OrderDetail(
        o,
        _workdays(cal, o, as_of, overdue=True),
        _workdays(cal, o, as_of, overdue=False),
        order_refusals(actor, o),
    )


def _workdays(cal: WorkCalendar, o: OrderView, as_of: date, *, overdue: bool) -> int | None:
    if o.deadline is None:
        return None if not overdue else 0
    if o.status is OrderStatus.CLOSED:
        return 0
    try:
        if overdue:
            return cal.workdays_after(o.deadline, as_of) if o.deadline < as_of else 0
        return cal.workdays_after(as_of, o.deadline)
    except CalendarDataMissing:
        return None


def _steps_by_order(app: App, codes: list[str]) -> dict[str, list[StepView]]:
    """The steps of the given orders in one query, each order's oldest first (as recorded)."""
    if not codes:
        return {}
    q = (
        select(ORDER.c.code.label("order_code"), STEP)
        .join(ORDER, ORDER.c.id == STEP.c.order_id)
        .where(ORDER.c.code.in_(codes))
        .order_by(STEP.c.order_id, STEP.c.id)
    )
    out: dict[str, list[StepView]] = defaultdict(list)
    with unit_of_work(app.engine, write=False) as s:
        for r in s.execute(q):
            out[str(r.order_code)].append(
                StepView(r.key, r.kind, r.on, r.at, r.actor, r.note, dict(r.payload or {}))
            )
    return out


def departments(app: App) -> list[tuple[str, str]]:
    """Every department as (统一社会信用代码, name), by code: the choices of a form (names are not secret)."""
    with unit_of_work(app.engine, write=False) as s:
        return [
            (str(c), str(n)) for c, n in s.execute(select(DEPT.c.code, DEPT.c.name).order_by(DEPT.c.code))
        ]

"""Read use cases the dashboard needs beyond those of :mod:`govflow.reads.queries` and :mod:`govflow.governance.rectification`:
a page of rectification orders with their steps and working days overdue, and the departments to choose from.

They read in one read-only unit of work each and change nothing; permissions are checked by the use cases they
build on (``order.read`` through :func:`govflow.governance.rectification.list_orders`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from govflow.governance.rectification import OrderStatus, OrderView, order_refusals, unverifiable
from govflow.lifecycle.services import App, get_actor, use_case
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import AppUser
from govflow.reads import governed, lists
from govflow.reads.lists import ListQuery, OrderLine, OrderPage
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import CalendarDataMissing
from govflow.states.verdict import Reason

__all__ = [
    "ORDER_PAGE_SIZE",
    "OrderDetail",
    "OrderLine",
    "OrderPage",
    "departments",
    "order_detail",
    "order_page",
    "people",
]

#: orders on one page of the orders list
ORDER_PAGE_SIZE = 20


def order_page(
    app: App,
    actor_name: str,
    *,
    as_of: date,
    status: str | None = None,
    page: int = 1,
    size: int = ORDER_PAGE_SIZE,
) -> OrderPage:
    """A page of the orders ``actor_name`` may read, optionally of one status, with their steps, the most urgent
    first (:func:`govflow.reads.lists.orders`, which also searches, filters and sorts)."""
    return lists.orders(app, actor_name, ListQuery(status=status, page=page, size=size), as_of=as_of)


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
        order_refusals(actor, o, unverifiable(app, [o.code], app.today()).get(o.code)),
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


def departments(app: App) -> list[tuple[str, str]]:
    """Every department as (统一社会信用代码, name), by code: the choices of a form (names are not secret)."""
    with unit_of_work(app.engine, write=False) as s:
        return [
            (str(c), str(n)) for c, n in s.execute(select(DEPT.c.code, DEPT.c.name).order_by(DEPT.c.code))
        ]


def people(app: App, names: set[str]) -> dict[str, tuple[str | None, str]]:
    """The display name and role of each user among ``names`` (a page names who decided by name, not by the user
    name it signed in with; display names are not secret). One query."""
    if not names:
        return {}
    with unit_of_work(app.engine, write=False) as s:
        return people_in(s, names)


def people_in(s: Session, names: set[str]) -> dict[str, tuple[str | None, str]]:
    """:func:`people` in a session already open."""
    user = t(AppUser)
    rows = s.execute(
        select(user.c.name, user.c.display_name, user.c.role).where(user.c.name.in_(sorted(names)))
    )
    return {str(n): (d, str(r)) for n, d, r in rows}

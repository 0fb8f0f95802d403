"""Read use cases the dashboard needs beyond those of :mod:`govflow.reads.queries` and :mod:`govflow.governance.rectification`:
a page of rectification orders with their steps and working days overdue, and the departments to choose from.

They read in one read-only unit of work each and change nothing; permissions are checked by the use cases they
build on (``order.read`` through :func:`govflow.governance.rectification.list_orders`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT
from govflow.reads import lists
from govflow.reads.lists import ListQuery, OrderLine, OrderPage

__all__ = ["ORDER_PAGE_SIZE", "OrderLine", "OrderPage", "departments", "order_page"]

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


def departments(app: App) -> list[tuple[str, str]]:
    """Every department as (统一社会信用代码, name), by code: the choices of a form (names are not secret)."""
    with unit_of_work(app.engine, write=False) as s:
        return [
            (str(c), str(n)) for c, n in s.execute(select(DEPT.c.code, DEPT.c.name).order_by(DEPT.c.code))
        ]

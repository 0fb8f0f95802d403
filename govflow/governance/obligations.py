"""The agreement items of projects read as obligations, for every surface that judges them (SPEC §4).

One query shape reads each agreement item with what :func:`govflow.states.obligations.evaluate` needs — its due
date, frequency (the item's own, else the catalog item's), the agreement's term end, and the last day on or
before the judged day with records > 0 — plus the names people read. The sweep, the cut run, the acceptance
guard's facts and the dashboard all read obligations here and judge them with the one evaluator, so they cannot
disagree. SQL only narrows the rows (``where``); the verdict is always the evaluator's.

The last delivery day is a correlated ``ORDER BY day DESC LIMIT 1`` probe of the unique index
``delivery_evidence (catalog_item_id, consumer_id, day)``: the engine walks the index backwards from the day and
stops at the first day with records, so the cost follows the number of agreement items, not the millions of
evidence rows a ``GROUP BY`` over the evidence table reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Date, func, null, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from govflow.models.facts import DEPT, t
from govflow.models.tables import Agreement, AgreementItem, CatalogItem, DeliveryEvidence, Project
from govflow.states.obligations import Obligation, ObligationVerdict, evaluate
from govflow.states.sharing import Frequency

ITEM, AGREEMENT, CATALOG = t(AgreementItem), t(Agreement), t(CatalogItem)
EVIDENCE, PROJECT = t(DeliveryEvidence), t(Project)
CONSUMER, PROVIDER = DEPT.alias("consumer"), DEPT.alias("provider")
#: a frequency code → its member, without ``Frequency(code)``'s lookup per row
_FREQUENCIES = {f.value: f for f in Frequency}


class ObligationRow(NamedTuple):
    """One agreement item × consumer of a project, with its delivery summary up to the judged day."""

    item_id: int
    project_id: int
    project: str
    phase: str
    agreement: str
    term_end: date | None
    catalog_item_id: int
    catalog: str
    catalog_name: str
    provider: str
    provider_name: str
    consumer_id: int
    consumer: str
    consumer_name: str
    due: date | None
    frequency: str
    last_day: date | None

    def obligation(self) -> Obligation:
        return Obligation(self.due, _FREQUENCIES[self.frequency], self.last_day, self.term_end)

    def judge(self, on: date) -> ObligationVerdict:
        return evaluate(self.obligation(), on)


def last_day_probe(on: date) -> Any:
    """SQL: the last day on or before ``on`` with records > 0 for the agreement item's catalog item and consumer."""
    return (
        select(EVIDENCE.c.day)
        .where(
            EVIDENCE.c.catalog_item_id == ITEM.c.catalog_item_id,
            EVIDENCE.c.consumer_id == ITEM.c.consumer_id,
            EVIDENCE.c.day <= on,
            EVIDENCE.c.records > 0,
        )
        .order_by(EVIDENCE.c.day.desc())
        .limit(1)
        .scalar_subquery()
    )


def obligation_query(on: date, *where: ColumnElement[bool], probe: bool = True) -> Select[Any]:
    """The :class:`ObligationRow` columns of the agreement items matching ``where``, judged on ``on``. With
    ``probe=False`` the last delivery day is left NULL for a caller that aggregates the evidence anyway (and
    fills it in with ``row._replace(last_day=…)``)."""
    return (
        select(
            ITEM.c.id.label("item_id"),
            PROJECT.c.id.label("project_id"),
            PROJECT.c.code.label("project"),
            PROJECT.c.phase,
            AGREEMENT.c.code.label("agreement"),
            AGREEMENT.c.term_end,
            ITEM.c.catalog_item_id,
            CATALOG.c.code.label("catalog"),
            CATALOG.c.name.label("catalog_name"),
            PROVIDER.c.code.label("provider"),
            PROVIDER.c.name.label("provider_name"),
            ITEM.c.consumer_id,
            CONSUMER.c.code.label("consumer"),
            CONSUMER.c.name.label("consumer_name"),
            ITEM.c.due,
            func.coalesce(ITEM.c.update_frequency, CATALOG.c.update_frequency).label("frequency"),
            (last_day_probe(on) if probe else null().cast(Date)).label("last_day"),
        )
        .select_from(ITEM)
        .join(AGREEMENT, AGREEMENT.c.id == ITEM.c.agreement_id)
        .join(PROJECT, PROJECT.c.id == AGREEMENT.c.project_id)
        .join(CATALOG, CATALOG.c.id == ITEM.c.catalog_item_id)
        .join(PROVIDER, PROVIDER.c.id == CATALOG.c.provider_id)
        .join(CONSUMER, CONSUMER.c.id == ITEM.c.consumer_id)
        .where(*where)
    )


def rows_of(result: Iterable[Any]) -> Iterator[ObligationRow]:
    """Typed rows from the result of :func:`obligation_query` (its columns are the row's fields, in order)."""
    width = len(ObligationRow._fields)
    for r in result:
        yield ObligationRow(*tuple(r)[:width])


def read_obligations(
    s: Session, on: date, *where: ColumnElement[bool], probe: bool = True
) -> list[ObligationRow]:
    """The obligations matching ``where``, in a stable order (project, agreement, catalog, consumer, item)."""
    q = obligation_query(on, *where, probe=probe).order_by(
        PROJECT.c.id, AGREEMENT.c.code, CATALOG.c.code, CONSUMER.c.code, ITEM.c.id
    )
    return list(rows_of(s.execute(q)))

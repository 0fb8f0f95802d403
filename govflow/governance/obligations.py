"""The agreement items of projects read as obligations, for every surface that judges them (SPEC §4).

One query shape reads each agreement item with what :func:`govflow.states.obligations.evaluate` needs — its due
date, frequency (the item's own, else the catalog item's), the agreement's term end, and the last day on or
before the judged day with records > 0 — plus the names people read. The sweep, the cut run, the acceptance
guard's facts and the dashboard all read obligations here and judge them with the one evaluator, so they cannot
disagree. SQL narrows the rows (``where``); the verdict is the evaluator's. Two surfaces judge in SQL: the
sweep, which judges every agreement item of a chunk in one statement with :func:`delivery_status_sql` and
:func:`finding_rule_sql`, and the board's coverage chart, which counts per providing department with
:func:`coverage_query` — the evaluator's rules, built from its own table of frequencies and proved to give its
verdicts (and its coverage) over the table of cases of ``tests/integration/test_obligations.py`` on SQLite and
PostgreSQL (a change of the rules fails there until these follow it).

The last delivery day is a correlated ``ORDER BY day DESC LIMIT 1`` probe of the unique index
``delivery_evidence (catalog_item_id, consumer_id, day)``: the engine walks the index backwards from the day and
stops at the first day with records, so the cost follows the number of agreement items, not the millions of
evidence rows a ``GROUP BY`` over the evidence table reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Date, String, and_, case, func, literal, null, or_, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from govflow.models.facts import DEPT, t
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    CatalogItem,
    DeliveryEvidence,
    LastDelivery,
    Project,
)
from govflow.states.findings import Rule
from govflow.states.obligations import Obligation, ObligationStatus, ObligationVerdict, evaluate
from govflow.states.phases import SWEPT_PHASES, Phase
from govflow.states.sharing import FREQUENCY_DAYS, Frequency

ITEM, AGREEMENT, CATALOG = t(AgreementItem), t(Agreement), t(CatalogItem)
#: the due date an obligation is judged by: the agreed one, moved to the next working day when it is a day off
#: (《中华人民共和国民法典》第二百零三条; ``agreement_item.due_effective``)
DUE = func.coalesce(ITEM.c.due_effective, ITEM.c.due)
EVIDENCE, PROJECT, LAST = t(DeliveryEvidence), t(Project), t(LastDelivery)
CONSUMER, PROVIDER = DEPT.alias("consumer"), DEPT.alias("provider")
#: the stable order of a project's obligations: project, agreement, catalog, consumer, item
OBLIGATION_ORDER = (PROJECT.c.id, AGREEMENT.c.code, CATALOG.c.code, CONSUMER.c.code, ITEM.c.id)
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
    #: the due date as agreed, when a day off moved it (``due`` is then the next working day)
    stated_due: date | None = None

    def obligation(self) -> Obligation:
        return Obligation(self.due, _FREQUENCIES[self.frequency], self.last_day, self.term_end)

    def judge(self, on: date) -> ObligationVerdict:
        return evaluate(self.obligation(), on)


def in_force(on: date) -> ColumnElement[bool]:
    """The agreement was not terminated before ``on``: a terminated agreement's items are no obligation after
    its termination day (an expired one's still are — see :mod:`govflow.states.obligations`)."""
    return or_(AGREEMENT.c.terminated_on.is_(None), AGREEMENT.c.terminated_on >= on)


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


def last_day_known(on: date) -> ColumnElement[Any]:
    """SQL: :func:`last_day_probe`'s day from ``last_delivery`` (outer-joined on the agreement item's catalog item
    and consumer by the caller): the pair's last delivery when it is on or before ``on`` — then it is the last one
    up to ``on`` — none when the pair never delivered, and the probe only for a day before the last delivery (a
    chart of a past day). One hash join instead of an index probe per item: at 20,000 projects the probes were
    most of the board's coverage chart."""
    return case(
        (LAST.c.day.is_(None), null()),
        (LAST.c.day <= on, LAST.c.day),
        else_=last_day_probe(on),
    )


def _frequency() -> ColumnElement[str]:
    return func.coalesce(ITEM.c.update_frequency, CATALOG.c.update_frequency)


def obligation_query(
    on: date,
    *where: ColumnElement[bool],
    last_day: ColumnElement[Any] | None = None,
    narrow: Callable[[Any], ColumnElement[bool]] | None = None,
) -> Select[Any]:
    """The :class:`ObligationRow` columns of the agreement items matching ``where``, judged on ``on``.

    ``last_day``: the last delivery day, for a caller that aggregates the evidence anyway and joins the
    aggregate to the query itself (default: the index probe, :func:`last_day_probe`).

    ``narrow``: a condition on the facts the evaluator reads (``due``, ``frequency``, ``last_day``, ``term_end``,
    ``phase``), for a caller that wants only the items that can be broken (the sweep). The facts are then read
    first, once per item (a materialized CTE: without it SQLite repeats the probe per reference), narrowed, and
    only the items left are joined to the names people read — a handful of a chunk's tens of thousands.
    """
    day = (last_day_probe(on) if last_day is None else last_day).label("last_day")
    if narrow is None:
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
                DUE.label("due"),
                _frequency().label("frequency"),
                day,
                ITEM.c.due.label("stated_due"),
            )
            .select_from(ITEM)
            .join(AGREEMENT, AGREEMENT.c.id == ITEM.c.agreement_id)
            .join(PROJECT, PROJECT.c.id == AGREEMENT.c.project_id)
            .join(CATALOG, CATALOG.c.id == ITEM.c.catalog_item_id)
            .join(PROVIDER, PROVIDER.c.id == CATALOG.c.provider_id)
            .join(CONSUMER, CONSUMER.c.id == ITEM.c.consumer_id)
            .where(in_force(on), *where)
        )
    facts = (
        select(
            ITEM.c.id.label("item_id"),
            AGREEMENT.c.id.label("agreement_id"),
            PROJECT.c.id.label("project_id"),
            PROJECT.c.phase,
            AGREEMENT.c.term_end,
            ITEM.c.catalog_item_id,
            ITEM.c.consumer_id,
            DUE.label("due"),
            _frequency().label("frequency"),
            day,
            ITEM.c.due.label("stated_due"),
        )
        .select_from(ITEM)
        .join(AGREEMENT, AGREEMENT.c.id == ITEM.c.agreement_id)
        .join(PROJECT, PROJECT.c.id == AGREEMENT.c.project_id)
        .join(CATALOG, CATALOG.c.id == ITEM.c.catalog_item_id)
        .where(in_force(on), *where)
        .cte("obligation_facts")
        .prefix_with("MATERIALIZED")
    )
    f = facts.c
    project, agreement, catalog = PROJECT.alias("p"), AGREEMENT.alias("a"), CATALOG.alias("c")
    return (
        select(
            f.item_id,
            f.project_id,
            project.c.code.label("project"),
            f.phase,
            agreement.c.code.label("agreement"),
            f.term_end,
            f.catalog_item_id,
            catalog.c.code.label("catalog"),
            catalog.c.name.label("catalog_name"),
            PROVIDER.c.code.label("provider"),
            PROVIDER.c.name.label("provider_name"),
            f.consumer_id,
            CONSUMER.c.code.label("consumer"),
            CONSUMER.c.name.label("consumer_name"),
            f.due,
            f.frequency,
            f.last_day,
            f.stated_due,
        )
        .select_from(facts)
        .join(project, project.c.id == f.project_id)
        .join(agreement, agreement.c.id == f.agreement_id)
        .join(catalog, catalog.c.id == f.catalog_item_id)
        .join(PROVIDER, PROVIDER.c.id == catalog.c.provider_id)
        .join(CONSUMER, CONSUMER.c.id == f.consumer_id)
        .where(narrow(f))
    )


# ---------------------------------------------------------------------------------------------- in SQL


def delivery_status_sql(on: date, due: Any, frequency: Any, last_day: Any) -> ColumnElement[str]:
    """:func:`~govflow.states.obligations.evaluate`'s delivery status (``ObligationVerdict.delivery``) as a SQL
    ``CASE`` over the columns of an obligation, for a run that judges a whole chunk in one statement (the sweep:
    reading each broken item into Python to judge it, and sending its finding back as a row, cost it about a
    fifth of its time). ``last_day`` is the last delivery with records > 0 on or before ``on`` (as
    :func:`last_day_probe` finds it). Built from the evaluator's own table of frequencies; that it says what the
    evaluator says is proved on SQLite and PostgreSQL over the table of cases of
    ``tests/integration/test_obligations.py`` — a change of the rules in ``states/obligations.py`` fails there
    until this follows it."""
    cutoff = case(
        {f.value: literal(on - timedelta(days=d), Date) for f, d in FREQUENCY_DAYS.items()},
        value=frequency,
        else_=None,
    )
    return case(
        (and_(last_day.is_(None), due < on), _text(ObligationStatus.MISSED)),
        (last_day.is_(None), _text(ObligationStatus.NOT_DUE)),
        (last_day < cutoff, _text(ObligationStatus.STALE)),
        else_=_text(ObligationStatus.DELIVERED),
    )


def coverage_query(on: date, *where: ColumnElement[bool]) -> Select[Any]:
    """Sharing coverage per providing department on ``on`` in one statement (the board's chart): the ``due``
    and ``delivered`` counts of :func:`~govflow.states.obligations.coverage` over every agreement item in force
    (as :func:`obligation_query` reads them, all projects, all phases), grouped by the catalog item's provider —
    columns ``provider``, ``provider_name``, ``due``, ``delivered``, only providers with something due.

    Each item's status is :func:`delivery_status_sql` over :func:`last_day_known` (``last_delivery`` joined, the
    probe only for a day before a pair's last delivery): *due* is every status
    but ``NOT_DUE`` and *delivered* is ``DELIVERED`` — :attr:`ObligationVerdict.in_force` and ``covered``. The
    facts are read once per item first (a materialized CTE: SQLite would repeat the probe in every reference
    of the ``CASE``), and only the counts leave the database, not one row per item to judge in Python (at
    20,000 projects that was most of the chart's second). Proved equal to ``coverage`` of the evaluator's
    verdicts per provider on SQLite and PostgreSQL in ``tests/integration/test_obligations.py``. ``where``
    narrows the items counted (a reader's :func:`govflow.reads.secrecy.secret_visible` on ``catalog_item``)."""
    facts = (
        select(
            CATALOG.c.provider_id,
            DUE.label("due"),
            _frequency().label("frequency"),
            last_day_known(on).label("last_day"),
        )
        .select_from(ITEM)
        .join(AGREEMENT, AGREEMENT.c.id == ITEM.c.agreement_id)
        .join(CATALOG, CATALOG.c.id == ITEM.c.catalog_item_id)
        .outerjoin(
            LAST,
            (LAST.c.catalog_item_id == ITEM.c.catalog_item_id) & (LAST.c.consumer_id == ITEM.c.consumer_id),
        )
        .where(in_force(on), *where)
        .cte("coverage_facts")
        .prefix_with("MATERIALIZED")
    )
    f = facts.c
    status = delivery_status_sql(on, f.due, f.frequency, f.last_day)
    counts = (
        select(
            f.provider_id,
            func.sum(case((status == _text(ObligationStatus.NOT_DUE), 0), else_=1)).label("due"),
            func.sum(case((status == _text(ObligationStatus.DELIVERED), 1), else_=0)).label("delivered"),
        )
        .group_by(f.provider_id)
        .subquery("coverage_counts")
    )
    c = counts.c
    return (
        select(
            PROVIDER.c.code.label("provider"),
            PROVIDER.c.name.label("provider_name"),
            c.due,
            c.delivered,
        )
        .select_from(counts)
        .join(PROVIDER, PROVIDER.c.id == c.provider_id)
        .where(c.due > 0)
    )


def finding_rule_sql(status: Any, phase: Any) -> ColumnElement[str]:
    """:func:`~govflow.states.obligations.finding_rules` in SQL: the rule of the item finding a ``status`` (of
    :func:`delivery_status_sql`) opens for a project in ``phase``, NULL for none (proved equal as above)."""
    return case(  # CASE status WHEN …: the status is evaluated once
        {
            ObligationStatus.MISSED.value: case(
                (phase.in_(sorted(p.value for p in SWEPT_PHASES)), _text(Rule.MILESTONE_MISSED)), else_=null()
            ),
            ObligationStatus.STALE.value: case(
                (phase == Phase.OPERATION.value, _text(Rule.DELIVERY_STALE)), else_=null()
            ),
        },
        value=status,
        else_=null(),
    )


def max_gap_days_sql(frequency: Any) -> ColumnElement[int]:
    """``FREQUENCY_DAYS[frequency]`` (``ObligationVerdict.max_gap_days``) in SQL."""
    return case({f.value: literal(d) for f, d in FREQUENCY_DAYS.items()}, value=frequency, else_=null())


def _text(value: str) -> ColumnElement[str]:
    """A string constant, typed (PostgreSQL cannot infer the type of a bare parameter in a ``CASE``) without a
    ``CAST`` (SQLite would evaluate one per row)."""
    return literal(str(value), String)


def rows_of(result: Iterable[Any]) -> Iterator[ObligationRow]:
    """Typed rows from the result of :func:`obligation_query` (its columns are the row's fields, in order)."""
    width = len(ObligationRow._fields)
    for r in result:
        yield ObligationRow(*tuple(r)[:width])


def read_obligations(s: Session, on: date, *where: ColumnElement[bool]) -> list[ObligationRow]:
    """The obligations matching ``where``, in a stable order (project, agreement, catalog, consumer, item)."""
    q = obligation_query(on, *where).order_by(*OBLIGATION_ORDER)
    return list(rows_of(s.execute(q)))

"""The O&M cut assessment (733号文 第十一条): what a cut run finds for a project on a day — its obligations and
sharing coverage (the one evaluator's, :mod:`govflow.states.obligations`), its overdue rectification orders, the
policy tier they reach and the reasons — read set-based for a whole chunk of projects, and the evidence recorded
with a recommendation. The run itself is :mod:`govflow.governance.cut_run`; the rules are described there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import and_, case, func, not_, or_, select, true
from sqlalchemy.sql import Select
from sqlmodel import Session

from govflow.governance.obligations import (
    DUE,
    EVIDENCE,
    ITEM,
    OBLIGATION_ORDER,
    ObligationRow,
    obligation_query,
)
from govflow.governance.policy_service import active_policy
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import (
    CutRecommendation,
    Project,
    RectificationOrder,
)
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import CalendarDataMissing, UsageError
from govflow.states.obligations import Coverage, ObligationVerdict, coverage
from govflow.states.phases import Phase
from govflow.states.policy import CUTS_CLAUSE, CutTier, Policy
from govflow.states.vocabulary import CutStatus as CutStatus  # re-exported

CUT, PROJECT, ORDER = t(CutRecommendation), t(Project), t(RectificationOrder)
CLAUSE = CUTS_CLAUSE
CLAUSE_TEXT = "对项目投入使用后未持续保障信息共享的，财政部门要削减相应的运维经费"
CENT = Decimal("0.01")
#: who the runs' audit events name (a run is the system acting on the policy, not a person)
SYSTEM_ACTOR = "system"


def parse_period(period: int | str) -> str:
    """A budget period is a calendar year, ``"2026"``."""
    text = str(period).strip()
    if len(text) != 4 or not text.isdigit() or not 1900 <= int(text) <= 9999:
        raise UsageError(
            f"预算年度须为四位年份（如 2026），收到 {period}", f"the period must be a year (YYYY): {period}"
        )
    return text


def parse_status(status: str | None) -> CutStatus | None:
    if status is None:
        return None
    try:
        return CutStatus(status)
    except ValueError as exc:
        raise UsageError(
            f"状态 {status} 无效；可选：{', '.join(s.value for s in CutStatus)}",
            f"invalid status {status}; one of {', '.join(s.value for s in CutStatus)}",
        ) from exc


# ---------------------------------------------------------------------------------------------- assessment


@dataclass(frozen=True)
class CutObligation:
    """One due agreement item of a project in operation, as the evaluator judged it on ``as_of``, with the
    year's delivery figures the evidence shows."""

    row: ObligationRow
    verdict: ObligationVerdict
    records_in_period: int = 0
    days_in_period: int = 0

    @property
    def covered(self) -> bool:
        return self.verdict.covered

    def to_dict(self) -> dict[str, Any]:
        r, v = self.row, self.verdict
        return {
            "agreement": r.agreement,
            "catalog": r.catalog,
            "catalog_name": r.catalog_name,
            "consumer": r.consumer,
            "consumer_name": r.consumer_name,
            "expected": {
                "due": iso_day(v.due),
                "update_frequency": v.frequency.value,
                "max_gap_days": v.max_gap_days,
            },
            "delivered": {
                "last_day": iso_day(v.last_delivery),
                "days_since_last": v.days_since_last,
                "records_in_period": self.records_in_period,
                "days_in_period": self.days_in_period,
            },
            "status": v.status.value,
            "covered": v.covered,
        }


@dataclass(frozen=True)
class Assessment:
    """What the run found for one project in operation on ``as_of``."""

    project_id: int
    code: str
    name: str
    lead: str
    budget: Decimal
    cover: Coverage
    obligations: list[CutObligation]
    orders: list[dict[str, Any]]
    max_overdue: int | None
    tier: tuple[int, CutTier] | None
    reasons: list[dict[str, Any]]
    #: the missing calendar year an overdue order's working-day count needs: the project cannot be assessed
    #: on this day until the year is imported (the cut run leaves it alone; see :mod:`.cut_run`)
    calendar_gap: CalendarGap | None = None

    @property
    def coverage(self) -> Decimal:
        return self.cover.value

    @property
    def percent(self) -> Decimal | None:
        return None if self.tier is None else self.tier[1].percent.quantize(CENT)

    @property
    def amount(self) -> Decimal | None:
        pct = self.percent
        return None if pct is None else cut_amount(self.budget, pct)


def cut_amount(budget: Decimal, percent: Decimal) -> Decimal:
    """``budget × percent / 100`` in yuan, rounded half-up to the fen (分)."""
    return (budget * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def iso_day(d: date | None) -> str | None:
    """A date as ISO text, or None."""
    return d.isoformat() if d is not None else None


class CalendarGap(CalendarDataMissing):
    """:class:`CalendarDataMissing` that knows the year, for the alarm key."""

    def __init__(self, year: int, cause: CalendarDataMissing) -> None:
        super().__init__(cause.message, cause.message_en, year=year)


def _workdays_overdue(cal: WorkCalendar, deadline: date, as_of: date) -> int:
    try:
        return cal.workdays_after(deadline, as_of)
    except CalendarDataMissing as exc:
        year = next((y for y in range(deadline.year, as_of.year + 1) if y not in cal.years), as_of.year)
        raise CalendarGap(year, exc) from exc


def _order(r: Any, as_of: date, cal: WorkCalendar) -> dict[str, Any]:
    return {
        "code": r.code,
        "status": r.status,
        "origin": r.origin,
        "notice_date": iso_day(r.notice_date),
        "deadline": iso_day(r.deadline),
        "original_deadline": iso_day(r.original_deadline),
        "overdue_since": iso_day(r.overdue_since),
        "escalation_level": int(r.escalation_level or 0),
        "workdays_overdue": _workdays_overdue(cal, r.deadline, as_of),
    }


def _reasons(
    policy: Policy,
    cover: Coverage,
    obligations: Sequence[CutObligation],
    orders: Sequence[dict[str, Any]],
    max_overdue: int | None,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    grace = policy.min_cut_overdue_workdays()
    if max_overdue is not None and grace is not None and max_overdue >= grace:
        late = [o for o in orders if o["workdays_overdue"] >= grace]
        worst = max(late, key=lambda o: o["workdays_overdue"])
        codes = "、".join(o["code"] for o in late)
        out.append(
            {
                "code": "OVERDUE_ORDER",
                "clause": CLAUSE,
                "message": f"整改通知 {codes} 逾期未整改到位，最长逾期 {max_overdue} 个工作日"
                f"（{worst['code']} 截止日 {worst['deadline']}）；{CLAUSE_TEXT}",
                "message_en": f"rectification order(s) {', '.join(o['code'] for o in late)} overdue, the longest "
                f"by {max_overdue} working days ({worst['code']}, deadline {worst['deadline']}); "
                "the O&M budget of a project that does not sustain sharing is cut",
                "detail": {"orders": [o["code"] for o in late], "max_overdue_workdays": max_overdue},
            }
        )
    threshold = policy.cuts.coverage_threshold
    if cover.value < threshold:
        missing = [o.row for o in obligations if not o.covered]
        names = "、".join(f"{o.agreement}/{o.catalog}→{o.consumer_name}" for o in missing)
        names_en = ", ".join(f"{o.agreement}/{o.catalog}→{o.consumer}" for o in missing)
        out.append(
            {
                "code": "LOW_COVERAGE",
                "clause": CLAUSE,
                "message": f"信息共享覆盖率 {cover.text()}（{cover.delivered}/{cover.due} 个已到实现进度的"
                f"协定条目按更新频度持续交付）低于策略阈值 {threshold}；未交付或交付已过期：{names}；{CLAUSE_TEXT}",
                "message_en": f"sharing coverage {cover.text()} ({cover.delivered} of {cover.due} due "
                f"agreement items delivered within their update frequency) is below the policy threshold "
                f"{threshold}; not delivered or stale: {names_en}",
                "detail": {"coverage": cover.text(), "threshold": str(threshold)},
            }
        )
    return out


def assess(
    project: Any,
    obligations: list[CutObligation],
    orders: list[dict[str, Any]],
    policy: Policy,
) -> Assessment:
    """Coverage, overdue orders, the tier and the reasons of one project (pure: the rows are already read)."""
    cover = coverage(o.verdict for o in obligations)
    max_overdue = max((o["workdays_overdue"] for o in orders), default=None)
    return Assessment(
        project_id=int(project.id),
        code=str(project.code),
        name=str(project.name),
        lead=str(project.lead_code),
        budget=Decimal(project.om_budget),
        cover=cover,
        obligations=obligations,
        orders=orders,
        max_overdue=max_overdue,
        tier=policy.cut_tier(max_overdue, cover.value),
        reasons=_reasons(policy, cover, obligations, orders, max_overdue),
    )


def evidence_of(a: Assessment, policy: Policy, as_of: date, period: str) -> dict[str, Any]:
    tier = None
    if a.tier is not None:
        i, t_ = a.tier
        tier = {
            "index": i,
            "min_overdue_workdays": t_.min_overdue_workdays,
            "max_coverage": None if t_.max_coverage is None else str(t_.max_coverage),
            "percent": str(t_.percent),
        }
    return {
        "clause": CLAUSE,
        "clause_text": CLAUSE_TEXT,
        "as_of": as_of.isoformat(),
        "period": period,
        "policy_version": policy.version,
        "coverage": {
            "value": a.cover.text(),
            "covered": a.cover.delivered,
            "due_items": a.cover.due,
            "threshold": str(policy.cuts.coverage_threshold),
        },
        "obligations": [o.to_dict() for o in a.obligations],
        "orders": a.orders,
        "max_overdue_workdays": a.max_overdue,
        "tier": tier,
        "budget": str(a.budget),
    }


# ---------------------------------------------------------------------------------------------- reading


def in_chunk(col: Any, chunk: tuple[int, int] | None) -> Any:
    return col.between(chunk[0], chunk[1]) if chunk is not None else true()


def operating_ids(chunk: tuple[int, int] | None) -> Select[Any]:
    return select(PROJECT.c.id).where(
        PROJECT.c.phase.in_([Phase.OPERATION.value]), in_chunk(PROJECT.c.id, chunk)
    )


def _read_projects(s: Session, ids: Select[Any]) -> list[Any]:
    q = (
        select(
            PROJECT.c.id, PROJECT.c.code, PROJECT.c.name, PROJECT.c.om_budget, DEPT.c.code.label("lead_code")
        )
        .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
        .where(PROJECT.c.id.in_(ids))
        .order_by(PROJECT.c.id)
    )
    return list(s.execute(q))


def _obligations_query(ids: Select[Any], as_of: date) -> Select[Any]:
    """The agreement items of the projects that can be in force on ``as_of`` — past their due date or delivered
    (SQL narrows; the evaluator decides) — with the year's delivery figures, ordered by project.

    One aggregate over the projects' evidence gives each item's last day with records and the year's figures
    (cheaper than an index probe per item, since the year's figures read the rows anyway)."""
    start = date(as_of.year, 1, 1)
    delivered = (
        select(
            EVIDENCE.c.catalog_item_id,
            EVIDENCE.c.consumer_id,
            func.max(EVIDENCE.c.day).label("last_day"),
            func.sum(case((EVIDENCE.c.day >= start, EVIDENCE.c.records), else_=0)).label("records"),
            func.count(case((EVIDENCE.c.day >= start, EVIDENCE.c.day))).label("days"),
        )
        .where(EVIDENCE.c.project_id.in_(ids), EVIDENCE.c.day <= as_of, EVIDENCE.c.records > 0)
        .group_by(EVIDENCE.c.catalog_item_id, EVIDENCE.c.consumer_id)
        .subquery("delivered")
    )
    d = delivered.c
    return (
        obligation_query(as_of, PROJECT.c.id.in_(ids), last_day=d.last_day)
        .add_columns(func.coalesce(d.records, 0), func.coalesce(d.days, 0))
        .outerjoin(
            delivered, and_(d.catalog_item_id == ITEM.c.catalog_item_id, d.consumer_id == ITEM.c.consumer_id)
        )
        .where(or_(as_of > DUE, d.last_day.is_not(None)))
        .order_by(*OBLIGATION_ORDER)
    )


def _iter_obligations(
    s: Session, ids: Select[Any], as_of: date, *, stream: bool
) -> Iterator[tuple[int, list[CutObligation]]]:
    """(project id, its due agreement items as the evaluator judged them), project by project. ``stream``
    (inside a write transaction only: a PostgreSQL server-side cursor needs one): the rows are fetched a batch
    at a time, so a chunk's tens of thousands of items are never held at once."""
    width = len(ObligationRow._fields)
    q = _obligations_query(ids, as_of)
    result = s.execute(q.execution_options(yield_per=_STREAM_ROWS) if stream else q)
    for pid, rows in groupby(result, key=lambda r: int(r.project_id)):
        due: list[CutObligation] = []
        for r in rows:
            values = tuple(r)
            row = ObligationRow(*values[:width])
            verdict = row.judge(as_of)
            if verdict.in_force:
                due.append(CutObligation(row, verdict, int(values[width]), int(values[width + 1])))
        yield pid, due


#: rows fetched at a time when streaming a chunk's obligations
_STREAM_ROWS = 2000


def overdue_condition(as_of: date) -> Any:
    """SQL: the order was overdue on ``as_of`` (see the module docstring)."""
    closed_by = and_(ORDER.c.status == "closed", or_(ORDER.c.closed_on.is_(None), ORDER.c.closed_on <= as_of))
    return and_(
        ORDER.c.notice_date <= as_of,
        not_(closed_by),
        or_(
            ORDER.c.deadline < as_of,
            and_(
                ORDER.c.status == "overdue", func.coalesce(ORDER.c.overdue_since, ORDER.c.deadline) <= as_of
            ),
        ),
    )


def _read_orders(
    s: Session, ids: Select[Any], as_of: date, cal: WorkCalendar
) -> tuple[dict[int, list[dict[str, Any]]], dict[int, CalendarGap]]:
    """The orders overdue on ``as_of`` by project, and the projects one of whose overdue counts needs a year
    without calendar data (with that gap)."""
    q = (
        select(
            ORDER.c.project_id,
            ORDER.c.code,
            ORDER.c.status,
            ORDER.c.origin,
            ORDER.c.notice_date,
            ORDER.c.deadline,
            ORDER.c.original_deadline,
            ORDER.c.overdue_since,
            ORDER.c.escalation_level,
        )
        .where(ORDER.c.project_id.in_(ids), overdue_condition(as_of))
        .order_by(ORDER.c.project_id, ORDER.c.deadline, ORDER.c.code)
    )
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    gaps: dict[int, CalendarGap] = {}
    for r in s.execute(q):
        try:
            out[int(r.project_id)].append(_order(r, as_of, cal))
        except CalendarGap as gap:
            gaps.setdefault(int(r.project_id), gap)
    return out, gaps


def iter_assessments(
    s: Session, ids: Select[Any], as_of: date, cal: WorkCalendar, policy: Policy, *, stream: bool = False
) -> Iterator[Assessment]:
    """Assess the projects whose ids ``ids`` selects, in id order, one at a time: three reads for all of them
    (a caller keeps only the assessments it needs; ``stream``: see :func:`_iter_obligations`)."""
    projects = _read_projects(s, ids)
    orders, gaps = _read_orders(s, ids, as_of, cal)
    obligations = _iter_obligations(s, ids, as_of, stream=stream)
    pending = next(obligations, None)
    for p in projects:
        pid = int(p.id)
        while pending is not None and pending[0] < pid:  # pragma: no cover - both read the same ids
            pending = next(obligations, None)
        mine: list[CutObligation] = []
        if pending is not None and pending[0] == pid:
            mine = pending[1]
            pending = next(obligations, None)
        yield replace(assess(p, mine, orders.get(pid, []), policy), calendar_gap=gaps.get(pid))


def assess_all(
    s: Session, ids: Select[Any], as_of: date, cal: WorkCalendar, policy: Policy
) -> list[Assessment]:
    """Every assessment of :func:`iter_assessments`."""
    return list(iter_assessments(s, ids, as_of, cal, policy))


def preview_evidence(app: App, code: str, as_of: date) -> dict[str, Any]:
    """The evidence a cut run on ``as_of`` would record for project ``code`` (whatever its phase), read-only:
    what the dashboard and the API may show of a project's coverage and obligations."""
    with unit_of_work(app.engine, write=False) as s:
        policy = active_policy(s)
        [a] = assess_all(s, select(PROJECT.c.id).where(PROJECT.c.code == code), as_of, app.calendar, policy)
        if a.calendar_gap is not None:  # a preview cannot leave the project alone: it says why it cannot tell
            raise a.calendar_gap
        return evidence_of(a, policy, as_of, str(as_of.year))

"""Reports (SPEC §5): overdue rectification orders for audit, O&M cut recommendations for finance, the
portfolio by phase and lead department — pandas DataFrames rendered as a terminal table, JSON, CSV or XLSX.

Time travel: every report is computed from dated records only, so the report for a past day answers what was
true at the end of that day (Asia/Shanghai) and does not change when later facts arrive:

- overdue: an order counts when its notice date is on or before the day, the deadline *in force that day* is
  before it and it had not been closed on or before it. The deadline in force is the current one unless an
  ``extend`` step dated after the day exists (then the ``previous_deadline`` of the first such step, or the
  ``original_deadline``) or a ``dated`` step after the day does (the deadline was pending that day). A pending
  deadline (期限待定, NULL) is never overdue; the status that day is replayed from the order's dated steps (``evidence`` →
  evidence submitted, ``reject``/``reopen`` → overdue, ``verify`` → closed), and is ``overdue`` when there are
  none. Working days overdue = ``calendar.workdays_after(deadline, day)`` (法定节假日 and 调休); the escalation
  is the highest step of the active policy whose ``after_workdays`` that count reaches.
- cuts: the recommendations of a budget period computed on or before the day (``cut_recommendation.as_of``),
  with the status of that day: accepted/declined if ``decided_at`` falls on or before it, withdrawn if
  ``withdrawn_on`` does, otherwise proposed; who decided and why only once decided. The table keeps one row per
  project and period and a run refreshes a proposed row in place (moving its ``as_of``), so a proposal that was
  refreshed after the day drops out of that day's report until the table records its creation date.
- portfolio: a project's phase on a day is the ``to_phase`` of its last lifecycle audit event (decision,
  onboarding or creation) that occurred on or before the end of that day; a project without one did not exist.

The formats (table, JSON, CSV, XLSX) are :mod:`govflow.reads.report_files`'s; the names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from govflow.governance.policy_service import active_policy
from govflow.lifecycle.services import App, authorize, get_actor, use_case
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import AuditEvent, CutRecommendation, OrderStep, Project, RectificationOrder
from govflow.reads.admin import people_in
from govflow.reads.report_files import (
    COLUMNS,
    CUTS_COLUMNS,
    MEDIA_TYPES,
    ORIGIN_LABELS,
    OVERDUE_COLUMNS,
    PORTFOLIO_COLUMNS,
    STATUS_LABELS,
    TITLES,
    TOTAL,
    Column,
    DataFrame,
    Format,
    Kind,
    _frame,
    column,
    file_bytes,
    headers,
    print_table,
    records,
    render,
    sheet_title,
    title,
    to_csv,
    to_json,
    write_xlsx,
)
from govflow.reads.secrecy import Visibility, visibility
from govflow.states.errors import UsageError
from govflow.states.phases import Phase
from govflow.states.policy import EscalationStep

#: 中国标准时间 (no daylight saving since 1991): a report "as of D" covers all of D in Beijing.
CST = timezone(timedelta(hours=8), "Asia/Shanghai")
CLAUSE = "733号文 第十一条"

PROJECT, ORDER, STEP, CUT, AUDIT = (
    t(Project),
    t(RectificationOrder),
    t(OrderStep),
    t(CutRecommendation),
    t(AuditEvent),
)

#: order steps that change what an order's status was on a day (kinds written by govflow.governance.rectification)
STEP_STATUS: dict[str, str] = {
    "evidence": "evidence_submitted",
    "reject": "overdue",
    "reopen": "overdue",
    "verify": "closed",
    "close": "closed",
}
EXTEND_STEP = "extend"
DATED_STEP = "dated"


def local_today(app: App) -> date:
    """Today in Beijing: the default ``as_of`` of every report."""
    return app.clock().astimezone(CST).date()


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` ends in Beijing, in UTC (events strictly before it happened on or
    before ``day``)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CST).astimezone(UTC)


# ---------------------------------------------------------------------------------------------- overdue


def escalation_for(steps: Iterable[EscalationStep], workdays: int) -> EscalationStep | None:
    """The highest escalation step ``workdays`` working days overdue reach, or None."""
    reached = [s for s in steps if s.after_workdays <= workdays]
    return max(reached, key=lambda s: s.level) if reached else None


@dataclass(frozen=True)
class _OrderOnDay:
    deadline: date | None  # None: pending that day (期限待定)
    status: str


def _order_on(row: Any, steps: list[Any], day: date) -> _OrderOnDay:
    """The deadline in force and the status of one order at the end of ``day``, from its dated steps."""
    deadline: date | None = row["deadline"]
    later = [s for s in steps if s["kind"] in (EXTEND_STEP, DATED_STEP) and s["on"] > day]
    if later and later[0]["kind"] == DATED_STEP:
        deadline = None
    elif later:
        payload = later[0]["payload"] or {}
        previous = payload.get("previous_deadline")
        if previous:
            deadline = date.fromisoformat(previous)
        elif "previous_deadline" in payload:  # extended while pending
            deadline = None
        else:
            deadline = row["original_deadline"] or deadline
    status = "overdue"
    for s in steps:
        if s["kind"] in STEP_STATUS and s["on"] <= day:
            status = STEP_STATUS[s["kind"]]
    return _OrderOnDay(deadline, status)


@use_case
def overdue_report(app: App, as_of: date, actor_name: str | None) -> DataFrame:
    """Every rectification order overdue at the end of ``as_of`` (限期整改, 第十一条), most overdue first."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "report.overdue")
        policy = active_policy(s)
        # extensions only move a deadline later, so the first deadline bounds every deadline it ever had
        candidate = and_(
            ORDER.c.notice_date <= as_of,
            func.coalesce(ORDER.c.original_deadline, ORDER.c.deadline) < as_of,
            or_(ORDER.c.closed_on.is_(None), ORDER.c.closed_on > as_of),
        )
        orders = _order_rows(s, candidate)
        steps = _steps_of(s, candidate)
    counted: dict[date, int] = {}
    rows: list[dict[str, Any]] = []
    for o in orders:
        then = _order_on(o, steps.get(int(o["id"]), []), as_of)
        if then.deadline is None or then.deadline >= as_of or then.status == "closed":
            continue
        if then.deadline not in counted:
            counted[then.deadline] = app.calendar.workdays_after(then.deadline, as_of)
        days = counted[then.deadline]
        step = escalation_for(policy.rectification.escalation, days)
        rows.append(
            {
                "project": o["project"],
                "project_name": o["project_name"],
                "department": o["department"],
                "department_name": o["department_name"],
                "order": o["code"],
                "origin": o["origin"],
                "notice_date": o["notice_date"],
                "deadline": then.deadline,
                "overdue_workdays": days,
                "escalation_level": step.level if step else 0,
                "escalation": step.name if step else None,
                "status": then.status,
                "clause": CLAUSE,
            }
        )
    df = _frame(rows, OVERDUE_COLUMNS, report="overdue", as_of=as_of.isoformat())
    return df.sort_values(
        ["overdue_workdays", "deadline", "project", "order"],
        ascending=[False, True, True, True],
        kind="stable",
        ignore_index=True,
    )


def _order_rows(s: Session, where: Any) -> list[Any]:
    q = (
        select(
            ORDER.c.id,
            ORDER.c.code,
            ORDER.c.origin,
            ORDER.c.notice_date,
            ORDER.c.deadline,
            ORDER.c.original_deadline,
            PROJECT.c.code.label("project"),
            PROJECT.c.name.label("project_name"),
            DEPT.c.code.label("department"),
            DEPT.c.name.label("department_name"),
        )
        .join(PROJECT, PROJECT.c.id == ORDER.c.project_id)
        .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
        .where(where)
    )
    return [r._mapping for r in s.execute(q)]


def _steps_of(s: Session, orders_where: Any) -> dict[int, list[Any]]:
    """The status-changing and extension steps of the candidate orders, oldest first, in one query."""
    q = (
        select(STEP.c.order_id, STEP.c.kind, STEP.c.on, STEP.c.payload)
        .where(
            STEP.c.order_id.in_(select(ORDER.c.id).where(orders_where)),
            STEP.c.kind.in_([*STEP_STATUS, EXTEND_STEP, DATED_STEP]),
        )
        .order_by(STEP.c.order_id, STEP.c.on, STEP.c.at, STEP.c.id)
    )
    out: dict[int, list[Any]] = {}
    for r in s.execute(q):
        out.setdefault(int(r.order_id), []).append(r._mapping)
    return out


# ---------------------------------------------------------------------------------------------- cuts


@use_case
def cuts_report(app: App, period: str, actor_name: str | None, as_of: date | None = None) -> DataFrame:
    """The O&M cut recommendations of a budget period (削减运维经费, 第十一条), largest amount first; with
    ``as_of``, as they stood at the end of that day."""
    if not (len(period) == 4 and period.isdigit()):
        raise UsageError(f"预算年度须为四位年份：{period}", f"the budget period must be a year: {period}")
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "report.cuts")
        q = (
            select(
                CUT.c.period,
                CUT.c.as_of,
                CUT.c.policy_version,
                CUT.c.percent,
                CUT.c.base_budget,
                CUT.c.amount,
                CUT.c.evidence,
                CUT.c.status,
                CUT.c.decided_at,
                CUT.c.decided_by,
                CUT.c.decision_reason,
                CUT.c.withdrawn_on,
                PROJECT.c.code.label("project"),
                PROJECT.c.name.label("project_name"),
                DEPT.c.code.label("department"),
                DEPT.c.name.label("department_name"),
            )
            .join(PROJECT, PROJECT.c.id == CUT.c.project_id)
            .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
            .where(CUT.c.period == period)
        )
        if as_of is not None:
            q = q.where(func.coalesce(CUT.c.proposed_on, CUT.c.as_of) <= as_of)
        recs = [r._mapping for r in s.execute(q)]
        seen = visibility(s, actor, project_codes={str(r["project"]) for r in recs})
        deciders = people_in(s, {str(r["decided_by"]) for r in recs if r["decided_by"]})
    rows = [_cut_row(r, as_of, seen, deciders) for r in recs]
    attrs = {"report": "cuts", "period": period, "as_of": as_of.isoformat() if as_of else None}
    df = _frame(rows, CUTS_COLUMNS, **attrs)
    return df.sort_values(["amount", "project"], ascending=[False, True], kind="stable", ignore_index=True)


def _cut_row(
    r: Any, as_of: date | None, seen: Visibility, deciders: dict[str, tuple[str | None, str]]
) -> dict[str, Any]:
    """One recommendation as it stood at the end of ``as_of``, its words as the reader may see them (第二条第三款)."""
    decided_at: datetime | None = r["decided_at"]
    decided = decided_at is not None and (as_of is None or decided_at < end_of_day(as_of))
    withdrawn_on: date | None = r["withdrawn_on"]
    withdrawn = withdrawn_on is not None and (as_of is None or withdrawn_on <= as_of)
    if r["status"] in ("accepted", "declined"):
        status = r["status"] if decided else "proposed"
    elif r["status"] == "withdrawn":
        status = "withdrawn" if withdrawn else "proposed"
    else:
        status = r["status"]
    return {
        "project": r["project"],
        "project_name": r["project_name"],
        "department": r["department"],
        "department_name": r["department_name"],
        "period": r["period"],
        "percent": r["percent"],
        "amount": r["amount"],
        "base_budget": r["base_budget"],
        "policy_version": r["policy_version"],
        "computed_on": r["as_of"],
        "status": status,
        "decided_on": decided_at.astimezone(CST).date() if decided and decided_at else None,
        "decider": _decider(str(r["decided_by"]), deciders) if decided else None,
        "decided_by": r["decided_by"] if decided else None,
        "decision_reason": seen.text(r["decision_reason"], project=r["project"]) if decided else None,
        "withdrawn_on": withdrawn_on if withdrawn else None,
        "clause": CLAUSE,
        "evidence": seen.value(r["evidence"] or {}, project=r["project"]),
    }


def _decider(name: str, people: dict[str, tuple[str | None, str]]) -> dict[str, Any]:
    """Who decided, as the finance page names them: the user name, display name and role."""
    display, role = people.get(name, (None, ""))
    return {"user": name, "display_name": display, "role": role or None}


# ---------------------------------------------------------------------------------------------- portfolio

#: audit events that put a project in a phase (refused decisions included: a refused intake returns it to draft)
_PHASE_EVENT = or_(
    AUDIT.c.kind.in_(("decision", "onboarding")), and_(AUDIT.c.kind == "data", AUDIT.c.action == "create")
)


@use_case
def portfolio_report(app: App, as_of: date, actor_name: str | None) -> DataFrame:
    """Projects per lead department (rows) and phase (columns) at the end of ``as_of``, with totals."""
    rank = (
        func.row_number()
        .over(
            partition_by=AUDIT.c.project_code,
            order_by=(AUDIT.c.occurred_at.desc(), AUDIT.c.seq.desc()),
        )
        .label("rank")
    )
    last = (
        select(AUDIT.c.project_code, AUDIT.c.to_phase, rank)
        .where(
            AUDIT.c.project_code.is_not(None),
            AUDIT.c.to_phase.is_not(None),
            AUDIT.c.occurred_at < end_of_day(as_of),
            _PHASE_EVENT,
        )
        .subquery()
    )
    q = (
        select(
            DEPT.c.code.label("department"),
            DEPT.c.name.label("department_name"),
            last.c.to_phase.label("phase"),
        )
        .select_from(last)
        .join(PROJECT, PROJECT.c.code == last.c.project_code)
        .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
        .where(last.c.rank == 1)
    )
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "report.portfolio")
        phases = pd.DataFrame.from_records(
            [dict(r._mapping) for r in s.execute(q)], columns=["department", "department_name", "phase"]
        )
    codes = [p.value for p in Phase]
    if phases.empty:  # crosstab of nothing has no index levels to reset
        counts = pd.DataFrame(columns=["department", "department_name", *codes])
    else:
        counts = (
            pd.crosstab([phases["department"], phases["department_name"]], phases["phase"])
            .reindex(columns=codes, fill_value=0)
            .reset_index()
        )
    counts = counts.sort_values("department", kind="stable", ignore_index=True)
    counts["total"] = counts[codes].sum(axis=1)
    totals = {"department": None, "department_name": TOTAL, **counts[[*codes, "total"]].sum().to_dict()}
    df = pd.concat([counts, pd.DataFrame([totals])], ignore_index=True)[PORTFOLIO_COLUMNS]
    df = df.astype(
        {c: "int64" for c in [*codes, "total"]} | {"department": object, "department_name": object}
    )
    df.columns.name = None
    df.attrs.update(report="portfolio", as_of=as_of.isoformat())
    return df


__all__ = [
    "CLAUSE",
    "COLUMNS",
    "CST",
    "CUTS_COLUMNS",
    "MEDIA_TYPES",
    "ORIGIN_LABELS",
    "OVERDUE_COLUMNS",
    "PORTFOLIO_COLUMNS",
    "STATUS_LABELS",
    "TITLES",
    "TOTAL",
    "Column",
    "DataFrame",
    "Format",
    "Kind",
    "column",
    "cuts_report",
    "end_of_day",
    "escalation_for",
    "file_bytes",
    "headers",
    "local_today",
    "overdue_report",
    "portfolio_report",
    "print_table",
    "records",
    "render",
    "sheet_title",
    "title",
    "to_csv",
    "to_json",
    "write_xlsx",
]

"""削减运维经费 recommendations to finance (733号文 第十一条): "对项目投入使用后未持续保障信息共享的，
财政部门要削减相应的运维经费" — the O&M budget of a project that does not sustain sharing is cut.

What the cut run (:func:`run_cuts`) does for one ``as_of``
    Budget period = ``as_of.year`` (the row's ``period``, e.g. ``"2026"``). Every project whose *current* phase
    is ``operation`` is assessed; a project has a cause when it reaches a tier of the active policy
    (:meth:`states.policy.Policy.cut_tier`) through either

    * an **overdue rectification order** (``OVERDUE_ORDER``): an order of the project with ``notice_date <=
      as_of``, not closed by ``as_of`` (``status != closed``, or ``closed_on > as_of``), and either
      ``deadline < as_of`` or ``status = overdue`` since a day ``<= as_of``. Its working days overdue are
      ``calendar.workdays_after(deadline, as_of)``; the project's figure is the longest of its orders. Submitted
      but unverified evidence does not stop the clock: 整改到位 is what the program office verifies. An order
      overdue by fewer working days than the mildest overdue tier of the policy (the policy's grace, 1 working
      day by default, so an order that fell due on a Friday is not yet a cause on the Saturday) is shown in the
      evidence but is not a cause; or
    * **low sharing coverage** (``LOW_COVERAGE``): coverage below ``policy.cuts.coverage_threshold``.

Coverage (precisely)
    The one evaluator's (:mod:`govflow.states.obligations`), as the sweep, the acceptance guard and the
    dashboard use it: the *due items* of a project are its agreement items in force on ``as_of`` — past their
    实现进度 date or already delivered — of all its agreements, expired ones included (an expired agreement is
    itself a finding, 第八条, and does not end the duty to share); an item is *covered* when its status is
    ``DELIVERED``: its last delivery of more than zero records on or before ``as_of`` is within its update
    frequency. ``coverage = covered / due items``, an exact Decimal; a project without due items has coverage 1.
    Evidence lists every due item with its status and shows coverage rounded *down* to four places so that a
    value just below the threshold never prints as the threshold.

One recommendation per (project, period)
    created ``proposed`` (percent from the policy, amount = ``om_budget × percent / 100`` rounded half-up to
    the fen, policy version named, reasons with their clause, evidence; an outbox message to finance with key
    ``cut/{project}/{period}``); *refreshed* by later runs while ``proposed`` (a change of percent, amount,
    reasons or policy version is a *revision*: audit event and a message to finance); *withdrawn* when the
    cause is gone (or the project left operation) before finance decides (``withdrawn_on``, audit event,
    message to finance, row and evidence kept); *re-proposed* when the cause comes back in the same period.
    ``accepted`` and ``declined`` rows are never changed by a run. ``evidence.trail`` keeps every step the
    runs took. A run never goes back in time on a row: a row last refreshed (or withdrawn) by a later
    ``as_of`` is left alone. Rerunning the same ``as_of`` on the same data changes nothing and notifies nobody.

Time travel
    Deliveries and agreement items are read as they were on ``as_of`` (by their dates), orders by their dated
    fields (``notice_date``, ``closed_on``, ``overdue_since``) and their *current* deadline (an extension
    granted after ``as_of`` is not undone). The project's *phase* is its current one: the phase history lives
    in the audit trail and is not replayed here, so a run for a past ``as_of`` assesses the projects that are
    in operation today. Out of scope on purpose: cuts are decided on the present state of the portfolio.

A year without calendar data (期限待定)
    A project one of whose overdue orders needs a year without working-day data to count its working days
    overdue (``as_of`` in such a year) cannot be assessed on that day: a count without that order could
    understate the tier, withdraw a recommendation that still stands or propose a wrong percent, so the run
    leaves the project alone — nothing proposed, its row of the period neither refreshed nor withdrawn — and
    counts it in ``pending_calendar``; the admin alarm ``alarm/calendar/{year}`` is written once per year in the
    run's transaction, and every other project is assessed as usual (the run completes). The first run after
    the year is imported assesses it. Orders whose deadline is pending are never overdue, so they are no cause.

Chunks
    ``chunk`` bounds the project ids both for assessing and for withdrawing. A project that left operation
    still has to fall in some chunk for its proposed recommendation to be withdrawn, so a flow should build
    its chunks over all projects (``project_id_chunks(app, set(Phase))``), not over those in operation only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from govflow.governance.cut_assessment import (
    CLAUSE,
    CUT,
    PROJECT,
    SYSTEM_ACTOR,
    Assessment,
    CalendarGap,
    CutStatus,
    evidence_of,
    in_chunk,
    iter_assessments,
    operating_ids,
)
from govflow.governance.outbox import calendar_alarm, enqueue_many
from govflow.governance.policy_service import active_policy
from govflow.governance.runs import system_record
from govflow.lifecycle.services import App
from govflow.models import audit
from govflow.models.audit import AuditRecord
from govflow.models.db import unit_of_work, without_jit
from govflow.states.permissions import Role
from govflow.states.phases import Phase
from govflow.states.policy import Policy


def _read_existing(s: Session, chunk: tuple[int, int] | None, period: str) -> list[Any]:
    """This period's rows of the chunk's projects (any phase: a project that left operation is withdrawn),
    locked so that a finance decision waits for the run instead of racing it."""
    q = (
        select(CUT, PROJECT.c.code.label("project_code"), PROJECT.c.phase.label("project_phase"))
        .join(PROJECT, PROJECT.c.id == CUT.c.project_id)
        .where(CUT.c.period == period, in_chunk(CUT.c.project_id, chunk))
        .order_by(CUT.c.project_id)
        .with_for_update(of=CUT)
    )
    return list(s.execute(q))


# ---------------------------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class CutsResult:
    as_of: date
    period: str
    policy_version: str
    projects: int = 0  # projects in operation assessed
    with_cause: int = 0  # of those, reaching a tier
    proposed: int = 0  # new recommendations
    revised: int = 0  # proposed ones whose percent, amount, reasons or policy version changed
    refreshed: int = 0  # proposed ones whose evidence alone changed
    unchanged: int = 0
    withdrawn: int = 0
    reproposed: int = 0  # withdrawn earlier this period, cause back
    decided: int = 0  # accepted or declined: never touched by a run
    newer: int = 0  # rows a later as_of already refreshed: left alone
    notified: int = 0  # outbox messages written
    pending_calendar: int = 0  # projects left alone: an overdue count needs a year without calendar data

    def to_dict(self) -> dict[str, Any]:
        return {"flow": "cuts", **asdict(self), "as_of": self.as_of.isoformat()}


#: the counts of :class:`CutsResult` the plan keeps as it goes
_COUNTS = ("proposed", "revised", "refreshed", "unchanged", "withdrawn", "reproposed", "decided", "newer")


@dataclass
class _Plan:
    """The writes of one run, gathered first and then executed in a few batched statements."""

    as_of: date
    period: str
    policy: Policy
    at: datetime
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    audits: list[AuditRecord] = field(default_factory=list)
    messages: list[tuple[str, str, str, dict[str, Any], str | None]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def audit(self, code: str, action: str, note: str, reasons: Sequence[dict[str, Any]] = ()) -> None:
        self.audits.append(
            system_record(
                action, SYSTEM_ACTOR, self.at, note, project_code=code, reasons=reasons, clauses=[CLAUSE]
            )
        )

    def notify(self, key: str, topic: str, payload: dict[str, Any], code: str) -> None:
        self.messages.append((key, topic, Role.FINANCE.value, payload, code))


def _material(row: Any, a: Assessment, policy: Policy) -> bool:
    return (
        Decimal(row.percent) != a.percent
        or Decimal(row.amount) != a.amount
        or Decimal(row.base_budget) != a.budget
        or row.policy_version != policy.version
        or [r.get("code") for r in row.reasons] != [r["code"] for r in a.reasons]
    )


def _trail_entry(event: str, plan: _Plan, a: Assessment | None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"on": plan.as_of.isoformat(), "event": event}
    if a is not None:
        entry |= {
            "percent": str(a.percent),
            "amount": str(a.amount),
            "policy_version": plan.policy.version,
            "reasons": [r["code"] for r in a.reasons],
            "coverage": a.cover.text(),
            "max_overdue_workdays": a.max_overdue,
        }
    return entry | extra


def _payload(a: Assessment, plan: _Plan, event: str) -> dict[str, Any]:
    return {
        "event": event,
        "project": a.code,
        "project_name": a.name,
        "department": a.lead,
        "period": plan.period,
        "as_of": plan.as_of.isoformat(),
        "percent": str(a.percent),
        "amount": str(a.amount),
        "base_budget": str(a.budget),
        "policy_version": plan.policy.version,
        "coverage": a.cover.text(),
        "overdue_workdays": a.max_overdue,
        "clause": CLAUSE,
        "reasons": a.reasons,
    }


def _values(a: Assessment, plan: _Plan, evidence: dict[str, Any]) -> dict[str, Any]:
    return {
        "as_of": plan.as_of,
        "policy_version": plan.policy.version,
        "percent": a.percent,
        "base_budget": a.budget,
        "amount": a.amount,
        "reasons": a.reasons,
        "evidence": evidence,
    }


def _plan_new(plan: _Plan, a: Assessment) -> None:
    evidence = evidence_of(a, plan.policy, plan.as_of, plan.period) | {
        "trail": [_trail_entry("proposed", plan, a)]
    }
    plan.inserts.append(
        {
            "project_id": a.project_id,
            "period": plan.period,
            "status": CutStatus.PROPOSED.value,
            "proposed_on": plan.as_of,
        }
        | _values(a, plan, evidence)
    )


def _plan_existing(plan: _Plan, row: Any, a: Assessment | None) -> None:
    """Refresh, revise, withdraw or re-propose one existing row (decided rows never reach here)."""
    status = CutStatus(row.status)
    has_cause = a is not None and a.tier is not None
    if status is CutStatus.PROPOSED and not has_cause:
        _plan_withdraw(plan, row, a)
    elif status is CutStatus.WITHDRAWN and a is not None and has_cause:
        _plan_repropose(plan, row, a)
    elif status is CutStatus.PROPOSED and a is not None:
        _plan_refresh(plan, row, a)
    else:  # withdrawn, and still no cause
        plan.counts["unchanged"] += 1


def _trail(row: Any) -> list[dict[str, Any]]:
    return list(row.evidence.get("trail", []))


def _plan_withdraw(plan: _Plan, row: Any, a: Assessment | None) -> None:
    """The cause is gone before finance decided (or the project left operation): withdrawn, never deleted.
    The evidence that justified the recommendation stays; the trail records why it was withdrawn."""
    trail = _trail(row)
    if a is None:
        cause, now_in = "LEFT_OPERATION", Phase(row.project_phase)
        why = f"项目已不在运行维护阶段（现为「{now_in.zh}」）"
        why_en = f"the project left operation (now '{now_in.en}')"
        trail.append(_trail_entry("withdrawn", plan, None, cause=cause) | {"phase": now_in.value})
    else:
        cause = "CAUSE_GONE"
        why = f"削减理由已消除（共享覆盖率 {a.cover.text()}，无达到削减档位的逾期整改通知）"
        why_en = f"the cause is gone (coverage {a.cover.text()}, no order overdue enough for a cut)"
        trail.append(
            _trail_entry(
                "withdrawn",
                plan,
                None,
                cause=cause,
                coverage=a.cover.text(),
                max_overdue_workdays=a.max_overdue,
            )
        )
    plan.updates.append(_update_row(row, CutStatus.WITHDRAWN, plan.as_of, {**row.evidence, "trail": trail}))
    plan.audit(
        row.project_code,
        "cuts.withdraw",
        f"{plan.period} 年度运维经费削减建议撤回（{plan.as_of}），财政部门尚未决定：{why}",
    )
    plan.notify(
        f"cut/{row.project_code}/{plan.period}/withdrawn-{len(trail)}",
        "cuts.withdrawn",
        {
            "event": "withdrawn",
            "project": row.project_code,
            "period": plan.period,
            "as_of": plan.as_of.isoformat(),
            "cause": cause,
            "message": why,
            "message_en": why_en,
            "percent": str(row.percent),
            "amount": str(row.amount),
            "clause": CLAUSE,
        },
        row.project_code,
    )
    plan.counts["withdrawn"] += 1


def _plan_repropose(plan: _Plan, row: Any, a: Assessment) -> None:
    """Withdrawn earlier in the period and the cause is back: the same row is proposed again."""
    trail = [*_trail(row), _trail_entry("reproposed", plan, a)]
    evidence = evidence_of(a, plan.policy, plan.as_of, plan.period) | {"trail": trail}
    plan.updates.append(_update_row(row, CutStatus.PROPOSED, None, evidence) | _values(a, plan, evidence))
    plan.audit(
        a.code,
        "cuts.repropose",
        f"{plan.period} 年度运维经费削减建议重新提出（{plan.as_of}，撤回后理由再次出现）："
        f"削减 {a.percent}%，{a.amount} 元（策略 {plan.policy.version}）",
        a.reasons,
    )
    plan.notify(
        f"cut/{a.code}/{plan.period}/reproposed-{len(trail)}",
        "cuts.reproposed",
        _payload(a, plan, "reproposed"),
        a.code,
    )
    plan.counts["reproposed"] += 1


def _plan_refresh(plan: _Plan, row: Any, a: Assessment) -> None:
    """A proposed row follows the facts: new evidence always; a new percent, amount, reasons or policy version
    is a revision (audit event, message to finance). Nothing at all when nothing changed."""
    evidence = evidence_of(a, plan.policy, plan.as_of, plan.period)
    old = {k: v for k, v in row.evidence.items() if k != "trail"}
    material = _material(row, a, plan.policy)
    if not material and old == evidence and row.as_of == plan.as_of:
        plan.counts["unchanged"] += 1
        return
    trail = _trail(row)
    if material:
        previous = {
            "percent": str(row.percent),
            "amount": str(row.amount),
            "policy_version": row.policy_version,
        }
        trail.append(_trail_entry("revised", plan, a, previous=previous))
        plan.audit(
            a.code,
            "cuts.revise",
            f"{plan.period} 年度运维经费削减建议更新（{plan.as_of}）：{row.percent}%、{row.amount} 元（策略 "
            f"{row.policy_version}）→ {a.percent}%、{a.amount} 元（策略 {plan.policy.version}）",
            a.reasons,
        )
        plan.notify(
            f"cut/{a.code}/{plan.period}/revised-{len(trail)}",
            "cuts.revised",
            _payload(a, plan, "revised"),
            a.code,
        )
    evidence |= {"trail": trail}
    plan.updates.append(_update_row(row, CutStatus.PROPOSED, None, evidence) | _values(a, plan, evidence))
    plan.counts["revised" if material else "refreshed"] += 1


def _update_row(
    row: Any, status: CutStatus, withdrawn_on: date | None, evidence: dict[str, Any]
) -> dict[str, Any]:
    """Bind values of one UPDATE of the batch; the columns not given keep the row's own values."""
    return {
        "rid": row.id,
        "old_status": row.status,
        "status": status.value,
        "withdrawn_on": withdrawn_on,
        "as_of": row.as_of,
        "policy_version": row.policy_version,
        "percent": row.percent,
        "base_budget": row.base_budget,
        "amount": row.amount,
        "reasons": row.reasons,
        "evidence": evidence,
    }


_UPDATED = (
    "status",
    "withdrawn_on",
    "as_of",
    "policy_version",
    "percent",
    "base_budget",
    "amount",
    "reasons",
    "evidence",
)


def _insert_new(s: Session, rows: list[dict[str, Any]]) -> set[int]:
    """Insert the new rows, skipping any a concurrent run inserted first; returns the projects inserted."""
    if not rows:
        return set()
    dialect = s.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CUT)
    stmt = ins.on_conflict_do_nothing(index_elements=["project_id", "period"]).returning(CUT.c.project_id)
    return {int(i) for i in s.execute(stmt, rows).scalars()}


def _execute(s: Session, plan: _Plan, assessed: dict[int, Assessment]) -> int:
    inserted = _insert_new(s, plan.inserts)
    for row in plan.inserts:
        if row["project_id"] not in inserted:  # pragma: no cover - a concurrent run of the same chunk won
            continue
        a = assessed[row["project_id"]]
        plan.audit(
            a.code,
            "cuts.propose",
            f"{plan.period} 年度运维经费削减建议（{plan.as_of}）：削减 {a.percent}%，{a.amount} 元"
            f"（年度运维经费 {a.budget} 元，策略 {plan.policy.version}）",
            a.reasons,
        )
        plan.notify(f"cut/{a.code}/{plan.period}", "cuts.proposed", _payload(a, plan, "proposed"), a.code)
    plan.counts["proposed"] = len(inserted)
    if plan.updates:
        stmt = (
            update(CUT)
            .where(CUT.c.id == bindparam("rid"), CUT.c.status == bindparam("old_status"))
            .values({c: bindparam(c, type_=CUT.c[c].type) for c in _UPDATED})
        )
        s.execute(stmt, plan.updates)
    if plan.audits:
        audit.append(s, plan.audits)
    return enqueue_many(s, plan.messages)


def run_cuts(app: App, as_of: date, chunk: tuple[int, int] | None = None) -> CutsResult:
    """The O&M cut run for ``as_of`` over the projects with ids in ``chunk`` (inclusive; None = all).

    Set-based: five reads for the whole chunk, then one insert, one batched update, one audit append and
    one outbox insert, all in one transaction. Idempotent for a given ``as_of``. A project whose overdue count
    needs a year without calendar data is left alone this run (``pending_calendar``, an alarm to admin
    ``alarm/calendar/{year}`` once per year; see the module docstring).
    """
    period = str(as_of.year)
    with unit_of_work(app.engine) as s:
        without_jit(s)
        policy = active_policy(s)
        plan = _Plan(as_of, period, policy, app.clock())
        existing = _read_existing(s, chunk, period)
        refreshed = {
            int(row.project_id)
            for row in existing
            if CutStatus(row.status) not in (CutStatus.ACCEPTED, CutStatus.DECLINED)
            and max(row.as_of, row.withdrawn_on or row.as_of) <= as_of
        }
        # streamed: only the assessments a row or a new recommendation needs are kept
        projects = with_cause = 0
        kept: dict[int, Assessment] = {}
        gaps: dict[int, CalendarGap] = {}
        for a in iter_assessments(s, operating_ids(chunk), as_of, app.calendar, policy, stream=True):
            if a.calendar_gap is not None:  # left alone this run (期限待定 of the calendar)
                gaps[a.project_id] = a.calendar_gap
                continue
            projects += 1
            with_cause += a.tier is not None
            if a.project_id in refreshed or a.tier is not None:
                kept[a.project_id] = a
        seen: set[int] = set(gaps)
        for row in existing:
            pid = int(row.project_id)
            if pid in gaps:
                continue
            seen.add(pid)
            if pid not in refreshed:
                decided = CutStatus(row.status) in (CutStatus.ACCEPTED, CutStatus.DECLINED)
                plan.counts["decided" if decided else "newer"] += 1
            else:
                _plan_existing(plan, row, kept.get(pid))
        for pid, a in kept.items():
            if pid not in seen and a.tier is not None:
                _plan_new(plan, a)
        notified = _execute(s, plan, kept)
        for _, gap in sorted({g.year: g for g in gaps.values()}.items()):
            calendar_alarm(
                s,
                gap,
                flow="cuts",
                as_of=as_of,
                now=plan.at,
                what=("运维经费削减测算暂缓", "O&M cut assessment deferred"),
            )
    return CutsResult(
        as_of=as_of,
        period=period,
        policy_version=policy.version,
        projects=projects,
        with_cause=with_cause,
        notified=notified,
        pending_calendar=len(gaps),
        **{k: plan.counts[k] for k in _COUNTS},
    )

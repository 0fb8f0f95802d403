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
    The *due items* of a project are its agreement items (all its agreements, expired ones included: an
    expired agreement is itself a finding, 第八条, and does not end the duty to share) whose 实现进度 date
    ``due`` is on or before ``as_of``; an item without a ``due`` date is not due. For a due item, *L* is the
    last day on or before ``as_of`` with a delivery of more than zero records for the item's catalog item and
    consumer department. The item is *covered* when L exists and ``as_of - L <= FREQUENCY_DAYS[f]`` days, f
    being the item's update frequency (the catalog item's when the agreement item names none) — the same
    window as the sweep's ``DELIVERY_STALE`` (stale when ``as_of - L > days``). A delivery before the due date
    counts. ``coverage = covered / due items``, an exact Decimal; a project without due items has coverage 1.
    Evidence shows it rounded *down* to four places so that a value just below the threshold never prints as
    the threshold.

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

Chunks
    ``chunk`` bounds the project ids both for assessing and for withdrawing. A project that left operation
    still has to fall in some chunk for its proposed recommendation to be withdrawn, so a flow should build
    its chunks over all projects (``project_id_chunks(app, set(Phase))``), not over those in operation only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, bindparam, case, func, not_, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Select
from sqlmodel import Session

from govflow.governance.outbox import enqueue_many
from govflow.governance.policy_service import active_policy
from govflow.lifecycle.services import App, _project_row, authorize, get_actor, use_case
from govflow.models import audit
from govflow.models.audit import AuditRecord
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    CatalogItem,
    CutRecommendation,
    DeliveryEvidence,
    Project,
    RectificationOrder,
)
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import CalendarDataMissing, Conflict, NotFound, RuleRefused, UsageError
from govflow.states.permissions import Role
from govflow.states.phases import Phase
from govflow.states.policy import CUTS_CLAUSE, CutTier, Policy
from govflow.states.sharing import FREQUENCY_DAYS, Frequency
from govflow.states.verdict import Reason
from govflow.states.vocabulary import CutStatus as CutStatus  # the domain's word, re-exported

CUT, PROJECT, ORDER = t(CutRecommendation), t(Project), t(RectificationOrder)
CLAUSE = CUTS_CLAUSE
CLAUSE_TEXT = "对项目投入使用后未持续保障信息共享的，财政部门要削减相应的运维经费"
CENT = Decimal("0.01")
#: who the runs' audit events name (a run is the system acting on the policy, not a person)
SYSTEM_ACTOR, SYSTEM_ROLE = "system", "system"


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
class Assessment:
    """What the run found for one project in operation on ``as_of`` (JSON-ready parts only)."""

    project_id: int
    code: str
    name: str
    lead: str
    budget: Decimal
    coverage: Decimal
    obligations: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    max_overdue: int | None
    tier: tuple[int, CutTier] | None
    reasons: list[dict[str, Any]]

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


def coverage_text(coverage: Decimal) -> str:
    return str(coverage.quantize(Decimal("0.0001"), rounding=ROUND_DOWN))


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _obligation(r: Any, as_of: date) -> dict[str, Any]:
    gap = FREQUENCY_DAYS[Frequency(r.frequency)]
    last: date | None = r.last_day
    since = (as_of - last).days if last is not None else None
    return {
        "agreement": r.agreement,
        "catalog": r.catalog,
        "catalog_name": r.catalog_name,
        "consumer": r.consumer,
        "consumer_name": r.consumer_name,
        "expected": {"due": _iso(r.due), "update_frequency": str(r.frequency), "max_gap_days": gap},
        "delivered": {
            "last_day": _iso(last),
            "days_since_last": since,
            "records_in_period": int(r.records or 0),
            "days_in_period": int(r.days or 0),
        },
        "covered": since is not None and since <= gap,
    }


class _CalendarGap(CalendarDataMissing):
    """:class:`CalendarDataMissing` that knows the year, for the alarm key."""

    def __init__(self, year: int, cause: CalendarDataMissing) -> None:
        super().__init__(cause.message, cause.message_en, year=year)


def _workdays_overdue(cal: WorkCalendar, deadline: date, as_of: date) -> int:
    try:
        return cal.workdays_after(deadline, as_of)
    except CalendarDataMissing as exc:
        year = next((y for y in range(deadline.year, as_of.year + 1) if y not in cal.years), as_of.year)
        raise _CalendarGap(year, exc) from exc


def _order(r: Any, as_of: date, cal: WorkCalendar) -> dict[str, Any]:
    return {
        "code": r.code,
        "status": r.status,
        "origin": r.origin,
        "notice_date": _iso(r.notice_date),
        "deadline": _iso(r.deadline),
        "original_deadline": _iso(r.original_deadline),
        "overdue_since": _iso(r.overdue_since),
        "escalation_level": int(r.escalation_level or 0),
        "workdays_overdue": _workdays_overdue(cal, r.deadline, as_of),
    }


def _reasons(
    policy: Policy,
    coverage: Decimal,
    obligations: Sequence[dict[str, Any]],
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
    if coverage < threshold:
        missing = [o for o in obligations if not o["covered"]]
        names = "、".join(f"{o['agreement']}/{o['catalog']}→{o['consumer_name']}" for o in missing)
        names_en = ", ".join(f"{o['agreement']}/{o['catalog']}→{o['consumer']}" for o in missing)
        covered = len(obligations) - len(missing)
        out.append(
            {
                "code": "LOW_COVERAGE",
                "clause": CLAUSE,
                "message": f"信息共享覆盖率 {coverage_text(coverage)}（{covered}/{len(obligations)} 个已到实现进度的"
                f"协定条目按更新频度持续交付）低于策略阈值 {threshold}；未交付或交付已过期：{names}；{CLAUSE_TEXT}",
                "message_en": f"sharing coverage {coverage_text(coverage)} ({covered} of {len(obligations)} due "
                f"agreement items delivered within their update frequency) is below the policy threshold "
                f"{threshold}; not delivered or stale: {names_en}",
                "detail": {"coverage": coverage_text(coverage), "threshold": str(threshold)},
            }
        )
    return out


def assess(
    project: Any,
    obligations: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    policy: Policy,
) -> Assessment:
    """Coverage, overdue orders, the tier and the reasons of one project (pure: the rows are already read)."""
    due = len(obligations)
    covered = sum(1 for o in obligations if o["covered"])
    coverage = Decimal(covered) / Decimal(due) if due else Decimal(1)
    max_overdue = max((o["workdays_overdue"] for o in orders), default=None)
    return Assessment(
        project_id=int(project.id),
        code=str(project.code),
        name=str(project.name),
        lead=str(project.lead_code),
        budget=Decimal(project.om_budget),
        coverage=coverage,
        obligations=obligations,
        orders=orders,
        max_overdue=max_overdue,
        tier=policy.cut_tier(max_overdue, coverage),
        reasons=_reasons(policy, coverage, obligations, orders, max_overdue),
    )


def _evidence(a: Assessment, policy: Policy, as_of: date, period: str) -> dict[str, Any]:
    tier = None
    if a.tier is not None:
        i, t_ = a.tier
        tier = {
            "index": i,
            "min_overdue_workdays": t_.min_overdue_workdays,
            "max_coverage": None if t_.max_coverage is None else str(t_.max_coverage),
            "percent": str(t_.percent),
        }
    due = len(a.obligations)
    return {
        "clause": CLAUSE,
        "clause_text": CLAUSE_TEXT,
        "as_of": as_of.isoformat(),
        "period": period,
        "policy_version": policy.version,
        "coverage": {
            "value": coverage_text(a.coverage),
            "covered": sum(1 for o in a.obligations if o["covered"]),
            "due_items": due,
            "threshold": str(policy.cuts.coverage_threshold),
        },
        "obligations": a.obligations,
        "orders": a.orders,
        "max_overdue_workdays": a.max_overdue,
        "tier": tier,
        "budget": str(a.budget),
    }


# ---------------------------------------------------------------------------------------------- reading


def _in_chunk(col: Any, chunk: tuple[int, int] | None) -> Any:
    return col.between(chunk[0], chunk[1]) if chunk is not None else true()


def _operating_ids(chunk: tuple[int, int] | None) -> Select[Any]:
    return select(PROJECT.c.id).where(
        PROJECT.c.phase.in_([Phase.OPERATION.value]), _in_chunk(PROJECT.c.id, chunk)
    )


def _read_projects(s: Session, chunk: tuple[int, int] | None) -> list[Any]:
    q = (
        select(
            PROJECT.c.id, PROJECT.c.code, PROJECT.c.name, PROJECT.c.om_budget, DEPT.c.code.label("lead_code")
        )
        .join(DEPT, DEPT.c.id == PROJECT.c.lead_department_id)
        .where(PROJECT.c.id.in_(_operating_ids(chunk)))
        .order_by(PROJECT.c.id)
    )
    return list(s.execute(q))


def _read_obligations(
    s: Session, chunk: tuple[int, int] | None, as_of: date
) -> dict[int, list[dict[str, Any]]]:
    """Every due agreement item of the projects, with its delivery figures, in two joined aggregates."""
    ag, ai, ci, de = t(Agreement), t(AgreementItem), t(CatalogItem), t(DeliveryEvidence)
    start = date(as_of.year, 1, 1)
    delivered = (
        select(
            de.c.catalog_item_id,
            de.c.consumer_id,
            func.max(de.c.day).label("last_day"),
            func.sum(case((de.c.day >= start, de.c.records), else_=0)).label("records"),
            func.count(case((de.c.day >= start, de.c.day))).label("days"),
        )
        .where(de.c.project_id.in_(_operating_ids(chunk)), de.c.day <= as_of, de.c.records > 0)
        .group_by(de.c.catalog_item_id, de.c.consumer_id)
        .subquery()
    )
    q = (
        select(
            ag.c.project_id,
            ag.c.code.label("agreement"),
            ci.c.code.label("catalog"),
            ci.c.name.label("catalog_name"),
            DEPT.c.code.label("consumer"),
            DEPT.c.name.label("consumer_name"),
            func.coalesce(ai.c.update_frequency, ci.c.update_frequency).label("frequency"),
            ai.c.due,
            delivered.c.last_day,
            delivered.c.records,
            delivered.c.days,
        )
        .select_from(
            ai.join(ag, ag.c.id == ai.c.agreement_id)
            .join(ci, ci.c.id == ai.c.catalog_item_id)
            .join(DEPT, DEPT.c.id == ai.c.consumer_id)
            .outerjoin(
                delivered,
                and_(
                    delivered.c.catalog_item_id == ai.c.catalog_item_id,
                    delivered.c.consumer_id == ai.c.consumer_id,
                ),
            )
        )
        .where(ag.c.project_id.in_(_operating_ids(chunk)), ai.c.due.is_not(None), ai.c.due <= as_of)
        .order_by(ag.c.project_id, ag.c.code, ci.c.code, DEPT.c.code, ai.c.id)
    )
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in s.execute(q):
        out[int(r.project_id)].append(_obligation(r, as_of))
    return out


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
    s: Session, chunk: tuple[int, int] | None, as_of: date, cal: WorkCalendar
) -> dict[int, list[dict[str, Any]]]:
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
        .where(ORDER.c.project_id.in_(_operating_ids(chunk)), overdue_condition(as_of))
        .order_by(ORDER.c.project_id, ORDER.c.deadline, ORDER.c.code)
    )
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in s.execute(q):
        out[int(r.project_id)].append(_order(r, as_of, cal))
    return out


def _read_existing(s: Session, chunk: tuple[int, int] | None, period: str) -> list[Any]:
    """This period's rows of the chunk's projects (any phase: a project that left operation is withdrawn),
    locked so that a finance decision waits for the run instead of racing it."""
    q = (
        select(CUT, PROJECT.c.code.label("project_code"), PROJECT.c.phase.label("project_phase"))
        .join(PROJECT, PROJECT.c.id == CUT.c.project_id)
        .where(CUT.c.period == period, _in_chunk(CUT.c.project_id, chunk))
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": "cuts",
            "as_of": self.as_of.isoformat(),
            "period": self.period,
            "policy_version": self.policy_version,
            "projects": self.projects,
            "with_cause": self.with_cause,
            "proposed": self.proposed,
            "revised": self.revised,
            "refreshed": self.refreshed,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "reproposed": self.reproposed,
            "decided": self.decided,
            "newer": self.newer,
            "notified": self.notified,
        }


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
            AuditRecord(
                kind="decision",
                outcome="recorded",
                action=action,
                actor=SYSTEM_ACTOR,
                role=SYSTEM_ROLE,
                occurred_at=self.at,
                project_code=code,
                reasons=list(reasons),
                note=note,
                clauses=[CLAUSE],
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
            "coverage": coverage_text(a.coverage),
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
        "coverage": coverage_text(a.coverage),
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
    evidence = _evidence(a, plan.policy, plan.as_of, plan.period) | {
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
        why = f"削减理由已消除（共享覆盖率 {coverage_text(a.coverage)}，无达到削减档位的逾期整改通知）"
        why_en = (
            f"the cause is gone (coverage {coverage_text(a.coverage)}, no order overdue enough for a cut)"
        )
        trail.append(
            _trail_entry(
                "withdrawn",
                plan,
                None,
                cause=cause,
                coverage=coverage_text(a.coverage),
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
    evidence = _evidence(a, plan.policy, plan.as_of, plan.period) | {"trail": trail}
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
    evidence = _evidence(a, plan.policy, plan.as_of, plan.period)
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


def _calendar_alarm(app: App, as_of: date, exc: _CalendarGap) -> None:
    """No working-day data for a year an overdue count needs: an alarm to admin, once per year (never a guess)."""
    with unit_of_work(app.engine) as s:
        enqueue_many(
            s,
            [
                (
                    f"alarm/calendar/{exc.year}",
                    "alarm.calendar",
                    Role.ADMIN.value,
                    {
                        "flow": "cuts",
                        "year": exc.year,
                        "as_of": as_of.isoformat(),
                        "message": exc.message,
                        "message_en": exc.message_en,
                    },
                    None,
                )
            ],
        )


def run_cuts(app: App, as_of: date, chunk: tuple[int, int] | None = None) -> CutsResult:
    """The O&M cut run for ``as_of`` over the projects with ids in ``chunk`` (inclusive; None = all).

    Set-based: five reads for the whole chunk, then one insert, one batched update, one audit append and
    one outbox insert, all in one transaction. Idempotent for a given ``as_of``. A missing calendar year
    raises :class:`CalendarDataMissing` after an alarm to admin (``alarm/calendar/{year}``).
    """
    period = str(as_of.year)
    try:
        with unit_of_work(app.engine) as s:
            policy = active_policy(s)
            plan = _Plan(as_of, period, policy, app.clock())
            projects = _read_projects(s, chunk)
            obligations = _read_obligations(s, chunk, as_of)
            orders = _read_orders(s, chunk, as_of, app.calendar)
            assessed = {
                int(p.id): assess(p, obligations[int(p.id)], orders[int(p.id)], policy) for p in projects
            }
            existing = _read_existing(s, chunk, period)
            seen: set[int] = set()
            for row in existing:
                seen.add(int(row.project_id))
                status = CutStatus(row.status)
                if status in (CutStatus.ACCEPTED, CutStatus.DECLINED):
                    plan.counts["decided"] += 1
                elif max(row.as_of, row.withdrawn_on or row.as_of) > as_of:
                    plan.counts["newer"] += 1
                else:
                    _plan_existing(plan, row, assessed.get(int(row.project_id)))
            for pid, a in assessed.items():
                if pid not in seen and a.tier is not None:
                    _plan_new(plan, a)
            notified = _execute(s, plan, assessed)
    except _CalendarGap as exc:
        _calendar_alarm(app, as_of, exc)
        raise
    c = plan.counts
    return CutsResult(
        as_of=as_of,
        period=period,
        policy_version=policy.version,
        projects=len(assessed),
        with_cause=sum(1 for a in assessed.values() if a.tier is not None),
        proposed=c["proposed"],
        revised=c["revised"],
        refreshed=c["refreshed"],
        unchanged=c["unchanged"],
        withdrawn=c["withdrawn"],
        reproposed=c["reproposed"],
        decided=c["decided"],
        newer=c["newer"],
        notified=notified,
    )


# ---------------------------------------------------------------------------------------------- finance


@dataclass(frozen=True)
class CutView:
    """One recommendation as finance, audit and reports see it."""

    project: str
    project_name: str
    lead_department: str
    period: str
    status: CutStatus
    as_of: date
    policy_version: str
    percent: Decimal
    base_budget: Decimal
    amount: Decimal
    reasons: list[dict[str, Any]]
    evidence: dict[str, Any]
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    withdrawn_on: date | None

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        msg = "message_en" if lang == "en" else "message"
        return {
            "project": self.project,
            "project_name": self.project_name,
            "lead_department": self.lead_department,
            "period": self.period,
            "status": self.status.value,
            "status_label": self.status.label(lang),
            "as_of": self.as_of.isoformat(),
            "policy_version": self.policy_version,
            "percent": str(self.percent),
            "base_budget": str(self.base_budget),
            "amount": str(self.amount),
            "clause": CLAUSE,
            "reasons": [
                {"code": r.get("code"), "clause": r.get("clause"), "message": r.get(msg, r.get("message"))}
                for r in self.reasons
            ],
            "evidence": self.evidence,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decided_by": self.decided_by,
            "decision_reason": self.decision_reason,
            "withdrawn_on": _iso(self.withdrawn_on),
        }


def _view_query() -> Select[Any]:
    return select(
        CUT,
        PROJECT.c.code.label("project_code"),
        PROJECT.c.name.label("project_name"),
        DEPT.c.code.label("lead_code"),
    ).select_from(
        CUT.join(PROJECT, PROJECT.c.id == CUT.c.project_id).join(
            DEPT, DEPT.c.id == PROJECT.c.lead_department_id
        )
    )


def _view(r: Any) -> CutView:
    return CutView(
        project=r.project_code,
        project_name=r.project_name,
        lead_department=r.lead_code,
        period=r.period,
        status=CutStatus(r.status),
        as_of=r.as_of,
        policy_version=r.policy_version,
        percent=r.percent,
        base_budget=r.base_budget,
        amount=r.amount,
        reasons=list(r.reasons),
        evidence=dict(r.evidence),
        decided_at=r.decided_at,
        decided_by=r.decided_by,
        decision_reason=r.decision_reason,
        withdrawn_on=r.withdrawn_on,
    )


@use_case
def list_cuts(
    app: App, period: int | str, actor_name: str | None = None, status: str | None = None
) -> list[CutView]:
    """The recommendations of a budget period, by project code (finance, audit, program office, admin)."""
    per, st = parse_period(period), parse_status(status)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "cuts.read")
        q = _view_query().where(CUT.c.period == per)
        if st is not None:
            q = q.where(CUT.c.status == st.value)
        return [_view(r) for r in s.execute(q.order_by(PROJECT.c.code))]


@use_case
def show_cut(app: App, project_code: str, period: int | str, actor_name: str | None = None) -> CutView:
    per = parse_period(period)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, project_code)
        authorize(app, s, actor, "cuts.read", p)
        return _view(_one(s, p, per))


def _one(s: Session, p: Any, period: str, *, lock: bool = False) -> Any:
    q = _view_query().where(CUT.c.project_id == p["id"], CUT.c.period == period)
    if lock:
        q = q.with_for_update(of=CUT)
    r = s.execute(q).first()
    if r is None:
        raise NotFound(
            f"项目 {p['code']} 在 {period} 年度没有运维经费削减建议",
            f"project {p['code']} has no O&M cut recommendation for {period}",
        )
    return r


def _decided_conflict(r: Any) -> Conflict:
    st = CutStatus(r.status)
    if st is CutStatus.WITHDRAWN:
        return Conflict(
            f"项目 {r.project_code} 的 {r.period} 年度削减建议已于 {r.withdrawn_on} 撤回（削减理由已消除），不能再作决定",
            f"the {r.period} recommendation for {r.project_code} was withdrawn on {r.withdrawn_on}; it cannot be decided",
        )
    when = r.decided_at.isoformat() if r.decided_at else "?"
    return Conflict(
        f"项目 {r.project_code} 的 {r.period} 年度削减建议已由 {r.decided_by} 于 {when} {st.label()}，"
        "不能重复决定",
        f"the {r.period} recommendation for {r.project_code} was already {st.value} by {r.decided_by} at {when}",
    )


@use_case
def decide_cut(
    app: App,
    project_code: str,
    period: int | str,
    actor_name: str | None,
    *,
    accept: bool,
    reason: str | None,
) -> CutView:
    """Finance accepts (采纳) or declines (不采纳) a proposed recommendation, with a reason either way.

    Only ``cuts.decide`` (finance) may; a decided or withdrawn recommendation is a :class:`Conflict`; the
    decision is an audit event, and the lead department and the program office are told through the outbox.
    """
    per = parse_period(period)
    verb, verb_en = ("采纳", "accept") if accept else ("不采纳", "decline")
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, project_code)
        authorize(app, s, actor, "cuts.decide", p)
        text = (reason or "").strip()
        if not text:
            raise RuleRefused(
                [
                    Reason(
                        "REASON_REQUIRED",
                        CLAUSE,
                        f"{verb}运维经费削减建议须说明理由（--reason），理由将记入审计日志",
                        f"to {verb_en} a cut recommendation give a reason (--reason); it goes to the audit trail",
                    )
                ]
            )
        r = _one(s, p, per, lock=True)
        if r.status != CutStatus.PROPOSED.value:
            raise _decided_conflict(r)
        status = CutStatus.ACCEPTED if accept else CutStatus.DECLINED
        at = app.clock()
        done = s.execute(
            update(CUT)
            .where(CUT.c.id == r.id, CUT.c.status == CutStatus.PROPOSED.value)
            .values(status=status.value, decided_at=at, decided_by=actor.name, decision_reason=text)
            .returning(CUT.c.id)
        ).first()
        if done is None:  # pragma: no cover - the row lock above makes this unreachable
            raise _decided_conflict(_one(s, p, per))
        audit.append(
            s,
            [
                AuditRecord(
                    kind="decision",
                    outcome="recorded",
                    action=f"cuts.{'accept' if accept else 'decline'}",
                    actor=actor.name,
                    role=actor.role.value,
                    occurred_at=at,
                    project_code=p["code"],
                    note=f"{per} 年度运维经费削减建议{verb}：{r.percent}%，{r.amount} 元（策略 {r.policy_version}）；"
                    f"理由：{text}",
                    clauses=[CLAUSE],
                )
            ],
        )
        payload = {
            "event": status.value,
            "project": p["code"],
            "project_name": p["name"],
            "department": p["lead_code"],
            "period": per,
            "percent": str(r.percent),
            "amount": str(r.amount),
            "policy_version": r.policy_version,
            "decided_by": actor.name,
            "reason": text,
            "clause": CLAUSE,
        }
        enqueue_many(
            s,
            [
                (
                    f"cut/{p['code']}/{per}/decision/{role.value}",
                    f"cuts.{status.value}",
                    role.value,
                    payload,
                    p["code"],
                )
                for role in (Role.DEPARTMENT, Role.PROGRAM_OFFICE)
            ],
        )
        return _view(_one(s, p, per))

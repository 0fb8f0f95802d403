"""削减运维经费 recommendations to finance (733号文 第十一条): finance reads them and accepts or declines each.

The recommendations are written by the cut run (:mod:`govflow.governance.cut_run`, the rules are described
there) from the assessment of each project in operation (:mod:`govflow.governance.cut_assessment`). This module
keeps the names the CLI, the API and the web use.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.sql import Select
from sqlmodel import Session

from govflow.governance.cut_assessment import (
    CLAUSE,
    CUT,
    PROJECT,
    CutStatus,
    iso_day,
    parse_period,
    parse_status,
    preview_evidence,
)
from govflow.governance.cut_run import CutsResult, run_cuts
from govflow.governance.outbox import enqueue_many
from govflow.lifecycle.services import (
    BEIJING,
    App,
    _project_row,
    authorize,
    get_actor,
    record_change,
    use_case,
)
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import AppUser
from govflow.states.errors import Conflict, NotFound, RuleRefused
from govflow.states.permissions import Role
from govflow.states.verdict import Reason

#: the names the CLI, the API, the web, the scheduler and the tests use
__all__ = [
    "CLAUSE",
    "CutStatus",
    "CutView",
    "CutsResult",
    "decide_cut",
    "list_cuts",
    "preview_evidence",
    "run_cuts",
    "show_cut",
]


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
            "withdrawn_on": iso_day(self.withdrawn_on),
        }


def _view_query() -> Select[Any]:
    return select(
        CUT,
        PROJECT.c.code.label("project"),
        PROJECT.c.name.label("project_name"),
        DEPT.c.code.label("lead_department"),
    ).select_from(
        CUT.join(PROJECT, PROJECT.c.id == CUT.c.project_id).join(
            DEPT, DEPT.c.id == PROJECT.c.lead_department_id
        )
    )


def _view(r: Any) -> CutView:
    """A row of :func:`_view_query` (its labels are the view's field names)."""
    m = r._mapping
    return CutView(
        **{f.name: m[f.name] for f in fields(CutView)}
        | {"status": CutStatus(m["status"]), "reasons": list(m["reasons"]), "evidence": dict(m["evidence"])}
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


def _decided_conflict(s: Session, r: Any) -> Conflict:
    st = CutStatus(r.status)
    if st is CutStatus.WITHDRAWN:
        return Conflict(
            f"项目 {r.project} 的 {r.period} 年度削减建议已于 {r.withdrawn_on} 撤回（削减理由已消除），不能再作决定",
            f"the {r.period} recommendation for {r.project} was withdrawn on {r.withdrawn_on}; it cannot be decided",
        )
    # who and when as people read them: the decider's name (钱静), Beijing time
    user = t(AppUser)
    who = s.execute(select(user.c.display_name).where(user.c.name == r.decided_by)).scalar_one_or_none()
    who = who or r.decided_by
    when = r.decided_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if r.decided_at else "?"
    return Conflict(
        f"项目 {r.project} 的 {r.period} 年度削减建议已由 {who} 于 {when}（北京时间）{st.label()}，不能重复决定",
        f"the {r.period} recommendation for {r.project} was already {st.label('en')} by {who} at {when} "
        "(Beijing time)",
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
            raise _decided_conflict(s, r)
        status = CutStatus.ACCEPTED if accept else CutStatus.DECLINED
        at = app.clock()
        done = s.execute(
            update(CUT)
            .where(CUT.c.id == r.id, CUT.c.status == CutStatus.PROPOSED.value)
            .values(status=status.value, decided_at=at, decided_by=actor.name, decision_reason=text)
            .returning(CUT.c.id)
        ).first()
        if done is None:  # pragma: no cover - the row lock above makes this unreachable
            raise _decided_conflict(s, _one(s, p, per))
        note = f"{per} 年度运维经费削减建议{verb}：{r.percent}%，{r.amount} 元（策略 {r.policy_version}）；理由：{text}"
        action = f"cuts.{'accept' if accept else 'decline'}"
        record_change(
            app, s, actor, action, kind="decision", at=at, project_code=p["code"], note=note, clauses=[CLAUSE]
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

"""Agreements over time (733号文 第八条 共享期限): a signed agreement is renewed as a new version, audited.

``renew_agreement`` extends an agreement's term (``agreement.version`` + 1, an ``agreement_version`` row with the
terms before and after, an audit event ``agreement.renew`` citing 第八条). The renewed agreement is checked as a
new one is (:func:`govflow.states.rules.check_agreement_consistency`: signed no later than today, the term covers
every item's due date, parties, scope), all reasons at once, nothing written on a refusal. A renewal ends what
stood on the expiry: the agreement's open ``AGREEMENT_EXPIRED`` finding is closed at once (``agreement_renewed``)
and so are the rectification orders issued for it, so acceptance no longer waits for the next sweep.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update

from govflow.governance.orders import close_orders_of_findings
from govflow.lifecycle.core import (
    _project_row,
    authorize,
    bump_version,
    business_date,
    get_actor,
    record_change,
    use_case,
)
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import load_facts, t
from govflow.models.tables import Agreement, AgreementVersion, Finding
from govflow.states.errors import NotFound, RuleRefused
from govflow.states.findings import AGREEMENT_EXPIRED, AGREEMENT_RENEWED, FindingStatus
from govflow.states.phases import Phase
from govflow.states.rules import check_agreement_consistency
from govflow.states.sharing import AgreementFact
from govflow.states.verdict import Reason, clause

AG, AV, FI = t(Agreement), t(AgreementVersion), t(Finding)
TERM = clause("第八条")


def _terms(a: Any) -> dict[str, Any]:
    return {
        "signed_on": a.signed_on.isoformat() if a.signed_on else None,
        "term_start": a.term_start.isoformat() if a.term_start else None,
        "term_end": a.term_end.isoformat() if a.term_end else None,
        "terminated_on": a.terminated_on.isoformat() if a.terminated_on else None,
    }


@use_case
def renew_agreement(
    app: App,
    project: str,
    agreement: str,
    actor_name: str | None,
    *,
    until: date,
    signed_on: date | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """续签: the agreement's term now ends on ``until`` (signed on ``signed_on``, today by default)."""
    today = business_date(app.clock())
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, project)
        authorize(app, s, actor, "project.edit", p)
        phase = Phase(p["phase"])
        if phase in (Phase.RETIRED, Phase.WITHDRAWN):
            ended = Reason(
                "AGREEMENT_PROJECT_CLOSED",
                TERM,
                f"项目 {project} 已{phase.zh}，其共享协定不再续签",
                f"project {project} is {phase.en}; its agreements are no longer renewed",
                "project",
                {"phase": phase.value},
            )
            raise RuleRefused([ended])
        row = s.execute(select(AG).where(AG.c.project_id == p["id"], AG.c.code == agreement)).first()
        if row is None:
            raise NotFound(
                f"项目 {project} 没有共享协定 {agreement}", f"project {project} has no agreement {agreement}"
            )
        if row.term_end is None or until <= row.term_end:
            was = row.term_end.isoformat() if row.term_end else "未约定"
            not_later = Reason(
                "AGREEMENT_RENEWAL_NOT_LATER",
                TERM,
                f"续签后的共享期限（{until.isoformat()}）须晚于原期限（{was}）",
                f"the renewed term ({until.isoformat()}) must end after the current one ({was})",
                "until",
                {"agreement": agreement, "until": until.isoformat()},
            )
            raise RuleRefused([not_later])
        facts = load_facts(s, p, p["lead_code"], frozenset({"catalog", "agreements"}), today)
        current = next(a for a in facts.agreements if a.code == agreement)
        signed = signed_on or today
        renewed: AgreementFact = replace(current, signed_on=signed, term_end=until)
        reasons = check_agreement_consistency(
            renewed, "agreement", lead=p["lead_code"], catalog={c.code: c for c in facts.catalog}, today=today
        )
        if reasons:
            raise RuleRefused(reasons)
        version = int(row.version) + 1
        before = _terms(row)
        s.execute(
            update(AG).where(AG.c.id == row.id).values(term_end=until, signed_on=signed, version=version)
        )
        after = before | {"signed_on": signed.isoformat(), "term_end": until.isoformat()}
        s.execute(
            insert(AV).values(
                agreement_id=row.id,
                version=version,
                kind="renewed",
                on=today,
                at=app.clock(),
                actor=actor.name,
                reason=(reason or "").strip() or None,
                before=before,
                after=after,
            )
        )
        closed = s.execute(
            update(FI)
            .where(
                FI.c.project_id == p["id"],
                FI.c.rule == AGREEMENT_EXPIRED,
                FI.c.subject == agreement,
                FI.c.status == FindingStatus.OPEN.value,
            )
            .values(status=FindingStatus.CLOSED.value, closed_on=today, closed_reason=AGREEMENT_RENEWED)
            .returning(FI.c.id, FI.c.key)
        ).all()
        orders = close_orders_of_findings(
            s, app, [(int(i), AGREEMENT_RENEWED) for i, _ in closed], today, actor=actor.name
        )
        project_version = bump_version(s, int(p["id"]))
        note = (reason or "").strip()
        why = f"；理由：{note}" if note else ""
        record_change(
            app,
            s,
            actor,
            "agreement.renew",
            project_code=project,
            note=f"续签共享协定 {agreement}：期限 {before['term_end']} → {until.isoformat()}，签署于 "
            f"{signed.isoformat()}（第 {version} 版）{why}；关闭协定到期问题 {len(closed)} 个、整改通知 {orders} 份",
            clauses=[TERM],
        )
        return {
            "project": project,
            "agreement": agreement,
            "version": version,
            "term_end": until.isoformat(),
            "signed_on": signed.isoformat(),
            "findings_closed": [str(k) for _, k in closed],
            "orders_closed": orders,
            "project_version": project_version,
        }


@use_case
def agreement_versions(
    app: App, project: str, agreement: str, actor_name: str | None
) -> list[dict[str, Any]]:
    """The versions of one agreement after its signing, oldest first (what each change made of its terms)."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, project)
        authorize(app, s, actor, "project.read", p)
        q = (
            select(AV)
            .join(AG, AG.c.id == AV.c.agreement_id)
            .where(AG.c.project_id == p["id"], AG.c.code == agreement)
            .order_by(AV.c.version)
        )
        return [
            {
                "version": int(r.version),
                "kind": r.kind,
                "on": r.on.isoformat(),
                "actor": r.actor,
                "reason": r.reason,
                "before": r.before,
                "after": r.after,
            }
            for r in s.execute(q)
        ]

"""Agreements over time (733号文 第八条 共享期限): a signed agreement is renewed or amended as a new version,
audited.

``renew_agreement`` extends an agreement's term (``agreement.version`` + 1, an ``agreement_version`` row with the
terms before and after, an audit event ``agreement.renew`` citing 第八条). The renewed agreement is checked as a
new one is (:func:`govflow.states.rules.check_agreement_consistency`: signed no later than today, the term covers
every item's due date, parties, scope), all reasons at once, nothing written on a refusal. A renewal ends what
stood on the expiry: the agreement's open ``AGREEMENT_EXPIRED`` finding is closed at once (``agreement_renewed``)
and so are the rectification orders issued for it, so acceptance no longer waits for the next sweep.

``amend_agreements`` replaces signed agreements (same codes) from a file — terms, parties and items — after the
checks a new agreement passes (第八条, 第二条第三款): e.g. when a provider narrowed an item's authorized scope
(第八条 及时调整授权) and an item must go. Each is a new version keeping its terms, parties and items before and
after; findings on what was removed close at the next sweep (their cause is gone).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update

from govflow.governance.orders import close_orders_of_findings
from govflow.lifecycle import portfolio
from govflow.lifecycle.core import (
    _project_row,
    _reason_dict,
    authorize,
    bump_version,
    business_date,
    get_actor,
    record_change,
    use_case,
)
from govflow.lifecycle.materials import recheck_onboarding, settle_due_dates
from govflow.lifecycle.portfolio.writer import replace_agreement
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, load_catalog, load_facts, t
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    AgreementParty,
    AgreementVersion,
    CatalogAuthorization,
    CatalogItem,
    Finding,
)
from govflow.states.errors import InvalidInput, NotFound, PermissionDenied, RuleRefused
from govflow.states.findings import AGREEMENT_EXPIRED, AGREEMENT_RENEWED, FindingStatus
from govflow.states.permissions import Role
from govflow.states.phases import Phase
from govflow.states.rules import check_agreement_consistency, check_catalog_item
from govflow.states.sharing import AgreementFact
from govflow.states.verdict import Reason, clause

AG, AV, FI = t(Agreement), t(AgreementVersion), t(Finding)
AI, AP, CI, AUTH = t(AgreementItem), t(AgreementParty), t(CatalogItem), t(CatalogAuthorization)
TERM = clause("第八条")


def _agreement_row(s: Any, p: Any, project: str, agreement: str) -> Any:
    """The project's agreement ``agreement``, or the NotFound that names both."""
    row = s.execute(select(AG).where(AG.c.project_id == p["id"], AG.c.code == agreement)).first()
    if row is None:
        raise NotFound(
            f"项目 {project} 没有共享协定 {agreement}", f"project {project} has no agreement {agreement}"
        )
    return row


def _new_version(
    s: Any,
    app: App,
    row: Any,
    kind: str,
    actor: str,
    reason: str | None,
    before: dict[str, Any],
    after: dict[str, Any],
    **values: Any,
) -> int:
    """The agreement ``row`` becomes its next version (with ``values`` written to it), and the change is kept as an
    ``agreement_version`` row with the terms before and after. Returns the new version."""
    version = int(row.version) + 1
    s.execute(update(AG).where(AG.c.id == row.id).values(version=version, **values))
    s.execute(
        insert(AV).values(
            agreement_id=row.id, version=version, kind=kind, on=business_date(app.clock()), at=app.clock(),
            actor=actor, reason=(reason or "").strip() or None, before=before, after=after,
        )
    )  # fmt: skip
    return version


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
        row = _agreement_row(s, p, project, agreement)
        if row.terminated_on is not None:
            raise RuleRefused([_terminated(project, row, "agreement")])
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
        before = _terms(row)
        after = before | {"signed_on": signed.isoformat(), "term_end": until.isoformat()}
        version = _new_version(
            s, app, row, "renewed", actor.name, reason, before, after, term_end=until, signed_on=signed
        )
        closed, orders = _close_expiry(s, app, int(p["id"]), agreement, today, actor.name)
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


def _snapshot(s: Any, agreement_id: int, row: Any) -> dict[str, Any]:
    """An agreement's terms with its parties and items, as an ``agreement_version`` row keeps them."""
    parties = [
        str(c)
        for c in s.execute(
            select(DEPT.c.code)
            .join(AP, AP.c.department_id == DEPT.c.id)
            .where(AP.c.agreement_id == agreement_id)
            .order_by(DEPT.c.code)
        ).scalars()
    ]
    consumer = DEPT.alias("consumer")
    items = [
        {"catalog": str(c), "consumer": str(d), "due": due.isoformat() if due else None, "quantity": q}
        for c, d, due, q in s.execute(
            select(CI.c.code, consumer.c.code, AI.c.due, AI.c.quantity)
            .join(CI, CI.c.id == AI.c.catalog_item_id)
            .join(consumer, consumer.c.id == AI.c.consumer_id)
            .where(AI.c.agreement_id == agreement_id)
            .order_by(AI.c.id)
        )
    ]
    return _terms(row) | {"form": row.form, "basis": row.basis, "parties": parties, "items": items}


@use_case
def amend_agreements(
    app: App, project: str, path: Path, actor_name: str | None, *, reason: str | None = None
) -> dict[str, Any]:
    """修订: agreements already signed, replaced by the file's (same codes) as new versions — terms, parties and
    items — after the checks a new agreement passes (第八条, 第二条第三款), all or nothing."""
    with unit_of_work(app.engine, write=False) as s:
        authorize(app, s, get_actor(s, actor_name), "project.edit", _project_row(s, project))
    amended = portfolio.parse_agreements(path)
    today = business_date(app.clock())
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, project)
        authorize(app, s, actor, "project.edit", p)
        rows = {str(r.code): r for r in s.execute(select(AG).where(AG.c.project_id == p["id"]))}
        unknown = [
            Reason(
                "AGREEMENT_NOT_SIGNED",
                TERM,
                f"项目 {project} 没有共享协定 {a.code}，修订只针对已签署的协定（新协定用 agreement add）",
                f"project {project} has no agreement {a.code}; only signed agreements are amended (add new "
                "ones with agreement add)",
                f"agreements[{i}].code",
                {"agreement": a.code},
            )
            for i, a in enumerate(amended)
            if a.code not in rows
        ]
        unknown += [
            _terminated(project, rows[a.code], f"agreements[{i}].code")
            for i, a in enumerate(amended)
            if a.code in rows and rows[a.code].terminated_on is not None
        ]
        reasons = unknown + portfolio.check_new_agreements(
            amended,
            project=project,
            lead=p["lead_code"],
            catalog={c.code: c for c in load_catalog(s, int(p["id"]))},
            existing_codes=set(rows) - {a.code for a in amended},
            departments=set(s.execute(select(DEPT.c.code)).scalars()),
            today=today,
        )
        if reasons:
            raise InvalidInput(reasons)
        note = (reason or "").strip() or None
        out = []
        for a in amended:
            row = rows[a.code]
            before = _snapshot(s, int(row.id), row)
            replace_agreement(s, int(p["id"]), int(row.id), a)
            fresh = s.execute(select(AG).where(AG.c.id == row.id)).one()
            after = _snapshot(s, int(row.id), fresh)
            version = _new_version(s, app, row, "amended", actor.name, note, before, after)
            closed: list[tuple[int, str]] = []
            orders = 0
            if fresh.term_end is not None and fresh.term_end >= today:
                closed, orders = _close_expiry(s, app, int(p["id"]), a.code, today, actor.name)
            out.append(
                {
                    "agreement": a.code,
                    "version": version,
                    "findings_closed": [k for _, k in closed],
                    "orders_closed": orders,
                }
            )
        settle_due_dates(s, app.calendar, project_ids=[int(p["id"])])
        recheck_onboarding(s, p, today)
        project_version = bump_version(s, int(p["id"]))
        why = f"；理由：{note}" if note else ""
        record_change(
            app,
            s,
            actor,
            "agreement.amend",
            project_code=project,
            note=f"{path.name}：修订共享协定 "
            + "、".join(f"{o['agreement']}（第 {o['version']} 版）" for o in out)
            + why,
            clauses=[TERM],
        )
        return {"project": project, "amended": out, "project_version": project_version}


@use_case
def authorize_catalog_item(
    app: App,
    project: str,
    catalog: str,
    actor_name: str | None,
    *,
    departments: list[str],
    all_departments: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    """第八条 及时调整授权: the provider of a catalog item (or the program office) sets the departments authorized
    to use it. The item stays as 733号文 wants it (a basic item open to all, a secret one never); agreements that
    now promise it outside the scope are listed, and become AGREEMENT_OUT_OF_SCOPE findings at the next sweep
    until they are amended or the scope widened again."""
    today = business_date(app.clock())
    wanted = sorted(set(departments))
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, project)
        authorize(app, s, actor, "catalog.authorize", p)
        facts = load_facts(s, p, p["lead_code"], frozenset({"catalog", "agreements"}), today)
        item = next((c for c in facts.catalog if c.code == catalog), None)
        if item is None:
            raise NotFound(
                f"项目 {project} 没有目录条目 {catalog}", f"project {project} has no catalog item {catalog}"
            )
        if actor.role not in (Role.PROGRAM_OFFICE, Role.ADMIN) and actor.department != item.provider:
            raise PermissionDenied(
                [
                    Reason(
                        "NOT_THE_PROVIDER",
                        TERM,
                        f"只有目录条目 {catalog} 的提供部门（{item.provider}）或项目审批部门可以调整其授权使用范围",
                        f"only the provider of catalog item {catalog} ({item.provider}) or the program office may "
                        "adjust its authorized scope",
                        "actor",
                        {"catalog": catalog, "provider": item.provider},
                    )
                ]
            )
        known = {
            str(c): int(i)
            for i, c in s.execute(select(DEPT.c.id, DEPT.c.code).where(DEPT.c.code.in_(wanted)))
        }
        reasons = [
            Reason(
                "UNKNOWN_DEPARTMENT",
                TERM,
                f"部门 {d} 不存在",
                f"department {d} does not exist",
                f"departments[{i}]",
                {"department": d},
            )
            for i, d in enumerate(wanted)
            if d not in known
        ]
        adjusted = replace(item, authorized=tuple(wanted), all_departments=all_departments)
        reasons += check_catalog_item(adjusted, "catalog")
        if reasons:
            raise RuleRefused(reasons)
        outside = [
            replace(r, detail={"agreement": a.code, **r.detail})
            for a in facts.agreements
            for r in check_agreement_consistency(
                a, a.code, lead=p["lead_code"], catalog={catalog: adjusted}, today=today
            )
            if r.code in ("CONDITIONAL_CONSUMER_NOT_AUTHORIZED", "SECRET_CONSUMER_NOT_AUTHORIZED")
        ]
        cid = s.execute(select(CI.c.id).where(CI.c.project_id == p["id"], CI.c.code == catalog)).scalar_one()
        s.execute(update(CI).where(CI.c.id == cid).values(all_departments=all_departments))
        s.execute(delete(AUTH).where(AUTH.c.catalog_item_id == cid))
        if wanted:
            s.execute(insert(AUTH), [{"catalog_item_id": cid, "department_id": known[d]} for d in wanted])
        version = bump_version(s, int(p["id"]))
        scope = "所有政务部门" if all_departments else ("、".join(wanted) or "（无）")
        why = f"；理由：{(reason or '').strip()}" if (reason or "").strip() else ""
        record_change(
            app,
            s,
            actor,
            "catalog.authorize",
            project_code=project,
            note=f"调整目录条目 {catalog} 的授权使用范围：{scope}{why}；超出新范围的协定条目 {len(outside)} 个",
            reasons=[_reason_dict(r) for r in outside],
            clauses=[TERM],
        )
        return {
            "project": project,
            "catalog": catalog,
            "authorized": "all" if all_departments else wanted,
            "outside": [dict(r.detail) | {"message": r.message, "message_en": r.message_en} for r in outside],
            "version": version,
        }


def _terminated(project: str, row: Any, path: str) -> Reason:
    return Reason(
        "AGREEMENT_TERMINATED",
        TERM,
        f"项目 {project} 的共享协定 {row.code} 已于 {row.terminated_on.isoformat()} 终止，不再续签或修订；"
        "请另行签订新协定（agreement add）",
        f"agreement {row.code} of project {project} was terminated on {row.terminated_on.isoformat()}; it is "
        "no longer renewed or amended: add a new agreement",
        path,
        {"agreement": str(row.code), "terminated_on": row.terminated_on.isoformat()},
    )


@use_case
def terminate_agreement(
    app: App,
    project: str,
    agreement: str,
    actor_name: str | None,
    *,
    on: date | None = None,
    reason: str | None,
) -> dict[str, Any]:
    """终止: the agreement ends on ``on`` (today by default) — a new version, audited with its reason, decided by
    the program office (not by the parties alone: the sharing it carried may be what 733号文 requires). After that
    day its items are no obligation (no finding, no cut, not in acceptance or coverage); a need they met is
    uncovered again at the next approval (第十条第二款)."""
    why = (reason or "").strip()
    today = business_date(app.clock())
    day = on or today
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, project)
        authorize(app, s, actor, "agreement.terminate", p)  # the program office decides
        row = _agreement_row(s, p, project, agreement)
        reasons = []
        if row.terminated_on is not None:
            reasons.append(_terminated(project, row, "agreement"))
        if not why:
            reasons.append(
                Reason(
                    "REASON_REQUIRED",
                    TERM,
                    "终止共享协定须说明理由（--reason）",
                    "a termination needs a reason (--reason)",
                    "reason",
                )
            )
        start = row.term_start or row.signed_on
        if start is not None and day < start:
            reasons.append(
                Reason(
                    "TERMINATION_BEFORE_TERM",
                    TERM,
                    f"终止日期 {day.isoformat()} 早于协定生效（{start.isoformat()}）",
                    f"the termination day {day.isoformat()} is before the agreement took effect ({start.isoformat()})",
                    "on",
                    {"agreement": agreement},
                )
            )
        if reasons:
            raise RuleRefused(reasons)
        before = _terms(row)
        end = min(row.term_end, day) if row.term_end else day
        after = before | {"terminated_on": day.isoformat(), "term_end": end.isoformat()}
        version = _new_version(
            s, app, row, "terminated", actor.name, why, before, after, terminated_on=day, term_end=end
        )
        project_version = bump_version(s, int(p["id"]))
        record_change(
            app,
            s,
            actor,
            "agreement.terminate",
            project_code=project,
            note=f"终止共享协定 {agreement}：自 {day.isoformat()} 起终止（第 {version} 版）；理由：{why}",
            clauses=[TERM],
        )
        return {"project": project, "agreement": agreement, "version": version, "terminated_on": day.isoformat(),
                "project_version": project_version}  # fmt: skip


def _close_expiry(
    s: Any, app: App, project_id: int, agreement: str, today: date, actor: str
) -> tuple[list[tuple[int, str]], int]:
    """The agreement's term covers today again: its open AGREEMENT_EXPIRED finding closes (``agreement_renewed``)
    and so do the orders issued for it. Returns the (id, key) of the findings closed and the orders closed."""
    closed = [
        (int(i), str(k))
        for i, k in s.execute(
            update(FI)
            .where(
                FI.c.project_id == project_id,
                FI.c.rule == AGREEMENT_EXPIRED,
                FI.c.subject == agreement,
                FI.c.status == FindingStatus.OPEN.value,
            )
            .values(status=FindingStatus.CLOSED.value, closed_on=today, closed_reason=AGREEMENT_RENEWED)
            .returning(FI.c.id, FI.c.key)
        )
    ]
    orders = close_orders_of_findings(s, app, [(i, AGREEMENT_RENEWED) for i, _ in closed], today, actor=actor)
    return closed, orders


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

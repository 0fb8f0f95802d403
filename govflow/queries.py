"""Read use cases the API and the web pages need beyond :mod:`govflow.services`: a project's sharing materials
(with secret catalog items hidden from those not entitled to them), the audit trail, users and flow runs.

Like every use case they resolve the actor, check the permission table (a denial is a security event) and read
in one transaction. Lists are paged in SQL and return a :class:`Page`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.sql import Select
from sqlmodel import Session

from govflow.services import Actor, App, _project_row, authorize, get_actor, use_case, verify_audit
from models.audit import ChainReport
from models.db import unit_of_work
from models.facts import DEPT, t
from models.tables import (
    Agreement,
    AgreementItem,
    AgreementParty,
    AppUser,
    AuditEvent,
    CatalogAuthorization,
    CatalogItem,
    FlowRun,
    Opinion,
    Review,
    ReviewJudgment,
)
from states.permissions import Role
from states.sharing import Secrecy

CI, AUTH = t(CatalogItem), t(CatalogAuthorization)
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "page": self.page, "size": self.size}


def _page(s: Session, q: Select[Any], page: int, size: int) -> Page:
    page, size = max(page, 1), min(max(size, 1), MAX_PAGE_SIZE)
    total = int(s.execute(select(func.count()).select_from(q.order_by(None).subquery())).scalar_one())
    rows = [dict(r._mapping) for r in s.execute(q.limit(size).offset((page - 1) * size))]
    return Page(rows, total, page, size)


def paginate(rows: Sequence[dict[str, Any]], page: int, size: int) -> Page:
    """A page of a list some use case already returns whole (its length is small and bounded)."""
    page, size = max(page, 1), min(max(size, 1), MAX_PAGE_SIZE)
    start = (page - 1) * size
    return Page(list(rows[start : start + size]), len(rows), page, size)


@use_case
def require(app: App, actor_name: str, action: str, code: str | None = None) -> None:
    """Check the permission table before expensive work (reading an upload) that the use case itself would
    only authorize after parsing; a denial is audited like any other."""
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, action, _project_row(s, code) if code is not None else None)


# ---------------------------------------------------------------------------------------------- secrecy


def secret_visible(actor: Actor) -> ColumnElement[bool]:
    """SQL condition on ``catalog_item``: may ``actor`` see the item?

    A secret item (国家秘密, 第二条第三款) is visible only to its provider, the departments explicitly authorized
    on it, and audit. Authorization is by department, so a program-office user sees it only if its own
    department is authorized; "all departments" never counts for a secret item, and administrators are not
    entitled by their role.
    """
    if actor.role is Role.AUDIT:
        return true()
    not_secret: ColumnElement[bool] = CI.c.secrecy != Secrecy.SECRET.value
    if actor.department_id is None:
        return not_secret
    authorized = exists().where(
        and_(AUTH.c.catalog_item_id == CI.c.id, AUTH.c.department_id == actor.department_id)
    )
    return or_(not_secret, CI.c.provider_id == actor.department_id, authorized)


@use_case
def list_catalog(
    app: App, code: str, actor_name: str, *, page: int = 1, size: int = 100, secrecy: str | None = None
) -> Page:
    """共享信息目录 of a project, secret items the actor may not see left out (not even counted)."""
    provider = DEPT.alias("provider")
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.read", p)
        q = (
            select(
                CI.c.id,
                CI.c.code,
                CI.c.name,
                provider.c.code.label("provider"),
                provider.c.name.label("provider_name"),
                CI.c.category,
                CI.c.share_type,
                CI.c.method,
                CI.c.update_frequency,
                CI.c.secrecy,
                CI.c.legal_basis,
                CI.c.all_departments,
                CI.c.fields,
                CI.c.format,
                CI.c.interface,
                CI.c.processing,
                CI.c.traceability,
            )
            .join(provider, provider.c.id == CI.c.provider_id)
            .where(CI.c.project_id == p["id"], secret_visible(actor))
            .order_by(CI.c.code)
        )
        if secrecy:
            q = q.where(CI.c.secrecy == secrecy)
        out = _page(s, q, page, size)
        ids = [int(r.pop("id")) for r in out.items]
        authorized: dict[int, list[str]] = defaultdict(list)
        if ids:
            rows = s.execute(
                select(AUTH.c.catalog_item_id, DEPT.c.code)
                .join(DEPT, DEPT.c.id == AUTH.c.department_id)
                .where(AUTH.c.catalog_item_id.in_(ids))
                .order_by(DEPT.c.code)
            )
            for item_id, dept in rows:
                authorized[int(item_id)].append(str(dept))
        for item_id, r in zip(ids, out.items, strict=True):
            r["authorized"] = "all" if r.pop("all_departments") else authorized.get(item_id, [])
        return out


@use_case
def list_agreements(app: App, code: str, actor_name: str, *, page: int = 1, size: int = 100) -> Page:
    """信息共享协定 of a project with their items; items on a catalog item hidden from the actor are left out."""
    ag, ai, ap = t(Agreement), t(AgreementItem), t(AgreementParty)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.read", p)
        q = select(
            ag.c.id,
            ag.c.code,
            ag.c.form,
            ag.c.signed_on,
            ag.c.term_start,
            ag.c.term_end,
            ag.c.basis,
        ).where(ag.c.project_id == p["id"])
        out = _page(s, q.order_by(ag.c.code), page, size)
        ids = [int(r.pop("id")) for r in out.items]
        parties: dict[int, list[str]] = defaultdict(list)
        items: dict[int, list[dict[str, Any]]] = defaultdict(list)
        if ids:
            for aid, dept in s.execute(
                select(ap.c.agreement_id, DEPT.c.code)
                .join(DEPT, DEPT.c.id == ap.c.department_id)
                .where(ap.c.agreement_id.in_(ids))
                .order_by(DEPT.c.code)
            ):
                parties[int(aid)].append(str(dept))
            iq = (
                select(
                    ai.c.agreement_id,
                    CI.c.code.label("catalog"),
                    DEPT.c.code.label("consumer"),
                    ai.c.quality,
                    ai.c.quantity,
                    ai.c.update_frequency,
                    ai.c.scope,
                    ai.c.usage,
                    ai.c.due,
                )
                .join(CI, CI.c.id == ai.c.catalog_item_id)
                .join(DEPT, DEPT.c.id == ai.c.consumer_id)
                .where(ai.c.agreement_id.in_(ids), secret_visible(actor))
                .order_by(ai.c.id)
            )
            for found in s.execute(iq):
                row = dict(found._mapping)
                items[int(row.pop("agreement_id"))].append(row)
        for aid, r in zip(ids, out.items, strict=True):
            r["parties"] = parties.get(aid, [])
            r["items"] = items.get(aid, [])
        return out


@use_case
def list_opinions(app: App, code: str, actor_name: str, *, page: int = 1, size: int = 100) -> Page:
    """征求意见 recorded on a project, oldest first (the newest of a department is the one that counts)."""
    op = t(Opinion)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.read", p)
        q = (
            select(
                DEPT.c.code.label("department"),
                DEPT.c.name.label("department_name"),
                op.c.given_on.label("date"),
                op.c.verdict,
                op.c.unmet_needs,
                op.c.comment,
            )
            .join(DEPT, DEPT.c.id == op.c.department_id)
            .where(op.c.project_id == p["id"])
            .order_by(op.c.given_on, op.c.id)
        )
        return _page(s, q, page, size)


@use_case
def list_reviews(app: App, code: str, actor_name: str, *, page: int = 1, size: int = 100) -> Page:
    """Stage reviews of a project with their judgment on each focus point (第十条第一款)."""
    rv, rj = t(Review), t(ReviewJudgment)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.read", p)
        q = (
            select(rv.c.id, rv.c.stage, rv.c.agency, rv.c.reviewed_on.label("date"), rv.c.conclusion)
            .where(rv.c.project_id == p["id"])
            .order_by(rv.c.reviewed_on, rv.c.id)
        )
        out = _page(s, q, page, size)
        ids = [int(r.pop("id")) for r in out.items]
        judged: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
        if ids:
            for rid, point, judgment, comment in s.execute(
                select(rj.c.review_id, rj.c.focus_point, rj.c.judgment, rj.c.comment).where(
                    rj.c.review_id.in_(ids)
                )
            ):
                judged[int(rid)][str(point)] = {"judgment": judgment, "comment": comment}
        for rid, r in zip(ids, out.items, strict=True):
            r["judgments"] = judged.get(rid, {})
        return out


# ---------------------------------------------------------------------------------------------- audit


@use_case
def audit_trail(
    app: App,
    actor_name: str,
    *,
    project: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    kind: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    newest_first: bool = True,
    page: int = 1,
    size: int = 50,
) -> Page:
    """The audit trail, filtered; ``since`` inclusive, ``until`` exclusive (on the effective time)."""
    ae = t(AuditEvent)
    with unit_of_work(app.engine, write=False) as s:
        who = get_actor(s, actor_name)
        authorize(app, s, who, "audit.read")
        cond: list[ColumnElement[bool]] = []
        for column, value in (
            (ae.c.project_code, project),
            (ae.c.actor, actor),
            (ae.c.action, action),
            (ae.c.kind, kind),
            (ae.c.outcome, outcome),
        ):
            if value is not None:
                cond.append(column == value)
        if since is not None:
            cond.append(ae.c.occurred_at >= since)
        if until is not None:
            cond.append(ae.c.occurred_at < until)
        q = select(
            ae.c.seq,
            ae.c.kind,
            ae.c.outcome,
            ae.c.project_code.label("project"),
            ae.c.action,
            ae.c.actor,
            ae.c.role,
            ae.c.occurred_at,
            ae.c.recorded_at,
            ae.c.from_phase,
            ae.c.to_phase,
            ae.c.reasons,
            ae.c.clauses,
            ae.c.note,
            ae.c.hash,
        ).where(and_(true(), *cond))
        return _page(s, q.order_by(ae.c.seq.desc() if newest_first else ae.c.seq), page, size)


@use_case
def verify_audit_chain(app: App, actor_name: str) -> ChainReport:
    """`govflow audit verify` for a user: audit and administrators may run it."""
    with unit_of_work(app.engine, write=False) as s:
        authorize(app, s, get_actor(s, actor_name), "audit.verify")
    return verify_audit(app)


# ---------------------------------------------------------------------------------------------- users, runs


@use_case
def list_users(app: App, actor_name: str, *, role: str | None = None, page: int = 1, size: int = 100) -> Page:
    """Users with their role and department; whether a password or token is set, never the hashes."""
    u = t(AppUser)
    with unit_of_work(app.engine, write=False) as s:
        authorize(app, s, get_actor(s, actor_name), "user.admin")
        q = (
            select(
                u.c.name,
                u.c.display_name,
                u.c.role,
                DEPT.c.code.label("department"),
                u.c.active,
                u.c.password_hash.is_not(None).label("has_password"),
                u.c.token_hash.is_not(None).label("has_token"),
            )
            .outerjoin(DEPT, DEPT.c.id == u.c.department_id)
            .where(u.c.role == role if role else true())
            .order_by(u.c.name)
        )
        return _page(s, q, page, size)


@use_case
def flow_runs(
    app: App,
    actor_name: str,
    *,
    flow: str | None = None,
    status: str | None = None,
    page: int = 1,
    size: int = 50,
) -> Page:
    """Runs of the governance flows, newest first: what each did and how it ended."""
    fr = t(FlowRun)
    with unit_of_work(app.engine, write=False) as s:
        authorize(app, s, get_actor(s, actor_name), "flow.read")
        q = select(
            fr.c.id,
            fr.c.flow,
            fr.c.as_of,
            fr.c.started_at,
            fr.c.finished_at,
            fr.c.status,
            fr.c.stats,
            fr.c.error,
            fr.c.prefect_flow_run_id,
        ).where(
            fr.c.flow == flow if flow else true(),
            fr.c.status == status if status else true(),
        )
        return _page(s, q.order_by(fr.c.started_at.desc(), fr.c.id.desc()), page, size)


__all__ = [
    "Page",
    "audit_trail",
    "flow_runs",
    "list_agreements",
    "list_catalog",
    "list_opinions",
    "list_reviews",
    "list_users",
    "paginate",
    "require",
    "secret_visible",
    "verify_audit_chain",
]

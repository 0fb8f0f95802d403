"""Read use cases the API and the web pages need beyond :mod:`govflow.lifecycle.services`: a project's sharing materials
(with secret catalog items hidden from those not entitled to them), the sweep's findings, the audit trail, users
and flow runs.

Like every use case they resolve the actor, check the permission table (a denial is a security event) and read
in one transaction. Lists are paged in SQL and return a :class:`Page`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.sql import Select
from sqlmodel import Session

from govflow.governance.rectification import OrderView
from govflow.lifecycle.services import App, _project_row, authorize, get_actor, use_case, verify_audit
from govflow.models.audit import ChainReport
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    AgreementParty,
    AppUser,
    AuditEvent,
    CatalogAuthorization,
    CatalogItem,
    Finding,
    FlowRun,
    Opinion,
    Project,
    ProjectDepartment,
    RectificationOrder,
    Review,
    ReviewJudgment,
)
from govflow.reads import governed
from govflow.reads.lists import like_pattern
from govflow.reads.secrecy import Visibility, secret_visible, visibility
from govflow.states import findings
from govflow.states.errors import UsageError
from govflow.states.permissions import Role
from govflow.states.vocabulary import FindingRule, FindingStatus, word

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


#: what people wrote on a catalog item, an agreement, an opinion or a review (projected for the reader)
_CATALOG_TEXTS = ("legal_basis", "fields", "format", "interface", "processing", "traceability")
_AGREEMENT_TEXTS = ("basis",)
_AGREEMENT_ITEM_TEXTS = ("quality", "quantity", "scope", "usage")


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
        seen = visibility(s, actor, project_ids=[int(p["id"])])
        for item_id, r in zip(ids, out.items, strict=True):
            r["authorized"] = "all" if r.pop("all_departments") else authorized.get(item_id, [])
            # a visible item's words may still name a hidden one (an interface "shared with C-004 …")
            for key in _CATALOG_TEXTS:
                r[key] = seen.value(r[key], project=code)
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
                    ai.c.due_effective,
                )
                .join(CI, CI.c.id == ai.c.catalog_item_id)
                .join(DEPT, DEPT.c.id == ai.c.consumer_id)
                .where(ai.c.agreement_id.in_(ids), secret_visible(actor))
                .order_by(ai.c.id)
            )
            for found in s.execute(iq):
                row = dict(found._mapping)
                items[int(row.pop("agreement_id"))].append(row)
        seen = visibility(s, actor, project_ids=[int(p["id"])])
        for row in (row for rows in items.values() for row in rows):
            for key in _AGREEMENT_ITEM_TEXTS:
                row[key] = seen.text(row[key], project=code)
        for aid, r in zip(ids, out.items, strict=True):
            for key in _AGREEMENT_TEXTS:
                r[key] = seen.text(r[key], project=code)
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
                op.c.conditions,
            )
            .join(DEPT, DEPT.c.id == op.c.department_id)
            .where(op.c.project_id == p["id"])
            .order_by(op.c.given_on, op.c.id)
        )
        out = _page(s, q, page, size)
        seen = visibility(s, actor, project_ids=[int(p["id"])])
    for r in out.items:  # a department's needs and comments may name a secret item (第二条第三款)
        r["unmet_needs"] = seen.value(r["unmet_needs"], project=code)
        r["comment"] = seen.text(r["comment"], project=code)
        r["conditions"] = [
            {k: seen.text(v, project=code) if k in ("text", "answer") else v for k, v in c.items()}
            for c in r["conditions"] or ()
        ]
    return out


@use_case
def list_reviews(app: App, code: str, actor_name: str, *, page: int = 1, size: int = 100) -> Page:
    """Stage reviews of a project with their judgment on each focus point (第十条第一款)."""
    rv = t(Review)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.read", p)
        q = (
            select(
                rv.c.id,
                rv.c.stage,
                rv.c.agency,
                rv.c.reviewed_on.label("date"),
                rv.c.conclusion,
                rv.c.against_approval,
                t(AppUser).c.display_name.label("agency_name"),
            )
            .select_from(rv.outerjoin(t(AppUser), t(AppUser).c.name == rv.c.agency))
            .where(rv.c.project_id == p["id"])
            .order_by(rv.c.reviewed_on, rv.c.id)
        )
        out = _page(s, q, page, size)
        judged = _judgments(s, out.items)
        seen = visibility(s, actor, project_ids=[int(p["id"])])
    _seen_reviews(out.items, judged, seen, lambda _: code)
    return out


@use_case
def reviewed_stages(app: App, actor_name: str, codes: Sequence[str]) -> set[tuple[str, str]]:
    """Of the projects ``codes``, the (project, stage) pairs that have a review on record (the review queue marks
    what was reviewed at the stage a project is in). One query."""
    rv, pr = t(Review), t(Project)
    with unit_of_work(app.engine, write=False) as s:
        authorize(app, s, get_actor(s, actor_name), "project.list")
        if not codes:
            return set()
        q = (
            select(pr.c.code, rv.c.stage)
            .join(pr, pr.c.id == rv.c.project_id)
            .where(pr.c.code.in_(list(codes)))
            .distinct()
        )
        return {(str(c), str(st)) for c, st in s.execute(q)}


@use_case
def my_reviews(app: App, actor_name: str, *, page: int = 1, size: int = 50) -> Page:
    """The reviews the signed-in review agency recorded (``agency`` is the user who recorded it unless another
    agency was named), newest first, with their judgments on the five focus points (第十条第一款)."""
    rv, pr = t(Review), t(Project)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "review.record")
        q = (
            select(
                rv.c.id,
                pr.c.code.label("project"),
                pr.c.name.label("project_name"),
                pr.c.phase,
                rv.c.stage,
                rv.c.reviewed_on.label("date"),
                rv.c.conclusion,
                rv.c.against_approval,
            )
            .join(pr, pr.c.id == rv.c.project_id)
            .where(rv.c.agency == actor.name)
            .order_by(rv.c.reviewed_on.desc(), rv.c.id.desc())
        )
        out = _page(s, q, page, size)
        judged = _judgments(s, out.items)
        seen = visibility(s, actor, project_codes={str(r["project"]) for r in out.items})
    _seen_reviews(out.items, judged, seen, lambda r: str(r["project"]))
    return out


def _judgments(s: Session, items: list[dict[str, Any]]) -> list[dict[str, dict[str, Any]]]:
    """The focus-point judgments and comments of a page of reviews (their ``id`` taken off each row), in the
    page's order, in one query."""
    rj = t(ReviewJudgment)
    ids = [int(r.pop("id")) for r in items]
    judged: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    if ids:
        q = select(rj.c.review_id, rj.c.focus_point, rj.c.judgment, rj.c.comment).where(
            rj.c.review_id.in_(ids)
        )
        for rid, point, judgment, comment in s.execute(q):
            judged[int(rid)][str(point)] = {"judgment": judgment, "comment": comment}
    return [judged.get(rid, {}) for rid in ids]


def _seen_reviews(
    items: list[dict[str, Any]],
    judged: list[dict[str, dict[str, Any]]],
    seen: Visibility,
    project_of: Callable[[dict[str, Any]], str],
) -> None:
    """Each review's conclusion and comments as the reader may read them (第二条第三款: no secret item named)."""
    for r, points in zip(items, judged, strict=True):
        code = project_of(r)
        r["conclusion"] = seen.text(r["conclusion"], project=code)
        r["judgments"] = {
            point: j | {"comment": seen.text(j["comment"], project=code)} for point, j in points.items()
        }


# ---------------------------------------------------------------------------------------------- findings

FINDING_STATUSES = tuple(st.value for st in FindingStatus)


def _one_of(value: str | None, allowed: Sequence[str], zh: str, en: str) -> None:
    if value is not None and value not in allowed:
        raise UsageError(
            f"{zh} {value} 无效；可选：{', '.join(allowed)}",
            f"invalid {en} {value}; one of {', '.join(allowed)}",
        )


@use_case
def list_findings(
    app: App,
    actor_name: str,
    *,
    status: str | None = None,
    project: str | None = None,
    rule: str | None = None,
    lang: str = "zh",
    page: int = 1,
    size: int = 50,
) -> Page:
    """Findings of the obligation sweep (SPEC §4.1), by project, oldest first: rule, clause, subject, period,
    dates, one sentence explaining it (``lang``) and the rectification order issued for it (one per finding).

    Scope as for orders: a department user sees the findings of the projects its department leads or takes part
    in. A finding on a secret catalog item (国家秘密, 第二条第三款) that the actor may not see (the same test as
    :func:`secret_visible`) is listed — the program office and finance still need to know that an obligation is
    broken and which order runs — but masked (``masked: true``): its key, evidence and the catalog item and
    consumer in its subject and description are left out; the subject is only the agreement's code.
    """
    _one_of(status, FINDING_STATUSES, "状态", "status")
    _one_of(rule, findings.RULES, "规则", "rule")
    fi, pr, ro, pd = t(Finding), t(Project), t(RectificationOrder), t(ProjectDepartment)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        cond: list[ColumnElement[bool]] = []
        if project is not None:
            p = _project_row(s, project)
            authorize(app, s, actor, "finding.read", p)
            cond.append(fi.c.project_id == p["id"])
        else:
            authorize(app, s, actor, "finding.read")
            if actor.role is Role.DEPARTMENT:
                mine = select(pd.c.project_id).where(pd.c.department_id == actor.department_id)
                cond.append(or_(pr.c.lead_department_id == actor.department_id, pr.c.id.in_(mine)))
        if status is not None:
            cond.append(fi.c.status == status)
        if rule is not None:
            cond.append(fi.c.rule == rule)
        # the catalog item a finding is about (none for AGREEMENT_EXPIRED): codes are unique per project
        on_item = and_(CI.c.project_id == fi.c.project_id, CI.c.code == fi.c.evidence["catalog"].as_string())
        visible = or_(CI.c.id.is_(None), secret_visible(actor))
        q = (
            select(
                fi.c.id,
                fi.c.key,
                pr.c.code.label("project"),
                pr.c.name.label("project_name"),
                fi.c.rule,
                fi.c.clause,
                fi.c.subject,
                fi.c.period,
                fi.c.status,
                fi.c.opened_on,
                fi.c.closed_on,
                fi.c.closed_reason,
                fi.c.evidence,
                ro.c.code.label("order"),
                ro.c.status.label("order_status"),
                case((visible, false()), else_=true()).label("masked"),
            )
            .select_from(fi)
            .join(pr, pr.c.id == fi.c.project_id)
            .outerjoin(CI, on_item)
            .outerjoin(ro, ro.c.finding_id == fi.c.id)
            .where(and_(true(), *cond))
            .order_by(pr.c.code, fi.c.opened_on, fi.c.id)
        )
        out = _page(s, q, page, size)
    return Page([_finding_out(r, lang) for r in out.items], out.total, out.page, out.size)


def _finding_out(r: dict[str, Any], lang: str) -> dict[str, Any]:
    i = 1 if lang == "en" else 0
    rule, evidence = str(r["rule"]), dict(r.pop("evidence") or {})
    masked = bool(r.pop("masked"))
    label = word(FindingRule, rule, lang)
    basis = findings.RULE_BASIS.get(rule, ("", ""))[i]
    closed = findings.CLOSED_REASON_LABELS.get(r["closed_reason"] or "")
    out = {
        **r,
        "rule_label": label,
        "basis": basis,
        "status_label": word(FindingStatus, r["status"], lang),
        "closed_reason_label": closed[i] if closed else None,
        "description": findings.describe_finding(rule, evidence, lang),
        "evidence": evidence,
        "masked": masked,
    }
    if masked:
        agreement = str(evidence.get("agreement") or "")
        out |= {
            "key": None,
            "subject": agreement,
            "evidence": None,
            "description": governed.masked_description(rule, agreement, lang),
        }
    return out


def orders_out(
    app: App, actor_name: str, views: Sequence[OrderView], lang: str = "zh"
) -> list[dict[str, Any]]:
    """Orders as the API shows them, as the actor may see them (:func:`govflow.reads.governed.seen_orders`)."""
    return [v.to_dict(lang) for v in governed.orders_for(app, actor_name, views)]


@use_case
def list_orders(
    app: App, actor_name: str, *, status: str | None = None, project: str | None = None, lang: str = "zh"
) -> list[dict[str, Any]]:
    """:func:`govflow.governance.rectification.list_orders` with secret findings masked (:func:`orders_out`)."""
    return [v.to_dict(lang) for v in governed.list_orders(app, actor_name, status=status, project=project)]


@use_case
def show_order(app: App, code: str, actor_name: str, *, lang: str = "zh") -> dict[str, Any]:
    """:func:`govflow.governance.rectification.show_order` with secret findings masked (:func:`orders_out`)."""
    return governed.show_order(app, code, actor_name).to_dict(lang)


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
    search: str | None = None,
    department: str | None = None,
    leave_out: Sequence[str] = (),
    page: int = 1,
    size: int = 50,
) -> Page:
    """The audit trail, filtered; ``since`` inclusive, ``until`` exclusive (on the effective time).

    ``search``: words found in the project code, the actor's user name or display name, or the note;
    ``department``: events of the projects that department leads; ``leave_out``: actions not listed (the
    dashboard leaves sign-ins out unless asked). Each row carries ``actor_name``, the user's display name."""
    ae, u, pr = t(AuditEvent), t(AppUser), t(Project)
    target, named = u.alias("target"), u.alias("named")
    with unit_of_work(app.engine, write=False) as s:
        who = get_actor(s, actor_name)
        authorize(app, s, who, "audit.read")
        cond: list[ColumnElement[bool]] = []
        if search and search.strip():
            pattern = like_pattern(search.strip()[:100])
            cond.append(
                or_(
                    *(c.ilike(pattern, escape="\\") for c in (ae.c.project_code, ae.c.actor, ae.c.note)),
                    # a person's display name: through the (small) user table, not a join of every event
                    ae.c.actor.in_(
                        select(named.c.name).where(named.c.display_name.ilike(pattern, escape="\\"))
                    ),
                )
            )
        if department:
            lead = select(DEPT.c.id).where(DEPT.c.code == department).scalar_subquery()
            cond.append(ae.c.project_code.in_(select(pr.c.code).where(pr.c.lead_department_id == lead)))
        if leave_out:
            cond.append(ae.c.action.not_in(list(leave_out)))
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
        q = (
            select(
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
                u.c.display_name.label("actor_name"),
                target.c.display_name.label("note_name"),
            )
            .select_from(
                ae.outerjoin(u, u.c.name == ae.c.actor).outerjoin(
                    # an administration step's note is the user it was done to: their name too
                    target,
                    and_(ae.c.action.like("user.%"), target.c.name == ae.c.note),
                )
            )
            .where(and_(true(), *cond))
        )
        result = _page(s, q.order_by(ae.c.seq.desc() if newest_first else ae.c.seq), page, size)
        # 第二条第三款: the record keeps every word; a reader other than audit gets secret items masked
        seen = visibility(s, who, project_codes={str(r["project"]) for r in result.items if r["project"]})
    if seen:
        for r in result.items:
            project = str(r["project"]) if r["project"] else None
            r["reasons"] = seen.reason_dicts(r["reasons"], project)
            r["note"] = seen.text(r["note"], project=project)
    return result


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
    "list_findings",
    "list_opinions",
    "list_orders",
    "list_reviews",
    "list_users",
    "my_reviews",
    "orders_out",
    "paginate",
    "require",
    "reviewed_stages",
    "secret_visible",
    "show_order",
    "verify_audit_chain",
]


@use_case
def needs_analysis(app: App, code: str, actor_name: str) -> dict[str, str | None]:
    """需求分析 (第九条) of a project: its three dimensions (None where none is recorded)."""
    from govflow.models.tables import NeedsAnalysis

    na = t(NeedsAnalysis)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, "project.read", p)
        row = s.execute(
            select(na.c.internal, na.c.external, na.c.central_local).where(na.c.project_id == p["id"])
        ).first()
    if row is None:
        return {"internal": None, "external": None, "central_local": None}
    return {"internal": row.internal, "external": row.external, "central_local": row.central_local}

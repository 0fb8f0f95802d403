"""Read a project's sharing materials into the domain's :class:`ProjectFacts`, in bulk Core queries.

Each guard needs only some parts; loading just those keeps a lifecycle event to a handful of statements.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from models.tables import (
    Agreement,
    AgreementItem,
    AgreementParty,
    CatalogAuthorization,
    CatalogItem,
    DeliveryEvidence,
    Department,
    Finding,
    NeedsAnalysis,
    Opinion,
    ProjectDepartment,
    Review,
    ReviewJudgment,
)
from states.phases import Event
from states.sharing import (
    AgreementFact,
    AgreementForm,
    AgreementItemFact,
    CatalogFact,
    Category,
    FieldSpec,
    FocusPoint,
    Frequency,
    Judgment,
    Method,
    NeedsFact,
    OpinionFact,
    OpinionVerdict,
    ProjectFacts,
    ReviewFact,
    Secrecy,
    ShareType,
    UnmetNeed,
)


def t(model: Any) -> Any:
    """The Core table behind a SQLModel class."""
    return model.__table__


DEPT = t(Department)

#: which parts of the facts each guarded event reads
PARTS: dict[Event, frozenset[str]] = {
    Event.INTAKE: frozenset({"departments", "catalog", "agreements", "needs", "opinions"}),
    Event.APPROVE: frozenset({"catalog", "agreements", "opinions", "reviews"}),
    Event.SUBMIT_FEASIBILITY: frozenset({"catalog", "agreements"}),
    Event.PASS_ACCEPTANCE: frozenset({"agreements", "delivered", "findings"}),
}
ALL_PARTS = frozenset(
    {"departments", "catalog", "agreements", "needs", "opinions", "reviews", "delivered", "findings"}
)


def dept_codes(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        int(i): str(c) for i, c in session.execute(select(DEPT.c.id, DEPT.c.code).where(DEPT.c.id.in_(ids)))
    }


def related_departments(session: Session, project_id: int) -> list[str]:
    pd = t(ProjectDepartment)
    q = select(DEPT.c.code).join(pd, pd.c.department_id == DEPT.c.id).where(pd.c.project_id == project_id)
    return [str(c) for (c,) in session.execute(q.order_by(DEPT.c.code))]


def _rows(session: Session, q: Select[Any]) -> list[Any]:
    return [r._mapping for r in session.execute(q)]


def load_catalog(session: Session, project_id: int) -> list[CatalogFact]:
    ci, auth = t(CatalogItem), t(CatalogAuthorization)
    provider = DEPT.alias("provider")
    items = _rows(
        session,
        select(ci, provider.c.code.label("provider_code"))
        .join(provider, provider.c.id == ci.c.provider_id)
        .where(ci.c.project_id == project_id)
        .order_by(ci.c.code),
    )
    authorized: dict[int, list[str]] = defaultdict(list)
    if items:
        q = (
            select(auth.c.catalog_item_id, DEPT.c.code)
            .join(DEPT, DEPT.c.id == auth.c.department_id)
            .where(auth.c.catalog_item_id.in_([r["id"] for r in items]))
        )
        for item_id, code in session.execute(q):
            authorized[int(item_id)].append(str(code))
    return [
        CatalogFact(
            code=r["code"],
            name=r["name"],
            provider=r["provider_code"],
            category=Category(r["category"]),
            share_type=ShareType(r["share_type"]),
            method=Method(r["method"]),
            update_frequency=Frequency(r["update_frequency"]),
            secrecy=Secrecy(r["secrecy"]),
            legal_basis=r["legal_basis"],
            all_departments=bool(r["all_departments"]),
            authorized=tuple(sorted(authorized.get(int(r["id"]), []))),
            fields=tuple(
                FieldSpec(f.get("name", ""), f.get("type", ""), f.get("description", "")) for f in r["fields"]
            ),
            format=r["format"],
            interface=r["interface"],
            processing=r["processing"],
            traceability=r["traceability"],
        )
        for r in items
    ]


def load_agreements(session: Session, project_id: int) -> list[AgreementFact]:
    ag, ai, ap, ci = t(Agreement), t(AgreementItem), t(AgreementParty), t(CatalogItem)
    agreements = _rows(session, select(ag).where(ag.c.project_id == project_id).order_by(ag.c.code))
    if not agreements:
        return []
    ids = [a["id"] for a in agreements]
    parties: dict[int, list[str]] = defaultdict(list)
    for aid, code in session.execute(
        select(ap.c.agreement_id, DEPT.c.code)
        .join(DEPT, DEPT.c.id == ap.c.department_id)
        .where(ap.c.agreement_id.in_(ids))
    ):
        parties[int(aid)].append(str(code))
    items: dict[int, list[AgreementItemFact]] = defaultdict(list)
    q = (
        select(ai, ci.c.code.label("catalog_code"), DEPT.c.code.label("consumer_code"))
        .join(ci, ci.c.id == ai.c.catalog_item_id)
        .join(DEPT, DEPT.c.id == ai.c.consumer_id)
        .where(ai.c.agreement_id.in_(ids))
        .order_by(ai.c.id)
    )
    for r in _rows(session, q):
        items[int(r["agreement_id"])].append(
            AgreementItemFact(
                catalog=r["catalog_code"],
                consumer=r["consumer_code"],
                quality=r["quality"],
                quantity=r["quantity"],
                update_frequency=Frequency(r["update_frequency"]) if r["update_frequency"] else None,
                scope=r["scope"],
                usage=r["usage"],
                due=r["due"],
            )
        )
    return [
        AgreementFact(
            code=a["code"],
            form=AgreementForm(a["form"]),
            parties=tuple(sorted(parties.get(int(a["id"]), []))),
            signed_on=a["signed_on"],
            term_start=a["term_start"],
            term_end=a["term_end"],
            basis=a["basis"],
            items=tuple(items.get(int(a["id"]), [])),
        )
        for a in agreements
    ]


def load_needs(session: Session, project_id: int) -> NeedsFact | None:
    na = t(NeedsAnalysis)
    r = session.execute(select(na).where(na.c.project_id == project_id)).first()
    if r is None:
        return None
    m = r._mapping
    return NeedsFact(internal=m["internal"], external=m["external"], central_local=m["central_local"])


def load_opinions(session: Session, project_id: int) -> list[OpinionFact]:
    op = t(Opinion)
    q = (
        select(op, DEPT.c.code.label("dept_code"))
        .join(DEPT, DEPT.c.id == op.c.department_id)
        .where(op.c.project_id == project_id)
        .order_by(op.c.given_on, op.c.id)
    )
    return [
        OpinionFact(
            department=r["dept_code"],
            on=r["given_on"],
            verdict=OpinionVerdict(r["verdict"]),
            unmet_needs=tuple(
                UnmetNeed(str(n.get("name") or ""), n.get("catalog")) for n in r["unmet_needs"]
            ),
        )
        for r in _rows(session, q)
    ]


def load_reviews(session: Session, project_id: int) -> list[ReviewFact]:
    rv, rj = t(Review), t(ReviewJudgment)
    reviews = _rows(
        session, select(rv).where(rv.c.project_id == project_id).order_by(rv.c.reviewed_on, rv.c.id)
    )
    if not reviews:
        return []
    judgments: dict[int, dict[FocusPoint, Judgment]] = defaultdict(dict)
    for rid, point, judgment in session.execute(
        select(rj.c.review_id, rj.c.focus_point, rj.c.judgment).where(
            rj.c.review_id.in_([r["id"] for r in reviews])
        )
    ):
        judgments[int(rid)][FocusPoint(point)] = Judgment(judgment)
    return [
        ReviewFact(
            stage=r["stage"],
            agency=r["agency"],
            on=r["reviewed_on"],
            judgments=judgments.get(int(r["id"]), {}),
            conclusion=r["conclusion"],
        )
        for r in reviews
    ]


def load_delivered(session: Session, project_id: int, on: date) -> dict[tuple[str, str], int]:
    de, ci = t(DeliveryEvidence), t(CatalogItem)
    q = (
        select(ci.c.code, DEPT.c.code, func.sum(de.c.records))
        .select_from(de)
        .join(ci, ci.c.id == de.c.catalog_item_id)
        .join(DEPT, DEPT.c.id == de.c.consumer_id)
        .where(and_(de.c.project_id == project_id, de.c.day <= on))
        .group_by(ci.c.code, DEPT.c.code)
    )
    return {(str(c), str(d)): int(n or 0) for c, d, n in session.execute(q)}


def load_open_findings(session: Session, project_id: int) -> list[str]:
    f = t(Finding)
    q = select(f.c.key).where(and_(f.c.project_id == project_id, f.c.status == "open")).order_by(f.c.key)
    return [str(k) for (k,) in session.execute(q)]


def load_facts(
    session: Session,
    project: Any,
    lead_code: str,
    parts: frozenset[str],
    on: date,
    departments: list[str] | None = None,
) -> ProjectFacts:
    """Facts for ``project`` (a row mapping with id, code, name), reading only the requested ``parts``."""
    pid = int(project["id"])
    if departments is None and "departments" in parts:
        departments = related_departments(session, pid)
    catalog = tuple(load_catalog(session, pid)) if "catalog" in parts else ()
    agreements = tuple(load_agreements(session, pid)) if "agreements" in parts else ()
    opinions = tuple(load_opinions(session, pid)) if "opinions" in parts else ()
    mentioned = {lead_code, *(departments or ()), *(o.department for o in opinions)}
    mentioned.update(i.consumer for a in agreements for i in a.items)
    return ProjectFacts(
        code=project["code"],
        name=project["name"],
        lead_department=lead_code,
        departments=tuple(departments or ()),
        catalog=catalog,
        agreements=agreements,
        needs=load_needs(session, pid) if "needs" in parts else None,
        opinions=opinions,
        reviews=tuple(load_reviews(session, pid)) if "reviews" in parts else (),
        delivered=load_delivered(session, pid, on) if "delivered" in parts else {},
        open_findings=tuple(load_open_findings(session, pid)) if "findings" in parts else (),
        names=department_names(session, mentioned) if parts else {},
    )


def department_names(session: Session, codes: set[str]) -> dict[str, str]:
    q = select(DEPT.c.code, DEPT.c.name).where(DEPT.c.code.in_(sorted(codes)))
    return {str(c): str(n) for c, n in session.execute(q)}

"""Read a project's sharing materials into the domain's :class:`ProjectFacts`, in bulk Core queries.

Each guard needs only some parts; loading just those keeps a lifecycle event to a handful of statements.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from govflow.models.tables import (
    Agreement,
    AgreementItem,
    AgreementParty,
    AppUser,
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
from govflow.states.phases import Event
from govflow.states.sharing import (
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
    OpinionCondition,
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
    Event.APPROVE: frozenset({"departments", "catalog", "agreements", "needs", "opinions", "reviews"}),
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


# Statements are built once, with bound parameters: building a Core statement and computing its cache key
# costs ~3x more than executing the cached compiled form, and an event runs up to 15 of them.
_PID: Any = bindparam("pid")
_PD, _CI, _AUTH = t(ProjectDepartment), t(CatalogItem), t(CatalogAuthorization)
_AG, _AI, _AP = t(Agreement), t(AgreementItem), t(AgreementParty)
_NA, _OP, _RV, _RJ = t(NeedsAnalysis), t(Opinion), t(Review), t(ReviewJudgment)
_DE, _FI = t(DeliveryEvidence), t(Finding)
_PROVIDER = DEPT.alias("provider")

_RELATED = (
    select(DEPT.c.code, DEPT.c.name)
    .join(_PD, _PD.c.department_id == DEPT.c.id)
    .where(_PD.c.project_id == _PID)
    .order_by(DEPT.c.code)
)
_CATALOG = (
    select(_CI, _PROVIDER.c.code.label("provider_code"))
    .join(_PROVIDER, _PROVIDER.c.id == _CI.c.provider_id)
    .where(_CI.c.project_id == _PID)
    .order_by(_CI.c.code)
)
_AUTHORIZED = (
    select(_AUTH.c.catalog_item_id, DEPT.c.code)
    .join(DEPT, DEPT.c.id == _AUTH.c.department_id)
    .join(_CI, _CI.c.id == _AUTH.c.catalog_item_id)
    .where(_CI.c.project_id == _PID)
)
_AGREEMENTS = select(_AG).where(_AG.c.project_id == _PID).order_by(_AG.c.code)
_PARTIES = (
    select(_AP.c.agreement_id, DEPT.c.code)
    .join(DEPT, DEPT.c.id == _AP.c.department_id)
    .join(_AG, _AG.c.id == _AP.c.agreement_id)
    .where(_AG.c.project_id == _PID)
)
_AGREEMENT_ITEMS = (
    select(
        _AI,
        _CI.c.code.label("catalog_code"),
        _CI.c.update_frequency.label("catalog_frequency"),
        DEPT.c.code.label("consumer_code"),
        DEPT.c.name.label("consumer_name"),
    )
    .join(_AG, _AG.c.id == _AI.c.agreement_id)
    .join(_CI, _CI.c.id == _AI.c.catalog_item_id)
    .join(DEPT, DEPT.c.id == _AI.c.consumer_id)
    .where(_AG.c.project_id == _PID)
    .order_by(_AI.c.id)
)
_NEEDS = select(_NA).where(_NA.c.project_id == _PID)
_OPINIONS = (
    select(_OP, DEPT.c.code.label("dept_code"), DEPT.c.name.label("dept_name"))
    .join(DEPT, DEPT.c.id == _OP.c.department_id)
    .where(_OP.c.project_id == _PID)
    .order_by(_OP.c.given_on, _OP.c.id)
)
_USER = t(AppUser)
#: a review recorded by a reviewer without naming its agency is the reviewer's: named as people read it (the
#: display name), not by the user name it was recorded under
_REVIEWS = (
    select(_RV, _USER.c.display_name.label("agency_name"))
    .select_from(_RV.outerjoin(_USER, _USER.c.name == _RV.c.agency))
    .where(_RV.c.project_id == _PID)
    .order_by(_RV.c.reviewed_on, _RV.c.id)
)
_JUDGMENTS = (
    select(_RJ.c.review_id, _RJ.c.focus_point, _RJ.c.judgment, _RJ.c.comment)
    .join(_RV, _RV.c.id == _RJ.c.review_id)
    .where(_RV.c.project_id == _PID)
)
#: a delivery of 0 records is no delivery (govflow.states.obligations)
_LAST = (
    select(_DE.c.catalog_item_id, _DE.c.consumer_id, func.max(_DE.c.day).label("day"))
    .where(and_(_DE.c.project_id == _PID, _DE.c.day <= bindparam("on"), _DE.c.records > 0))
    .group_by(_DE.c.catalog_item_id, _DE.c.consumer_id)
    .subquery("last")
)
#: (catalog code, consumer code, last day, records of that day): what the last delivery up to a day brought
_LAST_DELIVERY_RECORDS = (
    select(_CI.c.code, DEPT.c.code, _DE.c.day, _DE.c.records)
    .select_from(_DE)
    .join(
        _LAST,
        and_(
            _LAST.c.catalog_item_id == _DE.c.catalog_item_id,
            _LAST.c.consumer_id == _DE.c.consumer_id,
            _LAST.c.day == _DE.c.day,
        ),
    )
    .join(_CI, _CI.c.id == _DE.c.catalog_item_id)
    .join(DEPT, DEPT.c.id == _DE.c.consumer_id)
    .where(_DE.c.project_id == _PID)
)
_OPEN_FINDINGS = (
    select(_FI.c.key).where(and_(_FI.c.project_id == _PID, _FI.c.status == "open")).order_by(_FI.c.key)
)


def _related(session: Session, project_id: int) -> list[tuple[str, str]]:
    return [(str(c), str(n)) for c, n in session.execute(_RELATED, {"pid": project_id})]


def related_departments(session: Session, project_id: int) -> list[str]:
    return [c for c, _ in _related(session, project_id)]


def _rows(session: Session, q: Select[Any], project_id: int) -> list[Any]:
    return [r._mapping for r in session.execute(q, {"pid": project_id})]


def load_catalog(session: Session, project_id: int) -> list[CatalogFact]:
    items = _rows(session, _CATALOG, project_id)
    authorized: dict[int, list[str]] = defaultdict(list)
    if items:
        for item_id, code in session.execute(_AUTHORIZED, {"pid": project_id}):
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


def load_agreements(
    session: Session, project_id: int, names: dict[str, str] | None = None
) -> list[AgreementFact]:
    agreements = _rows(session, _AGREEMENTS, project_id)
    if not agreements:
        return []
    parties: dict[int, list[str]] = defaultdict(list)
    for aid, code in session.execute(_PARTIES, {"pid": project_id}):
        parties[int(aid)].append(str(code))
    items: dict[int, list[AgreementItemFact]] = defaultdict(list)
    for r in _rows(session, _AGREEMENT_ITEMS, project_id):
        if names is not None:
            names[r["consumer_code"]] = r["consumer_name"]
        items[int(r["agreement_id"])].append(
            AgreementItemFact(
                catalog=r["catalog_code"],
                consumer=r["consumer_code"],
                quality=r["quality"],
                quantity=r["quantity"],
                update_frequency=Frequency(r["update_frequency"]) if r["update_frequency"] else None,
                scope=r["scope"],
                usage=r["usage"],
                due=r["due_effective"] or r["due"],
                catalog_frequency=Frequency(r["catalog_frequency"]),
                stated_due=r["due"] if r["due_effective"] else None,
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
            terminated_on=a["terminated_on"],
        )
        for a in agreements
    ]


def load_needs(session: Session, project_id: int) -> NeedsFact | None:
    r = session.execute(_NEEDS, {"pid": project_id}).first()
    if r is None:
        return None
    m = r._mapping
    return NeedsFact(internal=m["internal"], external=m["external"], central_local=m["central_local"])


def load_opinions(
    session: Session, project_id: int, names: dict[str, str] | None = None
) -> list[OpinionFact]:
    out = []
    for r in _rows(session, _OPINIONS, project_id):
        if names is not None:
            names[r["dept_code"]] = r["dept_name"]
        out.append(
            OpinionFact(
                department=r["dept_code"],
                on=r["given_on"],
                verdict=OpinionVerdict(r["verdict"]),
                unmet_needs=tuple(
                    UnmetNeed(str(n.get("name") or ""), n.get("catalog")) for n in r["unmet_needs"]
                ),
                conditions=tuple(
                    OpinionCondition(str(c.get("text") or ""), c.get("answer")) for c in r["conditions"] or ()
                ),
            )
        )
    return out


def load_reviews(session: Session, project_id: int) -> list[ReviewFact]:
    reviews = _rows(session, _REVIEWS, project_id)
    if not reviews:
        return []
    judgments: dict[int, dict[FocusPoint, Judgment]] = defaultdict(dict)
    comments: dict[int, dict[FocusPoint, str]] = defaultdict(dict)
    for rid, point, judgment, comment in session.execute(_JUDGMENTS, {"pid": project_id}):
        judgments[int(rid)][FocusPoint(point)] = Judgment(judgment)
        if comment:
            comments[int(rid)][FocusPoint(point)] = str(comment)
    return [
        ReviewFact(
            stage=r["stage"],
            agency=r["agency_name"] or r["agency"],
            on=r["reviewed_on"],
            judgments=judgments.get(int(r["id"]), {}),
            conclusion=r["conclusion"],
            against=bool(r["against_approval"]),
            comments=comments.get(int(r["id"]), {}),
        )
        for r in reviews
    ]


def load_last_deliveries(
    session: Session, project_id: int, on: date
) -> tuple[dict[tuple[str, str], date], dict[tuple[str, str], int]]:
    """(catalog code, consumer code) -> the last day on or before ``on`` with records > 0, and the records of
    that day (what a stated quantity is compared with, 第八条 数量)."""
    days: dict[tuple[str, str], date] = {}
    records: dict[tuple[str, str], int] = {}
    for c, d, day, n in session.execute(_LAST_DELIVERY_RECORDS, {"pid": project_id, "on": on}):
        days[(str(c), str(d))] = day
        records[(str(c), str(d))] = int(n)
    return days, records


def load_open_findings(session: Session, project_id: int) -> list[str]:
    return [str(k) for (k,) in session.execute(_OPEN_FINDINGS, {"pid": project_id})]


def load_facts(
    session: Session,
    project: Any,
    lead_code: str,
    parts: frozenset[str],
    on: date,
    departments: list[str] | None = None,
) -> ProjectFacts:
    """Facts for ``project`` (a row mapping with id, code, name), reading only the requested ``parts``.

    Department names (for the messages of refusals) come with the rows that mention the departments; only
    names not seen that way are read separately.
    """
    pid = int(project["id"])
    names: dict[str, str] = {}
    if "lead_name" in project:
        names[lead_code] = project["lead_name"]
    if departments is None and "departments" in parts:
        related = _related(session, pid)
        names.update(related)
        departments = [c for c, _ in related]
    catalog = tuple(load_catalog(session, pid)) if "catalog" in parts else ()
    agreements = tuple(load_agreements(session, pid, names)) if "agreements" in parts else ()
    opinions = tuple(load_opinions(session, pid, names)) if "opinions" in parts else ()
    mentioned = {lead_code, *(departments or ()), *(o.department for o in opinions)}
    mentioned.update(i.consumer for a in agreements for i in a.items)
    missing = mentioned - names.keys()
    if parts and missing:
        names.update(department_names(session, missing))
    last, records = load_last_deliveries(session, pid, on) if "delivered" in parts else ({}, {})
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
        last_delivery=last,
        last_records=records,
        open_findings=tuple(load_open_findings(session, pid)) if "findings" in parts else (),
        names={c: n for c, n in names.items() if c in mentioned} if parts else {},
    )


def department_names(session: Session, codes: set[str]) -> dict[str, str]:
    q = select(DEPT.c.code, DEPT.c.name).where(DEPT.c.code.in_(sorted(codes)))
    return {str(c): str(n) for c, n in session.execute(q)}

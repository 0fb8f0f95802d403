"""Writing a checked portfolio document: set-based inserts in the caller's transaction, one audit record per
project; :func:`load` checks and writes, all or nothing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from govflow.lifecycle.portfolio.reading import ParsedDocument, listed
from govflow.lifecycle.portfolio.rules import Existing, check, project_facts
from govflow.lifecycle.portfolio.schema import (
    DOC_CLAUSE,
    AgreementIn,
    CatalogItemIn,
    EvidenceIn,
    PortfolioDocument,
    ProjectIn,
)
from govflow.models import deliveries
from govflow.models import tables as m
from govflow.models.audit import AuditRecord, append
from govflow.models.facts import t
from govflow.states.errors import InvalidInput
from govflow.states.findings import ONBOARDING_GAP, onboarding_gap_key
from govflow.states.guards import gate_gaps
from govflow.states.phases import Phase
from govflow.states.verdict import Reason

_CHUNK = 500


# the Core tables a document is written into
DEPARTMENT, APP_USER, PROJECT, PROJECT_DEPARTMENT = (
    t(m.Department),
    t(m.AppUser),
    t(m.Project),
    t(m.ProjectDepartment),
)
CATALOG_ITEM, CATALOG_AUTH = t(m.CatalogItem), t(m.CatalogAuthorization)
AGREEMENT, AGREEMENT_PARTY, AGREEMENT_ITEM = t(m.Agreement), t(m.AgreementParty), t(m.AgreementItem)
NEEDS, OPINION, REVIEW, JUDGMENT = t(m.NeedsAnalysis), t(m.Opinion), t(m.Review), t(m.ReviewJudgment)
EVIDENCE, FINDING = t(m.DeliveryEvidence), t(m.Finding)


@dataclass(frozen=True)
class LoadSummary:
    departments_created: int = 0
    departments_reused: int = 0
    users: int = 0
    projects: int = 0
    onboarded: int = 0
    catalog_items: int = 0
    agreements: int = 0
    agreement_items: int = 0
    opinions: int = 0
    reviews: int = 0
    evidence_rows: int = 0
    #: distinct (catalog item, consumer, day) rows created or added to
    evidence_days: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def ids_by_code(session: Session, table: Table, codes: Collection[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(sorted(set(codes))):
        for id_, code in session.execute(select(table.c.id, table.c.code).where(table.c.code.in_(chunk))):
            out[code] = id_
    return out


def _child_ids(session: Session, table: Table, project_ids: Collection[int]) -> dict[tuple[int, str], int]:
    """(project id, code) → id for a per-project coded table (catalog items, agreements)."""
    out: dict[tuple[int, str], int] = {}
    for chunk in _chunks(sorted(set(project_ids))):
        rows = session.execute(
            select(table.c.id, table.c.project_id, table.c.code).where(table.c.project_id.in_(chunk))
        )
        for id_, pid, code in rows:
            out[(pid, code)] = id_
    return out


def _insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> int:
    if rows:
        session.execute(insert(table), rows)
    return len(rows)


def read_existing(session: Session, doc: PortfolioDocument | None = None) -> Existing:
    """What the database holds that ``doc`` may refer to (departments, users, projects, their catalog codes)."""
    departments = frozenset(session.execute(select(DEPARTMENT.c.code)).scalars())
    users = frozenset(session.execute(select(APP_USER.c.name)).scalars())
    projects = frozenset(session.execute(select(PROJECT.c.code)).scalars())
    wanted = {e.project for e in doc.evidence} & projects if doc is not None else set()
    items: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted(wanted)):
        q = (
            select(PROJECT.c.code, CATALOG_ITEM.c.code)
            .join(CATALOG_ITEM, CATALOG_ITEM.c.project_id == PROJECT.c.id)
            .where(PROJECT.c.code.in_(chunk))
        )
        items.update((p, c) for p, c in session.execute(q))
    return Existing(departments, users, projects, frozenset(items))


def write(
    session: Session, doc: PortfolioDocument, *, actor: str, role: str, now: dt.datetime
) -> LoadSummary:
    """Insert a checked document in the caller's transaction and record one audit event per project.

    Departments already in the database (same code) are reused; everything else is created. Call
    :func:`check` first (or use :func:`load`): this function trusts that references resolve.
    """
    known = ids_by_code(session, DEPARTMENT, [d.code for d in doc.departments])
    new_departments = {d.code: d for d in doc.departments if d.code not in known}
    _insert(
        session,
        DEPARTMENT,
        [
            {"code": d.code, "name": d.name, "region": d.region, "level": d.level.value}
            for d in new_departments.values()
        ],
    )
    referenced = _referenced_departments(doc)
    dept = ids_by_code(session, DEPARTMENT, referenced)

    _insert(
        session,
        APP_USER,
        [
            {
                "name": u.name,
                "display_name": u.display_name,
                "role": u.role.value,
                "department_id": dept[u.department] if u.department else None,
                "active": True,
            }
            for u in doc.users
        ],
    )
    projects = doc.projects
    _insert(
        session,
        PROJECT,
        [
            {
                "code": p.code,
                "name": p.name,
                "lead_department_id": dept[p.lead_department],
                "om_budget": p.om_budget,
                "phase": p.phase.value,
                "version": 1,
                "created_at": now,
                "last_event_at": now,
            }
            for p in projects
        ],
    )
    pid = ids_by_code(session, PROJECT, [p.code for p in projects])
    _insert(
        session,
        PROJECT_DEPARTMENT,
        [
            {"project_id": pid[p.code], "department_id": dept[code]}
            for p in projects
            for code in dict.fromkeys(p.departments)
        ],
    )
    counts = _write_catalog(session, projects, pid, dept)
    counts |= write_agreement_rows(session, projects, pid, dept)
    counts |= _write_opinions_needs_reviews(session, projects, pid, dept)
    days = write_evidence(session, doc.evidence)
    onboarded = [p for p in projects if p.phase is not Phase.DRAFT]
    _insert(
        session,
        FINDING,
        [f | {"project_id": pid[p.code]} for p in onboarded for f in _onboarding_gaps(p, now)],
    )
    append(session, [_audit_record(p, actor=actor, role=role, now=now) for p in projects])
    return LoadSummary(
        departments_created=len(new_departments),
        departments_reused=len(known),
        users=len(doc.users),
        projects=len(projects),
        onboarded=len(onboarded),
        evidence_rows=len(doc.evidence),
        evidence_days=days,
        **counts,
    )


def _referenced_departments(doc: PortfolioDocument) -> set[str]:
    codes = {d.code for d in doc.departments} | {u.department for u in doc.users if u.department}
    for p in doc.projects:
        codes.add(p.lead_department)
        codes.update(p.departments)
        for c in p.catalog:
            codes.add(c.provider)
            codes.update(c.authorized_codes)
        for a in p.agreements:
            codes.update(a.parties)
            codes.update(i.consumer for i in a.items)
        codes.update(o.department for o in p.opinions)
    return codes


def catalog_values(c: CatalogItemIn, project_id: int, provider_id: int) -> dict[str, Any]:
    """The catalog_item column values of one input item (shared by the document loader and CSV/XLSX import)."""
    return {
        "project_id": project_id,
        "code": c.code,
        "name": c.name,
        "provider_id": provider_id,
        "category": c.category.value,
        "share_type": c.share_type.value,
        "method": c.method.value,
        "update_frequency": c.update_frequency.value,
        "secrecy": c.secrecy.value,
        "legal_basis": c.legal_basis,
        "all_departments": c.all_departments,
        "fields": [f.model_dump() for f in c.fields],
        "format": c.format,
        "interface": c.interface,
        "processing": c.processing,
        "traceability": c.traceability,
    }


def _write_catalog(
    session: Session, projects: Sequence[ProjectIn], pid: dict[str, int], dept: dict[str, int]
) -> dict[str, int]:
    rows = [catalog_values(c, pid[p.code], dept[c.provider]) for p in projects for c in p.catalog]
    n = _insert(session, CATALOG_ITEM, rows)
    if any(c.authorized_codes for p in projects for c in p.catalog):
        cid = _child_ids(session, CATALOG_ITEM, pid.values())
        _insert(
            session,
            CATALOG_AUTH,
            [
                {"catalog_item_id": cid[(pid[p.code], c.code)], "department_id": dept[code]}
                for p in projects
                for c in p.catalog
                for code in dict.fromkeys(c.authorized_codes)
            ],
        )
    return {"catalog_items": n}


def write_agreement_rows(
    session: Session, projects: Sequence[ProjectIn], pid: dict[str, int], dept: dict[str, int]
) -> dict[str, int]:
    n = _insert(
        session,
        AGREEMENT,
        [
            {
                "project_id": pid[p.code],
                "code": a.code,
                "form": a.form.value,
                "signed_on": a.signed_on,
                "term_start": a.term.start if a.term else None,
                "term_end": a.term.end if a.term else None,
                "basis": a.basis,
            }
            for p in projects
            for a in p.agreements
        ],
    )
    if not n:
        return {"agreements": 0, "agreement_items": 0}
    aid = _child_ids(session, AGREEMENT, pid.values())
    cid = _child_ids(session, CATALOG_ITEM, pid.values())
    parties, items = [], []
    for p in projects:
        project_id = pid[p.code]
        for a in p.agreements:
            more_parties, more_items = _agreement_children(
                aid[(project_id, a.code)], project_id, a, cid, dept
            )
            parties += more_parties
            items += more_items
    _insert(session, AGREEMENT_PARTY, parties)
    return {"agreements": n, "agreement_items": _insert(session, AGREEMENT_ITEM, items)}


def _agreement_children(
    agreement_id: int, project_id: int, a: AgreementIn, cid: dict[tuple[int, str], int], dept: dict[str, int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The party and item rows of one agreement."""
    parties = [{"agreement_id": agreement_id, "department_id": dept[c]} for c in dict.fromkeys(a.parties)]
    items = [
        {
            "agreement_id": agreement_id,
            "catalog_item_id": cid[(project_id, i.catalog)],
            "consumer_id": dept[i.consumer],
            "quality": i.quality,
            "quantity": i.quantity,
            "update_frequency": i.update_frequency.value if i.update_frequency else None,
            "scope": i.scope,
            "usage": i.usage,
            "due": i.due,
        }
        for i in a.items
    ]
    return parties, items


def replace_agreement(session: Session, project_id: int, agreement_id: int, a: AgreementIn) -> int:
    """An amended agreement (checked by the caller): its terms updated in place, its parties and items replaced
    (the ``agreement_version`` row the caller writes keeps what they were). Returns the number of items."""
    dept = ids_by_code(session, DEPARTMENT, {*a.parties, *(i.consumer for i in a.items)})
    cid = _child_ids(session, CATALOG_ITEM, [project_id])
    session.execute(delete(AGREEMENT_PARTY).where(AGREEMENT_PARTY.c.agreement_id == agreement_id))
    session.execute(delete(AGREEMENT_ITEM).where(AGREEMENT_ITEM.c.agreement_id == agreement_id))
    session.execute(
        update(AGREEMENT)
        .where(AGREEMENT.c.id == agreement_id)
        .values(
            form=a.form.value,
            signed_on=a.signed_on,
            term_start=a.term.start if a.term else None,
            term_end=a.term.end if a.term else None,
            basis=a.basis,
        )
    )
    parties, items = _agreement_children(agreement_id, project_id, a, cid, dept)
    _insert(session, AGREEMENT_PARTY, parties)
    return _insert(session, AGREEMENT_ITEM, items)


def _write_opinions_needs_reviews(
    session: Session, projects: Sequence[ProjectIn], pid: dict[str, int], dept: dict[str, int]
) -> dict[str, int]:
    _insert(
        session,
        NEEDS,
        [
            {
                "project_id": pid[p.code],
                "internal": p.needs_analysis.internal,
                "external": p.needs_analysis.external,
                "central_local": p.needs_analysis.central_local,
                "needs": list(p.needs_analysis.needs),
            }
            for p in projects
            if p.needs_analysis is not None
        ],
    )
    opinions = _insert(
        session,
        OPINION,
        [
            {
                "project_id": pid[p.code],
                "department_id": dept[o.department],
                "given_on": o.date,
                "verdict": o.verdict.value,
                "unmet_needs": [{"name": n.name, "catalog": n.catalog} for n in o.unmet_needs],
                "comment": o.comment,
                "conditions": [{"text": c.condition, "answer": c.answer} for c in o.conditions],
            }
            for p in projects
            for o in p.opinions
        ],
    )
    reviews = [(p, r) for p in projects for r in p.reviews]
    if not reviews:
        return {"opinions": opinions, "reviews": 0}
    # Reviews have no code to read them back by: RETURNING in parameter order (SQLite ≥ 3.35, PostgreSQL).
    stmt = insert(REVIEW).returning(REVIEW.c.id, sort_by_parameter_order=True)
    review_ids = (
        session.execute(
            stmt,
            [
                {
                    "project_id": pid[p.code],
                    "stage": r.stage.value,
                    "agency": r.agency,
                    "reviewed_on": r.date,
                    "conclusion": r.conclusion,
                    "against_approval": r.against_approval,
                }
                for p, r in reviews
            ],
        )
        .scalars()
        .all()
    )
    _insert(
        session,
        JUDGMENT,
        [
            {"review_id": rid, "focus_point": point.value, "judgment": j.judgment.value, "comment": j.comment}
            for rid, (_, r) in zip(review_ids, reviews, strict=True)
            for point, j in r.judgments.items()
        ],
    )
    return {"opinions": opinions, "reviews": len(reviews)}


def write_evidence(session: Session, rows: Sequence[EvidenceIn]) -> int:
    """Record delivery evidence, summed per (catalog item, consumer, day) within the document.

    References are resolved in bulk against the database, so the projects may be new in this transaction or
    old. A key already on record is refused (``EVIDENCE_ALREADY_RECORDED`` at ``evidence[i].date``, every such
    row at once, nothing written), as ``govflow evidence import`` refuses it without ``--replace``: a document
    loaded twice must not count its deliveries twice. Returns the number of distinct keys written.
    """
    if not rows:
        return 0
    pid = ids_by_code(session, PROJECT, {e.project for e in rows})
    cid = _child_ids(session, CATALOG_ITEM, pid.values())
    dept = ids_by_code(session, DEPARTMENT, {e.consumer for e in rows})
    totals: dict[tuple[int, int, dt.date], int] = defaultdict(int)
    project_of: dict[int, int] = {}
    for e in rows:
        item = cid[(pid[e.project], e.catalog)]
        project_of[item] = pid[e.project]
        totals[(item, dept[e.consumer], e.date)] += e.records
    values = [
        {
            "project_id": project_of[item],
            "catalog_item_id": item,
            "consumer_id": consumer,
            "day": day,
            "records": n,
        }
        for (item, consumer, day), n in totals.items()
    ]
    recorded = _recorded_evidence(session, list(totals))
    if recorded:
        reasons = []
        for i, e in enumerate(rows):
            key = (cid[(pid[e.project], e.catalog)], dept[e.consumer], e.date)
            if key in recorded:
                reasons.append(
                    Reason(
                        "EVIDENCE_ALREADY_RECORDED",
                        DOC_CLAUSE,
                        f"evidence[{i}].date：项目 {e.project} 目录条目 {e.catalog} 向使用部门 {e.consumer} 在 "
                        f"{e.date.isoformat()} 的交付记录已在库中（{recorded[key]} 条）；同一条目、使用部门和日期的"
                        "记录只导入一次（更正请用 govflow evidence import --replace）",
                        f"evidence[{i}].date: deliveries of item {e.catalog} of project {e.project} to {e.consumer} "
                        f"on {e.date.isoformat()} are already on record ({recorded[key]} records); an item, "
                        "consumer and day is recorded once (correct it with govflow evidence import --replace)",
                        f"evidence[{i}].date",
                        {"recorded": recorded[key]},
                    )
                )
        raise InvalidInput(listed(reasons))
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        upsert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(EVIDENCE)
        stmt = upsert.on_conflict_do_update(
            index_elements=[EVIDENCE.c.catalog_item_id, EVIDENCE.c.consumer_id, EVIDENCE.c.day],
            set_={"records": EVIDENCE.c.records + upsert.excluded.records},
        )
        session.execute(stmt, values)
    else:  # pragma: no cover - other databases are not supported; kept correct anyway
        _add_evidence_portably(session, values)
    # records are only added here, so a pair's last delivery can only move later
    deliveries.raise_days(session.connection(), deliveries.last_days((*k, n) for k, n in totals.items()))
    return len(values)


def _recorded_evidence(
    session: Session, keys: Sequence[tuple[int, int, dt.date]]
) -> dict[tuple[int, int, dt.date], int]:
    """Of these (item, consumer, day) keys, those already on record, with their numbers."""
    wanted = set(keys)
    found: dict[tuple[int, int, dt.date], int] = {}
    for chunk in _chunks(sorted({k[0] for k in wanted})):
        q = select(EVIDENCE.c.catalog_item_id, EVIDENCE.c.consumer_id, EVIDENCE.c.day, EVIDENCE.c.records)
        for item, consumer, day, records in session.execute(q.where(EVIDENCE.c.catalog_item_id.in_(chunk))):
            if (item, consumer, day) in wanted:
                found[(item, consumer, day)] = int(records)
    return found


def _add_evidence_portably(session: Session, values: list[dict[str, Any]]) -> None:
    keys = {(v["catalog_item_id"], v["consumer_id"], v["day"]): v for v in values}
    found: dict[tuple[int, int, dt.date], tuple[int, int]] = {}
    for chunk in _chunks(sorted({v["catalog_item_id"] for v in values})):
        q = select(
            EVIDENCE.c.id,
            EVIDENCE.c.catalog_item_id,
            EVIDENCE.c.consumer_id,
            EVIDENCE.c.day,
            EVIDENCE.c.records,
        )
        for id_, item, consumer, day, records in session.execute(
            q.where(EVIDENCE.c.catalog_item_id.in_(chunk))
        ):
            if (item, consumer, day) in keys:
                found[(item, consumer, day)] = (id_, records)
    for key, (id_, records) in found.items():
        session.execute(
            EVIDENCE.update().where(EVIDENCE.c.id == id_).values(records=records + keys[key]["records"])
        )
    _insert(session, EVIDENCE, [v for k, v in keys.items() if k not in found])


def _onboarding_gaps(p: ProjectIn, now: dt.datetime) -> list[dict[str, Any]]:
    """第十条第二款: the findings a legacy project is onboarded with — one per thing a gate it passed requires and
    it lacks — open until the materials are there (they refuse its next approval and its acceptance)."""
    legacy = (p.legacy_reason or "").strip()
    if not legacy:
        return []
    rows = []
    for gate, r in gate_gaps(project_facts(p), p.phase, now.date()):
        detail = dict(r.detail)
        rows.append(
            {
                "key": onboarding_gap_key(p.code, gate.value, r.code, detail),
                "rule": ONBOARDING_GAP,
                "subject": f"{gate.value}/{r.code}",
                "period": now.date().isoformat(),
                "clause": r.clause,
                "evidence": {
                    "project": p.code,
                    "gate": gate.value,
                    "rule": r.code,
                    "message": r.message,
                    "message_en": r.message_en,
                    "legacy_reason": legacy,
                    "as_of": now.date().isoformat(),
                    **{k: v for k, v in detail.items() if k in ("catalog", "department", "dimension")},
                },
                "opened_on": now.date(),
                "status": "open",
            }
        )
    return rows


def _audit_record(p: ProjectIn, *, actor: str, role: str, now: dt.datetime) -> AuditRecord:
    """A new project is created; one at a later phase is onboarded at that phase."""
    created = p.phase is Phase.DRAFT
    note = (
        f"从项目组合文档创建项目 {p.code}（{Phase.DRAFT.zh}） / created from the portfolio document"
        if created
        else f"从项目组合文档按现有阶段「{p.phase.zh}」（{p.phase.value}）纳入管理 / "
        f"onboarded at phase {p.phase.value} from the portfolio document"
    )
    legacy = (p.legacy_reason or "").strip()
    gaps = gate_gaps(project_facts(p), p.phase, now.date()) if legacy and not created else []
    if legacy and not created:
        note += f"；存量项目纳入理由：{legacy} / legacy onboarding: {legacy}"
    return AuditRecord(
        kind="data" if created else "onboarding",
        outcome="recorded",
        action="create" if created else "onboard",
        actor=actor,
        role=role,
        occurred_at=now,
        project_code=p.code,
        to_phase=p.phase.value,
        note=note,
        # what the skipped gates require and the project lacks: each waits for its next approval (第十条第二款)
        reasons=[
            {
                "code": "LEGACY_GATE_GAP",
                "clause": r.clause,
                "message": f"存量项目纳入时缺少「{gate.zh}」关口所要求的材料：{r.message}（补齐前不予批复）",
                "message_en": f"onboarded without what the '{gate.en}' gate requires: {r.message_en} "
                "(no approval until supplied)",
                "detail": {"gate": gate.value, "rule": r.code, **r.detail},
            }
            for gate, r in gaps
        ],
        clauses=sorted({r.clause for _, r in gaps}),
    )


def load(
    session: Session,
    doc: PortfolioDocument | ParsedDocument,
    *,
    actor: str,
    role: str,
    now: dt.datetime,
    today: dt.date,
) -> LoadSummary:
    """Check ``doc`` against the database and write it, or raise :class:`InvalidInput` with every reason.

    Given a :class:`ParsedDocument`, the reasons are its shape errors and the rule and reference problems of
    the rows that parsed, together, in the order of the rows they name (:func:`listed`).
    """
    parsed = doc if isinstance(doc, ParsedDocument) else ParsedDocument(doc)
    found = check(parsed.doc, read_existing(session, parsed.doc), today, parsed.set_aside)
    reasons = [*parsed.reasons, *map(parsed.original, found)]
    if reasons:
        raise InvalidInput(listed(reasons, unit_zh="个条目", unit_en="entries", path="$"))
    return write(session, parsed.doc, actor=actor, role=role, now=now)

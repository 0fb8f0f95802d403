"""The rules of 733号文 and referential integrity across rows of a portfolio document, against what the database
already holds (:class:`Existing`): reasons with the path of the offending value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from govflow.lifecycle.portfolio.problems import (
    AGREEMENT_CATALOG_UNKNOWN,
    CONDITIONS_NOT_LISTED,
    DUPLICATE_CODE,
    EVIDENCE_CATALOG_UNKNOWN,
    EVIDENCE_IN_FUTURE,
    EVIDENCE_NEGATIVE,
    EVIDENCE_PROJECT_UNKNOWN,
    ONBOARDING_GATE_UNMET,
    OPINION_NOT_RELATED,
    PROJECT_EXISTS,
    UNKNOWN_DEPARTMENT,
    UNMET_NEEDS_NOT_LISTED,
    USER_DEPARTMENT_MISSING,
    USER_EXISTS,
)
from govflow.lifecycle.portfolio.schema import (
    AgreementIn,
    CatalogItemIn,
    DepartmentIn,
    EvidenceIn,
    PortfolioDocument,
    ProjectIn,
    UserIn,
)
from govflow.states.guards import consulted_departments, gate_gaps
from govflow.states.permissions import Role
from govflow.states.rules import (
    check_agreement,
    check_agreement_consistency,
    check_catalog_item,
    check_credit_code,
    check_region,
)
from govflow.states.sharing import (
    AgreementFact,
    AgreementItemFact,
    CatalogFact,
    FieldSpec,
    NeedsFact,
    OpinionCondition,
    OpinionFact,
    OpinionVerdict,
    ProjectFacts,
    UnmetNeed,
)
from govflow.states.verdict import Reason


@dataclass(frozen=True)
class Existing:
    """What the database already holds, as far as a document can refer to it (the caller reads it)."""

    departments: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()
    #: (project code, catalog item code) of projects already in the database, for evidence rows
    catalog_items: frozenset[tuple[str, str]] = frozenset()


def catalog_fact(item: CatalogItemIn) -> CatalogFact:
    return CatalogFact(
        code=item.code,
        name=item.name,
        provider=item.provider,
        category=item.category,
        share_type=item.share_type,
        method=item.method,
        update_frequency=item.update_frequency,
        secrecy=item.secrecy,
        legal_basis=item.legal_basis,
        all_departments=item.all_departments,
        authorized=item.authorized_codes,
        fields=tuple(FieldSpec(f.name, f.type, f.description) for f in item.fields),
        format=item.format,
        interface=item.interface,
        processing=item.processing,
        traceability=item.traceability,
    )


def agreement_fact(agreement: AgreementIn) -> AgreementFact:
    return AgreementFact(
        code=agreement.code,
        form=agreement.form,
        parties=tuple(agreement.parties),
        signed_on=agreement.signed_on,
        term_start=agreement.term.start if agreement.term else None,
        term_end=agreement.term.end if agreement.term else None,
        basis=agreement.basis,
        items=tuple(
            AgreementItemFact(
                catalog=i.catalog,
                consumer=i.consumer,
                quality=i.quality,
                quantity=i.quantity,
                update_frequency=i.update_frequency,
                scope=i.scope,
                usage=i.usage,
                due=i.due,
            )
            for i in agreement.items
        ),
    )


def unknown_department(code: str, what_zh: str, what_en: str, path: str) -> Reason:
    return UNKNOWN_DEPARTMENT.at(path, {"department": code}, what=what_zh, what_en=what_en)


def known_department(
    code: str, departments: Collection[str], what_zh: str, what_en: str, path: str
) -> list[Reason]:
    """No reason when ``code`` is one of ``departments``; else its ``UNKNOWN_DEPARTMENT``."""
    return [] if code in departments else [unknown_department(code, what_zh, what_en, path)]


def duplicate_codes(values: Iterable[tuple[str, str]], what_zh: str, what_en: str) -> list[Reason]:
    """``values`` are (code, path); every repeat after the first is a reason."""
    first: dict[str, str] = {}
    reasons = []
    for code, path in values:
        if code in first:
            reasons.append(
                DUPLICATE_CODE.at(path, {"code": code, "first": first[code]}, what=what_zh, what_en=what_en)
            )
        else:
            first[code] = path
    return reasons


def check_departments(departments: Sequence[DepartmentIn], prefix: str = "departments") -> list[Reason]:
    reasons = duplicate_codes(
        ((d.code, f"{prefix}[{i}].code") for i, d in enumerate(departments)), "部门代码", "department code"
    )
    for i, d in enumerate(departments):
        reasons += check_credit_code(d.code, f"{prefix}[{i}].code")
        reasons += check_region(d.region, f"{prefix}[{i}].region")
    return reasons


def check_users(
    users: Sequence[UserIn], departments: Collection[str], existing: Collection[str]
) -> list[Reason]:
    reasons = duplicate_codes(
        ((u.name, f"users[{i}].name") for i, u in enumerate(users)), "用户名", "user name"
    )
    for i, u in enumerate(users):
        path = f"users[{i}]"
        if u.name in existing:
            reasons.append(USER_EXISTS.at(f"{path}.name", {"user": u.name}))
        if u.role is Role.DEPARTMENT and not u.department:
            reasons.append(USER_DEPARTMENT_MISSING.at(f"{path}.department", {"user": u.name}))
        if u.department:
            reasons += known_department(
                u.department, departments, f"用户 {u.name} 的所属部门", "department", f"{path}.department"
            )
    return reasons


def check_catalog_items(
    items: Sequence[CatalogItemIn], departments: Collection[str] | None, path_of: Callable[[int], str]
) -> list[Reason]:
    """第三条 / 第二条第三款 per item, unique codes, and (when ``departments`` is given) known departments."""
    reasons = duplicate_codes(
        ((c.code, f"{path_of(i)}.code") for i, c in enumerate(items)), "目录条目编码", "catalog item code"
    )
    for i, item in enumerate(items):
        path = path_of(i)
        reasons += check_catalog_item(catalog_fact(item), path)
        if departments is None:
            continue
        reasons += known_department(
            item.provider, departments, f"目录条目 {item.code} 的提供部门", "provider", f"{path}.provider"
        )
        for j, code in enumerate(item.authorized_codes):
            reasons += known_department(
                code,
                departments,
                f"目录条目 {item.code} 的被授权部门",
                "authorized department",
                f"{path}.authorized[{j}]",
            )
    return reasons


def consistency(
    fact: AgreementFact,
    path: str,
    lead: str,
    catalog: Mapping[str, CatalogFact],
    today: dt.date,
    departments: Collection[str],
) -> list[Reason]:
    """:func:`check_agreement_consistency`, less "not a party" for a consumer that is no known department at all
    (reported once, as unknown)."""
    return [
        r
        for r in check_agreement_consistency(fact, path, lead=lead, catalog=catalog, today=today)
        if not (r.code == "AGREEMENT_CONSUMER_NOT_PARTY" and r.detail["consumer"] not in departments)
    ]


def agreement_reasons(
    agreements: Sequence[AgreementIn],
    path: str,
    *,
    lead: str,
    catalog: Mapping[str, CatalogFact],
    departments: Collection[str],
    today: dt.date,
    unknown_catalog: Callable[[str, AgreementIn, str], Reason | None],
    codes_label: tuple[str, str],
) -> list[Reason]:
    """The checks every new agreement passes, in a portfolio or added to a project (one loop for both doors):
    unique codes, 第八条 terms, consistency with the project and its catalog, known parties and consumers.
    ``unknown_catalog(path, agreement, code)`` words an item naming no catalog item of the project (None: already
    reported); ``path`` prefixes every row path ("" for a file of agreements)."""
    prefix = f"{path}." if path else ""
    reasons = duplicate_codes(
        ((a.code, f"{prefix}agreements[{i}].code") for i, a in enumerate(agreements)), *codes_label
    )
    for a_i, a in enumerate(agreements):
        a_path = f"{prefix}agreements[{a_i}]"
        fact = agreement_fact(a)
        reasons += check_agreement(fact, a_path)
        reasons += consistency(fact, a_path, lead, catalog, today, departments)
        for j, party in enumerate(a.parties):
            reasons += known_department(
                party, departments, f"协定 {a.code} 的一方", "party", f"{a_path}.parties[{j}]"
            )
        for k, item in enumerate(a.items):
            i_path = f"{a_path}.items[{k}]"
            unknown = (
                None if item.catalog in catalog else unknown_catalog(f"{i_path}.catalog", a, item.catalog)
            )
            reasons += [unknown] if unknown else []
            reasons += known_department(
                item.consumer,
                departments,
                f"协定 {a.code} 条目 {item.catalog} 的使用部门",
                "consumer",
                f"{i_path}.consumer",
            )
    return reasons


def _check_agreements(
    p: ProjectIn, path: str, departments: Collection[str], today: dt.date, set_aside: Collection[str] = ()
) -> list[Reason]:
    """``set_aside``: codes of this project's catalog items whose rows were set aside (already reported)."""

    def unknown(i_path: str, a: AgreementIn, code: str) -> Reason | None:
        if code in set_aside:
            return None
        return AGREEMENT_CATALOG_UNKNOWN.at(i_path, {"catalog": code}, agreement=a.code, project=p.code)

    return agreement_reasons(
        p.agreements,
        path,
        lead=p.lead_department,
        catalog={c.code: catalog_fact(c) for c in p.catalog},
        departments=departments,
        today=today,
        unknown_catalog=unknown,
        codes_label=(f"项目 {p.code} 的协定编号", f"agreement code of project {p.code}"),
    )


def _check_opinions(p: ProjectIn, path: str) -> list[Reason]:
    consulted = consulted_departments(project_facts(p))
    reasons = []
    for i, op in enumerate(p.opinions):
        o_path = f"{path}.opinions[{i}]"
        if op.verdict is OpinionVerdict.AGREE_WITH_CHANGES and not op.conditions:
            reasons.append(CONDITIONS_NOT_LISTED.at(f"{o_path}.conditions", {"department": op.department}))
        if op.department not in consulted:
            reasons.append(
                OPINION_NOT_RELATED.at(f"{o_path}.department", {"department": op.department}, project=p.code)
            )
        if op.verdict is OpinionVerdict.UNMET_NEEDS and not op.unmet_needs:
            reasons.append(UNMET_NEEDS_NOT_LISTED.at(f"{o_path}.unmet_needs", {"department": op.department}))
    return reasons


def project_facts(p: ProjectIn) -> ProjectFacts:
    """The document's project as the lifecycle guards see a project (for the gates of onboarding)."""
    needs = p.needs_analysis
    return ProjectFacts(
        code=p.code,
        name=p.name,
        lead_department=p.lead_department,
        departments=tuple(p.departments),
        catalog=tuple(catalog_fact(c) for c in p.catalog),
        agreements=tuple(agreement_fact(a) for a in p.agreements),
        needs=NeedsFact(needs.internal, needs.external, needs.central_local) if needs else None,
        opinions=tuple(
            OpinionFact(
                o.department,
                o.date,
                o.verdict,
                tuple(UnmetNeed(n.name, n.catalog) for n in o.unmet_needs),
                tuple(OpinionCondition(c.condition, c.answer) for c in o.conditions),
            )
            for o in p.opinions
        ),
    )


def _check_gates(p: ProjectIn, path: str, today: dt.date) -> list[Reason]:
    """第十条第二款、第九条: a project onboarded at a later phase carries what the gates it skipped require, or
    names why not (``legacy_reason``; its next approval then waits for the materials)."""
    if (p.legacy_reason or "").strip():
        return []
    return [
        ONBOARDING_GATE_UNMET.at(
            f"{path}.phase",
            {"gate": gate.value, "rule": r.code, **r.detail},
            project=p.code,
            phase=p.phase.zh,
            phase_en=p.phase.value,
            gate_zh=gate.zh,
            gate_en=gate.en,
            message=r.message,
            message_en=r.message_en,
        )
        for gate, r in gate_gaps(project_facts(p), p.phase, today)
    ]


def _check_project(
    p: ProjectIn,
    path: str,
    departments: Collection[str],
    existing: Existing,
    set_aside: Existing,
    today: dt.date,
) -> list[Reason]:
    reasons: list[Reason] = []
    if p.code in existing.projects:
        reasons.append(PROJECT_EXISTS.at(f"{path}.code", {"project": p.code}))
    reasons += known_department(
        p.lead_department,
        departments,
        f"项目 {p.code} 的牵头部门",
        "lead department",
        f"{path}.lead_department",
    )
    for j, code in enumerate(p.departments):
        reasons += known_department(
            code, departments, f"项目 {p.code} 的相关部门", "related department", f"{path}.departments[{j}]"
        )
    reasons += check_catalog_items(p.catalog, departments, lambda i: f"{path}.catalog[{i}]")
    aside = {c for project, c in set_aside.catalog_items if project == p.code}
    reasons += _check_agreements(p, path, departments, today, aside)
    reasons += _check_opinions(p, path)
    reasons += _check_gates(p, path, today)
    return reasons


def check_evidence(
    rows: Sequence[EvidenceIn],
    existing: Existing | None,
    today: dt.date | None,
    *,
    path_of: Callable[[int], str] = lambda i: f"rows[{i + 1}]",
) -> list[Reason]:
    """Records not negative, dates not after ``today``, and references to what ``existing`` knows.

    With ``existing`` None the references (project, catalog item, consumer) are not checked; give it, filled
    by :func:`read_existing`, before writing. ``path_of`` names row *i* (0-based); by default ``rows[i+1]``,
    the numbering of :mod:`govflow.lifecycle.tabular`.
    """
    reasons = []
    for i, ev in enumerate(rows):
        path = path_of(i)
        if ev.records < 0:
            reasons.append(EVIDENCE_NEGATIVE.at(f"{path}.records", {"records": ev.records}))
        if today is not None and ev.date > today:
            reasons.append(
                EVIDENCE_IN_FUTURE.at(
                    f"{path}.date", {"date": ev.date.isoformat(), "today": today.isoformat()}
                )
            )
        if existing is not None:
            if ev.project not in existing.projects:
                reasons.append(EVIDENCE_PROJECT_UNKNOWN.at(f"{path}.project", {"project": ev.project}))
            elif (ev.project, ev.catalog) not in existing.catalog_items:
                reasons.append(
                    EVIDENCE_CATALOG_UNKNOWN.at(
                        f"{path}.catalog", {"project": ev.project, "catalog": ev.catalog}
                    )
                )
        if existing is not None:
            reasons += known_department(
                ev.consumer, existing.departments, "交付记录的使用部门", "consumer", f"{path}.consumer"
            )
    return reasons


def check(
    doc: PortfolioDocument, existing: Existing, today: dt.date, set_aside: Existing | None = None
) -> list[Reason]:
    """Every rule the document breaks (733号文, GB 32100, references, duplicates), each with its path.

    ``set_aside``: the codes of rows whose shape was wrong (:attr:`ParsedDocument.set_aside`); references to
    them are not reported (the row itself already is).
    """
    aside = set_aside or Existing()
    departments = {d.code for d in doc.departments} | existing.departments | aside.departments
    reasons = check_departments(doc.departments)
    reasons += check_users(doc.users, departments, existing.users)
    reasons += duplicate_codes(
        ((p.code, f"projects[{i}].code") for i, p in enumerate(doc.projects)), "项目编码", "project code"
    )
    for i, p in enumerate(doc.projects):
        reasons += _check_project(p, f"projects[{i}]", departments, existing, aside, today)
    new = [p for p in doc.projects if p.code not in existing.projects]
    known = Existing(
        departments=frozenset(departments),
        projects=frozenset({p.code for p in new} | existing.projects | aside.projects),
        catalog_items=frozenset(
            {(p.code, c.code) for p in new for c in p.catalog} | existing.catalog_items | aside.catalog_items
        ),
    )
    reasons += check_evidence(doc.evidence, known, today, path_of=lambda i: f"evidence[{i}]")
    return reasons

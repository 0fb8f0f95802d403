"""The rules of 733号文 and referential integrity across rows of a portfolio document, against what the database
already holds (:class:`Existing`): reasons with the path of the offending value."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from govflow.lifecycle.portfolio.schema import (
    DOC_CLAUSE,
    AgreementIn,
    CatalogItemIn,
    DepartmentIn,
    EvidenceIn,
    PortfolioDocument,
    ProjectIn,
    UserIn,
)
from govflow.states.permissions import Role
from govflow.states.rules import check_agreement, check_catalog_item, check_credit_code, check_region
from govflow.states.sharing import (
    AgreementFact,
    AgreementItemFact,
    CatalogFact,
    FieldSpec,
    OpinionVerdict,
    Secrecy,
)
from govflow.states.verdict import Reason, clause


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
    return Reason(
        "UNKNOWN_DEPARTMENT",
        DOC_CLAUSE,
        f"{what_zh}“{code}”既不在文档的 departments 中，也不在数据库中；请在 departments 中补充该部门或更正代码",
        f"{what_en} '{code}' is neither in the document's departments nor in the database; add the department "
        "or correct the code",
        path,
        {"department": code},
    )


def duplicate_codes(values: Iterable[tuple[str, str]], what_zh: str, what_en: str) -> list[Reason]:
    """``values`` are (code, path); every repeat after the first is a reason."""
    first: dict[str, str] = {}
    reasons = []
    for code, path in values:
        if code in first:
            reasons.append(
                Reason(
                    "DUPLICATE_CODE",
                    DOC_CLAUSE,
                    f"{what_zh}“{code}”重复（首次出现于 {first[code]}）；每个编码只能出现一次，请删去或改正",
                    f"{what_en} '{code}' is repeated (first at {first[code]}); each code may appear only once",
                    path,
                    {"code": code, "first": first[code]},
                )
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
            reasons.append(
                Reason(
                    "USER_EXISTS",
                    DOC_CLAUSE,
                    f"用户 {u.name} 已存在于数据库中；导入只新建用户，不修改已有用户。请从文档中删去该用户或改名",
                    f"user {u.name} already exists; loading creates users and never changes existing ones. "
                    "Remove the user from the document or rename it",
                    f"{path}.name",
                    {"user": u.name},
                )
            )
        if u.role is Role.DEPARTMENT and not u.department:
            reasons.append(
                Reason(
                    "USER_DEPARTMENT_MISSING",
                    DOC_CLAUSE,
                    f"用户 {u.name} 的角色为建设部门（department），须填写所属部门（department）",
                    f"user {u.name} has role department and must name its department (department)",
                    f"{path}.department",
                    {"user": u.name},
                )
            )
        if u.department and u.department not in departments:
            reasons.append(
                unknown_department(
                    u.department, f"用户 {u.name} 的所属部门", "department", f"{path}.department"
                )
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
        if item.provider not in departments:
            reasons.append(
                unknown_department(
                    item.provider, f"目录条目 {item.code} 的提供部门", "provider", f"{path}.provider"
                )
            )
        for j, code in enumerate(item.authorized_codes):
            if code not in departments:
                reasons.append(
                    unknown_department(
                        code,
                        f"目录条目 {item.code} 的被授权部门",
                        "authorized department",
                        f"{path}.authorized[{j}]",
                    )
                )
    return reasons


def _check_agreements(
    p: ProjectIn, path: str, departments: Collection[str], set_aside: Collection[str] = ()
) -> list[Reason]:
    """``set_aside``: codes of this project's catalog items whose rows were set aside (already reported)."""
    catalog = {c.code: c for c in p.catalog}
    reasons = duplicate_codes(
        ((a.code, f"{path}.agreements[{i}].code") for i, a in enumerate(p.agreements)),
        f"项目 {p.code} 的协定编号",
        f"agreement code of project {p.code}",
    )
    for a_i, a in enumerate(p.agreements):
        a_path = f"{path}.agreements[{a_i}]"
        reasons += check_agreement(agreement_fact(a), a_path)
        for j, party in enumerate(a.parties):
            if party not in departments:
                reasons.append(
                    unknown_department(party, f"协定 {a.code} 的一方", "party", f"{a_path}.parties[{j}]")
                )
        for k, item in enumerate(a.items):
            i_path = f"{a_path}.items[{k}]"
            if item.catalog not in catalog and item.catalog not in set_aside:
                reasons.append(
                    Reason(
                        "UNKNOWN_CATALOG_ITEM",
                        clause("第八条"),
                        f"协定 {a.code} 约定共享的目录条目 {item.catalog} 不在项目 {p.code} 的共享信息目录中；"
                        "请先在 catalog 中列出该条目或更正编码",
                        f"agreement {a.code} shares catalog item {item.catalog}, which is not in the catalog of "
                        f"project {p.code}; list it in catalog or correct the code",
                        f"{i_path}.catalog",
                        {"catalog": item.catalog},
                    )
                )
            if item.consumer not in departments:
                reasons.append(
                    unknown_department(
                        item.consumer,
                        f"协定 {a.code} 条目 {item.catalog} 的使用部门",
                        "consumer",
                        f"{i_path}.consumer",
                    )
                )
            reasons += _secret_consumer(
                a.code, catalog.get(item.catalog), item.consumer, f"{i_path}.consumer"
            )
    return reasons


def _secret_consumer(agreement: str, item: CatalogItemIn | None, consumer: str, path: str) -> list[Reason]:
    """第二条第三款: a secret item goes only to the departments its catalog entry authorizes."""
    if item is None or item.secrecy is not Secrecy.SECRET:
        return []
    if consumer == item.provider or consumer in item.authorized_codes:
        return []
    return [
        Reason(
            "SECRET_CONSUMER_NOT_AUTHORIZED",
            clause("第二条", "第三款"),
            f"协定 {agreement} 把涉密目录条目 {item.code} 共享给未经授权的部门 {consumer}；涉密信息的知悉范围"
            "限于目录条目 authorized 中列明的部门，请在目录条目中授权该部门或删去该协定条目",
            f"agreement {agreement} shares secret catalog item {item.code} with {consumer}, which the item does "
            "not authorize; authorize the department on the item or remove the agreement item",
            path,
            {"catalog": item.code, "consumer": consumer},
        )
    ]


def _check_opinions(p: ProjectIn, path: str) -> list[Reason]:
    related = set(p.departments) - {p.lead_department}
    reasons = []
    for i, op in enumerate(p.opinions):
        o_path = f"{path}.opinions[{i}]"
        if op.department not in related:
            reasons.append(
                Reason(
                    "OPINION_NOT_RELATED",
                    clause("第九条"),
                    f"部门 {op.department} 不是项目 {p.code} 的相关部门，其意见不能作为征求意见登记；"
                    "请将其列入 departments 或删去该意见",
                    f"department {op.department} is not a related department of project {p.code}; list it in "
                    "departments or remove the opinion",
                    f"{o_path}.department",
                    {"department": op.department},
                )
            )
        if op.verdict is OpinionVerdict.UNMET_NEEDS and not op.unmet_needs:
            reasons.append(
                Reason(
                    "UNMET_NEEDS_NOT_LISTED",
                    clause("第九条"),
                    f"部门 {op.department} 的意见为“需求未满足”（unmet_needs），须列出未满足的共享需求",
                    f"the opinion of {op.department} says needs are unmet but lists none (unmet_needs)",
                    f"{o_path}.unmet_needs",
                    {"department": op.department},
                )
            )
    return reasons


def _check_project(
    p: ProjectIn, path: str, departments: Collection[str], existing: Existing, set_aside: Existing
) -> list[Reason]:
    reasons: list[Reason] = []
    if p.code in existing.projects:
        reasons.append(
            Reason(
                "PROJECT_EXISTS",
                DOC_CLAUSE,
                f"项目 {p.code} 已存在于数据库中；导入只新建项目，不修改已有项目。请从文档中删去该项目，"
                "已有项目的材料和阶段通过 govflow 的编辑与事件命令变更",
                f"project {p.code} already exists; loading creates projects and never changes existing ones. "
                "Remove it from the document; change an existing project through govflow's edit and event commands",
                f"{path}.code",
                {"project": p.code},
            )
        )
    if p.lead_department not in departments:
        reasons.append(
            unknown_department(
                p.lead_department, f"项目 {p.code} 的牵头部门", "lead department", f"{path}.lead_department"
            )
        )
    for j, code in enumerate(p.departments):
        if code not in departments:
            reasons.append(
                unknown_department(
                    code, f"项目 {p.code} 的相关部门", "related department", f"{path}.departments[{j}]"
                )
            )
    reasons += check_catalog_items(p.catalog, departments, lambda i: f"{path}.catalog[{i}]")
    aside = {c for project, c in set_aside.catalog_items if project == p.code}
    reasons += _check_agreements(p, path, departments, aside)
    reasons += _check_opinions(p, path)
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
            reasons.append(
                Reason(
                    "EVIDENCE_NEGATIVE",
                    DOC_CLAUSE,
                    f"交付记录数 {ev.records} 为负数；交付记录数须为 0 或正整数，请更正",
                    f"records delivered {ev.records} is negative; it must be 0 or more",
                    f"{path}.records",
                    {"records": ev.records},
                )
            )
        if today is not None and ev.date > today:
            reasons.append(
                Reason(
                    "EVIDENCE_IN_FUTURE",
                    DOC_CLAUSE,
                    f"交付日期 {ev.date.isoformat()} 晚于今天 {today.isoformat()}；交付记录只能记载已发生的交付，"
                    "请更正日期",
                    f"delivery date {ev.date.isoformat()} is after today {today.isoformat()}; evidence records "
                    "deliveries that happened",
                    f"{path}.date",
                    {"date": ev.date.isoformat(), "today": today.isoformat()},
                )
            )
        if existing is not None:
            if ev.project not in existing.projects:
                reasons.append(
                    Reason(
                        "UNKNOWN_PROJECT",
                        DOC_CLAUSE,
                        f"交付记录所属项目 {ev.project} 既不在文档中，也不在数据库中；请更正项目编码",
                        f"project {ev.project} of the evidence row is neither in the document nor in the database",
                        f"{path}.project",
                        {"project": ev.project},
                    )
                )
            elif (ev.project, ev.catalog) not in existing.catalog_items:
                reasons.append(
                    Reason(
                        "UNKNOWN_CATALOG_ITEM",
                        DOC_CLAUSE,
                        f"交付记录的目录条目 {ev.catalog} 不在项目 {ev.project} 的共享信息目录中；请更正目录条目编码",
                        f"catalog item {ev.catalog} of the evidence row is not in the catalog of project {ev.project}",
                        f"{path}.catalog",
                        {"project": ev.project, "catalog": ev.catalog},
                    )
                )
        if existing is not None and ev.consumer not in existing.departments:
            reasons.append(
                unknown_department(ev.consumer, "交付记录的使用部门", "consumer", f"{path}.consumer")
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
        reasons += _check_project(p, f"projects[{i}]", departments, existing, aside)
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

"""Rules on sharing data itself (第二条、第三条、第八条、第九条) and on department identity (GB 32100-2015).

Each check returns reasons (empty when the data is fine) so loaders can report every bad row at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from govflow.states.sharing import (
    AgreementFact,
    AgreementForm,
    AgreementItemFact,
    CatalogFact,
    Category,
    Secrecy,
    ShareType,
)
from govflow.states.verdict import Reason, clause

GB32100 = "GB 32100-2015"
GB2260 = "GB/T 2260"

AGREEMENT_TERMS: dict[str, tuple[str, str]] = {
    "quality": ("质量", "quality"),
    "quantity": ("数量", "quantity"),
    "update_frequency": ("更新频度", "update frequency"),
    "scope": ("授权使用范围", "authorized scope"),
    "usage": ("使用方式", "manner of use"),
    "due": ("实现进度", "due date of realisation"),
}

REFINEMENT_ATTRS: dict[str, tuple[str, str]] = {
    "fields": ("数据字段", "data fields"),
    "format": ("格式", "format"),
    "interface": ("技术接口", "technical interface"),
    "processing": ("加工处理方法", "processing method"),
    "traceability": ("信息可追溯的技术要求", "traceability requirement"),
}

_REGION = re.compile(r"^[1-9]\d{5}$")


def check_credit_code(code: str, path: str) -> list[Reason]:
    """统一社会信用代码: 18 characters whose last is the GB 32100-2015 check character."""
    try:
        uscc.validate(code)
    except ValidationError as exc:
        zh, en = _USCC_PROBLEMS.get(type(exc).__name__, ("格式错误", "malformed"))
        return [
            Reason(
                "CREDIT_CODE_INVALID",
                GB32100,
                f"统一社会信用代码“{code}”无效（{zh}），须为 18 位且校验码符合 {GB32100}",
                f"unified social credit code '{code}' is invalid ({en}); it must have 18 characters "
                f"and a check character per {GB32100}",
                path,
            )
        ]
    return []


_USCC_PROBLEMS = {
    "InvalidLength": ("长度不是 18 位", "not 18 characters long"),
    "InvalidChecksum": ("校验码错误", "wrong check character"),
    "InvalidFormat": ("含有不允许的字符", "contains characters that are not allowed"),
    "InvalidComponent": ("登记管理部门或机构类别代码无效", "invalid registration authority or category"),
}


def check_region(region: str, path: str) -> list[Reason]:
    if _REGION.match(region):
        return []
    return [
        Reason(
            "REGION_INVALID",
            GB2260,
            f"行政区划代码“{region}”无效，须为 {GB2260} 六位数字代码",
            f"region '{region}' is invalid; it must be a 6-digit {GB2260} code",
            path,
        )
    ]


#: Where the share types come from: 《政务信息资源共享管理暂行办法》(国发〔2016〕51号). 733号文 第三条 says which
#: information is shared with all departments, not what a 不予共享 item needs. 51号 第九条 defines the three share
#: types (有条件共享: only to the departments concerned, or only in part); its 第十条 requires every 不予共享
#: item to rest on law, administrative regulation or central policy. (Article numbers as the published text of
#: 2016-09-05 gives them; the text itself is not in ../shared/seed — check it there when it is added.)
MEASURES = "国发〔2016〕51号"
NONE_NEEDS_BASIS = "国发〔2016〕51号 第十条"
CONDITIONAL_NEEDS_BASIS = "国发〔2016〕51号 第九条"


def check_catalog_item(item: CatalogFact, path: str) -> list[Reason]:
    """第三条: basic information is shared unconditionally with every department; 第二条第三款: secrets minimal;
    国发〔2016〕51号: a conditional or 不予共享 item states its basis."""
    reasons: list[Reason] = []
    if item.category is Category.BASIC and item.share_type is not ShareType.UNCONDITIONAL:
        reasons.append(
            Reason(
                "BASIC_NOT_UNCONDITIONAL",
                clause("第三条"),
                f"目录条目 {item.code}「{item.name}」属基础信息，应在所有政务部门间无条件共享，"
                f"共享类型不能为「{item.share_type.zh}」",
                f"catalog item {item.code} is basic information and must be shared unconditionally with all "
                f"departments, not '{item.share_type.en}'",
                f"{path}.share_type",
            )
        )
    if item.category is Category.BASIC and item.secrecy is not Secrecy.SECRET and not item.all_departments:
        reasons.append(
            Reason(
                "BASIC_NOT_ALL_DEPARTMENTS",
                clause("第三条"),
                f"目录条目 {item.code}「{item.name}」属基础信息，应授权所有政务部门（authorized: all）",
                f"catalog item {item.code} is basic information and must be authorized for all departments "
                "(authorized: all)",
                f"{path}.authorized",
            )
        )
    if item.share_type is ShareType.NONE and not (item.legal_basis or "").strip():
        reasons.append(
            Reason(
                "LEGAL_BASIS_REQUIRED",
                NONE_NEEDS_BASIS,
                f"目录条目 {item.code} 列为不予共享，须注明其法律、行政法规或党中央、国务院政策依据（legal_basis）",
                f"catalog item {item.code} is not shared and needs its basis in law, administrative regulation or "
                "central policy (legal_basis)",
                f"{path}.legal_basis",
            )
        )
    if item.share_type is ShareType.CONDITIONAL and not (item.legal_basis or "").strip():
        reasons.append(
            Reason(
                "LEGAL_BASIS_REQUIRED",
                CONDITIONAL_NEEDS_BASIS,
                f"目录条目 {item.code} 列为有条件共享，只提供给相关部门，须注明共享条件的依据（legal_basis）",
                f"catalog item {item.code} is shared on conditions with some departments only and needs the basis "
                "of its conditions (legal_basis)",
                f"{path}.legal_basis",
            )
        )
    if item.secrecy is Secrecy.SECRET:
        if item.all_departments:
            reasons.append(
                Reason(
                    "SECRET_ALL_DEPARTMENTS",
                    clause("第二条", "第三款"),
                    f"目录条目 {item.code} 涉及国家秘密，知悉范围应限定在最小范围，不得授权所有部门",
                    f"catalog item {item.code} is secret; its audience must be minimal, never all departments",
                    f"{path}.authorized",
                )
            )
        elif not item.authorized:
            reasons.append(
                Reason(
                    "SECRET_WITHOUT_AUTHORIZATION",
                    clause("第二条", "第三款"),
                    f"目录条目 {item.code} 涉及国家秘密，须逐一列明被授权的部门",
                    f"catalog item {item.code} is secret and must list each authorized department explicitly",
                    f"{path}.authorized",
                )
            )
    return reasons


def missing_refinement(item: CatalogFact) -> list[str]:
    """第九条: what the feasibility study has not yet specified for a catalog item."""
    missing = []
    if not item.fields:
        missing.append("fields")
    for attr in ("format", "interface", "processing", "traceability"):
        if not (getattr(item, attr) or "").strip():
            missing.append(attr)
    return missing


def missing_item_terms(item: AgreementItemFact) -> list[str]:
    """第八条: the terms an agreement item must fix."""
    missing = []
    for term in AGREEMENT_TERMS:
        value = getattr(item, term)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(term)
    return missing


def check_agreement(agreement: AgreementFact, path: str) -> list[Reason]:
    """第八条: parties, 共享期限 and 共享依据 on the agreement, every term on each item."""
    reasons: list[Reason] = []
    if len(agreement.parties) < 2:
        reasons.append(
            Reason(
                "AGREEMENT_PARTIES",
                clause("第八条"),
                f"共享协定 {agreement.code} 须由牵头部门会同相关部门共同确定，至少两方",
                f"agreement {agreement.code} needs at least two parties",
                f"{path}.parties",
            )
        )
    if agreement.term_start is None or agreement.term_end is None:
        reasons.append(
            Reason(
                "AGREEMENT_TERM_MISSING",
                clause("第八条"),
                f"共享协定 {agreement.code} 缺少共享期限（term.start / term.end）",
                f"agreement {agreement.code} lacks its sharing term (term.start / term.end)",
                f"{path}.term",
            )
        )
    elif agreement.term_end < agreement.term_start:
        reasons.append(
            Reason(
                "AGREEMENT_TERM_INVERTED",
                clause("第八条"),
                f"共享协定 {agreement.code} 的共享期限结束日早于开始日",
                f"agreement {agreement.code} ends before it starts",
                f"{path}.term",
            )
        )
    if not (agreement.basis or "").strip():
        reasons.append(
            Reason(
                "AGREEMENT_BASIS_MISSING",
                clause("第八条"),
                f"共享协定 {agreement.code} 缺少共享依据（basis）",
                f"agreement {agreement.code} lacks its legal basis for sharing (basis)",
                f"{path}.basis",
            )
        )
    for i, item in enumerate(agreement.items):
        reasons.extend(item_term_reasons(agreement.code, item, f"{path}.items[{i}]"))
    return reasons


def item_term_reasons(agreement_code: str, item: AgreementItemFact, path: str | None) -> list[Reason]:
    missing = missing_item_terms(item)
    if not missing:
        return []
    zh = "、".join(AGREEMENT_TERMS[t][0] for t in missing)
    en = ", ".join(AGREEMENT_TERMS[t][1] for t in missing)
    return [
        Reason(
            "AGREEMENT_ITEM_TERM_MISSING",
            clause("第八条"),
            f"共享协定 {agreement_code} 中目录条目 {item.catalog}（使用部门 {item.consumer}）缺少第八条约定事项：{zh}",
            f"agreement {agreement_code}, item {item.catalog} for {item.consumer} lacks the terms of 第八条: {en}",
            f"{path}.{missing[0]}" if path else None,
            {"missing": missing},
        )
    ]


def check_agreement_consistency(
    agreement: AgreementFact,
    path: str,
    *,
    lead: str,
    catalog: Mapping[str, CatalogFact],
    today: date,
) -> list[Reason]:
    """An agreement that says what it cannot (第八条, 第二条第三款), every breach with the path of its value:
    signed no later than the day it is recorded; its term covers every item's due date; every consumer and every
    item's provider is a party; a joint document is issued with the lead department; no 不予共享 item is promised;
    a conditional or secret item goes only to departments within its authorized scope (its provider, the
    departments it authorizes, or every department where it says so and is not secret). Items whose catalog entry
    is unknown are skipped here (the caller reports the unknown reference)."""
    reasons: list[Reason] = []
    c8 = clause("第八条")
    scope = clause("第二条", "第三款")
    code = agreement.code
    if agreement.signed_on is not None and agreement.signed_on > today:
        reasons.append(
            Reason(
                "AGREEMENT_SIGNED_IN_FUTURE",
                c8,
                f"共享协定 {code} 的签署日期 {agreement.signed_on.isoformat()} 晚于登记之日 {today.isoformat()}："
                "尚未签署的协定不能作为已确定的共享安排",
                f"agreement {code} is signed on {agreement.signed_on.isoformat()}, after the day it is recorded "
                f"({today.isoformat()}): an agreement not yet signed fixes nothing",
                f"{path}.signed_on",
                {"signed_on": agreement.signed_on.isoformat(), "today": today.isoformat()},
            )
        )
    parties = set(agreement.parties)
    if agreement.form is AgreementForm.JOINT_DOCUMENT and lead not in parties:
        reasons.append(
            Reason(
                "AGREEMENT_LEAD_NOT_PARTY",
                c8,
                f"联合发文 {code} 须由牵头建设部门 {lead} 会同相关部门发文，发文部门中没有牵头部门",
                f"joint document {code} must be issued with the lead department {lead}, which is not among its "
                "parties",
                f"{path}.parties",
                {"lead": lead},
            )
        )
    for k, item in enumerate(agreement.items):
        i_path = f"{path}.items[{k}]"
        start, end = agreement.term_start, agreement.term_end
        if item.due is not None and start is not None and end is not None and not start <= item.due <= end:
            reasons.append(
                Reason(
                    "AGREEMENT_TERM_MISSES_DUE",
                    c8,
                    f"共享协定 {code} 的共享期限 {start.isoformat()} 至 "
                    f"{end.isoformat()} 不包含目录条目 {item.catalog} 的实现进度 "
                    f"{item.due.isoformat()}：到期时协定已不在期限内（或尚未开始）",
                    f"agreement {code} runs from {start.isoformat()} to "
                    f"{end.isoformat()}, which does not include the due date "
                    f"{item.due.isoformat()} of item {item.catalog}",
                    f"{i_path}.due",
                    {"due": item.due.isoformat(), "term_end": end.isoformat()},
                )
            )
        if item.consumer not in parties:
            reasons.append(
                Reason(
                    "AGREEMENT_CONSUMER_NOT_PARTY",
                    c8,
                    f"共享协定 {code} 约定向 {item.consumer} 提供目录条目 {item.catalog}，但该部门不是协定的一方",
                    f"agreement {code} promises item {item.catalog} to {item.consumer}, which is not a party",
                    f"{i_path}.consumer",
                    {"consumer": item.consumer, "catalog": item.catalog},
                )
            )
        entry = catalog.get(item.catalog)
        if entry is None:
            continue
        if entry.provider not in parties:
            reasons.append(
                Reason(
                    "AGREEMENT_PROVIDER_NOT_PARTY",
                    c8,
                    f"共享协定 {code} 约定提供目录条目 {item.catalog}，但其提供部门 {entry.provider} 不是协定的一方",
                    f"agreement {code} promises item {item.catalog}, whose provider {entry.provider} is not a "
                    "party",
                    f"{i_path}.catalog",
                    {"provider": entry.provider, "catalog": item.catalog},
                )
            )
        if entry.share_type is ShareType.NONE:
            reasons.append(
                Reason(
                    "AGREEMENT_ITEM_NOT_SHAREABLE",
                    scope,
                    f"共享协定 {code} 约定共享目录条目 {item.catalog}，但该条目属不予共享类，不能约定共享",
                    f"agreement {code} promises item {item.catalog}, which is classed as not to be shared",
                    f"{i_path}.catalog",
                    {"catalog": item.catalog},
                )
            )
            continue
        within = item.consumer == entry.provider or item.consumer in entry.authorized
        if entry.secrecy is Secrecy.SECRET and not within:
            reasons.append(
                Reason(
                    "SECRET_CONSUMER_NOT_AUTHORIZED",
                    scope,
                    f"协定 {code} 把涉密目录条目 {item.catalog} 共享给未经授权的部门 {item.consumer}；涉密信息的"
                    "知悉范围限于目录条目 authorized 中列明的部门，请在目录条目中授权该部门或删去该协定条目",
                    f"agreement {code} shares secret catalog item {item.catalog} with {item.consumer}, which the "
                    "item does not authorize; authorize the department on the item or remove the agreement item",
                    f"{i_path}.consumer",
                    {"catalog": item.catalog, "consumer": item.consumer},
                )
            )
        elif entry.share_type is ShareType.CONDITIONAL and not (within or entry.all_departments):
            reasons.append(
                Reason(
                    "CONDITIONAL_CONSUMER_NOT_AUTHORIZED",
                    scope,
                    f"协定 {code} 把有条件共享的目录条目 {item.catalog} 共享给其授权范围之外的部门 {item.consumer}；"
                    "请在目录条目中授权该部门或删去该协定条目",
                    f"agreement {code} shares conditional item {item.catalog} with {item.consumer}, outside the "
                    "departments the item authorizes",
                    f"{i_path}.consumer",
                    {"catalog": item.catalog, "consumer": item.consumer},
                )
            )
    return reasons

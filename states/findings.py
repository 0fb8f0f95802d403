"""The vocabulary of sharing findings (SPEC §4.1): the rules a broken obligation is found under, the clause each
cites, why a finding was closed, and one sentence explaining a finding from its evidence.

The sweep writes findings in these words; rectification, reads, reports and pages read them. It lives in the
domain so that none of them has to import another to speak about a finding.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from govflow.states.phases import Phase
from govflow.states.sharing import AgreementForm, Frequency
from govflow.states.verdict import clause
from govflow.states.vocabulary import FindingRule
from govflow.states.vocabulary import FindingStatus as FindingStatus  # re-exported

#: a finding rule (the finding's ``rule`` column): its words, clause and 第八条 term live on the vocabulary
Rule = FindingRule

MILESTONE_MISSED = Rule.MILESTONE_MISSED.value
DELIVERY_STALE = Rule.DELIVERY_STALE.value
AGREEMENT_EXPIRED = Rule.AGREEMENT_EXPIRED.value
AGREEMENT_OUT_OF_SCOPE = Rule.AGREEMENT_OUT_OF_SCOPE.value
ONBOARDING_GAP = Rule.ONBOARDING_GAP.value
RULES: tuple[str, ...] = tuple(r.value for r in Rule)

#: the same texts keyed by the rule's code, for readers holding a finding row's ``rule`` string
RULE_CLAUSE: dict[str, str] = {r.value: r.clause for r in Rule}
RULE_BASIS: dict[str, tuple[str, str]] = {r.value: (r.basis(), r.basis("en")) for r in Rule}
RULE_LABELS: dict[str, tuple[str, str]] = {r.value: (r.label(), r.label("en")) for r in Rule}
#: an agreement about to expire is a notice (第八条), not a finding
NOTICE_CLAUSE = clause("第八条")


#: why a finding was closed (``finding.closed_reason``)
CAUSE_GONE = "cause_gone"
LEFT_SWEPT_PHASES = "left_swept_phases"
AGREEMENT_RENEWED = "agreement_renewed"
MATERIALS_SUPPLIED = "materials_supplied"
CLOSED_REASON_LABELS: dict[str, tuple[str, str]] = {
    MATERIALS_SUPPLIED: ("所缺材料已补齐", "the missing materials were supplied"),
    AGREEMENT_RENEWED: ("共享协定已续签（第八条 共享期限）", "the agreement was renewed (第八条 term)"),
    CAUSE_GONE: (
        "问题已消除（交付记录或协定期限已符合要求）",
        "the cause is gone (delivery or term now in order)",
    ),
    LEFT_SWEPT_PHASES: ("项目已离开监测阶段", "the project left the swept phases"),
}

FREQUENCY_LABELS: dict[Frequency, tuple[str, str]] = {f: (f.zh, f.en) for f in Frequency}  # words on the enum
FORM_LABELS: dict[AgreementForm, str] = {form: form.zh for form in AgreementForm}

#: who the sweep's and the scheduled flows' audit events name, and the role they record
SWEEP_ACTOR = "govflow-sweep"
SYSTEM_ROLE = "system"


def moved_due(stated: date | None, due: date | None, lang: str = "zh") -> str:
    """Why a due date is not the agreed one: it fell on a day off (《中华人民共和国民法典》第二百零三条)."""
    if stated is None or due is None or stated == due:
        return ""
    if lang == "en":
        return (
            f" (agreed {stated.isoformat()}, a day off, moved to the next working day {due.isoformat()}: "
            "Civil Code art. 203)"
        )
    return f"（约定 {stated.isoformat()} 适逢休息日或法定节假日，依《中华人民共和国民法典》第二百零三条顺延至 {due.isoformat()}）"


def describe_finding(rule: str, evidence: dict[str, Any], lang: str = "zh") -> str:
    """A finding explained in one sentence (zh-CN, or English with ``lang="en"``), citing its 第八条 term."""
    if rule == AGREEMENT_EXPIRED:
        return _describe_expired(evidence, lang)
    if rule == AGREEMENT_OUT_OF_SCOPE:
        return _describe_out_of_scope(evidence, lang)
    if rule == ONBOARDING_GAP:
        said = evidence.get("message_en" if lang == "en" else "message") or ""
        why = evidence.get("legacy_reason") or ""
        if lang == "en":
            return f"onboarded as an existing project ({why}) without what a passed gate requires: {said}"
        return f"作为存量项目纳入（{why}），缺少已过关口所要求的材料：{said}"
    if rule == MILESTONE_MISSED:
        return _describe_missed(evidence, lang)
    return _describe_stale(evidence, lang)


def _basis(rule: str, lang: str) -> str:
    return RULE_BASIS.get(rule, ("", ""))[1 if lang == "en" else 0]


def _describe_expired(ev: dict[str, Any], lang: str) -> str:
    end, a = (ev.get("expected") or {}).get("term_end"), ev.get("agreement")
    basis = _basis(AGREEMENT_EXPIRED, lang)
    try:
        form, phase = AgreementForm(str(ev.get("form"))), Phase(str(ev.get("phase")))
    except ValueError:
        form, phase = AgreementForm.AGREEMENT, Phase.OPERATION
    if lang == "en":
        return (
            f"the sharing term of {form.value} {a} ended on {end} while the project is in '{phase.en}'; "
            f"renew the agreement or adjust the authorization ({basis})"
        )
    return (
        f"{FORM_LABELS[form]} {a} 的共享期限已于 {end} 届满，项目仍处于「{phase.zh}」阶段；"
        f"请续签协定或调整信息共享授权范围（{basis}）"
    )


def _item_terms(ev: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    """Agreement, catalog item, its name, consumer, the consumer's name and the day, from an item finding."""
    keys = ("agreement", "catalog", "catalog_name", "consumer", "consumer_name", "as_of")
    a, c, name, consumer, consumer_name, as_of = (str(ev.get(k)) for k in keys)
    return a, c, name, consumer, consumer_name, as_of


def _describe_missed(ev: dict[str, Any], lang: str) -> str:
    a, c, name, consumer, consumer_name, as_of = _item_terms(ev)
    expected = ev.get("expected") or {}
    due, basis = expected.get("due"), _basis(MILESTONE_MISSED, lang)
    stated = expected.get("stated_due")
    moved = moved_due(date.fromisoformat(stated), date.fromisoformat(due), lang) if stated and due else ""
    if lang == "en":
        return (
            f"agreement {a} promised catalog item {c} ({name}) to {consumer} by {due}{moved}; no delivery "
            f"recorded up to {as_of} ({basis})"
        )
    return (
        f"协定 {a} 约定目录条目 {c}（{name}）向 {consumer_name}（{consumer}）共享，实现进度为 {due}{moved}；"
        f"截至 {as_of} 无交付记录（{basis}）"
    )


def _describe_out_of_scope(ev: dict[str, Any], lang: str) -> str:
    a, c, name, consumer, consumer_name, as_of = _item_terms(ev)
    basis = _basis(AGREEMENT_OUT_OF_SCOPE, lang)
    if lang == "en":
        return (
            f"agreement {a} promises catalog item {c} ({name}) to {consumer}, which is outside the item's "
            f"authorized scope as of {as_of}: amend the agreement or the authorization ({basis})"
        )
    return (
        f"协定 {a} 约定向 {consumer_name}（{consumer}）提供目录条目 {c}（{name}），但截至 {as_of} 该部门不在"
        f"该条目的授权使用范围内；须修订协定或调整授权（{basis}）"
    )


def _describe_stale(ev: dict[str, Any], lang: str) -> str:
    a, c, name, consumer, consumer_name, as_of = _item_terms(ev)
    expected, delivered = ev.get("expected") or {}, ev.get("delivered") or {}
    last, days, basis = delivered.get("last_day"), expected.get("max_gap_days"), _basis(DELIVERY_STALE, lang)
    gap = (date.fromisoformat(as_of) - date.fromisoformat(last)).days if ev.get("as_of") and last else None
    try:
        f_zh, f_en = FREQUENCY_LABELS[Frequency(str(expected.get("frequency")))]
    except ValueError:
        f_zh = f_en = str(expected.get("frequency"))
    if lang == "en":
        return (
            f"agreement {a} promised catalog item {c} ({name}) to {consumer} {f_en}; the last delivery was on "
            f"{last}, {gap} days before {as_of} (at most {days} allowed, {basis})"
        )
    return (
        f"协定 {a} 约定目录条目 {c}（{name}）向 {consumer_name}（{consumer}）按「{f_zh}」更新；最后一次交付为 "
        f"{last}，至 {as_of} 已 {gap} 天未更新（允许间隔 {days} 天，{basis}）"
    )


def onboarding_gap_key(project: str, gate: str, rule: str, detail: dict[str, Any]) -> str:
    """The key of the onboarding-gap finding for one reason of a gate: stable, so that a later check of the same
    materials names the same finding."""
    which = next(
        (str(detail[k]) for k in ("department", "dimension", "catalog", "agreement") if detail.get(k)), "-"
    )
    return f"{project}/{ONBOARDING_GAP}/{gate}/{rule}/{which}"

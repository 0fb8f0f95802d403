"""The vocabulary of sharing findings (SPEC §4.1): the rules a broken obligation is found under, the clause each
cites, why a finding was closed, and one sentence explaining a finding from its evidence.

The sweep writes findings in these words; rectification, reads, reports and pages read them. It lives in the
domain so that none of them has to import another to speak about a finding.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from govflow.states.phases import Phase
from govflow.states.sharing import AgreementForm, Frequency
from govflow.states.verdict import clause


class Rule(StrEnum):
    """A finding rule (the finding's ``rule`` column), with its clause, its 第八条 term and its label."""

    MILESTONE_MISSED = "MILESTONE_MISSED"
    DELIVERY_STALE = "DELIVERY_STALE"
    AGREEMENT_EXPIRED = "AGREEMENT_EXPIRED"

    @property
    def clause(self) -> str:
        """The clause the finding cites (its ``clause`` column)."""
        return _RULE_TEXTS[self][0]

    def basis(self, lang: str = "zh") -> str:
        """The term of 第八条 the obligation rests on."""
        return _RULE_TEXTS[self][1][1 if lang == "en" else 0]

    def label(self, lang: str = "zh") -> str:
        return _RULE_TEXTS[self][2][1 if lang == "en" else 0]


_RULE_TEXTS: dict[Rule, tuple[str, tuple[str, str], tuple[str, str]]] = {
    Rule.MILESTONE_MISSED: (
        clause("第十一条"),
        ("733号文 第八条（实现进度）", "733号文 第八条 (implementation schedule)"),
        ("到期未实现共享", "sharing not realised by its due date"),
    ),
    Rule.DELIVERY_STALE: (
        clause("第十一条"),
        ("733号文 第八条（更新频度）", "733号文 第八条 (update frequency)"),
        ("未按更新频度持续共享", "sharing not kept up at the agreed frequency"),
    ),
    Rule.AGREEMENT_EXPIRED: (
        clause("第八条"),
        ("733号文 第八条（共享期限）", "733号文 第八条 (sharing term)"),
        ("共享协定已到期", "sharing agreement expired"),
    ),
}

MILESTONE_MISSED = Rule.MILESTONE_MISSED.value
DELIVERY_STALE = Rule.DELIVERY_STALE.value
AGREEMENT_EXPIRED = Rule.AGREEMENT_EXPIRED.value
RULES: tuple[str, ...] = tuple(r.value for r in Rule)

#: the same texts keyed by the rule's code, for readers holding a finding row's ``rule`` string
RULE_CLAUSE: dict[str, str] = {r.value: r.clause for r in Rule}
RULE_BASIS: dict[str, tuple[str, str]] = {r.value: (r.basis(), r.basis("en")) for r in Rule}
RULE_LABELS: dict[str, tuple[str, str]] = {r.value: (r.label(), r.label("en")) for r in Rule}
#: an agreement about to expire is a notice (第八条), not a finding
NOTICE_CLAUSE = clause("第八条")


class FindingStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


#: why a finding was closed (``finding.closed_reason``)
CAUSE_GONE = "cause_gone"
LEFT_SWEPT_PHASES = "left_swept_phases"
CLOSED_REASON_LABELS: dict[str, tuple[str, str]] = {
    CAUSE_GONE: (
        "问题已消除（交付记录或协定期限已符合要求）",
        "the cause is gone (delivery or term now in order)",
    ),
    LEFT_SWEPT_PHASES: ("项目已离开监测阶段", "the project left the swept phases"),
}

FREQUENCY_LABELS: dict[Frequency, tuple[str, str]] = {
    Frequency.REALTIME: ("实时", "real-time"),
    Frequency.DAILY: ("每日", "daily"),
    Frequency.WEEKLY: ("每周", "weekly"),
    Frequency.MONTHLY: ("每月", "monthly"),
    Frequency.QUARTERLY: ("每季度", "quarterly"),
    Frequency.YEARLY: ("每年", "yearly"),
}
FORM_LABELS: dict[AgreementForm, str] = {
    AgreementForm.AGREEMENT: "信息共享协定",
    AgreementForm.JOINT_DOCUMENT: "联合发文",
}

#: who the sweep's and the scheduled flows' audit events name, and the role they record
SWEEP_ACTOR = "govflow-sweep"
SYSTEM_ROLE = "system"


def describe_finding(rule: str, evidence: dict[str, Any], lang: str = "zh") -> str:
    """A finding explained in one sentence (zh-CN, or English with ``lang="en"``), citing its 第八条 term."""
    if rule == AGREEMENT_EXPIRED:
        return _describe_expired(evidence, lang)
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
    due, basis = (ev.get("expected") or {}).get("due"), _basis(MILESTONE_MISSED, lang)
    if lang == "en":
        return (
            f"agreement {a} promised catalog item {c} ({name}) to {consumer} by {due}; no delivery "
            f"recorded up to {as_of} ({basis})"
        )
    return (
        f"协定 {a} 约定目录条目 {c}（{name}）向 {consumer_name}（{consumer}）共享，实现进度为 {due}；"
        f"截至 {as_of} 无交付记录（{basis}）"
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

"""Lifecycle guards: each answers an explained verdict citing 733号文 (python-statemachine's validators).

A guard sees only :class:`ProjectFacts` and a :class:`GuardContext`; it never reads a database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from govflow.states.findings import FREQUENCY_LABELS, moved_due
from govflow.states.obligations import (
    Obligation,
    ObligationStatus,
    ObligationVerdict,
    evaluate,
    stated_records,
)
from govflow.states.phases import REVIEW_STAGE_OF, Event, Phase
from govflow.states.rules import REFINEMENT_ATTRS, item_term_reasons, missing_refinement
from govflow.states.sharing import (
    AgreementItemFact,
    FocusPoint,
    Judgment,
    OpinionFact,
    OpinionVerdict,
    ProjectFacts,
)
from govflow.states.verdict import Reason, Verdict, clause

NOT_ACCEPTED = clause("第十条", "第二款")  # 不予受理 / 不予审批
REVIEW_FOCUS = clause("第十条", "第一款")
ACCEPTANCE = clause("第十一条")


@dataclass(frozen=True)
class GuardContext:
    event: Event
    source: Phase
    on: date  # the business date of the decision (evidence due dates are compared with it)
    reason: str | None = None
    #: the program office's recorded reason for approving against the review's objections (第十条第一款)
    override: str | None = None


Guard = Callable[[ProjectFacts, GuardContext], Verdict]


def _reason_required(f: ProjectFacts, ctx: GuardContext) -> Verdict:
    if (ctx.reason or "").strip():
        return Verdict()
    return Verdict.of(
        [
            Reason(
                "REASON_REQUIRED",
                NOT_ACCEPTED if ctx.event is Event.REFUSE else "govflow",
                f"「{ctx.event.zh}」须说明理由（--reason）",
                f"'{ctx.event.en}' needs a reason (--reason)",
            )
        ]
    )


def submit_proposal(f: ProjectFacts, ctx: GuardContext) -> Verdict:
    """Completeness of the form only; the sharing checks belong to intake."""
    reasons = []
    if not f.name.strip():
        reasons.append(Reason("NAME_MISSING", "govflow", "项目名称不能为空", "the project needs a name"))
    return Verdict.of(reasons)


def intake(f: ProjectFacts, ctx: GuardContext) -> Verdict:
    """不予受理 (第十条第二款) unless the proposal carries agreements, a catalog, a needs analysis and opinions."""
    reasons: list[Reason] = []
    if not f.agreements:
        reasons.append(
            Reason(
                "NO_AGREEMENT",
                f"{NOT_ACCEPTED}、第八条",
                "未提供信息共享协定或联合发文，不予受理",
                "no sharing agreement or joint document was provided; intake refused",
            )
        )
    if not f.catalog:
        reasons.append(
            Reason(
                "NO_CATALOG",
                f"{NOT_ACCEPTED}、第九条",
                "未列出共享信息目录（至少一个条目），不予受理",
                "no sharing catalog with at least one item was provided; intake refused",
            )
        )
    needs = f.needs
    dims = (
        ("internal", "部门内部", "internal", needs.internal if needs else None),
        ("external", "部门外部", "external", needs.external if needs else None),
        ("central_local", "本部门中央和地方之间", "central–local", needs.central_local if needs else None),
    )
    for key, zh, en, text in dims:
        if not (text or "").strip():
            reasons.append(
                Reason(
                    "NEEDS_ANALYSIS_MISSING",
                    f"{NOT_ACCEPTED}、第九条",
                    f"项目建议书未专门分析{zh}的信息共享需求，不予受理",
                    f"the needs analysis does not cover {en} sharing; intake refused",
                    detail={"dimension": key},
                )
            )
    given = {o.department for o in f.opinions}
    for dept, role in consulted_departments(f).items():
        if dept not in given:
            zh, en = (
                ("相关部门", "related department")
                if role == "related"
                else ("提供部门", "providing department")
            )
            reasons.append(
                Reason(
                    "OPINION_MISSING",
                    f"{NOT_ACCEPTED}、第九条",
                    f"未征求{zh}{f.dept(dept)}的意见，不予受理",
                    f"no opinion was sought from {en} {dept}; intake refused",
                    detail={"department": dept, "as": role},
                )
            )
    return Verdict.of(reasons)


def consulted_departments(f: ProjectFacts) -> dict[str, str]:
    """Whose opinion the proposal must carry (第九条 征求各相关部门意见): every related department, and every
    department that provides a catalog item or is a party to an agreement (a provider is concerned as much as a
    consumer), the lead department aside; department code → ``related`` or ``provider``."""
    out = {d: "related" for d in f.departments if d != f.lead_department}
    providers = [c.provider for c in f.catalog] + [p for a in f.agreements for p in a.parties]
    for d in providers:
        if d != f.lead_department:
            out.setdefault(d, "provider")
    return out


def unanswered_conditions(f: ProjectFacts) -> list[Reason]:
    """不予审批 (第十条第二款、第九条) while a department's latest opinion agrees only with changes that the lead
    department has not answered."""
    out = []
    for op in latest_opinions(f):
        if op.verdict is not OpinionVerdict.AGREE_WITH_CHANGES:
            continue
        for n, cond in enumerate(op.conditions, 1):
            if (cond.answer or "").strip():
                continue
            out.append(
                Reason(
                    "OPINION_CONDITION_UNANSWERED",
                    f"{NOT_ACCEPTED}、第九条",
                    f"{f.dept(op.department)}修改后同意，其第 {n} 项修改意见「{cond.text}」牵头部门尚未答复，不予批复",
                    f"{op.department} agrees with changes; its condition {n} ('{cond.text}') has not been answered "
                    "by the lead department; approval refused",
                    detail={"department": op.department, "condition": n},
                )
            )
    return out


def latest_opinions(f: ProjectFacts) -> list[OpinionFact]:
    """A department's newest opinion supersedes its earlier ones (facts come oldest first)."""
    latest: dict[str, OpinionFact] = {}
    for op in sorted(f.opinions, key=lambda o: o.on):
        latest[op.department] = op
    return list(latest.values())


def uncovered_needs(f: ProjectFacts, on: date | None = None) -> list[Reason]:
    """不予审批: an unmet sharing need of a related department not covered by a catalog item + agreement item."""
    by_code = {c.code: c for c in f.catalog}
    by_name = {c.name: c for c in f.catalog}
    agreed = {(i.catalog, i.consumer) for a in f.agreements if on is None or a.in_force(on) for i in a.items}
    reasons = []
    for op in latest_opinions(f):
        if op.verdict is not OpinionVerdict.UNMET_NEEDS and not op.unmet_needs:
            continue
        for need in op.unmet_needs:
            item = by_code.get(need.catalog) if need.catalog else by_name.get(need.name)
            if item is not None and (item.code, op.department) in agreed:
                continue
            reasons.append(
                Reason(
                    "UNMET_NEED_NOT_COVERED",
                    NOT_ACCEPTED,
                    f"相关部门{f.dept(op.department)}提出的共享需求「{need.name}」未被共享信息目录和共享协定满足，不予审批",
                    f"the sharing need '{need.name}' of related department {op.department} is not covered by a "
                    "catalog item and an agreement; approval refused",
                    detail={"department": op.department, "need": need.name},
                )
            )
    return reasons


def approve(f: ProjectFacts, ctx: GuardContext) -> Verdict:
    """第十条: a review of this stage judging all five focus points, and no uncovered need."""
    stage = REVIEW_STAGE_OF[ctx.source]
    reviews = [r for r in f.reviews if r.stage == stage.value]
    reasons: list[Reason] = []
    if not reviews:
        reasons.append(
            Reason(
                "REVIEW_MISSING",
                REVIEW_FOCUS,
                f"尚无评审机构对{stage.label()}的评审意见，不能批复",
                f"no review of the {stage.label('en')} has been recorded; cannot approve",
                detail={"stage": stage.value},
            )
        )
    else:
        latest = reviews[-1]  # facts are ordered by date, then by entry: a same-day correction wins
        if not (ctx.override or "").strip():
            reasons.extend(review_objections(f, ctx.source))
        for point in FocusPoint:
            if point not in latest.judgments:
                reasons.append(
                    Reason(
                        "FOCUS_POINT_UNJUDGED",
                        REVIEW_FOCUS,
                        f"评审意见未对「{point.label()}」作出明确判断",
                        f"the review makes no explicit judgment on {point.label('en')}",
                        detail={"stage": stage.value, "focus_point": point.value},
                    )
                )
    reasons.extend(uncovered_needs(f, ctx.on))
    reasons.extend(unanswered_conditions(f))
    reasons.extend(materials_still_missing(f, ctx))
    return Verdict.of(reasons)


def review_objections(f: ProjectFacts, source: Phase) -> list[Reason]:
    """What the latest review of the stage judged against approval: each focus point judged not met (第十条第一款
    lets the review count; only a reason recorded by the program office can set it aside)."""
    stage = REVIEW_STAGE_OF.get(source)
    reviews = [r for r in f.reviews if stage is not None and r.stage == stage.value]
    if not reviews or stage is None:
        return []
    latest = reviews[-1]
    out: list[Reason] = []
    if latest.against:
        said = f"（{latest.conclusion}）" if latest.conclusion else ""
        said_en = f" ({latest.conclusion})" if latest.conclusion else ""
        out.append(
            Reason(
                "REVIEW_AGAINST_APPROVAL",
                REVIEW_FOCUS,
                f"{latest.agency}对{stage.label()}的评审结论不同意批复{said}，不予批复；"
                "项目审批部门如决定不采纳该评审意见，须记录理由（--override）",
                f"the {stage.label('en')} review by {latest.agency} concludes against approval{said_en}; approval "
                "is refused unless the program office records why it sets the review aside (--override)",
                detail={"stage": stage.value, "agency": latest.agency},
            )
        )
    for point in FocusPoint:
        if latest.judgments.get(point) is not Judgment.NOT_MET:
            continue
        comment = latest.comments.get(point) or ""
        said = f"（{comment}）" if comment else ""
        said_en = f" ({comment})" if comment else ""
        out.append(
            Reason(
                "REVIEW_NOT_MET",
                REVIEW_FOCUS,
                f"{latest.agency}对{stage.label()}的评审意见认为「{point.label()}」不符合{said}，不予批复；"
                "项目审批部门如决定不采纳该评审意见，须记录理由（--override）",
                f"the {stage.label('en')} review by {latest.agency} judged {point.label('en')} not met{said_en}; "
                "approval is refused unless the program office records why it sets the review aside (--override)",
                detail={"stage": stage.value, "focus_point": point.value, "agency": latest.agency},
            )
        )
    return out


def submit_feasibility(f: ProjectFacts, ctx: GuardContext) -> Verdict:
    """第九条: the catalog is refined; 第八条: every agreement item fixes all its terms."""
    reasons: list[Reason] = []
    for item in f.catalog:
        missing = missing_refinement(item)
        if missing:
            reasons.append(
                Reason(
                    "CATALOG_NOT_REFINED",
                    clause("第九条"),
                    f"可行性研究报告未细化目录条目 {item.code}「{item.name}」："
                    + "、".join(REFINEMENT_ATTRS[m][0] for m in missing),
                    f"the feasibility study does not refine catalog item {item.code}: "
                    + ", ".join(REFINEMENT_ATTRS[m][1] for m in missing),
                    detail={"catalog": item.code, "missing": missing},
                )
            )
    for agreement in f.agreements:
        for it in agreement.items:
            reasons.extend(item_term_reasons(agreement.code, it, None))
    return Verdict.of(reasons)


def pass_acceptance(f: ProjectFacts, ctx: GuardContext) -> Verdict:
    """不予通过验收 (第十一条) unless every due agreement item is delivered at its frequency, judged on the
    deliveries themselves by the one evaluator (the sweep's rules), and no sharing finding is open."""
    reasons: list[Reason] = []
    for agreement in f.agreements:
        if not agreement.in_force(ctx.on):  # terminated: its items are no obligation any more
            continue
        for it in agreement.items:
            last = f.last_delivery.get((it.catalog, it.consumer))
            verdict = evaluate(Obligation(it.due, it.frequency, last, agreement.term_end), ctx.on)
            if verdict.delivery is ObligationStatus.MISSED:
                reasons.append(_delivery_missing(f, agreement.code, it, verdict))
            elif verdict.delivery is ObligationStatus.STALE:
                reasons.append(_delivery_stale(f, agreement.code, it, verdict))
            elif verdict.delivery is ObligationStatus.DELIVERED:
                reasons.extend(_delivery_short(f, agreement.code, it, verdict))
    for key in f.open_findings:
        reasons.append(
            Reason(
                "OPEN_FINDING",
                ACCEPTANCE,
                f"存在未整改的信息共享问题 {key}，不予通过验收",
                f"sharing finding {key} is still open; acceptance refused",
                detail={"finding": key},
            )
        )
    return Verdict.of(reasons)


def _obligation_detail(code: str, it: AgreementItemFact, v: ObligationVerdict) -> dict[str, object]:
    rule = v.delivery.rule
    return {
        "agreement": code,
        "catalog": it.catalog,
        "consumer": it.consumer,
        "status": v.delivery.value,
        "rule": rule.value if rule else None,
    }


def _delivery_missing(f: ProjectFacts, code: str, it: AgreementItemFact, v: ObligationVerdict) -> Reason:
    due = it.due.isoformat() if it.due else ""
    return Reason(
        "DELIVERY_MISSING",
        ACCEPTANCE,
        f"共享协定 {code} 约定 {due}{moved_due(it.stated_due, it.due) or ' '}前向{f.dept(it.consumer)}提供目录条目 "
        f"{it.catalog}，但无交付记录，不予通过验收",
        f"agreement {code} promised item {it.catalog} to {it.consumer} by {due}"
        f"{moved_due(it.stated_due, it.due, 'en')}, but nothing was delivered; acceptance refused",
        detail=_obligation_detail(code, it, v)
        | ({"stated_due": it.stated_due.isoformat()} if it.stated_due else {}),
    )


def _delivery_stale(f: ProjectFacts, code: str, it: AgreementItemFact, v: ObligationVerdict) -> Reason:
    last = v.last_delivery.isoformat() if v.last_delivery else ""
    return Reason(
        "DELIVERY_STALE",
        ACCEPTANCE,
        f"共享协定 {code} 约定向{f.dept(it.consumer)}按「{FREQUENCY_LABELS[v.frequency][0]}」提供目录条目 "
        f"{it.catalog}，最后一次交付为 {last}，已超过允许间隔 {v.max_gap_days} 天，不予通过验收",
        f"agreement {code} promised item {it.catalog} to {it.consumer} {FREQUENCY_LABELS[v.frequency][1]}; "
        f"the last delivery was on {last}, more than {v.max_gap_days} days ago; acceptance refused",
        detail=_obligation_detail(code, it, v),
    )


#: the gates a project at a phase has passed (onboarding; 第九条、第十条第二款): intake from proposal review on,
#: the feasibility submission (refined catalog, agreement terms) from feasibility review on
_GATE_SOURCES: tuple[tuple[Event, Phase], ...] = (
    (Event.INTAKE, Phase.PROPOSAL_SUBMITTED),
    (Event.SUBMIT_FEASIBILITY, Phase.PROPOSAL_APPROVED),
)
_UNGATED = frozenset({Phase.DRAFT, Phase.PROPOSAL_SUBMITTED, Phase.REJECTED, Phase.WITHDRAWN})
_BEFORE_FEASIBILITY = frozenset({Phase.PROPOSAL_REVIEW, Phase.PROPOSAL_APPROVED})


def passed_gates(phase: Phase) -> tuple[Event, ...]:
    """The gates (events whose guard checks materials) a project at ``phase`` has gone through."""
    if phase in _UNGATED:
        return ()
    if phase in _BEFORE_FEASIBILITY:
        return (Event.INTAKE,)
    return (Event.INTAKE, Event.SUBMIT_FEASIBILITY)


def gate_gaps(f: ProjectFacts, phase: Phase, on: date) -> list[tuple[Event, Reason]]:
    """What the gates a project at ``phase`` has passed require and its materials lack, judged by those gates'
    own guards (a project onboarded at a later phase never went through them in govflow). Past reviews and
    deliveries are history and are not asked for."""
    gates = passed_gates(phase)
    out: list[tuple[Event, Reason]] = []
    for event, source in _GATE_SOURCES:
        if event in gates:
            out += [(event, r) for r in GUARDS[event](f, GuardContext(event, source, on)).reasons]
    return out


def materials_still_missing(f: ProjectFacts, ctx: GuardContext) -> list[Reason]:
    """Before an approval: the materials the gates already passed require are still there (第十条第二款 — a
    project onboarded at a later phase with a recorded legacy reason is approved only once they are supplied)."""
    return [
        Reason(
            "GATE_MATERIAL_MISSING",
            r.clause,
            f"项目已过「{gate.zh}」关口，但其所要求的材料仍缺，不予批复：{r.message}",
            f"the project has passed the '{gate.en}' gate, but what it requires is still missing; approval "
            f"refused: {r.message_en}",
            detail={"gate": gate.value, "rule": r.code, **r.detail},
        )
        for gate, r in gate_gaps(f, ctx.source, ctx.on)
    ]


def _delivery_short(f: ProjectFacts, code: str, it: AgreementItemFact, v: ObligationVerdict) -> list[Reason]:
    """第八条 数量: where the agreement states a number of records, the last delivery brought at least that many."""
    stated = stated_records(it.quantity)
    got = f.last_records.get((it.catalog, it.consumer))
    if stated is None or got is None or got >= stated:
        return []
    last = v.last_delivery.isoformat() if v.last_delivery else ""
    return [
        Reason(
            "DELIVERY_SHORT",
            f"{ACCEPTANCE}、第八条",
            f"共享协定 {code} 约定向{f.dept(it.consumer)}提供目录条目 {it.catalog}「{it.quantity}」，最近一次交付"
            f"（{last}）仅 {got} 条，少于约定的 {stated} 条，不予通过验收",
            f"agreement {code} promised item {it.catalog} to {it.consumer} as '{it.quantity}'; the last delivery "
            f"({last}) brought {got} records, fewer than the {stated} agreed; acceptance refused",
            detail=_obligation_detail(code, it, v) | {"stated": stated, "delivered": got, "day": last},
        )
    ]


def no_guard(f: ProjectFacts, ctx: GuardContext) -> Verdict:
    return Verdict()


GUARDS: dict[Event, Guard] = {
    Event.SUBMIT_PROPOSAL: submit_proposal,
    Event.INTAKE: intake,
    Event.APPROVE: approve,
    Event.REFUSE: _reason_required,
    Event.SUBMIT_FEASIBILITY: submit_feasibility,
    Event.PASS_ACCEPTANCE: pass_acceptance,
    Event.WITHDRAW: _reason_required,
}


def guard_for(event: Event) -> Guard:
    return GUARDS.get(event, no_guard)

"""The lifecycle machine and its guards, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from govflow.states.errors import RuleRefused
from govflow.states.guards import GuardContext
from govflow.states.lifecycle import TRANSITIONS, Outcome, events_from, fire, mermaid
from govflow.states.phases import Event, Phase
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
    OpinionFact,
    OpinionVerdict,
    ProjectFacts,
    ReviewFact,
    Secrecy,
    ShareType,
    UnmetNeed,
)

LEAD, OTHER, THIRD = "91330000MA27XK0001", "11330000002482285J", "11330100002489999X"
DAY = date(2026, 6, 1)

ITEM = CatalogFact(
    code="C-001",
    name="企业登记信息",
    provider=OTHER,
    category=Category.BASIC,
    share_type=ShareType.UNCONDITIONAL,
    method=Method.EXCHANGE,
    update_frequency=Frequency.DAILY,
    secrecy=Secrecy.PUBLIC,
    all_departments=True,
    fields=(FieldSpec("uscc", "char(18)", "统一社会信用代码"),),
    format="JSON",
    interface="REST /api/v1/enterprises",
    processing="每日增量抽取",
    traceability="全量操作日志留存 6 个月",
)
AGREEMENT_ITEM = AgreementItemFact(
    "C-001", LEAD, "准确率≥99%", "全量", Frequency.DAILY, "审批业务", "exchange", date(2026, 5, 1)
)
AGREEMENT = AgreementFact(
    "A-001",
    AgreementForm.AGREEMENT,
    (LEAD, OTHER),
    date(2026, 3, 1),
    date(2026, 3, 1),
    date(2029, 2, 28),
    "政务信息资源共享管理办法",
    (AGREEMENT_ITEM,),
)
ALL_MET = {p: Judgment.MET for p in FocusPoint}


def facts(**kw: object) -> ProjectFacts:
    base: dict[str, object] = {
        "code": "P-1",
        "name": "一体化政务服务平台",
        "lead_department": LEAD,
        "departments": (LEAD, OTHER),
        "catalog": (ITEM,),
        "agreements": (AGREEMENT,),
        "needs": NeedsFact("内部共享…", "外部共享…", "中央与地方…"),
        "opinions": (OpinionFact(OTHER, date(2026, 2, 10), OpinionVerdict.AGREE),),
        "reviews": (ReviewFact("proposal", "省咨询院", date(2026, 4, 1), dict(ALL_MET)),),
        "last_delivery": {("C-001", LEAD): date(2026, 5, 31)},
    }
    base.update(kw)
    return ProjectFacts(**base)  # type: ignore[arg-type]


def run(
    event: Event, phase: Phase, f: ProjectFacts, reason: str | None = None, override: str | None = None
) -> tuple[Outcome, str]:
    box = [phase.value]
    ctx = GuardContext(event, phase, DAY, reason, override)
    out = fire(lambda: box[0], lambda v: box.__setitem__(0, v), f, ctx)
    return out, box[0]


def codes(o: Outcome) -> list[str]:
    return [r.code for r in o.reasons]


def test_happy_path_from_draft_to_retired() -> None:
    f = facts(
        reviews=tuple(
            ReviewFact(s, "省咨询院", date(2026, 4, 1), dict(ALL_MET))
            for s in ("proposal", "feasibility", "design")
        )
    )
    path = [
        (Event.SUBMIT_PROPOSAL, Phase.PROPOSAL_SUBMITTED),
        (Event.INTAKE, Phase.PROPOSAL_REVIEW),
        (Event.APPROVE, Phase.PROPOSAL_APPROVED),
        (Event.SUBMIT_FEASIBILITY, Phase.FEASIBILITY_REVIEW),
        (Event.APPROVE, Phase.FEASIBILITY_APPROVED),
        (Event.SUBMIT_DESIGN, Phase.DESIGN_REVIEW),
        (Event.APPROVE, Phase.CONSTRUCTION),
        (Event.REQUEST_ACCEPTANCE, Phase.ACCEPTANCE_REVIEW),
        (Event.PASS_ACCEPTANCE, Phase.OPERATION),
        (Event.RETIRE, Phase.RETIRED),
    ]
    phase = Phase.DRAFT
    for ev, expected in path:
        out, now = run(ev, phase, f)
        assert out.accepted, (ev, out.reasons)
        assert now == expected.value == out.dest.value
        phase = expected


def test_refused_intake_returns_to_draft_and_lists_each_missing_item() -> None:
    f = facts(
        agreements=(),
        catalog=(),
        needs=NeedsFact(internal="有", external=None, central_local=""),
        opinions=(),
    )
    out, now = run(Event.INTAKE, Phase.PROPOSAL_SUBMITTED, f)
    assert not out.accepted
    assert now == Phase.DRAFT.value and out.dest is Phase.DRAFT
    assert codes(out) == [
        "NO_AGREEMENT",
        "NO_CATALOG",
        "NEEDS_ANALYSIS_MISSING",
        "NEEDS_ANALYSIS_MISSING",
        "OPINION_MISSING",
    ]
    assert all(r.clause.startswith("733号文 第十条第二款") for r in out.reasons)
    assert "第八条" in out.reasons[0].clause and "第九条" in out.reasons[1].clause
    assert out.reasons[-1].detail == {"department": OTHER, "as": "related"}
    assert {r.detail["dimension"] for r in out.reasons if r.code == "NEEDS_ANALYSIS_MISSING"} == {
        "external",
        "central_local",
    }


def test_approve_needs_a_review_of_that_stage_judging_all_five_points() -> None:
    out, now = run(Event.APPROVE, Phase.FEASIBILITY_REVIEW, facts())
    assert not out.accepted and now == Phase.FEASIBILITY_REVIEW.value
    assert codes(out) == ["REVIEW_MISSING"]
    assert out.reasons[0].clause == "733号文 第十条第一款"

    partial = {
        FocusPoint.AGREEMENT: Judgment.MET,
        FocusPoint.CATALOG: Judgment.PARTLY,
        FocusPoint.TECHNICAL: Judgment.NOT_MET,
    }
    reviewed = facts(reviews=(ReviewFact("proposal", "院", DAY, partial),))
    out, _ = run(Event.APPROVE, Phase.PROPOSAL_REVIEW, reviewed)
    # the point judged not met counts against approval (第十条第一款); partly does not
    assert codes(out) == ["REVIEW_NOT_MET", "FOCUS_POINT_UNJUDGED", "FOCUS_POINT_UNJUDGED"]
    assert [r.detail["focus_point"] for r in out.reasons] == ["technical", "infrastructure", "aggregation"]
    assert {r.clause for r in out.reasons} == {"733号文 第十条第一款"}
    # a recorded override sets the objection aside, never the missing judgments
    out, _ = run(Event.APPROVE, Phase.PROPOSAL_REVIEW, reviewed, override="经专题会议研究同意")
    assert codes(out) == ["FOCUS_POINT_UNJUDGED", "FOCUS_POINT_UNJUDGED"]
    whole = {**partial, FocusPoint.INFRASTRUCTURE: Judgment.MET, FocusPoint.AGGREGATION: Judgment.MET}
    judged = facts(reviews=(ReviewFact("proposal", "院", DAY, whole),))
    assert codes(run(Event.APPROVE, Phase.PROPOSAL_REVIEW, judged)[0]) == ["REVIEW_NOT_MET"]
    assert run(Event.APPROVE, Phase.PROPOSAL_REVIEW, judged, override="理由")[0].accepted


def test_approve_refused_when_a_related_departments_need_is_not_covered() -> None:
    uncovered = OpinionFact(OTHER, DAY, OpinionVerdict.UNMET_NEEDS, (UnmetNeed("社保缴纳信息", None),))
    out, _ = run(Event.APPROVE, Phase.PROPOSAL_REVIEW, facts(opinions=(uncovered,)))
    assert codes(out) == ["UNMET_NEED_NOT_COVERED"]
    assert out.reasons[0].clause == "733号文 第十条第二款"
    # covered: the need names a catalog item that an agreement item delivers to that department
    covered_item = AgreementItemFact("C-001", OTHER, "q", "n", Frequency.DAILY, "s", "u", date(2026, 5, 1))
    agreement = AgreementFact(
        "A-2",
        AgreementForm.JOINT_DOCUMENT,
        (LEAD, OTHER),
        DAY,
        DAY,
        date(2027, 1, 1),
        "依据",
        (covered_item,),
    )
    met = OpinionFact(OTHER, DAY, OpinionVerdict.UNMET_NEEDS, (UnmetNeed("企业登记", "C-001"),))
    out, now = run(
        Event.APPROVE, Phase.PROPOSAL_REVIEW, facts(opinions=(met,), agreements=(AGREEMENT, agreement))
    )
    assert out.accepted and now == Phase.PROPOSAL_APPROVED.value


def test_submit_feasibility_requires_refined_catalog_and_agreement_terms() -> None:
    rough = CatalogFact(
        "C-9",
        "证照信息",
        OTHER,
        Category.BUSINESS,
        ShareType.UNCONDITIONAL,
        Method.QUERY,
        Frequency.DAILY,
        Secrecy.PUBLIC,
    )
    bare = AgreementItemFact("C-9", LEAD, None, "全量", None, "审批", "query", None)
    ag = AgreementFact(
        "A-9", AgreementForm.AGREEMENT, (LEAD, OTHER), DAY, DAY, date(2027, 1, 1), "依据", (bare,)
    )
    out, _ = run(
        Event.SUBMIT_FEASIBILITY, Phase.PROPOSAL_APPROVED, facts(catalog=(ITEM, rough), agreements=(ag,))
    )
    assert codes(out) == ["CATALOG_NOT_REFINED", "AGREEMENT_ITEM_TERM_MISSING"]
    assert out.reasons[0].clause == "733号文 第九条" and out.reasons[0].detail["missing"] == [
        "fields",
        "format",
        "interface",
        "processing",
        "traceability",
    ]
    assert out.reasons[1].clause == "733号文 第八条" and out.reasons[1].detail["missing"] == [
        "quality",
        "update_frequency",
        "due",
    ]


def test_pass_acceptance_needs_delivery_for_due_items_and_no_open_finding() -> None:
    out, now = run(
        Event.PASS_ACCEPTANCE,
        Phase.ACCEPTANCE_REVIEW,
        facts(last_delivery={}, open_findings=("P-1/MILESTONE_MISSED/x",)),
    )
    assert not out.accepted and now == Phase.ACCEPTANCE_REVIEW.value
    assert codes(out) == ["DELIVERY_MISSING", "OPEN_FINDING"]
    assert {r.clause for r in out.reasons} == {"733号文 第十一条"}
    # an item not yet due does not block acceptance
    later = AgreementItemFact("C-001", LEAD, "q", "n", Frequency.DAILY, "s", "u", date(2026, 12, 31))
    ag = AgreementFact(
        "A-1", AgreementForm.AGREEMENT, (LEAD, OTHER), DAY, DAY, date(2029, 1, 1), "依据", (later,)
    )
    out, _ = run(Event.PASS_ACCEPTANCE, Phase.ACCEPTANCE_REVIEW, facts(last_delivery={}, agreements=(ag,)))
    assert out.accepted


def test_pass_acceptance_needs_the_delivery_kept_up_at_its_frequency() -> None:
    # the daily item was delivered on 05-31 (in time on 06-01) or last on 05-20 (11 days: stale)
    out, _ = run(Event.PASS_ACCEPTANCE, Phase.ACCEPTANCE_REVIEW, facts())
    assert out.accepted
    stale = facts(last_delivery={("C-001", LEAD): date(2026, 5, 20)})
    out, _ = run(Event.PASS_ACCEPTANCE, Phase.ACCEPTANCE_REVIEW, stale)
    assert codes(out) == ["DELIVERY_STALE"]
    assert out.reasons[0].detail["rule"] == "DELIVERY_STALE" and "2026-05-20" in out.reasons[0].message


@pytest.mark.parametrize("event", [Event.REFUSE, Event.WITHDRAW])
def test_refuse_and_withdraw_need_a_reason(event: Event) -> None:
    out, now = run(event, Phase.PROPOSAL_REVIEW, facts())
    assert codes(out) == ["REASON_REQUIRED"] and now == Phase.PROPOSAL_REVIEW.value
    out, now = run(event, Phase.PROPOSAL_REVIEW, facts(), reason="重复建设")
    assert out.accepted and now in (Phase.REJECTED.value, Phase.WITHDRAWN.value)


def test_an_event_not_in_the_table_is_refused_naming_what_is_possible() -> None:
    with pytest.raises(RuleRefused) as exc:
        run(Event.APPROVE, Phase.DRAFT, facts())
    (reason,) = exc.value.reasons
    assert reason.code == "EVENT_NOT_ALLOWED"
    assert reason.detail["allowed"] == ["submit_proposal", "withdraw"]
    assert "编制中" in reason.message


def test_no_auto_transitions_and_no_way_out_of_terminal_phases() -> None:
    assert events_from(Phase.RETIRED) == [] and events_from(Phase.WITHDRAWN) == []
    for t in TRANSITIONS:
        assert not t.event.value.startswith("to_")
    assert events_from(Phase.OPERATION) == [Event.RETIRE]


def test_machine_uses_the_table_and_every_phase_and_event_is_labelled() -> None:
    diagram = mermaid()
    for t in TRANSITIONS:
        assert f"{t.source.value} --> {t.dest.value}: {t.event.value} {t.event.zh}" in diagram
    assert "proposal_submitted --> draft: intake 不予受理" in diagram
    for p in Phase:
        assert p.zh and p.en and f'"{p.zh} ({p.value})"' in diagram
    assert {e for t in TRANSITIONS for e in [t.event]} == set(Event)
    assert "Construction" in mermaid("en")

"""Phases and events of the project lifecycle (SPEC §2), with their zh-CN and English labels."""

from __future__ import annotations

from govflow.states.vocabulary import Word, words


class Phase(Word):
    DRAFT = "draft"
    PROPOSAL_SUBMITTED = "proposal_submitted"
    PROPOSAL_REVIEW = "proposal_review"
    PROPOSAL_APPROVED = "proposal_approved"
    FEASIBILITY_REVIEW = "feasibility_review"
    FEASIBILITY_APPROVED = "feasibility_approved"
    DESIGN_REVIEW = "design_review"
    CONSTRUCTION = "construction"
    ACCEPTANCE_REVIEW = "acceptance_review"
    OPERATION = "operation"
    RETIRED = "retired"
    RECTIFICATION = "rectification"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


PHASE_LABELS: dict[Phase, tuple[str, str]] = {
    Phase.DRAFT: ("编制中", "Draft"),
    Phase.PROPOSAL_SUBMITTED: ("建议书已报送", "Proposal submitted"),
    Phase.PROPOSAL_REVIEW: ("建议书评审中", "Proposal under review"),
    Phase.PROPOSAL_APPROVED: ("建议书已批复", "Proposal approved"),
    Phase.FEASIBILITY_REVIEW: ("可研评审中", "Feasibility study under review"),
    Phase.FEASIBILITY_APPROVED: ("可研已批复", "Feasibility study approved"),
    Phase.DESIGN_REVIEW: ("初步设计评审中", "Preliminary design under review"),
    Phase.CONSTRUCTION: ("建设实施", "Construction"),
    Phase.ACCEPTANCE_REVIEW: ("验收中", "Acceptance review"),
    Phase.OPERATION: ("运行维护", "Operation and maintenance"),
    Phase.RETIRED: ("已下线", "Retired"),
    Phase.RECTIFICATION: ("限期整改", "Rectification"),
    Phase.REJECTED: ("不予审批", "Rejected"),
    Phase.WITHDRAWN: ("已撤销", "Withdrawn"),
}
words(Phase, PHASE_LABELS)

#: Phases in which sharing obligations are live and swept every night (SPEC §4.1).
SWEPT_PHASES: frozenset[Phase] = frozenset(
    {Phase.CONSTRUCTION, Phase.ACCEPTANCE_REVIEW, Phase.RECTIFICATION, Phase.OPERATION}
)

#: Phases that end a project's life: no event leaves them except ``revise`` from ``rejected``.
TERMINAL_PHASES: frozenset[Phase] = frozenset({Phase.RETIRED, Phase.WITHDRAWN})


class Event(Word):
    SUBMIT_PROPOSAL = "submit_proposal"
    INTAKE = "intake"
    APPROVE = "approve"
    REFUSE = "refuse"
    SUBMIT_FEASIBILITY = "submit_feasibility"
    SUBMIT_DESIGN = "submit_design"
    REQUEST_ACCEPTANCE = "request_acceptance"
    PASS_ACCEPTANCE = "pass_acceptance"
    FAIL_ACCEPTANCE = "fail_acceptance"
    REVISE = "revise"
    WITHDRAW = "withdraw"
    RETIRE = "retire"


EVENT_LABELS: dict[Event, tuple[str, str]] = {
    Event.SUBMIT_PROPOSAL: ("报送项目建议书", "Submit proposal"),
    Event.INTAKE: ("受理", "Intake"),
    Event.APPROVE: ("批复", "Approve"),
    Event.REFUSE: ("不予审批", "Refuse"),
    Event.SUBMIT_FEASIBILITY: ("报送可行性研究报告", "Submit feasibility study"),
    Event.SUBMIT_DESIGN: ("报送初步设计", "Submit preliminary design"),
    Event.REQUEST_ACCEPTANCE: ("申请验收", "Request acceptance"),
    Event.PASS_ACCEPTANCE: ("通过验收", "Pass acceptance"),
    Event.FAIL_ACCEPTANCE: ("不予通过验收", "Fail acceptance"),
    Event.REVISE: ("修改后重新编制", "Revise"),
    Event.WITHDRAW: ("撤销", "Withdraw"),
    Event.RETIRE: ("下线", "Retire"),
}
words(Event, EVENT_LABELS)


class ReviewStage(Word):
    """The stages whose review the program office approves (第十条第一款)."""

    PROPOSAL = "proposal"
    FEASIBILITY = "feasibility"
    DESIGN = "design"


words(
    ReviewStage,
    {
        ReviewStage.PROPOSAL: ("项目建议书", "Proposal"),
        ReviewStage.FEASIBILITY: ("可行性研究报告", "Feasibility study"),
        ReviewStage.DESIGN: ("初步设计方案", "Preliminary design"),
    },
)


#: Which review stage an ``approve`` from a given phase rests on.
REVIEW_STAGE_OF: dict[Phase, ReviewStage] = {
    Phase.PROPOSAL_REVIEW: ReviewStage.PROPOSAL,
    Phase.FEASIBILITY_REVIEW: ReviewStage.FEASIBILITY,
    Phase.DESIGN_REVIEW: ReviewStage.DESIGN,
}

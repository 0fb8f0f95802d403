"""Request and response bodies of the REST API (pydantic), named after what they carry."""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from govflow.states import inputs
from govflow.states.permissions import Role
from govflow.states.phases import Event, Phase, ReviewStage
from govflow.states.sharing import FocusPoint, Judgment, OpinionVerdict

T = TypeVar("T")

# what text may hold is decided once, in govflow.states.inputs (the portfolio and table imports use it too)
#: free text: anything but control characters other than tab and newlines (PostgreSQL refuses NUL)
TEXT = inputs.TEXT_PATTERN
#: free text with at least one character that is not white space (a reason, a note)
NONBLANK = inputs.NONBLANK_PATTERN
#: a code or a name: one line, no control and no bidirectional control characters
CODE = inputs.name_pattern(64)
DEPARTMENT_CODE = r"^[0-9A-HJ-NPQRTUWXY]{18}$"  # 统一社会信用代码 alphabet (GB 32100-2015)


# ---------------------------------------------------------------------------------------------- shared


def _in_utc(value: datetime) -> datetime:
    """Times are kept in UTC; one that has no UTC equivalent (year 1 at +14:00) is invalid input."""
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("time out of range in UTC") from exc


_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]")


def _iso_text(value: object) -> object:
    """Only ISO 8601 text is a time here: pydantic would read ``1664`` as seconds after 1970 (a number is not a
    date-time, and no clerk means 1970-01-01T00:27:44Z by it)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATETIME.match(value):
        raise ValueError(
            "须为带时区的 ISO 8601 时间（如 2026-12-04T09:00:00+08:00） / must be an ISO 8601 date-time"
        )
    return value


#: a time with an offset, given as ISO 8601 text, converted to UTC
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]


class ReasonOut(BaseModel):
    """One unmet condition with the clause it rests on."""

    code: str = Field(examples=["NO_AGREEMENT"])
    clause: str = Field(examples=["733号文 第八条"])
    message: str
    path: str | None = None
    detail: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """Every error answer: a stable code, a message in the request's language, and the reasons."""

    error: str = Field(examples=["REFUSED"])
    message: str
    reasons: list[ReasonOut] = []


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


# ---------------------------------------------------------------------------------------------- auth


class LoginIn(BaseModel):
    name: str = Field(pattern=CODE)
    password: str = Field(min_length=1, max_length=256)


class SessionOut(BaseModel):
    name: str
    role: Role
    department: str | None = None
    display_name: str | None = None
    #: send it back as ``X-CSRF-Token`` on every cookie-authenticated request that changes data
    csrf_token: str | None = None
    expires_at: datetime | None = None
    #: how the request was authenticated
    via: str = "session"


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


# ---------------------------------------------------------------------------------------------- projects


class ProjectSummary(BaseModel):
    code: str
    name: str
    phase: Phase
    phase_label: str
    version: int
    lead: str
    lead_name: str


class ProjectDetail(BaseModel):
    code: str
    name: str
    phase: Phase
    phase_label: str
    version: int
    lead_department: str
    lead_department_name: str
    departments: list[str]
    om_budget: str = Field(
        description="年度运维经费（元），两位小数 / annual O&M budget, yuan", examples=["1200000.00"]
    )
    last_event_at: datetime
    next_events: list[Event]
    catalog_items: int
    agreements: int
    agreement_items: int
    opinions: int
    reviews: int


class HistoryEntry(BaseModel):
    seq: int
    kind: str
    outcome: str
    action: str
    actor: str
    role: str
    occurred_at: datetime
    from_phase: Phase | None = None
    to_phase: Phase | None = None
    reasons: list[ReasonOut]
    clauses: list[str]
    note: str | None = None


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: Event
    reason: str | None = Field(
        default=None, max_length=2000, pattern=TEXT, description="refuse、withdraw 必填 / required"
    )
    at: UtcDatetime | None = Field(
        default=None, description="生效时间（补录历史），带时区 / effective time, with offset"
    )
    expect_version: int | None = Field(
        default=None, ge=1, description="预期版本（乐观锁）；也可用 If-Match / expected version"
    )
    override: str | None = Field(
        default=None,
        max_length=2000,
        pattern=TEXT,
        description="批复时不采纳评审意见（判为不符合的重点）的理由，记入审计（第十条第一款） / approve only: "
        "why the review's 'not met' is set aside (audited)",
    )


class OrderRef(BaseModel):
    code: str
    deadline: date | None = Field(default=None, description="null：期限待定 / null: deadline pending")
    deadline_label: str | None = None


class EventResultOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    project: str
    event: Event
    accepted: bool
    refused: bool
    from_: Phase = Field(alias="from")
    to: Phase
    phase: Phase
    version: int
    at: datetime
    reasons: list[ReasonOut]
    rectification_order: OrderRef | None = None


class EventRefusal(ErrorBody):
    """A guard refused the event: recorded in the audit trail (a refused intake also returns to draft)."""

    refused: bool = True
    result: EventResultOut | None = None


# ---------------------------------------------------------------------------------------------- materials


class JudgmentIn(BaseModel):
    judgment: Judgment
    comment: str | None = Field(default=None, max_length=2000, pattern=TEXT)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: ReviewStage
    agency: str | None = Field(default=None, max_length=200, pattern=TEXT)
    date: inputs.Day | None = Field(
        default=None, description="评审日期（2000–2099），默认今天 / review date (2000–2099), default today"
    )
    judgments: dict[FocusPoint, JudgmentIn] = Field(
        description="五个评审重点的明确判断（第十条第一款） / a judgment on each of the five focus points"
    )
    conclusion: str | None = Field(default=None, max_length=4000, pattern=TEXT)
    against_approval: bool = Field(
        default=False, description="评审结论不同意批复（第十条第一款） / the conclusion is against approval"
    )


class ReviewRecorded(BaseModel):
    project: str
    stage: ReviewStage
    version: int


class UnmetNeedIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=TEXT)
    catalog: str | None = Field(default=None, pattern=CODE)


class OpinionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: str = Field(pattern=DEPARTMENT_CODE, description="统一社会信用代码 / credit code")
    date: inputs.Day | None = Field(
        default=None, description="意见日期（2000–2099），默认今天 / date (2000–2099), default today"
    )
    verdict: OpinionVerdict
    unmet_needs: list[UnmetNeedIn] = Field(default=[], max_length=200)
    comment: str | None = Field(default=None, max_length=4000, pattern=TEXT)
    conditions: list[Annotated[str, Field(max_length=2000, pattern=TEXT)]] = Field(
        default=[],
        max_length=100,
        description="修改后同意时逐条列出的修改意见（第九条） / the changes an agree_with_changes opinion asks for",
    )


class ConditionAnswerIn(BaseModel):
    """牵头部门对修改意见的答复（第九条） / the lead department's answer to a condition."""

    model_config = ConfigDict(extra="forbid")

    condition: int = Field(ge=1, le=100, description="第几项修改意见（从 1 起） / which condition, from 1")
    answer: str = Field(min_length=1, max_length=4000, pattern=NONBLANK)


class AuthorizationIn(BaseModel):
    """目录条目的授权使用范围（第八条 及时调整授权） / the authorized scope of a catalog item."""

    model_config = ConfigDict(extra="forbid")

    departments: list[Annotated[str, Field(pattern=DEPARTMENT_CODE)]] = Field(default=[], max_length=500)
    all: bool = Field(default=False, description="授权所有政务部门 / all departments")
    reason: str | None = Field(default=None, max_length=2000, pattern=TEXT)


class AgreementRenewIn(BaseModel):
    """续签共享协定（第八条 共享期限） / renew an agreement."""

    model_config = ConfigDict(extra="forbid")

    until: dt.date = Field(description="续签后的共享期限 / new end of the term")
    signed_on: dt.date | None = Field(
        default=None, description="续签日期，默认今天 / day signed, default today"
    )
    reason: str | None = Field(default=None, max_length=2000, pattern=TEXT)


class AgreementTerminateIn(BaseModel):
    """终止共享协定（项目审批部门决定） / terminate an agreement (the program office decides)."""

    model_config = ConfigDict(extra="forbid")

    on: dt.date | None = Field(default=None, description="终止日期，默认今天 / day it ends, default today")
    reason: str = Field(min_length=1, max_length=2000, pattern=NONBLANK)


class AgreementRenewed(BaseModel):
    project: str
    agreement: str
    version: int
    term_end: dt.date
    signed_on: dt.date
    findings_closed: list[str]
    orders_closed: int
    project_version: int


class AgreementVersionOut(BaseModel):
    version: int
    kind: str
    on: dt.date
    actor: str
    reason: str | None
    before: dict[str, Any]
    after: dict[str, Any]


class OpinionRecorded(BaseModel):
    project: str
    department: str
    verdict: OpinionVerdict
    version: int


class CatalogItemOut(BaseModel):
    code: str
    name: str
    provider: str
    provider_name: str
    category: str
    share_type: str
    method: str
    update_frequency: str
    secrecy: str
    legal_basis: str | None = None
    authorized: list[str] | str = Field(description='"all" 或部门代码列表 / "all" or department codes')
    fields: list[dict[str, str]]
    format: str | None = None
    interface: str | None = None
    processing: str | None = None
    traceability: str | None = None


class AgreementItemOut(BaseModel):
    catalog: str
    consumer: str
    quality: str | None = None
    quantity: str | None = None
    update_frequency: str | None = None
    scope: str | None = None
    usage: str | None = None
    due: date | None = None
    #: the next working day when ``due`` is a day off (《中华人民共和国民法典》第二百零三条)
    due_effective: date | None = None


class AgreementOut(BaseModel):
    code: str
    form: str
    signed_on: date | None = None
    term_start: date | None = None
    term_end: date | None = None
    basis: str | None = None
    parties: list[str]
    items: list[AgreementItemOut]


class OpinionOut(BaseModel):
    department: str
    department_name: str
    date: dt.date
    verdict: OpinionVerdict
    unmet_needs: list[dict[str, str | None]]
    comment: str | None = None
    #: each ``{"text", "answer", "answered_on", "answered_by"}``
    conditions: list[dict[str, str | None]] = []


class JudgmentOut(BaseModel):
    judgment: Judgment
    comment: str | None = None


class ReviewOut(BaseModel):
    stage: str
    agency: str
    date: dt.date
    conclusion: str | None = None
    judgments: dict[str, JudgmentOut]


class CatalogImported(BaseModel):
    project: str
    added: int
    refined: int
    version: int


class EvidenceImported(BaseModel):
    imported: int = Field(description="(条目, 使用部门, 日期) 汇总行数 / (item, consumer, day) rows")


class PortfolioLoaded(BaseModel):
    loaded: bool
    summary: dict[str, int]


# ---------------------------------------------------------------------------------------------- audit, users, runs


class AuditEventOut(BaseModel):
    seq: int
    kind: str
    outcome: str
    project: str | None = None
    action: str
    actor: str
    role: str
    occurred_at: datetime
    recorded_at: datetime
    from_phase: str | None = None
    to_phase: str | None = None
    reasons: list[dict[str, Any]]
    clauses: list[str]
    note: str | None = None
    hash: str


class ChainReportOut(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    problem: str | None = None
    #: anchors outside the database the chain was held to (GOVFLOW_ANCHOR_FILE), and the newest one
    anchors: int = 0
    anchor_seq: int | None = None
    anchor_at: datetime | None = None


class UserOut(BaseModel):
    name: str
    display_name: str | None = None
    role: Role
    department: str | None = None
    active: bool
    has_password: bool
    has_token: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=CODE)
    role: Role
    department: str | None = Field(default=None, pattern=DEPARTMENT_CODE)
    display_name: str | None = Field(default=None, max_length=100, pattern=TEXT)


class DeactivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        max_length=500,
        pattern=NONBLANK,
        description="停用理由（必填，记入审计链） / reason (required, audited)",
    )


class ActivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None, max_length=500, pattern=TEXT, description="启用说明（记入审计链） / note for the trail"
    )


class UserStateOut(UserOut):
    changed: bool = Field(
        description="是否有变化（已是所求状态时为 false，不记审计） / false when it already was in that state"
    )


class PasswordIn(BaseModel):
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    name: str
    token: str = Field(description="只显示这一次 / shown this once")


class FlowRunOut(BaseModel):
    id: int
    flow: str
    as_of: date | None = None
    started_at: datetime
    finished_at: datetime | None = None
    status: str
    stats: dict[str, Any]
    error: str | None = None
    prefect_flow_run_id: str | None = None


# ---------------------------------------------------------------------------------------------- governance


class FindingOut(BaseModel):
    """A broken sharing obligation found by the sweep (SPEC §4.1)."""

    id: int
    key: str | None = Field(
        description="项目/规则/协定/目录/使用部门/期间；涉密且无权查看时为空 / null when masked"
    )
    project: str
    project_name: str
    rule: str = Field(examples=["MILESTONE_MISSED"])
    rule_label: str
    clause: str = Field(examples=["733号文 第十一条"])
    basis: str = Field(description="所依据的第八条事项 / the term of 第八条 it rests on")
    subject: str = Field(description="协定/目录/使用部门，或协定 / agreement/catalog/consumer, or agreement")
    period: str
    status: str
    status_label: str
    opened_on: date
    closed_on: date | None = None
    closed_reason: str | None = None
    closed_reason_label: str | None = None
    description: str
    evidence: dict[str, Any] | None = Field(description="应有与实有；涉密且无权查看时为空 / null when masked")
    order: str | None = Field(default=None, description="整改通知编号 / rectification order code")
    order_status: str | None = None
    masked: bool = Field(
        description="涉密目录条目（第二条第三款），详情对本用户隐藏 / a secret item hidden from this user"
    )


class OrderReasonOut(BaseModel):
    code: str | None = None
    clause: str | None = None
    message: str | None = None


class OrderStepOut(BaseModel):
    key: str
    kind: str
    kind_label: str
    on: date
    at: datetime
    actor: str
    note: str | None = None
    payload: dict[str, Any]


class OrderOut(BaseModel):
    """整改通知 (限期整改, 733号文 第十一条); ``steps`` only when one order is shown."""

    code: str
    project: str
    project_name: str
    department: str
    department_name: str
    status: str
    status_label: str
    origin: str
    finding: str | None = None
    clause: str
    notice_date: date
    workdays: int
    deadline: date | None = Field(
        description="整改期限；null 为期限待定（该年工作日历尚未导入） / the deadline; null while pending (its "
        "calendar year is not imported yet)"
    )
    deadline_label: str = Field(description="整改期限或「期限待定」 / the deadline, or 'deadline pending'")
    deadline_pending: bool = False
    pending_from: date | None = Field(
        default=None, description="待定期限的起算日 / a pending deadline is counted from this day"
    )
    pending_workdays: int | None = Field(
        default=None, description="待定期限的工作日数 / … by this many working days"
    )
    original_deadline: date | None = None
    overdue_since: date | None = None
    escalation_level: int
    closed_on: date | None = None
    closed_late: bool | None = None
    closed_reason: str | None = None
    closed_reason_label: str | None = None
    policy_version: str | None = None
    version: int = Field(description="乐观锁版本 / the optimistic-lock version")
    reasons: list[OrderReasonOut]
    steps: list[OrderStepOut]


#: the order version the client saw (``version`` of the order); another change since then is a 409
ExpectVersion = Annotated[
    int | None,
    Field(
        ge=1, description="预期版本（乐观锁），过时则 409 / expected version (optimistic lock); stale → 409"
    ),
]


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(
        max_length=4000, pattern=NONBLANK, description="整改材料说明（必填） / what was done (required)"
    )
    expect_version: ExpectVersion = None


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=4000, pattern=TEXT, description="核验意见 / note")
    expect_version: ExpectVersion = None


class OrderReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, pattern=NONBLANK, description="理由（必填） / reason (required)")
    expect_version: ExpectVersion = None


class ExtendIn(BaseModel):
    """A new deadline (``to``, a working day after the current one) or a number of working days (not both)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=2000, pattern=NONBLANK, description="延期理由（必填） / reason (required)")
    to: inputs.Day | None = Field(
        default=None,
        description="新的截止日期（工作日，2000–2099） / the new deadline, a working day (2000–2099)",
    )
    workdays: int | None = Field(
        default=None, ge=1, le=250, description="在当前截止日期后延长的工作日数 / working days added"
    )
    expect_version: ExpectVersion = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ExtendIn:
        if (self.to is None) == (self.workdays is None):
            raise ValueError("须且只能给出 to 或 workdays 之一 / give exactly one of to or workdays")
        return self

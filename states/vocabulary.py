"""The words of govflow's status vocabularies, each code with its zh-CN and English label — the one place every
surface (CLI tables, API ``*_label`` fields, web pages, reports in every format, notices) reads them from.

A vocabulary is a :class:`Word` enum; :func:`words` gives it its labels and refuses a table that leaves a
member out. :func:`word` labels a raw code read from the database (an unknown code is shown as it is).
Phases, events and roles carry their labels the same way (``label(lang)``) in their own modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import TypeVar

from govflow.states.verdict import clause

_WORDS: dict[type[StrEnum], Mapping[str, tuple[str, str]]] = {}


class Word(StrEnum):
    """A code with its words: ``.label(lang)`` (zh-CN by default, ``"en"`` English), ``.zh``, ``.en``."""

    def label(self, lang: str = "zh") -> str:
        zh, en = _WORDS[type(self)][self.value]
        return en if lang == "en" else zh

    @property
    def zh(self) -> str:
        return self.label("zh")

    @property
    def en(self) -> str:
        return self.label("en")


W = TypeVar("W", bound=StrEnum)


def words(kind: type[W], table: Mapping[W, tuple[str, str]]) -> Mapping[W, tuple[str, str]]:
    """Register ``kind``'s labels; every member needs one."""
    missing = [m.value for m in kind if m not in table]
    if missing:
        raise RuntimeError(f"{kind.__name__}: no words for {missing}")
    _WORDS[kind] = {m.value: pair for m, pair in table.items()}
    return table


def word(kind: type[StrEnum], code: object, lang: str = "zh") -> str:
    """The label of a raw ``code`` of vocabulary ``kind``; '' for None, the code itself when unknown."""
    if code is None:
        return ""
    pair = _WORDS[kind].get(str(code))
    if pair is None:
        return str(code)
    return pair[1] if lang == "en" else pair[0]


# ---------------------------------------------------------------------------------------------- governance


class OrderStatus(Word):
    """A rectification order's status (限期整改, 第十一条)."""

    OPEN = "open"
    EVIDENCE_SUBMITTED = "evidence_submitted"
    OVERDUE = "overdue"
    CLOSED = "closed"


words(
    OrderStatus,
    {
        OrderStatus.OPEN: ("整改中", "open"),
        OrderStatus.EVIDENCE_SUBMITTED: ("已提交整改材料", "evidence submitted"),
        OrderStatus.OVERDUE: ("已逾期", "overdue"),
        OrderStatus.CLOSED: ("已关闭", "closed"),
    },
)


class OrderOrigin(Word):
    """What a rectification order was issued for."""

    FINDING = "finding"
    FAIL_ACCEPTANCE = "fail_acceptance"


words(
    OrderOrigin,
    {
        OrderOrigin.FINDING: ("巡查发现的共享问题", "sharing finding"),
        OrderOrigin.FAIL_ACCEPTANCE: ("验收未通过", "failed acceptance"),
    },
)


class CutStatus(Word):
    """An O&M cut recommendation's status (第十一条)."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


words(
    CutStatus,
    {
        CutStatus.PROPOSED: ("待财政部门决定", "proposed"),
        CutStatus.ACCEPTED: ("已采纳", "accepted"),
        CutStatus.DECLINED: ("未采纳", "declined"),
        CutStatus.WITHDRAWN: ("已撤回", "withdrawn"),
    },
)


class FindingStatus(Word):
    OPEN = "open"
    CLOSED = "closed"


words(FindingStatus, {FindingStatus.OPEN: ("未解决", "open"), FindingStatus.CLOSED: ("已关闭", "closed")})


class FindingRule(Word):
    """The obligation a sweep finding says was broken (第八条 terms, 第十一条), with the clause the finding cites
    and the term of 第八条 the obligation rests on."""

    MILESTONE_MISSED = "MILESTONE_MISSED"
    DELIVERY_STALE = "DELIVERY_STALE"
    AGREEMENT_EXPIRED = "AGREEMENT_EXPIRED"
    #: an agreement item promises a conditional or secret item to a department outside its authorized scope
    #: (the provider narrowed it: 第八条 及时调整授权)
    AGREEMENT_OUT_OF_SCOPE = "AGREEMENT_OUT_OF_SCOPE"
    #: a project onboarded at a later phase with a recorded legacy reason lacks what a gate it passed requires
    #: (opened by the load, closed when the materials are there; not the sweep's to judge)
    ONBOARDING_GAP = "ONBOARDING_GAP"

    @property
    def clause(self) -> str:
        """The clause the finding cites (its ``clause`` column)."""
        if self is FindingRule.ONBOARDING_GAP:
            return clause("第十条", "第二款")
        agreement = (FindingRule.AGREEMENT_EXPIRED, FindingRule.AGREEMENT_OUT_OF_SCOPE)
        return clause("第八条") if self in agreement else clause("第十一条")

    def basis(self, lang: str = "zh") -> str:
        """The term of 第八条 the obligation rests on (for an onboarding gap: the materials of 第九条、第十条)."""
        if self is FindingRule.ONBOARDING_GAP:
            return (
                "733号文 第九条、第十条第二款 (materials of the gates)"
                if lang == "en"
                else "733号文 第九条、第十条第二款（受理和审批所需材料）"
            )
        term = {
            FindingRule.MILESTONE_MISSED: ("实现进度", "implementation schedule"),
            FindingRule.DELIVERY_STALE: ("更新频度", "update frequency"),
            FindingRule.AGREEMENT_EXPIRED: ("共享期限", "sharing term"),
            FindingRule.AGREEMENT_OUT_OF_SCOPE: ("授权使用范围", "authorized scope of use"),
        }[self]
        return f"733号文 第八条 ({term[1]})" if lang == "en" else f"733号文 第八条（{term[0]}）"


words(
    FindingRule,
    {
        FindingRule.MILESTONE_MISSED: ("到期未实现共享", "sharing not realised by its due date"),
        FindingRule.DELIVERY_STALE: ("未按更新频度持续共享", "sharing not kept up at the agreed frequency"),
        FindingRule.AGREEMENT_EXPIRED: ("共享协定已到期", "sharing agreement expired"),
        FindingRule.AGREEMENT_OUT_OF_SCOPE: ("共享超出授权使用范围", "shared beyond its authorized scope"),
        FindingRule.ONBOARDING_GAP: (
            "纳入管理时缺少已过关口的材料",
            "onboarded without a passed gate's materials",
        ),
    },
)


class OutboxStatus(Word):
    """A notification's state in the outbox."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    SKIPPED = "skipped"
    FAILED = "failed"


words(
    OutboxStatus,
    {
        OutboxStatus.PENDING: ("待发送", "pending"),
        OutboxStatus.SENDING: ("发送中", "sending"),
        OutboxStatus.DELIVERED: ("已送达", "delivered"),
        OutboxStatus.SKIPPED: ("已跳过（无渠道）", "skipped (no channel)"),
        OutboxStatus.FAILED: ("发送失败", "failed"),
    },
)


class RunStatus(Word):
    """A scheduled flow run's state."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CRASHED = "crashed"


words(
    RunStatus,
    {
        RunStatus.RUNNING: ("运行中", "running"),
        RunStatus.COMPLETED: ("已完成", "completed"),
        RunStatus.FAILED: ("运行失败", "failed"),
        RunStatus.CRASHED: ("运行中断", "crashed"),
    },
)


#: every status vocabulary, for the surfaces that list them and for the test that walks them
STATUS_VOCABULARIES: tuple[type[Word], ...] = (
    OrderStatus,
    OrderOrigin,
    CutStatus,
    FindingStatus,
    FindingRule,
    OutboxStatus,
    RunStatus,
)


# ---------------------------------------------------------------------------------------------- deadlines

#: a rectification deadline that cannot be dated yet (期限待定): it would fall in a year without working-day
#: calendar data, and is dated by the first deadlines run after that year is imported
DEADLINE_PENDING: tuple[str, str] = ("期限待定", "deadline pending")


def deadline_label(deadline: date | None, lang: str = "zh") -> str:
    """An order's deadline as people read it: the ISO day, or 期限待定 / "deadline pending" while it is NULL."""
    if deadline is None:
        return DEADLINE_PENDING[1] if lang == "en" else DEADLINE_PENDING[0]
    return deadline.isoformat()


def pending_note(year: int, workdays: int, lang: str = "zh", since: date | None = None) -> str:
    """What an order issued (or extended, ``since`` its current deadline) with its deadline pending says, in its
    step and notice."""
    if lang == "en":
        start = since.isoformat() if since else "the notice date"
        return (
            f"deadline pending: the working-day calendar of {year} has not been imported yet; once it is, the "
            f"deadline is set automatically to {workdays} working days after {start}"
        )
    start = f" {since.isoformat()} " if since else "通知日"
    return f"整改期限待定：{year} 年工作日历尚未导入，导入后自动按{start}起 {workdays} 个工作日确定期限"

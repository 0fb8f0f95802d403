"""The words of govflow's status vocabularies, each code with its zh-CN and English label — the one place every
surface (CLI tables, API ``*_label`` fields, web pages, reports in every format, notices) reads them from.

A vocabulary is a :class:`Word` enum; :func:`words` gives it its labels and refuses a table that leaves a
member out. :func:`word` labels a raw code read from the database (an unknown code is shown as it is).
Phases, events and roles carry their labels the same way (``label(lang)``) in their own modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

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
    """The obligation a sweep finding says was broken (第八条 terms, 第十一条)."""

    MILESTONE_MISSED = "MILESTONE_MISSED"
    DELIVERY_STALE = "DELIVERY_STALE"
    AGREEMENT_EXPIRED = "AGREEMENT_EXPIRED"


words(
    FindingRule,
    {
        FindingRule.MILESTONE_MISSED: ("到期未实现共享", "sharing not realised by its due date"),
        FindingRule.DELIVERY_STALE: ("未按更新频度持续共享", "sharing not kept up at the agreed frequency"),
        FindingRule.AGREEMENT_EXPIRED: ("共享协定已到期", "sharing agreement expired"),
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


words(
    RunStatus,
    {
        RunStatus.RUNNING: ("运行中", "running"),
        RunStatus.COMPLETED: ("已完成", "completed"),
        RunStatus.FAILED: ("运行失败", "failed"),
    },
)

#: the counts a scheduled run reports (``SweepResult.to_dict`` … ``DispatchResult.to_dict``): the CLI prints them,
#: the flow-runs page shows them; a key not listed is shown as it is
RUN_COUNTS: dict[str, tuple[str, str]] = {
    # sweep
    "findings_opened": ("新发现问题", "findings opened"),
    "findings_closed": ("关闭问题", "findings closed"),
    "findings_still_open": ("仍未解决问题", "findings still open"),
    "expiry_notices": ("协定即将到期提示", "agreement expiry notices"),
    "orders_closed": ("随问题关闭的整改通知", "orders closed with their findings"),
    "opened_by_rule": ("新发现（按规则）", "opened by rule"),
    "closed_by_rule": ("关闭（按规则）", "closed by rule"),
    # deadlines
    "orders_issued": ("下达整改通知", "orders issued"),
    "issued": ("下达整改通知", "orders issued"),
    "reminders": ("到期提醒", "reminders"),
    "overdue": ("转为逾期", "became overdue"),
    "escalations": ("逐级督办", "escalations"),
    # cuts
    "period": ("预算年度", "budget period"),
    "policy_version": ("策略版本", "policy version"),
    "projects": ("评估的运行维护项目", "projects in operation assessed"),
    "with_cause": ("达到削减条件", "with a cause"),
    "proposed": ("新提出建议", "proposed"),
    "revised": ("修订建议", "revised"),
    "refreshed": ("更新证据", "evidence refreshed"),
    "unchanged": ("无变化", "unchanged"),
    "withdrawn": ("撤回建议", "withdrawn"),
    "reproposed": ("重新提出", "proposed again"),
    "decided": ("财政已决定（不变）", "decided by finance (left alone)"),
    "newer": ("已由更晚日期更新（不变）", "refreshed by a later as_of (left alone)"),
    "notified": ("写入通知", "notifications written"),
    # dispatch
    "configured": ("已配置通知渠道", "channels configured"),
    "claimed": ("领取发送", "claimed"),
    "delivered": (OutboxStatus.DELIVERED.zh, OutboxStatus.DELIVERED.en),
    "retrying": ("失败待重试", "retrying"),
    "failed": (OutboxStatus.FAILED.zh, OutboxStatus.FAILED.en),
    "skipped": (OutboxStatus.SKIPPED.zh, OutboxStatus.SKIPPED.en),
    "reclaimed": ("租约过期后重新领取", "reclaimed after an expired lease"),
    "released": ("未发送即交回", "released unsent"),
    "lease_lost": ("租约已被他人接管", "lease lost"),
    "duplicates": ("重复送达", "delivered twice"),
    "waiting": ("未配置渠道而待发送", "waiting for a channel file"),
    # every chunked flow
    "chunks": ("分块（Prefect 任务）数", "chunks (Prefect tasks)"),
}


def count_word(key: str, lang: str = "zh") -> str:
    pair = RUN_COUNTS.get(key)
    return key if pair is None else pair[1 if lang == "en" else 0]


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

"""The registry of scheduled governance checks (SPEC §4): what each is called, what it runs, how its work is cut
into chunks, when it is scheduled and how its counts read.

Everything that runs or shows the checks iterates :data:`REGISTRY` — the Prefect flows
(``govflow.flows.governance``), their deployments and cron schedules (``govflow schedule``), the direct path
(:mod:`govflow.governance.scheduling`), the ``govflow run`` commands and their output. A new check is therefore
one service module (a function ``(app, as_of, chunk) -> result with to_dict()``) plus one :class:`Check` in
:data:`REGISTRY`, at the place in the nightly order where it belongs, plus its tests.

Services are named by dotted path and imported when a check runs, so ``govflow --help`` does not load them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from govflow.states.phases import SWEPT_PHASES, Phase
from govflow.states.vocabulary import OutboxStatus

if TYPE_CHECKING:
    from govflow.lifecycle.services import App
    from govflow.settings import Settings

#: an inclusive range of project ids, or None: every project
Chunk = tuple[int, int] | None
#: the name of the run of every check in registry order
ALL = "all"


class Summary(Protocol):
    """What a check's service returns: its counts, JSON-ready (``flow``, ``as_of`` and ``chunk`` included)."""

    def to_dict(self) -> dict[str, Any]: ...


#: a chunked check's service: one chunk of projects, one transaction
ChunkService = Callable[["App", date, Chunk], Summary]
#: an unchunked check's runner: (settings, now, limit, Prefect flow run id) -> its result; records its own run
OnceRunner = Callable[["Settings", datetime | None, int | None, str | None], dict[str, Any]]


@dataclass(frozen=True)
class Check:
    """One scheduled check.

    ``service`` is ``"module:function"`` (imported when the check runs) or the function itself. A *chunked*
    check (``phases`` given) is run per chunk of project ids, the chunks sized by the projects in ``phases``
    and its service called as ``service(app, as_of, chunk)`` (no phase at all: one chunk spanning every project,
    for a check that is not per project); an unchunked one (``phases`` None, such as
    dispatch) is called once as ``service(settings, now, limit, prefect_flow_run_id)`` and judges no day.
    """

    name: str
    zh: str
    en: str
    service: str | Callable[..., Any]
    phases: frozenset[Phase] | None = None
    #: the cron schedule (in ``GOVFLOW_SCHEDULE_TZ``) unless ``GOVFLOW_SCHEDULE_<NAME>`` says otherwise
    default_cron: str = ""
    #: zh and English names of the counts its result holds (a count without one is shown by its key)
    counts: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: a line added to its ``govflow run`` help (zh / en)
    note: str = ""

    @property
    def chunked(self) -> bool:
        return self.phases is not None

    @property
    def setting(self) -> str:
        """The environment variable that sets its cron schedule."""
        return f"GOVFLOW_SCHEDULE_{self.name.upper()}"

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def resolve(self) -> Callable[..., Any]:
        if callable(self.service):
            return self.service
        module, _, attr = self.service.partition(":")
        fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
        return fn


_CALENDAR = Check(
    "calendar",
    "工作日历年份检查",
    "calendar years check",
    "govflow.governance.calendar_years:run_calendar_check",
    # no phase: the calendar is not per project, so the run is one chunk
    phases=frozenset(),
    counts={
        "missing_year": ("缺少工作日历的年份", "year without a calendar"),
        "alarms": ("写入告警", "alarms written"),
    },
    note="自 GOVFLOW_CALENDAR_WARN_FROM（默认 11-01）起每天提醒导入下一年工作日历 / from that day (default 11-01) "
    "warns daily until next year's calendar is imported.",
)
_SWEEP = Check(
    "sweep",
    "共享义务清单扫描",
    "obligation sweep",
    "govflow.governance.sweep:run_sweep",
    phases=SWEPT_PHASES,
    counts={
        "findings_opened": ("新发现问题", "findings opened"),
        "findings_closed": ("关闭问题", "findings closed"),
        "findings_still_open": ("仍未解决问题", "findings still open"),
        "expiry_notices": ("协定即将到期提示", "agreement expiry notices"),
        "orders_closed": ("随问题关闭的整改通知", "orders closed with their findings"),
        "opened_by_rule": ("新发现（按规则）", "opened by rule"),
        "closed_by_rule": ("关闭（按规则）", "closed by rule"),
    },
)
_DEADLINES = Check(
    "deadlines",
    "整改期限",
    "rectification deadlines",
    "govflow.governance.rectification:run_deadlines",
    phases=SWEPT_PHASES,
    counts={
        "orders_issued": ("下达整改通知", "orders issued"),
        "issued": ("下达整改通知", "orders issued"),
        "reminders": ("到期提醒", "reminders"),
        "overdue": ("转为逾期", "became overdue"),
        "escalations": ("逐级督办", "escalations"),
        "dated": ("确定待定期限", "pending deadlines set"),
        "pending": ("期限待定（缺工作日历）", "deadlines pending (no calendar data)"),
    },
)
_CUTS = Check(
    "cuts",
    "运维经费削减建议",
    "O&M cut recommendations",
    "govflow.governance.cuts:run_cuts",
    phases=frozenset({Phase.OPERATION}),
    counts={
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
        "pending_calendar": ("暂缓评估（缺工作日历）", "deferred (no calendar data)"),
    },
)
_DISPATCH = Check(
    "dispatch",
    "通知发送",
    "notification dispatch",
    "govflow.governance.scheduling:run_dispatch_once",
    default_cron="*/5 * * * *",
    counts={
        "configured": ("已配置通知渠道", "channels configured"),
        "claimed": ("领取发送", "claimed"),
        "delivered": (OutboxStatus.DELIVERED.zh, OutboxStatus.DELIVERED.en),
        "retrying": ("失败待重试", "retrying"),
        "failed": ("放弃（待人工重试）", "failed (operator retry)"),
        "skipped": ("无渠道跳过", "skipped (no channel)"),
        "reclaimed": ("租约过期后重新领取", "reclaimed after an expired lease"),
        "released": ("未发送即交回", "released unsent"),
        "lease_lost": ("租约已被他人接管", "lease lost"),
        "duplicates": ("重复送达", "delivered twice"),
        "waiting": ("未配置渠道而待发送", "waiting for a channel file"),
    },
    note="发送此刻到期的通知，--as-of 不影响发送 / sends what is due now; --as-of changes nothing.",
)

_ANCHOR = Check(
    "anchor",
    "审计链锚点",
    "audit chain anchor",
    "govflow.governance.anchoring:run_anchor_once",
    counts={
        "configured": ("已配置锚点", "anchor configured"),
        "seq": ("锚定的审计事件数", "audit events anchored"),
        "head": ("链首哈希", "head hash"),
        "at": ("锚定时间", "anchored at"),
        "key_id": ("密钥编号", "key id"),
        "file": ("锚点文件", "anchor file"),
    },
    note="校验审计链后将其位置与链首哈希以密钥签名写入 GOVFLOW_ANCHOR_FILE（数据库之外） / verifies the audit "
    "chain, then appends a keyed checkpoint of it to GOVFLOW_ANCHOR_FILE, outside the database.",
)

#: the checks in the order the nightly ``all`` runs them (a failure stops the rest); the anchor comes last, so
#: that it covers every audit event the night wrote
REGISTRY: tuple[Check, ...] = (_CALENDAR, _SWEEP, _DEADLINES, _CUTS, _DISPATCH, _ANCHOR)

#: ``all``: every check in registry order, nightly by default
ALL_LABEL = ("全部治理流程", "all governance flows")
ALL_DEFAULT_CRON = "0 1 * * *"
#: counts every chunked result has
COMMON_COUNTS: Mapping[str, tuple[str, str]] = {
    "chunks": ("分块（Prefect 任务）数", "chunks (Prefect tasks)")
}


def names() -> tuple[str, ...]:
    """The checks' names in run order."""
    return tuple(c.name for c in REGISTRY)


def get(name: str) -> Check:
    for check in REGISTRY:
        if check.name == name:
            return check
    raise KeyError(name)


def label(name: str, lang: str = "zh") -> str:
    """A check's (or ``all``'s) title."""
    if name == ALL:
        return ALL_LABEL[1] if lang == "en" else ALL_LABEL[0]
    return get(name).label(lang)


def labels() -> dict[str, tuple[str, str]]:
    """zh and English titles by name, ``all`` included."""
    return {c.name: (c.zh, c.en) for c in REGISTRY} | {ALL: ALL_LABEL}


def count_label(key: str, lang: str = "zh") -> str:
    """How a count of any check reads (its key when no check names it)."""
    for counts in (*(c.counts for c in REGISTRY), COMMON_COUNTS):
        if key in counts:
            zh, en = counts[key]
            return en if lang == "en" else zh
    return key


def all_note() -> str:
    order = " → ".join(names())
    return f"依次运行 {order}，任一步失败即停止 / each check in that order; a failure stops the rest."

"""Notice texts, zh-CN first and English, one template per outbox topic; every notice cites its clause.

Topics are matched by their words (``.``, ``/`` and ``:`` separate them), so ``order.reminder``,
``reminder`` and ``order/reminder`` all find the reminder template. What the producers write today:

* ``decision.<event>.<accepted|refused>`` (govflow.lifecycle.services): project, project_name, department, event,
  accepted, from, to, reasons[], order, deadline — clause by event (第十条第一款/第二款, 第十一条)
* ``finding.opened`` (govflow.governance.sweep): rule, clause, project, agreement, catalog, consumer, period, since,
  finding, as_of (``finding.closed`` is understood too)
* ``notice.agreement_expiry`` (govflow.governance.sweep): agreement, form, term_end, days_left, message — 第八条
* ``order.<issued|dated|reminder|overdue|escalation|evidence|verify|reject|reopen|extend|closed>``
  (govflow.governance.rectification): order, deadline, message, and per event reminder, overdue_since,
  overdue_workdays, level, name, from/to (order status) … — 第十一条. ``deadline`` is null and
  ``deadline_pending`` true while a deadline is pending (期限待定, a year without calendar data): the notice
  reads 期限待定 / "deadline pending" where the day would be
* ``cuts.<proposed|reproposed|revised|withdrawn|accepted|declined>`` (govflow.governance.cuts): period, percent,
  amount, base_budget, coverage, reasons[], reason, decided_by — 第十一条
* ``alarm.calendar`` (rectification, cuts): year, flow, as_of, error, message
* ``alarm.calendar.upcoming`` (the calendar check): year, urgent, since, as_of, message
* ``audit.anchor`` (govflow.governance.anchoring): seq, head, at, key_id, mac, file — a checkpoint of the audit
  chain for audit to keep; ``alarm.audit_chain``: first_bad_seq, raised_at — the chain did not verify
* ``test`` (``govflow notify test``)

A producer's own sentence (``message``, with ``message_en`` for English readers) becomes the headline; the
template's sentence is used when there is none. Every payload field is shown: the ones a template does not
place itself are listed under 其他信息 / Other details. Any other topic gets the generic template, which
lists every field. Rendering never raises: a template that fails on an odd payload falls back to the generic
one. Payload keys starting with ``_`` are the dispatcher's own bookkeeping and are not shown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from govflow.notifications.base import Notice
from govflow.notifications.wording import (
    C8,
    C10_1,
    C10_2,
    C11,
    CUT_STATES,
    EVENT_CODES,
    LABELS,
    ORDER_EVENTS,
    RULES,
    fmt,
    role_label,
)
from govflow.states.phases import Event
from govflow.states.vocabulary import deadline_label

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


def notice(
    key: str,
    topic: str,
    role: str,
    payload: Mapping[str, Any],
    *,
    project: str | None = None,
    lang: str = "zh",
) -> Notice:
    """The notice an outbox row becomes: its text, with the message key as a footer for tracing."""
    r = render(topic, payload, role=role, lang=lang)
    footer = (
        f"（govflow 自动通知，消息编号 {key}）" if lang != "en" else f"(sent by govflow, message key {key})"
    )
    return Notice(key, topic, role, r.title, f"{r.body}\n\n{footer}", project)


def render(topic: str, payload: Mapping[str, Any], *, role: str | None = None, lang: str = "zh") -> Rendered:
    lang = "en" if lang == "en" else "zh"
    words = [w for w in re.split(r"[./:\s]+", topic.lower()) if w]
    template = _template_for(words)
    if template is not None:
        try:
            d = _Draft(payload, lang, role, topic)
            return d.finish(template(d, words))
        except Exception:  # an odd payload must not stop the dispatch: the generic text still shows it all
            log.exception("template for topic %s failed; using the generic template", topic)
    d = _Draft(payload, lang, role, topic)
    return d.finish(_generic(d, words), details_heading=False)


# ---------------------------------------------------------------------------------------------- drafting


class _Draft:
    """A notice being written: tracks which payload fields the template used, so the rest can be listed."""

    def __init__(self, payload: Mapping[str, Any], lang: str, role: str | None, topic: str) -> None:
        p = {str(k): v for k, v in payload.items() if not str(k).startswith("_")}
        for k in [
            k for k in p if k.endswith("_en") and k[:-3] in p
        ]:  # message / message_en: the reader's one
            english = p.pop(k)
            if lang == "en" and english not in (None, ""):
                p[k[:-3]] = english
        if p.pop("deadline_pending", None) and p.get("deadline") in (None, ""):
            p["deadline"] = deadline_label(None, lang)
        self.p = p
        self.lang = lang
        self.topic = topic
        self.used: set[str] = set()
        self.lines: list[str] = []
        self.clauses: list[str] = []
        if role:
            self.say(f"致：{role_label(role, 'zh')}", f"To: {role_label(role, 'en')}")
        project = self.text("project")
        if project:
            name = self.text("project_name")
            self.lines.append(f"{self.label('project')}{self.colon}{project}{' ' + name if name else ''}")

    # -- words
    @property
    def colon(self) -> str:
        return ": " if self.lang == "en" else "："

    def heading(self, key: str) -> str:
        return f"{self.label(key)}{':' if self.lang == 'en' else '：'}"

    def paren(self, text: str) -> str:
        return f" ({text})" if self.lang == "en" else f"（{text}）"

    def tr(self, zh: str, en: str) -> str:
        return en if self.lang == "en" else zh

    def label(self, key: str) -> str:
        zh, en = LABELS.get(key, (key, key.replace("_", " ")))
        return self.tr(zh, en)

    # -- values
    def raw(self, *keys: str) -> Any:
        """The first of ``keys`` present with a value (all of them count as used)."""
        found = None
        for k in keys:
            if k in self.p:
                self.used.add(k)
                if found is None and self.p[k] not in (None, ""):
                    found = self.p[k]
        return found

    def text(self, *keys: str, default: str = "") -> str:
        v = self.raw(*keys)
        return default if v is None else fmt(v, self.lang, keys[0])

    # -- lines
    def say(self, zh: str, en: str) -> None:
        self.lines.append(self.tr(zh, en))

    def headline(self, zh: str, en: str, *carried: str) -> None:
        """The producer's own sentence (payload ``message``) when it wrote one, else the template's; the
        ``carried`` fields, which only the template's sentence would have shown, then get lines of their own."""
        own = self.text("message")
        if not own:
            self.lines.append(self.tr(zh, en))
            return
        self.lines.append(own)
        for k in carried:
            self.used.discard(k)
            self.field(k)

    def field(self, key: str, *aliases: str) -> None:
        v = self.raw(key, *aliases)
        if v is None:
            return
        if isinstance(v, Mapping):
            self.lines.append(self.heading(key))
            self.lines.extend(
                f"  {self.label(str(k))}{self.colon}{fmt(x, self.lang, str(k))}" for k, x in v.items()
            )
        elif key == "reasons" and isinstance(v, list):
            self.reasons(v)
        else:
            self.lines.append(f"{self.label(key)}{self.colon}{fmt(v, self.lang, key)}")

    def reasons(self, reasons: Sequence[Any]) -> None:
        if not reasons:
            return
        self.lines.append(self.heading("reasons"))
        for i, r in enumerate(reasons, 1):
            if isinstance(r, Mapping):
                msg = r.get("message_en") if self.lang == "en" and r.get("message_en") else r.get("message")
                clause = r.get("clause")
                self.lines.append(
                    f"  {i}. {msg or fmt(r, self.lang)}{self.paren(str(clause)) if clause else ''}"
                )
                if clause:
                    self.cite(str(clause))
            else:
                self.lines.append(f"  {i}. {fmt(r, self.lang)}")

    def cite(self, *clauses: str | None) -> None:
        for c in clauses:
            if c and c not in self.clauses:
                self.clauses.append(c)

    def finish(self, title: str, *, details_heading: bool = True) -> Rendered:
        payload_clause = self.raw("clause")
        if payload_clause:
            self.cite(*(payload_clause if isinstance(payload_clause, list) else [str(payload_clause)]))
        # "733号文 第十条第二款" adds nothing next to a reason citing "733号文 第十条第二款、第八条"
        cited = [c for c in self.clauses if not any(o != c and o.startswith(c) for o in self.clauses)]
        if cited:
            self.lines.append(f"{self.label('clause')}{self.colon}{self.tr('；', '; ').join(cited)}")
        rest = [k for k in self.p if k not in self.used]
        if rest and details_heading:
            self.say("其他信息：", "Other details:")
        for k in rest:
            indent = "  " if details_heading else ""
            self.used.add(k)
            v = self.p[k]
            if k == "reasons" and isinstance(v, list):
                self.reasons(v)
            else:
                self.lines.append(f"{indent}{self.label(k)}{self.colon}{fmt(v, self.lang, k)}")
        return Rendered(title, "\n".join(self.lines))


# ---------------------------------------------------------------------------------------------- templates

Template = Callable[[_Draft, list[str]], str]


def _template_for(words: list[str]) -> Template | None:
    w = set(words)
    if words[:1] == ["decision"]:
        return _decision
    checks: list[tuple[bool, Template]] = [
        ("finding" in w or "findings" in w, _finding),
        (bool(w & {"agreement-expiry", "agreement_expiry", "expiry"}), _agreement_expiry),
        (bool(w & {"escalation", "escalate", "escalated"}), _escalation),
        (bool(w & {"reminder", "remind"}), _reminder),
        ("overdue" in w, _overdue),
        (bool(w & {"order", "orders", "rectification"}), _order),
        (bool(w & {"cut", "cuts"}), _cut),
        ("calendar" in w, _calendar_alarm),
        ("test" in w, _test),
        (bool(w & {"anchor", "audit_chain"}), _audit_anchor),
    ]
    return next((t for ok, t in checks if ok), None)


#: (event, accepted) -> tag zh, tag en, sentence zh, sentence en, clause
_DECISIONS: dict[tuple[str, bool], tuple[str, str, str, str, str]] = {
    ("intake", True): (
        "已受理",
        "Intake accepted",
        "项目建议书已受理，转入建议书评审。",
        "The proposal was taken in and goes to review.",
        C10_2,
    ),
    ("intake", False): (
        "不予受理",
        "Intake refused",
        "项目建议书不予受理，项目退回编制中；请补齐下列缺项后重新报送。",
        "The proposal was not taken in and returns to draft; complete the items below and submit again.",
        C10_2,
    ),
    ("approve", True): (
        "已批复",
        "Approved",
        "项目审批部门已批复，项目进入下一阶段。",
        "The program office approved; the project moves to its next phase.",
        C10_1,
    ),
    ("approve", False): (
        "不予审批",
        "Approval refused",
        "不予审批：下列信息共享条件尚未满足。",
        "Approval refused: the sharing conditions below are not met.",
        C10_2,
    ),
    ("refuse", True): (
        "不予审批",
        "Refused",
        "项目审批部门决定不予审批。",
        "The program office refused the project.",
        C10_2,
    ),
    ("refuse", False): (
        "不予审批未生效",
        "Refusal not applied",
        "不予审批的决定未能执行，项目阶段未变。",
        "The refusal could not be applied; the phase is unchanged.",
        C10_2,
    ),
    ("pass_acceptance", True): (
        "验收通过",
        "Acceptance passed",
        "项目通过验收，进入运行维护。",
        "The project passed acceptance and goes into operation.",
        C11,
    ),
    ("pass_acceptance", False): (
        "不予通过验收",
        "Acceptance refused",
        "不予通过验收：下列信息共享义务尚未落实。",
        "Acceptance refused: the sharing obligations below are not met.",
        C11,
    ),
    ("fail_acceptance", True): (
        "验收不通过·限期整改",
        "Acceptance failed: rectification",
        "项目验收不通过，已下达限期整改通知，请在整改期限内完成整改并重新申请验收。",
        "The project failed acceptance; a rectification order was issued. Rectify before the deadline and "
        "request acceptance again.",
        C11,
    ),
    ("fail_acceptance", False): (
        "验收不通过未生效",
        "Acceptance failure not applied",
        "验收不通过的决定未能执行，项目阶段未变。",
        "The acceptance failure could not be applied; the phase is unchanged.",
        C11,
    ),
}


def _decision(d: _Draft, words: list[str]) -> str:
    event = str(d.raw("event") or (words[1] if len(words) > 1 else ""))
    flag = d.raw("accepted")
    accepted = (
        words[2] == "accepted" if len(words) > 2 and words[2] in ("accepted", "refused") else bool(flag)
    )
    label = Event(event).label(d.lang) if event in EVENT_CODES else event
    known = _DECISIONS.get((event, accepted))
    if known:
        tag = d.tr(known[0], known[1])
        d.say(known[2], known[3])
        d.cite(known[4])
    else:
        tag = f"{label}{d.tr('：已执行' if accepted else '：未通过', ': done' if accepted else ': refused')}"
        d.say(
            f"项目事件「{label}」{'已执行' if accepted else '被拒绝'}。",
            f"Event '{label}' was {'applied' if accepted else 'refused'}.",
        )
    d.lines.append(f"{d.label('event')}{d.colon}{label}")
    src, dst = d.text("from"), d.text("to")
    if src or dst:
        d.lines.append(f"{d.label('phase')}{d.colon}{src or '—'} → {dst or '—'}")
    for k in ("department", "reasons", "order", "deadline"):
        d.field(k)
    return f"{_bracket(d, tag)}{_who(d)}"


def _finding(d: _Draft, words: list[str]) -> str:
    rule = str(d.raw("rule") or "")
    zh, en, clause = RULES.get(rule, (rule or "信息共享问题", rule or "sharing problem", C11))
    label = d.tr(zh, en)
    closed = "closed" in words or d.p.get("status") == "closed"
    if closed:
        d.used.add("status")
        d.say(
            f"信息共享问题「{zh}」已消除，问题关闭（记录保留）。",
            f"The sharing problem '{en}' is resolved and closed.",
        )
    else:
        d.say(
            f"治理巡查发现信息共享问题：{zh}。请牵头部门限期整改，并通过交换平台提交交付记录。",
            f"The governance sweep found a sharing problem: {en}. The lead department must rectify it and "
            "deliver through the exchange platform.",
        )
    d.lines.append(f"{d.label('rule')}{d.colon}{label}{d.paren(rule) if rule else ''}")
    for k in (
        "department",
        "agreement",
        "catalog",
        "consumer",
        "period",
        "since",
        "evidence",
        "finding",
        "as_of",
    ):
        d.field(k)
    d.cite(clause)
    tag = d.tr("共享问题已消除", "Sharing problem closed") if closed else d.tr("共享问题", "Sharing problem")
    return f"{_bracket(d, tag)}{_who(d)}{d.colon}{label}"


def _agreement_expiry(d: _Draft, words: list[str]) -> str:
    agreement, end = d.text("agreement", default="—"), d.text("term_end", "term", default="—")
    days = d.text("days_left")
    left_zh, left_en = (f"（还有 {days} 天）", f" ({days} days left)") if days else ("", "")
    d.headline(
        f"共享协定 {agreement} 将于 {end} 到期{left_zh}。请及时续签协定或调整共享授权范围，确保信息共享不中断。",
        f"Sharing agreement {agreement} ends on {end}{left_en}. Renew it or adjust the authorized sharing "
        "scope in time so that sharing does not stop.",
        "agreement",
        "term_end",
        "days_left",
    )
    d.field("form")
    d.field("department")
    d.cite(C8)
    return f"{_bracket(d, d.tr('协定即将到期', 'Agreement expiring'))}{_who(d)} {agreement} → {end}"


def _reminder(d: _Draft, words: list[str]) -> str:
    order, deadline = d.text("order", default="—"), d.text("deadline", default="—")
    n = d.text("workdays_left", "reminder", "days_before")
    late = bool(d.raw("late"))
    left_zh, left_en = (f"还有 {n} 个工作日", f"{n} working day(s) left") if n else ("即将到期", "due soon")
    d.headline(
        f"整改通知 {order} 的整改期限为 {deadline}（{left_zh}）。请按期完成整改并提交整改材料；逾期将通报审计监察部门。",
        f"Rectification order {order} is due on {deadline} ({left_en}). Complete it and submit the evidence in "
        "time; an overdue order is reported to audit.",
        "workdays_left",
        "reminder",
        "days_before",
    )
    if late:
        d.say("（本提醒为补发）", "(This reminder is sent late.)")
    d.field("deadline")
    d.field("notice_date")
    d.field("rule")
    d.cite(C11)
    return (
        f"{_bracket(d, d.tr('整改提醒', 'Rectification reminder'))}{order}{d.colon}{d.tr(left_zh, left_en)}"
    )


def _overdue(d: _Draft, words: list[str]) -> str:
    order, deadline = d.text("order", default="—"), d.text("deadline", default="—")
    since = d.text("overdue_since", "as_of", default="—")
    d.headline(
        f"整改通知 {order} 的整改期限 {deadline} 已过，截至 {since} 仍未整改完成，已转为逾期。",
        f"Rectification order {order} passed its deadline {deadline} unresolved; overdue since {since}.",
    )
    for k in ("deadline", "overdue_since", "workdays_overdue", "notice_date", "rule"):
        d.field(k, *(("overdue_workdays",) if k == "workdays_overdue" else ()))
    d.cite(C11)
    return f"{_bracket(d, d.tr('整改逾期', 'Rectification overdue'))}{order}{_who(d, ' ')}"


def _escalation(d: _Draft, words: list[str]) -> str:
    order, level = d.text("order", default="—"), d.text("level", default="—")
    name = d.text("name", default=d.tr("逾期升级", "escalation"))
    n = d.text("workdays_overdue", "overdue_workdays", default="—")
    d.headline(
        f"整改通知 {order} 已逾期 {n} 个工作日，触发第 {level} 级升级「{name}」。",
        f"Rectification order {order} is {n} working days overdue: escalation level {level} ({name}).",
        "level",
        "name",
        "workdays_overdue",
        "overdue_workdays",
    )
    d.field("deadline")
    d.field("notify")
    d.cite(C11)
    tag = d.tr(f"逾期升级·{name}", f"Escalation level {level}")  # the step name is policy data, in zh
    return f"{_bracket(d, tag)}{order}{_who(d, ' ')}"


def _order(d: _Draft, words: list[str]) -> str:
    """Every other step of a rectification order: issued, evidence, verify, reject, reopen, extend, closed."""
    event = next((w for w in words if w in ORDER_EVENTS), None) or str(d.raw("event") or "")
    d.used.add("event")
    zh, en = ORDER_EVENTS.get(event, ("整改通知", "Rectification order"))
    order = d.text("order", default="—")
    d.headline(f"整改通知 {order}：{zh}。", f"Rectification order {order}: {en.lower()}.")
    src, dst = d.text("from"), d.text("to")
    if src or dst:
        d.lines.append(f"{d.label('status')}{d.colon}{src or '—'} → {dst or '—'}")
    for k in (
        "deadline",
        "previous_deadline",
        "notice_date",
        "workdays",
        "finding",
        "actor",
        "note",
        "department",
    ):
        d.field(k)
    d.field("reasons")
    d.cite(C11)
    return f"{_bracket(d, d.tr(zh, en))}{order}{_who(d, ' ')}"


_CUT_FIGURES = ("period", "percent", "amount")


def _cut(d: _Draft, words: list[str]) -> str:
    state = next((w for w in words if w in CUT_STATES), None) or str(d.raw("event", "status") or "proposed")
    d.used.update({"event", "status"})
    period, percent, amount = d.text("period", default="—"), d.text("percent", default="—"), d.text("amount")
    money_zh, money_en = (f"（{amount} 元）", f" ({amount} yuan)") if amount else ("", "")
    if state == "withdrawn":
        tag = d.tr("削减建议已撤回", "Cut recommendation withdrawn")
        d.headline(
            f"削减原因已在财政部门决定前消除，{period} 年度运维经费削减建议（{percent}%{money_zh}）已撤回（记录保留）。",
            f"The cause was fixed before finance decided; the {period} O&M cut recommendation ({percent}%"
            f"{money_en}) is withdrawn (the record is kept).",
            *_CUT_FIGURES,
        )
    elif state in ("accepted", "declined"):
        tag = d.tr(CUT_STATES[state][0], CUT_STATES[state][1].capitalize())
        d.headline(
            f"{period} 年度运维经费削减建议（{percent}%{money_zh}）：财政部门{CUT_STATES[state][0]}。",
            f"The {period} O&M cut recommendation ({percent}%{money_en}) was {CUT_STATES[state][1]} by finance.",
            *_CUT_FIGURES,
        )
    else:
        again = {"reproposed": ("（重新提出）", " (proposed again)"), "revised": ("（已更新）", " (revised)")}
        zh_more, en_more = again.get(state, ("", ""))
        tag = d.tr(f"运维经费削减建议{zh_more}", f"O&M cut recommendation{en_more}")
        d.headline(
            f"项目未持续保障信息共享（整改逾期或共享覆盖率低于阈值），建议削减 {period} 年度运维经费 {percent}%{money_zh}。"
            "请财政部门审核，作出采纳或不采纳（须说明理由）的决定。",
            f"The project did not sustain sharing (overdue rectification or coverage below the threshold): cut "
            f"its {period} O&M budget by {percent}%{money_en}. Finance decides: accept, or decline with a reason.",
            *_CUT_FIGURES,
        )
    for k in (
        "base_budget",
        "coverage",
        "overdue_workdays",
        "policy_version",
        "reasons",
        "reason",
        "decided_by",
        "department",
        "as_of",
    ):
        d.field(k)
    d.field("evidence")
    d.cite(C11)
    return f"{_bracket(d, tag)}{_who(d)} {period}{d.colon}{percent}%{d.tr(money_zh, money_en)}"


def _calendar_alarm(d: _Draft, words: list[str]) -> str:
    year = d.text("year", default="—")
    own = d.text("message")
    if own:
        d.lines.append(own)
    if "upcoming" in words:
        d.say(
            f"请管理员依据《国务院办公厅关于{year}年部分节假日安排的通知》导入 {year} 年工作日历"
            "（管理 → 工作日历，或 govflow calendar import）；导入前每天提醒一次。",
            f"An administrator imports the State Council notice on the {year} holiday arrangements "
            "(Admin → Calendar, or govflow calendar import); this reminder comes daily until then.",
        )
        for k in ("since", "as_of"):
            d.field(k)
        what = d.tr(f"尚未导入 {year} 年工作日历", f"the {year} working-day calendar is not imported")
        return f"{_bracket(d, d.tr('提醒', 'Reminder'))}{what}"
    d.say(
        f"缺少 {year} 年法定节假日与调休数据：整改期限按工作日计算，系统不作猜测，落入 {year} 年的期限暂为「期限待定」。"
        f"请管理员依据《国务院办公厅关于{year}年部分节假日安排的通知》导入 {year} 年工作日历"
        "（管理 → 工作日历，或 govflow calendar import），此后的下一次运行自动确定这些期限并发出通知。",
        f"There is no holiday and make-up working-day data for {year}, and deadlines in working days are never "
        f"guessed: deadlines reaching into {year} are pending. An administrator imports the State Council notice "
        f"on the {year} holiday arrangements (Admin → Calendar, or govflow calendar import); the next run then "
        "sets those deadlines and sends their notices.",
    )
    for k in ("flow", "as_of", "error", "raised_at"):
        d.field(k)
    what = d.tr(f"缺少 {year} 年工作日历数据", f"no working-day calendar for {year}")
    return f"{_bracket(d, d.tr('告警', 'Alarm'))}{what}"


def _test(d: _Draft, words: list[str]) -> str:
    d.say(
        "这是一条测试通知：收到即说明该通知渠道可用，无需处理。",
        "This is a test notice: receiving it shows the channel works. No action is needed.",
    )
    d.field("sent_by")
    d.field("at")
    return f"{_bracket(d, d.tr('测试', 'Test'))}{d.tr('govflow 通知渠道测试', 'govflow channel test')}"


def _audit_anchor(d: _Draft, words: list[str]) -> str:
    """``audit.anchor`` (a checkpoint of the audit chain) and ``alarm.audit_chain`` (none written: the chain does
    not verify), both to audit (govflow.governance.anchoring)."""
    own = d.text("message")
    if own:
        d.lines.append(own)
    if "audit_chain" in words:
        d.say(
            "审计链校验未通过，本次未写入锚点。请运行 govflow audit verify 查看问题，并与此前收到的锚点通知核对。",
            "The audit chain does not verify, so no anchor was written. Run govflow audit verify to see the "
            "problem and compare with the anchor notices received before.",
        )
        for k in ("first_bad_seq", "raised_at"):
            d.field(k)
        return f"{_bracket(d, d.tr('告警', 'Alarm'))}{d.tr('审计链校验未通过', 'the audit chain does not verify')}"
    d.say(
        "请保存本通知：它记录了审计链此刻的事件数与链首哈希，签名（mac）由数据库之外的锚点密钥生成。日后审计日志中该号事件"
        "的哈希若与此不符，或 govflow audit verify 报告锚点不符，说明审计记录被改写。",
        "Keep this notice: it records the audit chain's length and head hash now, signed (mac) with the anchor key "
        "kept outside the database. If the trail later shows another hash for that event, or govflow audit verify "
        "reports an anchor mismatch, the audit record was rewritten.",
    )
    for k in ("seq", "head", "at", "key_id", "mac", "file"):
        d.field(k)
    count = d.text("seq", default="—")
    return f"{_bracket(d, d.tr('审计链锚点', 'Audit anchor'))}{d.tr(f'共 {count} 条审计事件', f'{count} audit events')}"


def _generic(d: _Draft, words: list[str]) -> str:
    d.say(f"govflow 通知（类型：{d.topic}）。", f"govflow notice (topic: {d.topic}).")
    who = _who(d) or d.tr(f"类型 {d.topic}", f"topic {d.topic}")
    return f"{_bracket(d, d.tr('govflow 通知', 'govflow notice'))}{who}"


def _bracket(d: _Draft, tag: str) -> str:
    return f"[{tag}] " if d.lang == "en" else f"【{tag}】"


def _who(d: _Draft, sep: str = "") -> str:
    project = d.text("project")
    if not project:
        return ""
    name = d.text("project_name")
    return f"{sep}{project}{' ' + name if name else ''}"

"""The audit trail as people read it (issue 12 item 4): who acted, by name — people by their display name, the
scheduled runs and the command line by what they are — and what the note says, in the reader's language, with
no internal codes. One table for the system actors and one for the notes that are written in a machine's words;
every other note is a person's or a sentence governance wrote, shown through :func:`formats.prose_text`.

The trail itself keeps every word it recorded (it is hash-chained); this only decides how a page shows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from govflow.reads.formats import day_text, money_text, percent_text, prose_text
from govflow.reads.secrecy import PLACEHOLDERS_EN
from govflow.states.permissions import Role, action_label
from govflow.states.phases import Event, Phase, ReviewStage
from govflow.states.sharing import FocusPoint, Judgment

#: the actors that are no person: the scheduled runs and the command line (``Actor`` names in the trail)
SYSTEM_ACTORS: dict[str, tuple[str, str]] = {
    "govflow-sweep": ("系统（夜间巡检）", "System (nightly sweep)"),
    "govflow-deadlines": ("系统（整改期限检查）", "System (deadline run)"),
    "system": ("系统（削减建议测算）", "System (cut assessment)"),
    "operator": ("系统管理员（命令行）", "Operator (command line)"),
}
#: the action of a sign-in: left out of the dashboard's trail unless asked for
SIGN_IN_ACTIONS = ("auth.login", "auth.logout")
ROLES = {r.value: r for r in Role}


#: audit-trail actions that are not lifecycle events (those are labelled by :class:`states.phases.Event`)
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "onboard": ("纳入管理", "onboarded"),
    "create": ("创建项目", "project created"),
    "order.issue": ("下达整改通知", "order issued"),
    "order.remind": ("整改提醒", "reminder"),
    "order.overdue": ("整改逾期", "order overdue"),
    "order.escalate": ("逾期升级", "escalated"),
    "order.evidence": ("提交整改材料", "evidence submitted"),
    "order.verify": ("核验整改", "evidence verified"),
    "order.reopen": ("重新打开整改通知", "order reopened"),
    "order.extend": ("延长整改期限", "deadline extended"),
    "order.date": ("确定待定的整改期限", "pending deadline set"),
    "order.close": ("关闭整改通知", "order closed"),
    "cuts.propose": ("提出削减建议", "cut proposed"),
    "cuts.revise": ("调整削减建议", "cut revised"),
    "cuts.withdraw": ("撤回削减建议", "cut withdrawn"),
    "cuts.accept": ("采纳削减建议", "cut accepted"),
    "cuts.decline": ("不采纳削减建议", "cut declined"),
    "review.record": ("登记评审意见", "review recorded"),
    "opinion.record": ("登记相关部门意见", "opinion recorded"),
    "catalog.import": ("导入共享信息目录", "catalog imported"),
    "evidence.import": ("导入交付记录", "evidence imported"),
    "flow.sweep": ("共享义务检查", "obligation sweep"),
    "flow.deadlines": ("整改期限检查", "deadline run"),
    "flow.cuts": ("削减建议测算", "cuts run"),
    "flow.dispatch": ("通知发送", "notification dispatch"),
    "policy.load": ("载入治理策略", "policy loaded"),
    "user.add": ("新增用户", "user added"),
    "user.password": ("设置口令", "password set"),
    "user.token": ("签发 API 令牌", "API token issued"),
    "user.token.revoke": ("吊销 API 令牌", "API token revoked"),
    "user.deactivate": ("停用用户", "user deactivated"),
    "user.sessions.end": ("在所有设备上退出", "signed out everywhere"),
    "auth.logout": ("退出登录", "sign-out"),
    "user.activate": ("启用用户", "user activated"),
    "auth.login": ("登录", "sign-in"),
    "notify.retry": ("重发通知", "notification retried"),
    "notify.test": ("测试通知渠道", "notification test"),
}

OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "accepted": ("通过", "accepted"),
    "refused": ("拒绝", "refused"),
    "recorded": ("已登记", "recorded"),
    "denied": ("无权或失败", "denied"),
    "failed": ("失败", "failed"),
}


def action_text(action: str, lang: str) -> str:
    if action in {e.value for e in Event}:
        return Event(action).label(lang)
    pair = ACTION_LABELS.get(action)
    if pair is not None:
        return pair[1] if lang == "en" else pair[0]
    return action_label(action, lang)  # the permission table's labels, or the code itself


def phase_text(phase: str | None, lang: str) -> str:
    """A trail row's phase (``from_phase``/``to_phase``) in words; empty when the row has none."""
    return Phase(phase).label(lang) if phase else ""


def outcome_text(outcome: str, lang: str) -> str:
    pair = OUTCOME_LABELS.get(outcome)
    return outcome if pair is None else pair[1 if lang == "en" else 0]


def actor_text(actor: str, role: str | None, display_name: str | None, lang: str) -> str:
    """``王建国（项目审批部门）``; a scheduled run as ``系统（夜间巡检）``; a user without a display name by its
    user name."""
    system = SYSTEM_ACTORS.get(actor)
    if system is not None:
        return system[1 if lang == "en" else 0]
    who = display_name or actor
    r = ROLES.get(str(role))
    if r is None:
        return who
    return f"{who} ({r.label(lang)})" if lang == "en" else f"{who}（{r.label(lang)}）"


def _bilingual(note: str, lang: str) -> str:
    """The loader's notes are written ``中文 / English``: the reader's half."""
    zh, _, en = note.partition(" / ")
    return (en or zh) if lang == "en" else zh


def _review(note: str, lang: str) -> str:
    """``proposal: agreement=met, catalog=partly; 未判断: infrastructure`` as the five focus points read."""
    en = lang == "en"
    stage, _, rest = note.partition(": ")
    judged, _, missing = rest.partition("; 未判断: ")
    parts = []
    for pair in filter(None, (p.strip() for p in judged.split(","))):
        point, _, judgment = pair.partition("=")
        try:
            parts.append(
                f"{FocusPoint(point).label(lang)}{' ' if en else '：'}{Judgment(judgment).label(lang)}"
            )
        except ValueError:
            parts.append(pair)
    try:
        head = ReviewStage(stage).label(lang)
    except ValueError:
        head = stage
    text = f"{head}{': ' if en else '：'}{(', ' if en else '，').join(parts)}"
    gaps = []
    for point in filter(None, (p.strip() for p in missing.split(","))):
        try:
            gaps.append(FocusPoint(point).label(lang))
        except ValueError:
            gaps.append(point)
    if gaps:
        text += f"; not judged: {', '.join(gaps)}" if en else f"；未判断：{'、'.join(gaps)}"
    return text


def _run_detail(row: Mapping[str, Any]) -> dict[str, Any]:
    for r in row.get("reasons") or ():
        if (
            isinstance(r, Mapping)
            and str(r.get("code", "")).endswith("_RUN")
            and isinstance(r.get("detail"), Mapping)
        ):
            return dict(r["detail"])
    return {}


def _sweep(row: Mapping[str, Any], lang: str) -> str | None:
    d = _run_detail(row)
    if not d:
        return None
    day = day_text(d.get("as_of"), lang)
    if lang == "en":
        return (
            f"sweep of {day}: {d.get('findings_opened', 0)} findings opened, {d.get('findings_closed', 0)} closed, "
            f"{d.get('findings_still_open', 0)} still open; {d.get('expiry_notices', 0)} expiry notices; "
            f"{d.get('orders_closed', 0)} orders closed with their findings"
        )
    return (
        f"{day}共享义务巡检：新发现问题 {d.get('findings_opened', 0)} 项，消除 {d.get('findings_closed', 0)} 项，"
        f"仍未解决 {d.get('findings_still_open', 0)} 项；协定到期提示 {d.get('expiry_notices', 0)} 条；"
        f"随问题消除关闭整改通知 {d.get('orders_closed', 0)} 份"
    )


def _deadlines(row: Mapping[str, Any], lang: str) -> str | None:
    d = _run_detail(row)
    if not d:
        return None
    day = day_text(d.get("as_of"), lang)
    if lang == "en":
        return (
            f"deadline run of {day}: {d.get('orders_issued', 0)} orders issued ({d.get('pending', 0)} with the "
            f"deadline pending), {d.get('dated', 0)} pending deadlines set, {d.get('reminders', 0)} reminders, "
            f"{d.get('overdue', 0)} newly overdue, {d.get('escalations', 0)} escalations"
        )
    return (
        f"{day}整改期限检查：下达整改通知 {d.get('orders_issued', 0)} 份（期限待定 {d.get('pending', 0)} 份），"
        f"确定待定期限 {d.get('dated', 0)} 份，提醒 {d.get('reminders', 0)} 条，新逾期 {d.get('overdue', 0)} 份，"
        f"升级 {d.get('escalations', 0)} 次"
    )


def _onboard(row: Mapping[str, Any], lang: str) -> str | None:
    phase = row.get("to_phase")
    if not phase:
        return None
    label = Phase(str(phase)).label(lang)
    if lang == "en":
        return f"onboarded from the portfolio document at its phase '{label}'"
    return f"从项目组合文档按现有阶段「{label}」纳入管理"


def _create(row: Mapping[str, Any], lang: str) -> str | None:
    note = _bilingual(str(row.get("note") or ""), lang)
    return note if lang == "en" else note.split("（")[0].strip()  # the phase is the row's own column


# ---------------------------------------------------------------------------------------------- system sentences
# The cut run, finance's decision and the deadline run write their audit notes in Chinese; the trail keeps them
# as written (hash-chained), so an English page reads them by their known shape. Where the row's reasons carry
# the sentence in both languages (a reason's ``message`` is the note), the stored English is shown instead.

_CUT_HEAD = r"(?P<period>\d{4}) 年度运维经费削减建议"
_CUT_NOTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            _CUT_HEAD + r"（(?P<day>[\d-]+)）：削减 (?P<p>[\d.]+)%，(?P<amount>[\d.]+) 元"
            r"（年度运维经费 (?P<budget>[\d.]+) 元，策略 (?P<v>[^）]+)）$"
        ),
        "O&M cut recommendation for {period} ({day}): cut {p}, {amount} (annual O&M budget {budget}, policy {v})",
    ),
    (
        re.compile(
            _CUT_HEAD
            + r"更新（(?P<day>[\d-]+)）：(?P<p0>[\d.]+)%、(?P<amount0>[\d.]+) 元（策略 (?P<v0>[^）]+)）"
            r"→ (?P<p>[\d.]+)%、(?P<amount>[\d.]+) 元（策略 (?P<v>[^）]+)）$"
        ),
        "O&M cut recommendation for {period} revised ({day}): {p0}, {amount0} (policy {v0}) → {p}, {amount} "
        "(policy {v})",
    ),
    (
        re.compile(
            _CUT_HEAD
            + r"重新提出（(?P<day>[\d-]+)，撤回后理由再次出现）：削减 (?P<p>[\d.]+)%，(?P<amount>[\d.]+) 元"
            r"（策略 (?P<v>[^）]+)）$"
        ),
        "O&M cut recommendation for {period} proposed again ({day}, its cause is back after the withdrawal): "
        "cut {p}, {amount} (policy {v})",
    ),
    (
        re.compile(_CUT_HEAD + r"撤回（(?P<day>[\d-]+)），财政部门尚未决定：(?P<why>.*)$", re.S),
        "O&M cut recommendation for {period} withdrawn ({day}) before finance decided: {why}",
    ),
    (
        re.compile(
            _CUT_HEAD + r"(?P<verb>采纳|不采纳)：(?P<p>[\d.]+)%，(?P<amount>[\d.]+) 元（策略 (?P<v>[^）]+)）"
            r"；理由：(?P<typed>.*)$",
            re.S,
        ),
        "O&M cut recommendation for {period} {verb}: {p}, {amount} (policy {v}); reason: {typed}",
    ),
)
_ISSUED = re.compile(r"下达整改通知 (?P<code>\S+)：.*；(?P<term>[^；]+)$", re.S)
_RECTIFY_BY = re.compile(r"请于 (?P<day>[\d-]+) 前完成整改（通知日后 (?P<n>\d+) 个工作日，(?P<clause>.+)）$")
_PENDING = re.compile(r"整改期限待定：(?P<year>\d{4}) 年.*?(?P<n>\d+) 个工作日确定期限（(?P<clause>.+)）$")
#: notes written word for word by the code, with their English
FIXED_NOTES = {
    "通过验收，整改完成（733号文 第十一条）": "acceptance passed, rectification complete (733号文 第十一条)"
}


def _english_of(row: Mapping[str, Any], text: object) -> str | None:
    """The English of ``text`` (the note, or a part of it) when one of the row's reasons stored it in both
    languages."""
    for r in row.get("reasons") or ():
        if isinstance(r, Mapping) and r.get("message") == text and r.get("message_en"):
            return str(r["message_en"])
    return None


_LEFT = re.compile(r"项目已不在运行维护阶段（现为「(?P<phase>[^」]+)」）$")
_GONE = re.compile(r"削减理由已消除（共享覆盖率 (?P<cover>[^，]+)，无达到削减档位的逾期整改通知）$")
_PHASE_EN = {p.zh: p.en for p in Phase}


def _withdrawn_why(why: str) -> str:
    """Why the cut run withdrew a recommendation (``cut_run._plan_withdraw``'s two sentences) in English."""
    left, gone = _LEFT.match(why), _GONE.match(why)
    if left is not None:
        return f"the project left operation (now '{_PHASE_EN.get(left.group('phase'), left.group('phase'))}')"
    if gone is not None:
        return f"the cause is gone (coverage {gone.group('cover')}, no order overdue enough for a cut)"
    return why


def _cut_note(row: Mapping[str, Any], lang: str) -> str | None:
    """A cut's audit note (proposed, revised, proposed again, withdrawn, decided) in English; None in Chinese."""
    if lang != "en":
        return None
    note = str(row.get("note") or "")
    for shape, english in _CUT_NOTES:
        m = shape.match(note)
        if m is None:
            continue
        g = m.groupdict()
        for key in ("p", "p0"):
            if g.get(key):
                g[key] = percent_text(g[key])
        for key in ("amount", "amount0", "budget"):
            if g.get(key):
                g[key] = money_text(g[key], "en")
        if g.get("day"):
            g["day"] = day_text(g["day"], "en")
        if g.get("verb"):
            g["verb"] = "accepted" if g["verb"] == "采纳" else "declined"
        if "why" in g:
            g["why"] = _withdrawn_why(g["why"])
        return english.format(**g)
    return None


def _issued_note(row: Mapping[str, Any], lang: str) -> str | None:
    """``下达整改通知 RO-…：{the finding's sentence}；{the term}`` in English: the finding's sentence as its reason
    stored it in English, the term told from its numbers."""
    m = _ISSUED.match(str(row.get("note") or ""))
    reasons = [r for r in row.get("reasons") or () if isinstance(r, Mapping) and r.get("message_en")]
    if lang != "en" or m is None or not reasons:
        return None
    term = m.group("term")
    by, pending = _RECTIFY_BY.search(term), _PENDING.search(term)
    if by is not None:
        term_en = (
            f"rectify by {day_text(by.group('day'), lang)} ({by.group('n')} working days after the notice, "
            f"{by.group('clause')})"
        )
    elif pending is not None:
        term_en = (
            f"deadline pending: the working-day calendar of {pending.group('year')} has not been imported yet; "
            f"once it is, the deadline is set to {pending.group('n')} working days after the notice date "
            f"({pending.group('clause')})"
        )
    else:
        return None
    return f"order {m.group('code')} issued: {reasons[0]['message_en']}; {term_en}"


def _reason_part(why: str | None) -> str:
    return f"; reason: {why}" if why else ""


def _list_en(text: str) -> str:
    return text.replace("、", ", ")


def _evidence_en(m: re.Match[str]) -> str:
    replaced = f", {m['replaced']} of them replacing earlier records (--replace)" if m["replaced"] else ""
    more = f" ({m['n']} in all)" if m["n"] else ""
    return (
        f"{m['file']}: {m['rows']} rows, {m['keys']} (item, consumer, day) keys{replaced}, {m['records']} "
        f"records, projects {m['codes']}{more}; SHA-256 {m['sha']}"
    )


def _scope_en(scope: str) -> str:
    return {"所有政务部门": "every government department", "（无）": "(none)"}.get(scope, _list_en(scope))


#: the notes people's actions write around what they typed (a reason stays as typed), by action: the shape and
#: its English (the match's groups, as written)
_SHAPES: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = {
    "evidence.import": (
        re.compile(
            r"(?P<file>.+?): (?P<rows>\d+) 行, (?P<keys>\d+) 个\(条目, 使用部门, 日期\)"
            r"(?:, 其中 (?P<replaced>\d+) 个替换原有记录 \(--replace\))?, (?P<records>\d+) 条记录, "
            r"项目 (?P<codes>.*?)(?: 等共 (?P<n>\d+) 个)?; SHA-256 (?P<sha>[0-9a-f]+)$",
            re.S,
        ),
        _evidence_en,
    ),
    "calendar.import": (
        re.compile(
            r"(?P<name>.+?)：导入 (?P<year>\d{4}) 年工作日历（放假 (?P<h>\d+) 天，调休上班 (?P<w>\d+) 天；"
            r"依据 (?P<src>.+)；(?P<digest>[0-9a-f]+)）$",
            re.S,
        ),
        lambda m: (
            f"{m['name']}: imported the {m['year']} working-day calendar ({m['h']} days off, {m['w']} make-up "
            f"working days; source: {m['src']}; {m['digest']})"
        ),
    ),
    "policy.load": (
        re.compile(r"(?P<file>.+?): 版本 (?P<v>\S+)（(?P<d>[0-9a-f]+)）生效$"),
        lambda m: f"{m['file']}: version {m['v']} ({m['d']}) in force",
    ),
    "notify.retry": (
        re.compile(r"重新发送 (?P<n>\d+) 条：(?P<keys>.*?)(?: 等 \d+ 条)?$", re.S),
        lambda m: f"{m['n']} messages sent again: {_list_en(m['keys'])}",
    ),
    "notify.test": (
        re.compile(r"测试通知 → (?P<to>\S+?)：(?P<d>\d+)/(?P<c>\d+) 个渠道送达$"),
        lambda m: f"test notice → {m['to']}: delivered on {m['d']} of {m['c']} channels",
    ),
    "agreement.renew": (
        re.compile(
            r"续签共享协定 (?P<a>\S+)：期限 (?P<old>\S+) → (?P<new>\S+)，签署于 (?P<signed>\S+)（第 (?P<v>\d+) 版）"
            r"(?:；理由：(?P<why>.*?))?；关闭协定到期问题 (?P<f>\d+) 个、整改通知 (?P<o>\d+) 份$",
            re.S,
        ),
        lambda m: (
            f"agreement {m['a']} renewed: term {m['old']} → {m['new']}, signed on {m['signed']} (version "
            f"{m['v']}){_reason_part(m['why'])}; {m['f']} expiry findings and {m['o']} orders closed"
        ),
    ),
    "agreement.amend": (
        re.compile(r"(?P<file>.+?)：修订共享协定 (?P<list>.*?)(?:；理由：(?P<why>.*))?$", re.S),
        lambda m: (
            f"{m['file']}: agreements amended: "
            + re.sub(r"（第 (\d+) 版）", r" (version \1)", _list_en(m["list"]))
            + _reason_part(m["why"])
        ),
    ),
    "catalog.authorize": (
        re.compile(
            r"调整目录条目 (?P<c>\S+) 的授权使用范围：(?P<scope>.*?)(?:；理由：(?P<why>.*?))?"
            r"；超出新范围的协定条目 (?P<n>\d+) 个$",
            re.S,
        ),
        lambda m: (
            f"authorized use of catalog item {m['c']} set to: {_scope_en(m['scope'])}{_reason_part(m['why'])}; "
            f"{m['n']} agreement items outside the new scope"
        ),
    ),
    "agreement.terminate": (
        re.compile(
            r"终止共享协定 (?P<a>\S+)：自 (?P<day>\S+) 起终止（第 (?P<v>\d+) 版）；理由：(?P<why>.*)$", re.S
        ),
        lambda m: f"agreement {m['a']} terminated from {m['day']} (version {m['v']}); reason: {m['why']}",
    ),
}


def _shaped(row: Mapping[str, Any], lang: str) -> str | None:
    """The note of a person's action (:data:`_SHAPES`) in English; None in Chinese or when it has another
    shape (then it is shown as written)."""
    shape = _SHAPES.get(str(row.get("action")))
    if lang != "en" or shape is None:
        return None
    m = shape[0].match(str(row.get("note") or ""))
    return shape[1](m) if m is not None else None


#: how a page tells the note of an action that writes a machine's words (others: :func:`prose_text`)
NOTES: dict[str, Callable[[Mapping[str, Any], str], str | None]] = {
    "create": _create,
    "order.issue": _issued_note,
    **dict.fromkeys(_SHAPES, _shaped),
    **dict.fromkeys(
        ("cuts.propose", "cuts.revise", "cuts.repropose", "cuts.withdraw", "cuts.accept", "cuts.decline"),
        _cut_note,
    ),
    "onboard": _onboard,
    "review.record": lambda row, lang: _review(str(row.get("note") or ""), lang),
    "flow.sweep": _sweep,
    "flow.deadlines": _deadlines,
    **{
        action: lambda row, lang: row.get("note_name") or None  # the user it was done to, by name
        for action in (
            "user.add",
            "user.password",
            "user.token",
            "user.token.revoke",
            "user.deactivate",
            "user.activate",
            "user.sessions.end",
        )
    },
}


def note_text(row: Mapping[str, Any], lang: str, names: Mapping[str, str] | None = None) -> str:
    """The note of a trail row as the reader's page shows it."""
    note = row.get("note")
    if not note:
        return ""
    if note in PLACEHOLDERS_EN:  # the reader may not see what it says (:mod:`govflow.reads.secrecy`)
        return PLACEHOLDERS_EN[note] if lang == "en" else str(note)
    tell = NOTES.get(str(row.get("action")))
    told = tell(row, lang) if tell is not None else None
    if told is not None:
        return prose_text(told, lang, names) if lang == "en" else told
    if lang == "en":
        stored = FIXED_NOTES.get(str(note)) or _english_of(row, note)
        if stored is not None:
            return prose_text(stored, lang, names)
    if " / " in str(note) and str(row.get("role")) == Role.ADMIN.value:
        note = _bilingual(str(note), lang)
    return prose_text(str(note), lang, names)

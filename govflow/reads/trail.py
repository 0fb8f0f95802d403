"""The audit trail as people read it (issue 12 item 4): who acted, by name — people by their display name, the
scheduled runs and the command line by what they are — and what the note says, in the reader's language, with
no internal codes. One table for the system actors and one for the notes that are written in a machine's words;
every other note is a person's or a sentence governance wrote, shown through :func:`formats.prose_text`.

The trail itself keeps every word it recorded (it is hash-chained); this only decides how a page shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from govflow.reads.formats import day_text, prose_text
from govflow.states.permissions import Role
from govflow.states.phases import Phase, ReviewStage
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


#: how a page tells the note of an action that writes a machine's words (others: :func:`prose_text`)
NOTES: dict[str, Callable[[Mapping[str, Any], str], str | None]] = {
    "create": _create,
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
    tell = NOTES.get(str(row.get("action")))
    told = tell(row, lang) if tell is not None else None
    if told is not None:
        return told
    if " / " in str(note) and str(row.get("role")) == Role.ADMIN.value:
        note = _bilingual(str(note), lang)
    return prose_text(str(note), lang, names)

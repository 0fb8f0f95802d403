"""Rectification orders (整改通知; 限期整改, 733号文 第十一条): their vocabulary, views and the writes the
deadlines run (:mod:`govflow.governance.deadlines`) and the order use cases (:mod:`govflow.governance.rectification`)
share — issuing an order with its first step, closing the orders of closed findings, the calendar alarm.

An order's ``deadline`` is NULL while it is pending (期限待定): it would fall in a year the working-day calendar
has no data for. ``pending_from`` and ``pending_workdays`` keep how to date it
(``add_workdays(pending_from, pending_workdays)``); :func:`try_date` does that once the year is imported, and
every surface shows the pending deadline with :func:`~states.vocabulary.deadline_label`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, NoReturn

from sqlalchemy import literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from govflow.governance.outbox import calendar_alarm as calendar_alarm  # re-exported
from govflow.governance.outbox import enqueue_many
from govflow.governance.runs import system_record
from govflow.lifecycle.services import App
from govflow.models import audit
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import Finding, OrderStep, Project, RectificationOrder
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import CalendarDataMissing, Conflict, NotFound
from govflow.states.findings import SWEEP_ACTOR
from govflow.states.permissions import Role
from govflow.states.verdict import clause
from govflow.states.vocabulary import OrderStatus as OrderStatus  # re-exported: the order module speaks of it
from govflow.states.vocabulary import deadline_label

ORDER, STEP, FINDING, PROJECT = t(RectificationOrder), t(OrderStep), t(Finding), t(Project)
CLAUSE = clause("第十一条")
DEADLINES_ACTOR = "govflow-deadlines"

Message = tuple[str, str, str, dict[str, Any], str | None]


#: the words of each status, from the vocabulary (for callers holding a status string)
STATUS_LABELS: dict[OrderStatus, tuple[str, str]] = {s: (s.zh, s.en) for s in OrderStatus}

STEP_LABELS: dict[str, tuple[str, str]] = {
    "issued": ("下达整改通知", "order issued"),
    "reminder": ("到期提醒", "reminder"),
    "overdue": ("逾期", "overdue"),
    "escalation": ("逾期升级", "escalation"),
    "evidence": ("提交整改材料", "evidence submitted"),
    "verify": ("核验通过", "verified"),
    "reject": ("退回整改材料", "evidence rejected"),
    "reopen": ("重新打开", "reopened"),
    "extend": ("延长整改期限", "deadline extended"),
    "dated": ("确定整改期限", "deadline set"),
    "close": ("随问题消除关闭", "closed with its finding"),
    "covers": ("一并整改巡查发现的问题", "also answers a sweep finding"),
}

#: ``rectification_order.closed_reason``
VERIFIED = "verified"
FINDING_CLOSED = "finding_closed"
CLOSED_REASON_LABELS = {
    VERIFIED: ("整改已核验", "rectification verified"),
    FINDING_CLOSED: ("所针对的问题已消除", "the finding it was issued for is closed"),
}


# ---------------------------------------------------------------------------------------------- views


@dataclass(frozen=True)
class StepView:
    key: str
    kind: str
    on: date
    at: datetime
    actor: str
    note: str | None
    payload: dict[str, Any]

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        zh, en = STEP_LABELS.get(self.kind, (self.kind, self.kind))
        return {
            "key": self.key,
            "kind": self.kind,
            "kind_label": en if lang == "en" else zh,
            "on": self.on.isoformat(),
            "at": self.at.isoformat(),
            "actor": self.actor,
            "note": self.note,
            "payload": self.payload,
        }


@dataclass(frozen=True)
class OrderView:
    """A rectification order as people and machines see it (``order show``, ``order list``)."""

    code: str
    project: str
    project_name: str
    department: str
    department_name: str
    status: OrderStatus
    origin: str
    finding: str | None
    notice_date: date
    workdays: int
    deadline: date | None  # None: pending (期限待定)
    original_deadline: date | None
    overdue_since: date | None
    escalation_level: int
    closed_on: date | None
    closed_late: bool | None
    closed_reason: str | None
    policy_version: str | None
    version: int
    pending_from: date | None = None
    pending_workdays: int | None = None
    reasons: tuple[dict[str, Any], ...] = ()
    steps: tuple[StepView, ...] = ()

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        en = lang == "en"
        reason_label = CLOSED_REASON_LABELS.get(self.closed_reason or "")
        return {
            "code": self.code,
            "project": self.project,
            "project_name": self.project_name,
            "department": self.department,
            "department_name": self.department_name,
            "status": self.status.value,
            "status_label": self.status.label(lang),
            "origin": self.origin,
            "finding": self.finding,
            "clause": CLAUSE,
            "notice_date": self.notice_date.isoformat(),
            "workdays": self.workdays,
            "deadline": _iso(self.deadline),
            "deadline_label": deadline_label(self.deadline, lang),
            "deadline_pending": self.deadline is None,
            "pending_from": _iso(self.pending_from),
            "pending_workdays": self.pending_workdays,
            "original_deadline": _iso(self.original_deadline),
            "overdue_since": _iso(self.overdue_since),
            "escalation_level": self.escalation_level,
            "closed_on": _iso(self.closed_on),
            "closed_late": self.closed_late,
            "closed_reason": self.closed_reason,
            "closed_reason_label": reason_label[1 if en else 0] if reason_label else None,
            "policy_version": self.policy_version,
            "version": self.version,
            "reasons": [
                {
                    "code": r.get("code"),
                    "clause": r.get("clause"),
                    "message": r.get("message_en" if en else "message") or r.get("message"),
                }
                for r in self.reasons
            ],
            "steps": [st.to_dict(lang) for st in self.steps],
        }


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def order_query() -> Select[Any]:
    lead = DEPT.alias("lead")
    return (
        select(
            ORDER,
            PROJECT.c.code.label("project"),
            PROJECT.c.name.label("project_name"),
            lead.c.code.label("lead"),
            lead.c.name.label("lead_name"),
            FINDING.c.key.label("finding_key"),
        )
        .select_from(ORDER)
        .join(PROJECT, PROJECT.c.id == ORDER.c.project_id)
        .join(lead, lead.c.id == PROJECT.c.lead_department_id)
        .outerjoin(FINDING, FINDING.c.id == ORDER.c.finding_id)
    )


#: the view's fields that :func:`order_query` reads under another name
_QUERY_NAMES = {"department": "lead", "department_name": "lead_name", "finding": "finding_key"}


def order_view(r: Any, steps: Sequence[StepView] = ()) -> OrderView:
    """A row of :func:`order_query` with its steps."""
    m = r._mapping
    values = {f.name: m[_QUERY_NAMES.get(f.name, f.name)] for f in fields(OrderView) if f.name != "steps"}
    return OrderView(
        **values
        | {
            "status": OrderStatus(m["status"]),
            "workdays": int(m["workdays"]),
            "escalation_level": int(m["escalation_level"]),
            "version": int(m["version"]),
            "reasons": tuple(m["reasons"] or ()),
            "steps": tuple(steps),
        }
    )


def steps_of(s: Session, order_id: int) -> list[StepView]:
    q = select(STEP).where(STEP.c.order_id == order_id).order_by(STEP.c.id)  # as recorded
    return [StepView(r.key, r.kind, r.on, r.at, r.actor, r.note, dict(r.payload or {})) for r in s.execute(q)]


def order_missing(code: str) -> NotFound:
    """A missing order, and one the reader may not see, are told alike (no existence oracle)."""
    return NotFound(f"整改通知 {code} 不存在", f"rectification order {code} does not exist")


def order_row(s: Session, code: str) -> Any:
    r = s.execute(order_query().where(ORDER.c.code == code)).first()
    if r is None:
        raise order_missing(code)
    return r


# ---------------------------------------------------------------------------------------------- shared writes


def in_chunk(column: ColumnElement[int], chunk: tuple[int, int] | None) -> ColumnElement[bool]:
    if chunk is None:
        return literal(True)
    return column.between(chunk[0], chunk[1])


def order_parts(values: Sequence[Any], size: int = 5000) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def insert_steps(s: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert order steps in one statement, skipping keys already present; returns the keys written."""
    if not rows:
        return set()
    ins = (postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert)(STEP)
    res = s.execute(ins.on_conflict_do_nothing(index_elements=["key"]).returning(STEP.c.key), list(rows))
    return {str(k) for (k,) in res.all()}


def deadline_tag(o: Any) -> str:
    """Once-only steps of a deadline: keyed by the deadline itself once the order has been extended."""
    if o.deadline is None or o.original_deadline is None or o.original_deadline == o.deadline:
        return ""
    return f"@{o.deadline.isoformat()}"


def is_late(day: date, deadline: date | None) -> bool:
    """Whether ``day`` is after the deadline; never while the deadline is pending (期限待定)."""
    return deadline is not None and day > deadline


# ---------------------------------------------------------------------------------------------- pending deadlines


def try_date(cal: WorkCalendar, start: date, workdays: int) -> date | CalendarDataMissing:
    """``add_workdays(start, workdays)``, or the :class:`CalendarDataMissing` that keeps it pending."""
    try:
        return cal.add_workdays(start, workdays)
    except CalendarDataMissing as exc:
        return exc


def order_conflict(code: str, expected: int) -> Conflict:
    return Conflict(
        f"整改通知 {code} 已被他人修改（预期版本 {expected}），请刷新后重试",
        f"rectification order {code} was changed by someone else (expected version {expected}); "
        "reload and try again",
    )


def write_order(s: Session, o: Any, expected: int, values: Mapping[str, Any]) -> int:
    """Optimistic write: only if the order still has version ``expected``; returns the new version."""
    row = s.execute(
        update(ORDER)
        .where(ORDER.c.id == o.id, ORDER.c.version == expected)
        .values(**values, version=ORDER.c.version + 1)
        .returning(ORDER.c.version)
    ).first()
    if row is None:
        raise order_conflict(o.code, expected)
    return int(row[0])


def order_message(o: Any, event: str, role: Role, key: str, zh: str, en: str, **extra: Any) -> Message:
    payload: dict[str, Any] = {
        "project": o.project,
        "project_name": o.project_name,
        "department": o.lead,
        "order": o.code,
        "event": event,
        "deadline": _iso(o.deadline),
        "deadline_pending": o.deadline is None,
        "clause": CLAUSE,
        "message": zh,
        "message_en": en,
        **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in extra.items()},
    }
    return (key, f"order.{event}", role.value, payload, o.project)


def close_orders_of_findings(
    s: Session, app: App, findings: Sequence[tuple[int, str]], as_of: date, actor: str = SWEEP_ACTOR
) -> int:
    """Close the orders issued for findings the sweep has just closed (their cause is gone).

    The order is closed on ``as_of`` (never before its notice date) with ``closed_reason = finding_closed``
    and ``closed_late`` when that day is after the deadline — the department fixed the cause, so the program
    office has nothing left to verify; the audit event and the OrderStep keep the trail, and the program
    office may still reopen it. Returns the number of orders closed.
    """
    if not findings:
        return 0
    reason_of = dict(findings)
    rows: list[Any] = []
    for part in order_parts([fid for fid, _ in findings]):
        q = order_query().where(ORDER.c.finding_id.in_(part), ORDER.c.status != OrderStatus.CLOSED.value)
        rows += s.execute(q).all()
    now = app.clock()
    steps, records, messages = [], [], []
    for o in sorted(rows, key=lambda r: str(r.code)):
        closed_on = max(as_of, o.notice_date)
        late = is_late(closed_on, o.deadline)
        version = write_order(
            s,
            o,
            int(o.version),
            {
                "status": OrderStatus.CLOSED.value,
                "closed_on": closed_on,
                "closed_late": late,
                "closed_reason": FINDING_CLOSED,
            },
        )
        why = reason_of[int(o.finding_id)]
        late_zh, late_en = ("（逾期完成）", " (late)") if late else ("", "")
        zh = f"整改通知 {o.code} 针对的问题 {o.finding_key} 已消除，通知于 {closed_on.isoformat()} 关闭{late_zh}"
        en = f"order {o.code}: finding {o.finding_key} is closed, so the order closed on {closed_on.isoformat()}{late_en}"
        steps.append(
            {
                "key": f"{o.code}/close/v{version}",
                "order_id": o.id,
                "kind": "close",
                "on": closed_on,
                "at": now,
                "actor": actor,
                "note": zh,
                "payload": {
                    "finding": o.finding_key,
                    "finding_closed_reason": why,
                    "from": o.status,
                    "closed_late": late,
                    "deadline": _iso(o.deadline),
                },
            }
        )
        reason = order_reason("ORDER_CLOSED_WITH_FINDING", zh, en, o, version, o.status, "closed")
        records.append(system_record("order.close", actor, now, zh, project_code=o.project, reasons=[reason]))
        messages += [
            order_message(
                o,
                "closed",
                role,
                f"order/{o.code}/closed/v{version}/{role.value}",
                zh,
                en,
                closed_on=closed_on,
                closed_late=late,
            )
            for role in (Role.DEPARTMENT, Role.PROGRAM_OFFICE)
        ]
    insert_steps(s, steps)
    audit.append(s, records)
    enqueue_many(s, messages)
    return len(rows)


def order_reason(code: str, zh: str, en: str, o: Any, version: int, src: str, dst: str) -> dict[str, Any]:
    return {
        "code": code,
        "clause": CLAUSE,
        "message": zh,
        "message_en": en,
        "detail": {"order": o.code, "from": src, "to": dst, "version": version},
    }


# ---------------------------------------------------------------------------------------------- calendar alarm


def raise_calendar_alarm(app: App, exc: CalendarDataMissing, *, flow: str, as_of: date | None) -> NoReturn:
    """Tell the administrator that the calendar lacks a year (once per year), then re-raise ``exc`` — for a
    request that cannot be answered without the year (an extension ``--to`` a day in it).

    Called after the failed transaction has rolled back: the alarm is written in a transaction of its own so
    that it survives the failure it reports.
    """
    with unit_of_work(app.engine) as s:
        calendar_alarm(s, exc, flow=flow, as_of=as_of, now=app.clock())
    raise exc

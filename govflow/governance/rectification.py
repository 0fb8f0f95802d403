"""The rectification order use cases (整改通知; 限期整改, 733号文 第十一条): evidence → verification / rejection, reopening, extension. They follow the order lifecycle
``open → evidence_submitted → closed`` (or back to ``open``/``overdue``), ``open`` past the deadline →
``overdue``. Each writes an OrderStep and an audit event and notifies the other party through the outbox, in
one transaction, with an optimistic lock on ``rectification_order.version`` (a stale version is a
:class:`~states.errors.Conflict`, exit 5). Every status or deadline change moves the version; reminders and
escalation levels do not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from govflow.governance import sweep
from govflow.governance.deadlines import DeadlinesResult, run_deadlines
from govflow.governance.orders import (
    CLAUSE,
    CLOSED_REASON_LABELS,
    FINDING,
    ORDER,
    PROJECT,
    STATUS_LABELS,
    STEP,
    STEP_LABELS,
    VERIFIED,
    OrderStatus,
    OrderView,
    StepView,
    calendar_alarm,
    close_orders_of_findings,
    insert_steps,
    is_late,
    order_conflict,
    order_missing,
    order_query,
    order_row,
    order_view,
    raise_calendar_alarm,
    steps_of,
    try_date,
    write_order,
)
from govflow.governance.outbox import enqueue
from govflow.lifecycle.services import (
    Actor,
    App,
    _project_row,
    authorize,
    business_date,
    get_actor,
    record_change,
    use_case,
)
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import ProjectDepartment
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import CalendarDataMissing, RuleRefused, UsageError
from govflow.states.findings import RULE_LABELS
from govflow.states.permissions import Role, decide
from govflow.states.verdict import Reason
from govflow.states.vocabulary import pending_note

#: the order use cases, and the names of orders and of the deadlines run the CLI, the API and the web import here
__all__ = [
    "CHANGES",
    "CLAUSE",
    "CLOSED_REASON_LABELS",
    "EVIDENCE",
    "EXTEND",
    "ORDER",
    "REJECT",
    "REOPEN",
    "STATUS_LABELS",
    "STEP",
    "STEP_LABELS",
    "VERIFY",
    "DeadlinesResult",
    "OrderStatus",
    "OrderView",
    "StepView",
    "close_orders_of_findings",
    "extend_order",
    "list_orders",
    "order_refusals",
    "reject_evidence",
    "reopen_order",
    "run_deadlines",
    "show_order",
    "submit_evidence",
    "unverifiable",
    "verify_order",
]

# ---------------------------------------------------------------------------------------------- use cases


def _required(value: str | None, zh: str, en: str) -> str:
    text = (value or "").strip()
    if not text:
        raise UsageError(f"须填写{zh}", f"{en} is required")
    return text


@dataclass(frozen=True)
class _Change:
    """One order use case: who may do it (permission action), from which statuses, what it records."""

    action: str
    kind: str
    allowed: frozenset[OrderStatus]
    verb: tuple[str, str]
    notify: Role


Decision = tuple[dict[str, Any], dict[str, Any]]  # (new column values, step payload)


def _change(
    app: App,
    code: str,
    actor_name: str | None,
    change: _Change,
    note: str | None,
    decide: Callable[[Any, date], Decision],
    *,
    expect_version: int | None = None,
    gaps: Sequence[CalendarDataMissing] = (),
    guard: Callable[[Session, Any, date], Reason | None] | None = None,
) -> OrderView:
    """Run one order use case in one transaction. ``expect_version`` is the order version the caller saw (a page,
    ``--expect-version``, an API body): any change since is a :class:`Conflict`, told before the status check so
    that a stale page learns it is stale rather than that the new status forbids the action. Without it the
    write is still conditional on the version read here, so two concurrent changes never both apply. ``gaps``
    (filled by ``decide``) are the calendar years it left a deadline pending for: their admin alarm is written
    in the same transaction. ``guard`` may refuse the change on the order's facts (after its status)."""
    now = app.clock()
    today = business_date(now)  # deadlines are Beijing days
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        o = order_row(s, code)
        authorize(app, s, actor, change.action, _project_row(s, o.project), missing=order_missing(o.code))
        if expect_version is not None and expect_version != int(o.version):
            raise order_conflict(code, expect_version)
        src = OrderStatus(o.status)
        if src not in change.allowed:
            raise RuleRefused([_status_refusal(o, src, change)])
        refused = guard(s, o, today) if guard is not None else None
        if refused is not None:
            raise RuleRefused([refused])
        values, payload = decide(o, today)
        version = write_order(s, o, int(o.version), values)
        dst = OrderStatus(values.get("status", src.value))
        _record_change(s, app, actor, o, change, note, payload, version, src, dst, now)
        for gap in gaps:
            calendar_alarm(s, gap, flow=f"order.{change.kind}", as_of=today, now=now)
        return order_view(order_row(s, code), steps_of(s, int(o.id)))


def _status_refusal(o: Any, src: OrderStatus, change: _Change) -> Reason:
    allowed_zh = "、".join(f"「{st.label()}」" for st in sorted(change.allowed))
    allowed_en = ", ".join(f"'{st.label('en')}'" for st in sorted(change.allowed))
    return Reason(
        "ORDER_STATUS",
        CLAUSE,
        f"整改通知 {o.code} 当前为「{src.label()}」，不能{change.verb[0]}（须为{allowed_zh}）",
        f"order {o.code} is '{src.label('en')}'; cannot {change.verb[1]} (it must be {allowed_en})",
        detail={"order": o.code, "status": src.value},
    )


def _record_change(
    s: Session,
    app: App,
    actor: Actor,
    o: Any,
    change: _Change,
    note: str | None,
    payload: dict[str, Any],
    version: int,
    src: OrderStatus,
    dst: OrderStatus,
    now: datetime,
) -> None:
    """The OrderStep, the audit event and the outbox message of one use case, in its transaction."""
    moved_zh = f"「{src.label()}」→「{dst.label()}」" if src is not dst else f"「{src.label()}」"
    moved_en = f"'{src.label('en')}' → '{dst.label('en')}'" if src is not dst else f"'{src.label('en')}'"
    zh = f"{actor.name} {change.verb[0]}：整改通知 {o.code} {moved_zh}" + (f"；{note}" if note else "")
    en = f"{actor.name}: {change.verb[1]} order {o.code}, {moved_en}" + (f"; {note}" if note else "")
    if payload.get("explanation"):  # what the rules did with the request (a deadline moved to a working day)
        zh, en = f"{zh}；{payload['explanation']}", f"{en}; {payload.get('explanation_en')}"
        note = f"{note}；{payload['explanation']}" if note else str(payload["explanation"])
    clean = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in payload.items()}
    insert_steps(
        s,
        [
            {
                "key": f"{o.code}/{change.kind}/v{version}",
                "order_id": o.id,
                "kind": change.kind,
                "on": business_date(now),
                "at": now,
                "actor": actor.name,
                "note": note,
                "payload": {**clean, "from": src.value, "to": dst.value, "version": version},
            }
        ],
    )
    reason = {
        "code": f"ORDER_{change.kind.upper()}",
        "clause": CLAUSE,
        "message": zh,
        "message_en": en,
        "detail": {"order": o.code, "from": src.value, "to": dst.value, "version": version, **clean},
    }
    record_change(
        app, s, actor, change.action, kind="decision", outcome="accepted", at=now, project_code=o.project,
        reasons=[reason], note=note,
    )  # fmt: skip
    enqueue(
        s,
        f"order/{o.code}/{change.kind}/v{version}",
        f"order.{change.kind}",
        change.notify.value,
        {
            "project": o.project,
            "project_name": o.project_name,
            "department": o.lead,
            "order": o.code,
            "event": change.kind,
            "from": src.value,
            "to": dst.value,
            "actor": actor.name,
            "note": note,
            "clause": CLAUSE,
            "message": zh,
            "message_en": en,
            **clean,
        },
        project_code=o.project,
    )


_ALL_BUT_CLOSED = frozenset({OrderStatus.OPEN, OrderStatus.OVERDUE, OrderStatus.EVIDENCE_SUBMITTED})
EVIDENCE = _Change(
    "order.evidence",
    "evidence",
    frozenset({OrderStatus.OPEN, OrderStatus.OVERDUE}),
    ("提交整改材料", "submit evidence for"),
    Role.PROGRAM_OFFICE,
)
VERIFY = _Change(
    "order.verify",
    "verify",
    frozenset({OrderStatus.EVIDENCE_SUBMITTED}),
    ("核验通过", "verify"),
    Role.DEPARTMENT,
)
REJECT = _Change(
    "order.verify",
    "reject",
    frozenset({OrderStatus.EVIDENCE_SUBMITTED}),
    ("退回整改材料", "reject the evidence of"),
    Role.DEPARTMENT,
)
REOPEN = _Change(
    "order.reopen", "reopen", frozenset({OrderStatus.CLOSED}), ("重新打开", "reopen"), Role.DEPARTMENT
)
EXTEND = _Change("order.extend", "extend", _ALL_BUT_CLOSED, ("延长整改期限", "extend"), Role.DEPARTMENT)


#: the changes an order page offers, by name (its buttons)
CHANGES: dict[str, _Change] = {
    "evidence": EVIDENCE,
    "verify": VERIFY,
    "reject": REJECT,
    "extend": EXTEND,
    "reopen": REOPEN,
}


def order_refusals(
    actor: Actor, order: OrderView, unrectified: Reason | None = None
) -> dict[str, list[Reason]]:
    """The dry run of an order's changes: what :func:`_change` would refuse each of them for if ``actor`` made it
    now — the permission table and department scope, then the order's status, then for verification the
    obligation still broken (``unrectified``, from :func:`unverifiable`) — with nothing written. Empty lists are
    changes that would go through (a note or a date aside, which their forms ask for)."""
    out: dict[str, list[Reason]] = {}
    for name, change in CHANGES.items():
        denied = decide(
            actor.role,
            change.action,
            user=actor.name,
            user_department=actor.department,
            lead=order.department,
        )
        if denied is not None:
            out[name] = [denied]
        elif order.status not in change.allowed:
            out[name] = [_status_refusal(order, order.status, change)]
        elif change is VERIFY and unrectified is not None:
            out[name] = [unrectified]
        else:
            out[name] = []
    return out


@use_case
def submit_evidence(
    app: App, order_code: str, actor: str | None, note: str | None, *, expect_version: int | None = None
) -> OrderView:
    """The lead department submits its rectification evidence: open|overdue → evidence_submitted."""
    text = _required(note, "整改材料说明（--note）", "an evidence note (--note)")

    def decide(o: Any, today: date) -> Decision:
        return {"status": OrderStatus.EVIDENCE_SUBMITTED.value}, {"late": is_late(today, o.deadline)}

    return _change(app, order_code, actor, EVIDENCE, text, decide, expect_version=expect_version)


@use_case
def verify_order(
    app: App,
    order_code: str,
    actor: str | None,
    note: str | None = None,
    *,
    expect_version: int | None = None,
) -> OrderView:
    """The program office verifies the evidence: evidence_submitted → closed (late if after the deadline)."""

    def decide(o: Any, today: date) -> Decision:
        late = is_late(today, o.deadline)
        values = {
            "status": OrderStatus.CLOSED.value,
            "closed_on": today,
            "closed_late": late,
            "closed_reason": VERIFIED,
        }
        return values, {"closed_on": today, "closed_late": late}

    text = (note or "").strip() or None
    return _change(
        app, order_code, actor, VERIFY, text, decide, expect_version=expect_version, guard=unrectified
    )


def unrectified(s: Session, o: Any, today: date) -> Reason | None:
    """Why order ``o`` cannot be verified today: the obligation it was issued for is still broken, as the sweep
    judges it today (:func:`govflow.governance.sweep.broken_on`) — materials submitted are not a rectification
    while the exchange platform's records or the agreement still say otherwise (第十一条). None when the order
    has no finding (an acceptance's order: its materials are judged again when acceptance is requested) or the
    obligation is met. The reason names the rule only, not the catalog item (the program office may not read a
    secret item's name, 第二条第三款)."""
    if o.finding_id is None:
        return None
    subject = s.execute(select(FINDING.c.subject).where(FINDING.c.id == o.finding_id)).scalar_one()
    rule = sweep.broken_on(s, int(o.project_id), today).get(str(subject))
    if rule is None:
        return None
    zh, en = RULE_LABELS.get(rule, (rule, rule))
    day = today.isoformat()
    return Reason(
        "ORDER_NOT_RECTIFIED",
        CLAUSE,
        f"整改通知 {o.code} 所针对的问题（{zh}）截至 {day} 仍然存在：核验以交换平台的交付记录和共享协定为准，"
        "提交了整改材料不等于问题已消除；待问题消除后再核验，或退回材料",
        f"the problem order {o.code} was issued for ({en}) still stands on {day}: verification rests on the "
        "exchange platform's delivery records and the sharing agreements, and submitted materials do not remove "
        "it; verify once it is gone, or reject the evidence",
        detail={"order": o.code, "rule": rule, "as_of": day},
    )


@use_case
def unverifiable(app: App, codes: Sequence[str], today: date) -> dict[str, Reason]:
    """:func:`unrectified` for those of ``codes`` awaiting verification, for the dry run of their pages (one
    sweep read per project)."""
    q = (
        select(ORDER.c.code, ORDER.c.project_id, ORDER.c.finding_id)
        .where(ORDER.c.code.in_(sorted(set(codes))))
        .where(ORDER.c.status == OrderStatus.EVIDENCE_SUBMITTED.value, ORDER.c.finding_id.is_not(None))
    )
    out: dict[str, Reason] = {}
    if not codes:
        return out
    with unit_of_work(app.engine, write=False) as s:
        for o in s.execute(q).all():
            reason = unrectified(s, o, today)
            if reason is not None:
                out[str(o.code)] = reason
    return out


@use_case
def reject_evidence(
    app: App, order_code: str, actor: str | None, reason: str | None, *, expect_version: int | None = None
) -> OrderView:
    """The program office rejects the evidence: back to open, or to overdue when the deadline has passed."""
    text = _required(reason, "退回理由（--reason）", "a reason (--reason)")

    def decide(o: Any, today: date) -> Decision:
        if is_late(today, o.deadline):
            since = o.overdue_since or today
            return {"status": OrderStatus.OVERDUE.value, "overdue_since": since}, {"overdue_since": since}
        return {"status": OrderStatus.OPEN.value}, {}

    return _change(app, order_code, actor, REJECT, text, decide, expect_version=expect_version)


@use_case
def reopen_order(
    app: App, order_code: str, actor: str | None, reason: str | None, *, expect_version: int | None = None
) -> OrderView:
    """The program office reopens a closed order (e.g. the fix did not last): closed → open, with a reason."""
    text = _required(reason, "重新打开的理由（--reason）", "a reason (--reason)")

    def decide(o: Any, today: date) -> Decision:
        values = {
            "status": OrderStatus.OPEN.value,
            "closed_on": None,
            "closed_late": None,
            "closed_reason": None,
        }
        return values, {"was_closed_on": o.closed_on, "was_closed_reason": o.closed_reason}

    return _change(app, order_code, actor, REOPEN, text, decide, expect_version=expect_version)


@use_case
def extend_order(
    app: App,
    order_code: str,
    actor: str | None,
    reason: str | None,
    *,
    new_deadline: date | None = None,
    workdays: int | None = None,
    expect_version: int | None = None,
) -> OrderView:
    """The program office extends the deadline, to a later day (``new_deadline``; a day off moves to the next
    working day, 民法典 第二百零三条, and the step says so) or by ``workdays`` working days after the current
    deadline. The first deadline stays in ``original_deadline``; an overdue
    order whose new deadline is today or later is open again.

    A year without calendar data (期限待定): ``workdays`` that reach into it leave the deadline pending
    (``pending_from`` = the current deadline, ``pending_workdays`` = ``workdays``; a pending order adds
    ``workdays`` to its pending count), the order is open, and the deadlines run dates it once the year is
    imported; the admin alarm is written with the change. ``new_deadline`` in such a year is refused
    (:class:`CalendarDataMissing`, naming the year), as is ``new_deadline`` for an order whose deadline is
    pending (it cannot be compared with a deadline nobody knows yet)."""
    text = _required(reason, "延期理由（--reason）", "a reason (--reason)")
    if (new_deadline is None) == (workdays is None):
        raise UsageError(
            "须且只能指定新的截止日期（--to）或延长的工作日数（--workdays）之一",
            "give exactly one of a new deadline (--to) or a number of working days (--workdays)",
        )
    if workdays is not None and workdays < 1:
        raise UsageError("延长的工作日数须至少为 1", "--workdays must be at least 1")
    cal = app.calendar

    gaps: list[CalendarDataMissing] = []

    def decide(o: Any, today: date) -> Decision:
        if new_deadline is None and workdays is not None:
            pending = _pending_extension(cal, o, workdays, gaps)
            if pending is not None:
                return pending
        target = new_deadline if new_deadline is not None else cal.add_workdays(o.deadline, workdays or 0)
        payload: dict[str, Any] = {"previous_deadline": o.deadline, "deadline": target, "workdays": workdays}
        if o.deadline is not None and not cal.is_workday(target):
            # 民法典 第二百零三条: a period whose last day is a day off ends on the next working day
            moved = cal.add_workdays(target, 1)
            payload.update(
                deadline=moved,
                requested=target,
                explanation=f"{target.isoformat()} 不是工作日，期限顺延至其后第一个工作日 {moved.isoformat()}"
                f"（{CIVIL_CODE_203}）",
                explanation_en=f"{target.isoformat()} is not a working day: the deadline moves to the next "
                f"working day, {moved.isoformat()} ({CIVIL_CODE_203})",
            )
            target = moved
        _check_extension(cal, o, target)
        values: dict[str, Any] = {
            "deadline": target,
            "original_deadline": o.original_deadline or o.deadline,
        }
        if o.status == OrderStatus.OVERDUE.value and target >= today:
            values["status"] = OrderStatus.OPEN.value
        return values, payload

    try:
        return _change(app, order_code, actor, EXTEND, text, decide, expect_version=expect_version, gaps=gaps)
    except CalendarDataMissing as exc:
        refusal = CalendarDataMissing(
            f"{exc.message}；新的截止日期无法确认为工作日：请改用 --workdays 按工作日数延长（期限待定，导入后自动确定），"
            f"或先导入 {exc.year} 年工作日历（govflow calendar import）",
            f"{exc.message_en}; the new deadline cannot be checked as a working day: extend by --workdays "
            f"instead (the deadline stays pending until the year is imported) or import the {exc.year} "
            "calendar first (govflow calendar import)",
            year=exc.year,
        )
        raise_calendar_alarm(app, refusal, flow="order.extend", as_of=business_date(app.clock()))


def _pending_extension(
    cal: WorkCalendar, o: Any, workdays: int, gaps: list[CalendarDataMissing]
) -> Decision | None:
    """The decision of an extension by ``workdays`` that leaves the deadline pending (期限待定): the order's
    deadline is pending already (its pending count grows; the deadlines run dates it), or the new one falls in a
    year without calendar data. None when the new deadline can be dated (the caller extends as usual)."""
    if o.deadline is None:
        start, n = o.pending_from or o.notice_date, int(o.pending_workdays or o.workdays) + workdays
    else:
        start, n = o.deadline, workdays
    target = try_date(cal, start, n)
    if isinstance(target, date) and o.deadline is not None:
        return None
    values: dict[str, Any] = {
        "deadline": None,
        "original_deadline": o.original_deadline or o.deadline,
        "pending_from": start,
        "pending_workdays": n,
    }
    if o.status == OrderStatus.OVERDUE.value:  # a deadline in a year not yet known is not past
        values["status"] = OrderStatus.OPEN.value
    payload: dict[str, Any] = {
        "previous_deadline": o.deadline,
        "deadline": None,
        "deadline_pending": True,
        "workdays": workdays,
        "pending_from": start,
        "pending_workdays": n,
    }
    if isinstance(target, CalendarDataMissing):
        gaps.append(target)
        since = None if start == o.notice_date else start
        payload["pending_note"] = pending_note(target.year, n, since=since)
        payload["pending_note_en"] = pending_note(target.year, n, "en", since=since)
    return values, payload


#: a period whose last day is a day off ends on the next working day
CIVIL_CODE_203 = "《中华人民共和国民法典》第二百零三条"


def _check_extension(cal: WorkCalendar, o: Any, target: date) -> None:
    if o.deadline is None:
        raise RuleRefused(
            [
                Reason(
                    "EXTENSION_OF_PENDING_DEADLINE",
                    CLAUSE,
                    f"整改通知 {o.code} 的整改期限待定（工作日历尚缺年份），不能延长到指定日期；请按工作日数延长（--workdays）",
                    f"the deadline of order {o.code} is pending (a calendar year is missing): it cannot be "
                    "extended to a given day; extend it by a number of working days (--workdays)",
                    detail={"order": o.code, "deadline": None, "to": target.isoformat()},
                )
            ]
        )
    if target <= o.deadline:
        raise RuleRefused(
            [
                Reason(
                    "EXTENSION_NOT_LATER",
                    CLAUSE,
                    f"新的截止日期 {target.isoformat()} 须晚于整改通知 {o.code} 当前的截止日期 {o.deadline.isoformat()}",
                    f"the new deadline {target.isoformat()} must be after the current deadline "
                    f"{o.deadline.isoformat()} of order {o.code}",
                    detail={"order": o.code, "deadline": o.deadline.isoformat(), "to": target.isoformat()},
                )
            ]
        )


@use_case
def list_orders(
    app: App, actor: str | None, *, status: str | None = None, project: str | None = None
) -> list[OrderView]:
    """Orders the actor may read (a department user: of the projects it leads or takes part in)."""
    if status is not None and status not in {st.value for st in OrderStatus}:
        raise UsageError(
            f"状态 {status} 无效；可选：{', '.join(st.value for st in OrderStatus)}",
            f"invalid status {status}; one of {', '.join(st.value for st in OrderStatus)}",
        )
    with unit_of_work(app.engine, write=False) as s:
        who = get_actor(s, actor)
        q = order_query()
        if project is not None:
            p = _project_row(s, project)
            authorize(app, s, who, "order.read", p)
            q = q.where(ORDER.c.project_id == p["id"])
        else:
            authorize(app, s, who, "order.read")
            if who.role is Role.DEPARTMENT:
                pd = t(ProjectDepartment)
                mine = select(pd.c.project_id).where(pd.c.department_id == who.department_id)
                q = q.where((PROJECT.c.lead_department_id == who.department_id) | PROJECT.c.id.in_(mine))
        if status is not None:
            q = q.where(ORDER.c.status == status)
        return [order_view(r) for r in s.execute(q.order_by(PROJECT.c.code, ORDER.c.code))]


@use_case
def show_order(app: App, order_code: str, actor: str | None) -> OrderView:
    """One order with its steps (issue, reminders, overdue, escalations, evidence, decisions), oldest first."""
    with unit_of_work(app.engine, write=False) as s:
        who = get_actor(s, actor)
        o = order_row(s, order_code)
        authorize(app, s, who, "order.read", _project_row(s, o.project), missing=order_missing(order_code))
        return order_view(o, steps_of(s, int(o.id)))

"""Rectification orders (整改通知; 限期整改, 733号文 第十一条): the deadlines run and the order use cases.

``run_deadlines`` (SPEC §4.2, docs/governance.md), for the orders of the projects in a chunk, in one transaction:

1. every open finding without an order gets one: ``RO-{project}-{nn}``, notice date ``as_of``, deadline
   ``add_workdays(as_of, policy.rectification.workdays)``, the policy version, origin ``finding``;
2. reminders ``r`` working days before the deadline (policy, default 5 and 1) for open orders, sent when
   ``notice_date < sub_workdays(deadline, r) <= as_of <= deadline`` and not sent before: a skipped run sends the
   missed reminder late, once (OrderStep key ``{code}/reminder-{r}``);
3. an open order past its deadline becomes ``overdue`` (``overdue_since = as_of``) and is notified once to audit,
   the program office and the lead department, with an audit event (OrderStep ``{code}/overdue``);
4. each escalation step of the policy fires once when the order is ``after_workdays`` working days overdue
   (OrderStep ``{code}/escalation-{level}``), notifying the step's roles and raising ``escalation_level``.

Orders opened by ``fail_acceptance`` (origin ``fail_acceptance``) get the same reminders, overdue handling and
escalation, from the active policy (also those written before acceptance orders recorded a policy version).
``original_deadline`` is the first deadline, set when the order is issued (as ``fail_acceptance`` does) and kept
by extensions. After an extension the reminder and overdue steps are
keyed by the new deadline as well (``{code}/reminder-5@2027-01-08``), so the new deadline is reminded and
watched again; escalation steps fire once per order, whatever its deadlines.

A date in a year without calendar data stops the run: the transaction is rolled back, an alarm for the
administrator is written to the outbox in a transaction of its own (key ``alarm/calendar/{year}``, once per
year) and :class:`~states.errors.CalendarDataMissing` is re-raised (exit 3; the caller records the run as failed).

The use cases (evidence → verification / rejection, reopening, extension) follow the order lifecycle
``open → evidence_submitted → closed`` (or back to ``open``/``overdue``), ``open`` past the deadline →
``overdue``. Each writes an OrderStep and an audit event and notifies the other party through the outbox, in
one transaction, with an optimistic lock on ``rectification_order.version`` (a stale version is a
:class:`~states.errors.Conflict`, exit 5). Every status or deadline change moves the version; reminders and
escalation levels do not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NoReturn

from sqlalchemy import bindparam, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from govflow.governance.outbox import enqueue, enqueue_many
from govflow.governance.policy_service import active_policy
from govflow.governance.sweep import SWEEP_ACTOR, SYSTEM_ROLE, describe_finding
from govflow.lifecycle.services import Actor, App, _project_row, authorize, business_date, get_actor, use_case
from govflow.models import audit
from govflow.models.audit import AuditRecord
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import Finding, OrderStep, Project, ProjectDepartment, RectificationOrder
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import CalendarDataMissing, Conflict, NotFound, RuleRefused, UsageError
from govflow.states.permissions import Role
from govflow.states.policy import Policy
from govflow.states.verdict import Reason, clause
from govflow.states.vocabulary import OrderStatus as OrderStatus  # the domain's word, re-exported

ORDER, STEP, FINDING, PROJECT = t(RectificationOrder), t(OrderStep), t(Finding), t(Project)
CLAUSE = clause("第十一条")
DEADLINES_ACTOR = "govflow-deadlines"

Message = tuple[str, str, str, dict[str, Any], str | None]


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
    "close": ("随问题消除关闭", "closed with its finding"),
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
    deadline: date
    original_deadline: date | None
    overdue_since: date | None
    escalation_level: int
    closed_on: date | None
    closed_late: bool | None
    closed_reason: str | None
    policy_version: str | None
    version: int
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
            "deadline": self.deadline.isoformat(),
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


def _order_query() -> Select[Any]:
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


def _view(r: Any, steps: Sequence[StepView] = ()) -> OrderView:
    return OrderView(
        code=r.code,
        project=r.project,
        project_name=r.project_name,
        department=r.lead,
        department_name=r.lead_name,
        status=OrderStatus(r.status),
        origin=r.origin,
        finding=r.finding_key,
        notice_date=r.notice_date,
        workdays=int(r.workdays),
        deadline=r.deadline,
        original_deadline=r.original_deadline,
        overdue_since=r.overdue_since,
        escalation_level=int(r.escalation_level),
        closed_on=r.closed_on,
        closed_late=r.closed_late,
        closed_reason=r.closed_reason,
        policy_version=r.policy_version,
        version=int(r.version),
        reasons=tuple(r.reasons or ()),
        steps=tuple(steps),
    )


def _steps(s: Session, order_id: int) -> list[StepView]:
    q = select(STEP).where(STEP.c.order_id == order_id).order_by(STEP.c.id)  # as recorded
    return [StepView(r.key, r.kind, r.on, r.at, r.actor, r.note, dict(r.payload or {})) for r in s.execute(q)]


def order_missing(code: str) -> NotFound:
    """A missing order, and one the reader may not see, are told alike (no existence oracle)."""
    return NotFound(f"整改通知 {code} 不存在", f"rectification order {code} does not exist")


def _order_row(s: Session, code: str) -> Any:
    r = s.execute(_order_query().where(ORDER.c.code == code)).first()
    if r is None:
        raise order_missing(code)
    return r


# ---------------------------------------------------------------------------------------------- shared writes


def _in_chunk(column: ColumnElement[int], chunk: tuple[int, int] | None) -> ColumnElement[bool]:
    if chunk is None:
        return literal(True)
    return column.between(chunk[0], chunk[1])


def _parts(values: Sequence[Any], size: int = 5000) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def insert_steps(s: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert order steps in one statement, skipping keys already present; returns the keys written."""
    if not rows:
        return set()
    ins = (postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert)(STEP)
    res = s.execute(ins.on_conflict_do_nothing(index_elements=["key"]).returning(STEP.c.key), list(rows))
    return {str(k) for (k,) in res.all()}


def _deadline_tag(o: Any) -> str:
    """Once-only steps of a deadline: keyed by the deadline itself once the order has been extended."""
    if o.original_deadline is None or o.original_deadline == o.deadline:
        return ""
    return f"@{o.deadline.isoformat()}"


def _order_conflict(code: str, expected: int) -> Conflict:
    return Conflict(
        f"整改通知 {code} 已被他人修改（预期版本 {expected}），请刷新后重试",
        f"rectification order {code} was changed by someone else (expected version {expected}); "
        "reload and try again",
    )


def _write_order(s: Session, o: Any, expected: int, values: Mapping[str, Any]) -> int:
    """Optimistic write: only if the order still has version ``expected``; returns the new version."""
    row = s.execute(
        update(ORDER)
        .where(ORDER.c.id == o.id, ORDER.c.version == expected)
        .values(**values, version=ORDER.c.version + 1)
        .returning(ORDER.c.version)
    ).first()
    if row is None:
        raise _order_conflict(o.code, expected)
    return int(row[0])


def _message(o: Any, event: str, role: Role, key: str, zh: str, en: str, **extra: Any) -> Message:
    payload: dict[str, Any] = {
        "project": o.project,
        "project_name": o.project_name,
        "department": o.lead,
        "order": o.code,
        "event": event,
        "deadline": o.deadline.isoformat(),
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
    for part in _parts([fid for fid, _ in findings]):
        q = _order_query().where(ORDER.c.finding_id.in_(part), ORDER.c.status != OrderStatus.CLOSED.value)
        rows += s.execute(q).all()
    now = app.clock()
    steps, records, messages = [], [], []
    for o in sorted(rows, key=lambda r: str(r.code)):
        closed_on = max(as_of, o.notice_date)
        late = closed_on > o.deadline
        version = _write_order(
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
                    "deadline": o.deadline.isoformat(),
                },
            }
        )
        records.append(
            AuditRecord(
                kind="decision",
                outcome="recorded",
                action="order.close",
                actor=actor,
                role=SYSTEM_ROLE,
                occurred_at=now,
                project_code=o.project,
                reasons=[_reason("ORDER_CLOSED_WITH_FINDING", zh, en, o, version, o.status, "closed")],
                note=zh,
            )
        )
        messages += [
            _message(
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


def _reason(code: str, zh: str, en: str, o: Any, version: int, src: str, dst: str) -> dict[str, Any]:
    return {
        "code": code,
        "clause": CLAUSE,
        "message": zh,
        "message_en": en,
        "detail": {"order": o.code, "from": src, "to": dst, "version": version},
    }


# ---------------------------------------------------------------------------------------------- calendar alarm


def raise_calendar_alarm(app: App, exc: CalendarDataMissing, *, flow: str, as_of: date | None) -> NoReturn:
    """Tell the administrator that the calendar lacks a year (once per year), then re-raise ``exc``.

    Called after the failed transaction has rolled back: the alarm is written in a transaction of its own so
    that it survives the failure it reports.
    """
    year = str(exc.year)  # the payload has always carried the year as text
    with unit_of_work(app.engine) as s:
        enqueue(
            s,
            f"alarm/calendar/{year}",
            "alarm.calendar",
            Role.ADMIN.value,
            {
                "year": year,
                "flow": flow,
                "as_of": _iso(as_of),
                "error": exc.code,
                "clause": CLAUSE,
                "message": f"整改期限无法计算：{exc.message}",
                "message_en": f"rectification deadlines cannot be computed: {exc.message_en}",
                "raised_at": app.clock().isoformat(),
            },
        )
    raise exc


# ---------------------------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class DeadlinesResult:
    """What one deadlines run of one chunk did."""

    as_of: date
    chunk: tuple[int, int] | None
    orders_issued: int
    reminders: int
    overdue: int
    escalations: int
    issued_codes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": "deadlines",
            "as_of": self.as_of.isoformat(),
            "chunk": list(self.chunk) if self.chunk else None,
            "orders_issued": self.orders_issued,
            "reminders": self.reminders,
            "overdue": self.overdue,
            "escalations": self.escalations,
        }


@dataclass
class _Run:
    s: Session
    app: App
    calendar: WorkCalendar
    policy: Policy
    as_of: date
    chunk: tuple[int, int] | None
    now: datetime
    _sub: dict[tuple[date, int], date] = field(default_factory=dict)
    _after: dict[date, int] = field(default_factory=dict)

    def sub(self, d: date, n: int) -> date:
        if (d, n) not in self._sub:
            self._sub[(d, n)] = self.calendar.sub_workdays(d, n)
        return self._sub[(d, n)]

    def overdue_workdays(self, deadline: date) -> int:
        if deadline not in self._after:
            self._after[deadline] = self.calendar.workdays_after(deadline, self.as_of)
        return self._after[deadline]

    def step(self, o: Any, key: str, kind: str, note: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "key": key,
            "order_id": o.id,
            "kind": kind,
            "on": self.as_of,
            "at": self.now,
            "actor": DEADLINES_ACTOR,
            "note": note,
            "payload": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in payload.items()},
        }

    def record(self, action: str, o: Any, reasons: list[dict[str, Any]], note: str) -> AuditRecord:
        return AuditRecord(
            kind="decision",
            outcome="recorded",
            action=action,
            actor=DEADLINES_ACTOR,
            role=SYSTEM_ROLE,
            occurred_at=self.now,
            project_code=o.project,
            reasons=reasons,
            note=note,
        )


def run_deadlines(app: App, as_of: date, chunk: tuple[int, int] | None = None) -> DeadlinesResult:
    """Issue, remind, mark overdue and escalate the rectification orders of the projects in ``chunk``."""
    try:
        with unit_of_work(app.engine) as s:
            run = _Run(s, app, app.calendar, active_policy(s), as_of, chunk, app.clock())
            codes = _issue_orders(run)
            reminders = _remind(run)
            overdue_rows = _mark_overdue(run)
            overdue = _notify_overdue(run, overdue_rows)
            escalations = _escalate(run, overdue_rows)
            result = DeadlinesResult(as_of, chunk, len(codes), reminders, overdue, escalations, tuple(codes))
            if codes or reminders or overdue or escalations:
                _audit_run(run, result)
            return result
    except CalendarDataMissing as exc:
        raise_calendar_alarm(app, exc, flow="deadlines", as_of=as_of)


def _issue_orders(run: _Run) -> list[str]:
    """整改通知 for every open finding (opened on or before ``as_of``) that has no order yet."""
    lead = DEPT.alias("lead")
    q = (
        select(
            FINDING.c.id,
            FINDING.c.key,
            FINDING.c.rule,
            FINDING.c.clause,
            FINDING.c.period,
            FINDING.c.evidence,
            FINDING.c.project_id,
            PROJECT.c.code.label("project"),
            PROJECT.c.name.label("project_name"),
            lead.c.code.label("lead"),
            lead.c.name.label("lead_name"),
        )
        .join(PROJECT, PROJECT.c.id == FINDING.c.project_id)
        .join(lead, lead.c.id == PROJECT.c.lead_department_id)
        .where(
            FINDING.c.status == "open",
            FINDING.c.opened_on <= run.as_of,
            _in_chunk(FINDING.c.project_id, run.chunk),
            # NOT IN a subquery is evaluated once (rectification_order.finding_id has no index, so a
            # correlated NOT EXISTS would scan the orders once per finding)
            FINDING.c.id.not_in(select(ORDER.c.finding_id).where(ORDER.c.finding_id.is_not(None))),
        )
        .order_by(PROJECT.c.code, FINDING.c.key)
    )
    findings = run.s.execute(q).all()
    if not findings:
        return []
    workdays = run.policy.rectification.workdays
    deadline = run.calendar.add_workdays(run.as_of, workdays)
    pids = sorted({int(f.project_id) for f in findings})
    counts: dict[int, int] = {}
    for part in _parts(pids):
        counts.update(
            (int(p), int(n))
            for p, n in run.s.execute(
                select(ORDER.c.project_id, func.count())
                .where(ORDER.c.project_id.in_(part))
                .group_by(ORDER.c.project_id)
            )
        )
    rows, by_code = [], {}
    for f in findings:
        n = counts.get(int(f.project_id), 0) + 1
        counts[int(f.project_id)] = n
        code = f"RO-{f.project}-{n:02d}"
        ev = dict(f.evidence or {})
        rows.append(
            {
                "code": code,
                "project_id": f.project_id,
                "finding_id": f.id,
                "origin": "finding",
                "reasons": [
                    {
                        "code": f.rule,
                        "clause": f.clause,
                        "message": describe_finding(f.rule, ev),
                        "message_en": describe_finding(f.rule, ev, "en"),
                        "detail": {"finding": f.key, "period": f.period},
                    }
                ],
                "notice_date": run.as_of,
                "workdays": workdays,
                "deadline": deadline,
                "original_deadline": deadline,
                "status": OrderStatus.OPEN.value,
                "policy_version": run.policy.version,
                "escalation_level": 0,
                "version": 1,
            }
        )
        by_code[code] = f
    ids = {str(c): int(i) for i, c in run.s.execute(insert(ORDER).returning(ORDER.c.id, ORDER.c.code), rows)}
    steps, records, messages = [], [], []
    for row in rows:
        code, f = str(row["code"]), by_code[str(row["code"])]
        o = _Issued(ids[code], code, f.project, f.project_name, f.lead, deadline)
        zh = (
            f"下达整改通知 {code}：{row['reasons'][0]['message']}；请于 {deadline.isoformat()} 前完成整改"
            f"（通知日后 {workdays} 个工作日，{CLAUSE}）"
        )
        en = (
            f"order {code} issued: {row['reasons'][0]['message_en']}; rectify by {deadline.isoformat()} "
            f"({workdays} working days after the notice, {CLAUSE})"
        )
        steps.append(
            run.step(
                o,
                f"{code}/issued",
                "issued",
                f"整改期限 {deadline.isoformat()}（通知日后 {workdays} 个工作日，{CLAUSE}）",
                {
                    "finding": f.key,
                    "deadline": deadline,
                    "workdays": workdays,
                    "policy_version": run.policy.version,
                },
            )
        )
        records.append(run.record("order.issue", o, list(row["reasons"]), zh))
        messages.append(
            _message(
                o,
                "issued",
                Role.DEPARTMENT,
                f"order/{code}/issued",
                zh,
                en,
                notice_date=run.as_of,
                workdays=workdays,
                finding=f.key,
            )
        )
    insert_steps(run.s, steps)
    audit.append(run.s, records)
    enqueue_many(run.s, messages)
    return [str(r["code"]) for r in rows]


@dataclass(frozen=True)
class _Issued:
    """The few fields of a just-issued order that steps and messages need (the shape of an order row)."""

    id: int
    code: str
    project: str
    project_name: str
    lead: str
    deadline: date


def _orders(run: _Run, *statuses: OrderStatus) -> list[Any]:
    q = _order_query().where(
        ORDER.c.status.in_([st.value for st in statuses]),
        ORDER.c.notice_date <= run.as_of,
        _in_chunk(ORDER.c.project_id, run.chunk),
    )
    return list(run.s.execute(q.order_by(ORDER.c.code)).all())


def _remind(run: _Run) -> int:
    """Reminders due by ``as_of`` and not yet sent, late ones included (catch-up), never after the deadline."""
    steps: list[dict[str, Any]] = []
    meta: dict[str, tuple[Any, int, date]] = {}
    for o in _orders(run, OrderStatus.OPEN):
        if o.deadline < run.as_of:
            continue
        for r in sorted(run.policy.rectification.reminders, reverse=True):
            day = run.sub(o.deadline, r)
            if not (o.notice_date < day <= run.as_of):
                continue
            key = f"{o.code}/reminder-{r}{_deadline_tag(o)}"
            meta[key] = (o, r, day)
            steps.append(
                run.step(
                    o,
                    key,
                    "reminder",
                    f"截止前第 {r} 个工作日提醒（应于 {day.isoformat()} 提醒）",
                    {"reminder": r, "due_on": day, "deadline": o.deadline, "late": day < run.as_of},
                )
            )
    sent = insert_steps(run.s, steps)
    messages = []
    for key in sorted(sent):
        o, r, day = meta[key]
        zh = (
            f"整改通知 {o.code}（项目 {o.project}）将于 {o.deadline.isoformat()} 到期，距截止还有 {r} 个工作日；"
            f"请按期完成整改并提交整改材料（{CLAUSE}）"
        )
        en = (
            f"order {o.code} (project {o.project}) is due on {o.deadline.isoformat()}, {r} working days from now; "
            f"rectify and submit evidence in time ({CLAUSE})"
        )
        messages.append(
            _message(
                o,
                "reminder",
                Role.DEPARTMENT,
                f"order/{key}",
                zh,
                en,
                reminder=r,
                due_on=day,
                late=day < run.as_of,
            )
        )
    enqueue_many(run.s, messages)
    return len(sent)


def _mark_overdue(run: _Run) -> list[Any]:
    """Open orders past their deadline become overdue; returns every overdue order of the chunk."""
    run.s.execute(
        update(ORDER)
        .where(
            ORDER.c.status == OrderStatus.OPEN.value,
            ORDER.c.deadline < run.as_of,
            ORDER.c.notice_date <= run.as_of,
            _in_chunk(ORDER.c.project_id, run.chunk),
        )
        .values(status=OrderStatus.OVERDUE.value, overdue_since=run.as_of, version=ORDER.c.version + 1)
    )
    return [o for o in _orders(run, OrderStatus.OVERDUE) if o.deadline < run.as_of]


def _notify_overdue(run: _Run, rows: Sequence[Any]) -> int:
    """An overdue order is told once (per deadline) to audit, the program office and the lead department."""
    steps, meta = [], {}
    for o in rows:
        key = f"{o.code}/overdue{_deadline_tag(o)}"
        n = run.overdue_workdays(o.deadline)
        meta[key] = (o, n)
        steps.append(
            run.step(
                o,
                key,
                "overdue",
                f"已逾期 {n} 个工作日（截止 {o.deadline.isoformat()}）",
                {"deadline": o.deadline, "overdue_since": o.overdue_since, "overdue_workdays": n},
            )
        )
    new = insert_steps(run.s, steps)
    records, messages = [], []
    for key in sorted(new):
        o, n = meta[key]
        zh = (
            f"整改通知 {o.code}（项目 {o.project} {o.project_name}）已逾期：截止日期 {o.deadline.isoformat()}，"
            f"至 {run.as_of.isoformat()} 逾期 {n} 个工作日，未完成整改（{CLAUSE} 限期整改）"
        )
        en = (
            f"order {o.code} (project {o.project}) is overdue: due {o.deadline.isoformat()}, {n} working days "
            f"overdue on {run.as_of.isoformat()} ({CLAUSE})"
        )
        records.append(
            run.record(
                "order.overdue",
                o,
                [_reason("ORDER_OVERDUE", zh, en, o, int(o.version), "open", "overdue")],
                zh,
            )
        )
        for role in (Role.AUDIT, Role.PROGRAM_OFFICE, Role.DEPARTMENT):
            messages.append(
                _message(
                    o,
                    "overdue",
                    role,
                    f"order/{key}/{role.value}",
                    zh,
                    en,
                    overdue_since=o.overdue_since,
                    overdue_workdays=n,
                )
            )
    audit.append(run.s, records)
    enqueue_many(run.s, messages)
    return len(new)


def _escalate(run: _Run, rows: Sequence[Any]) -> int:
    """Each escalation step of the policy fires once per order, when it is that many working days overdue."""
    policy_steps = run.policy.rectification.escalation
    steps, meta = [], {}
    for o in rows:
        n = run.overdue_workdays(o.deadline)
        for esc in policy_steps:
            if n < esc.after_workdays:
                continue
            key = f"{o.code}/escalation-{esc.level}"
            meta[key] = (o, esc, n)
            steps.append(
                run.step(
                    o,
                    key,
                    "escalation",
                    f"第 {esc.level} 级：{esc.name}（逾期 {n} 个工作日）",
                    {
                        "level": esc.level,
                        "name": esc.name,
                        "after_workdays": esc.after_workdays,
                        "overdue_workdays": n,
                        "notify": list(esc.notify),
                    },
                )
            )
    new = insert_steps(run.s, steps)
    records, messages, levels = [], [], dict[int, int]()
    for key in sorted(new):
        o, esc, n = meta[key]
        levels[o.id] = max(levels.get(o.id, int(o.escalation_level)), esc.level)
        zh = (
            f"整改通知 {o.code}（项目 {o.project} {o.project_name}）逾期 {n} 个工作日，升级为第 {esc.level} 级"
            f"「{esc.name}」（{CLAUSE}：监察、审计会同有关部门加强监督）"
        )
        en = (
            f"order {o.code} (project {o.project}) is {n} working days overdue: escalated to level {esc.level} "
            f"'{esc.name}' ({CLAUSE})"
        )
        records.append(
            run.record(
                "order.escalate",
                o,
                [_reason("ORDER_ESCALATED", zh, en, o, int(o.version), "overdue", "overdue")],
                zh,
            )
        )
        roles = [Role(r) for r in dict.fromkeys([*esc.notify, Role.DEPARTMENT.value])]
        for role in roles:
            messages.append(
                _message(
                    o,
                    "escalation",
                    role,
                    f"order/{o.code}/escalation-{esc.level}/{role.value}",
                    zh,
                    en,
                    level=esc.level,
                    name=esc.name,
                    overdue_workdays=n,
                )
            )
    if levels:
        run.s.execute(
            update(ORDER)
            .where(ORDER.c.id == bindparam("oid"), ORDER.c.escalation_level < bindparam("lvl"))
            .values(escalation_level=bindparam("lvl")),
            [{"oid": k, "lvl": v} for k, v in levels.items()],
        )
    audit.append(run.s, records)
    enqueue_many(run.s, messages)
    return len(new)


def _audit_run(run: _Run, result: DeadlinesResult) -> None:
    chunk = f"，项目 id {result.chunk[0]}–{result.chunk[1]}" if result.chunk else ""
    audit.append(
        run.s,
        [
            AuditRecord(
                kind="data",
                outcome="recorded",
                action="flow.deadlines",
                actor=DEADLINES_ACTOR,
                role=SYSTEM_ROLE,
                occurred_at=run.now,
                reasons=[
                    {
                        "code": "DEADLINES_RUN",
                        "clause": CLAUSE,
                        "message": "整改期限监测运行记录",
                        "message_en": "rectification deadlines run record",
                        "detail": {**result.to_dict(), "policy_version": run.policy.version},
                    }
                ],
                note=f"整改期限监测 as_of {result.as_of.isoformat()}{chunk}：下达整改通知 {result.orders_issued} 份，"
                f"提醒 {result.reminders} 条，新逾期 {result.overdue} 份，升级 {result.escalations} 次",
            )
        ],
    )


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
) -> OrderView:
    """Run one order use case in one transaction. ``expect_version`` is the order version the caller saw (a page,
    ``--expect-version``, an API body): any change since is a :class:`Conflict`, told before the status check so
    that a stale page learns it is stale rather than that the new status forbids the action. Without it the
    write is still conditional on the version read here, so two concurrent changes never both apply."""
    now = app.clock()
    today = business_date(now)  # deadlines are Beijing days
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        o = _order_row(s, code)
        authorize(app, s, actor, change.action, _project_row(s, o.project), missing=order_missing(code))
        if expect_version is not None and expect_version != int(o.version):
            raise _order_conflict(code, expect_version)
        src = OrderStatus(o.status)
        if src not in change.allowed:
            raise RuleRefused([_status_refusal(o, src, change)])
        values, payload = decide(o, today)
        version = _write_order(s, o, int(o.version), values)
        dst = OrderStatus(values.get("status", src.value))
        _record_change(s, app, actor, o, change, note, payload, version, src, dst, now)
        return _view(_order_row(s, code), _steps(s, int(o.id)))


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
    audit.append(
        s,
        [
            AuditRecord(
                kind="decision",
                outcome="accepted",
                action=change.action,
                actor=actor.name,
                role=actor.role.value,
                occurred_at=now,
                project_code=o.project,
                reasons=[
                    {
                        "code": f"ORDER_{change.kind.upper()}",
                        "clause": CLAUSE,
                        "message": zh,
                        "message_en": en,
                        "detail": {
                            "order": o.code,
                            "from": src.value,
                            "to": dst.value,
                            "version": version,
                            **clean,
                        },
                    }
                ],
                note=note,
            )
        ],
    )
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


@use_case
def submit_evidence(
    app: App, order_code: str, actor: str | None, note: str | None, *, expect_version: int | None = None
) -> OrderView:
    """The lead department submits its rectification evidence: open|overdue → evidence_submitted."""
    text = _required(note, "整改材料说明（--note）", "an evidence note (--note)")

    def decide(o: Any, today: date) -> Decision:
        return {"status": OrderStatus.EVIDENCE_SUBMITTED.value}, {"late": today > o.deadline}

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
        late = today > o.deadline
        values = {
            "status": OrderStatus.CLOSED.value,
            "closed_on": today,
            "closed_late": late,
            "closed_reason": VERIFIED,
        }
        return values, {"closed_on": today, "closed_late": late}

    text = (note or "").strip() or None
    return _change(app, order_code, actor, VERIFY, text, decide, expect_version=expect_version)


@use_case
def reject_evidence(
    app: App, order_code: str, actor: str | None, reason: str | None, *, expect_version: int | None = None
) -> OrderView:
    """The program office rejects the evidence: back to open, or to overdue when the deadline has passed."""
    text = _required(reason, "退回理由（--reason）", "a reason (--reason)")

    def decide(o: Any, today: date) -> Decision:
        if today > o.deadline:
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
    """The program office extends the deadline, to a later working day (``new_deadline``) or by ``workdays``
    working days after the current deadline. The first deadline stays in ``original_deadline``; an overdue
    order whose new deadline is today or later is open again."""
    text = _required(reason, "延期理由（--reason）", "a reason (--reason)")
    if (new_deadline is None) == (workdays is None):
        raise UsageError(
            "须且只能指定新的截止日期（--to）或延长的工作日数（--workdays）之一",
            "give exactly one of a new deadline (--to) or a number of working days (--workdays)",
        )
    if workdays is not None and workdays < 1:
        raise UsageError("延长的工作日数须至少为 1", "--workdays must be at least 1")
    cal = app.calendar

    def decide(o: Any, today: date) -> Decision:
        target = new_deadline if new_deadline is not None else cal.add_workdays(o.deadline, workdays or 0)
        _check_extension(cal, o, target)
        values: dict[str, Any] = {
            "deadline": target,
            "original_deadline": o.original_deadline or o.deadline,
        }
        if o.status == OrderStatus.OVERDUE.value and target >= today:
            values["status"] = OrderStatus.OPEN.value
        payload = {"previous_deadline": o.deadline, "deadline": target, "workdays": workdays}
        return values, payload

    try:
        return _change(app, order_code, actor, EXTEND, text, decide, expect_version=expect_version)
    except CalendarDataMissing as exc:
        raise_calendar_alarm(app, exc, flow="order.extend", as_of=business_date(app.clock()))


def _check_extension(cal: WorkCalendar, o: Any, target: date) -> None:
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
    if not cal.is_workday(target):
        nxt = cal.add_workdays(target, 1)
        raise RuleRefused(
            [
                Reason(
                    "DEADLINE_NOT_WORKDAY",
                    CLAUSE,
                    f"{target.isoformat()} 不是工作日（法定节假日或周末）；整改期限须为工作日，"
                    f"其后第一个工作日为 {nxt.isoformat()}",
                    f"{target.isoformat()} is not a working day; a deadline must be a working day, "
                    f"the next one is {nxt.isoformat()}",
                    detail={"to": target.isoformat(), "next_workday": nxt.isoformat()},
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
        q = _order_query()
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
        return [_view(r) for r in s.execute(q.order_by(PROJECT.c.code, ORDER.c.code))]


@use_case
def show_order(app: App, order_code: str, actor: str | None) -> OrderView:
    """One order with its steps (issue, reminders, overdue, escalations, evidence, decisions), oldest first."""
    with unit_of_work(app.engine, write=False) as s:
        who = get_actor(s, actor)
        o = _order_row(s, order_code)
        authorize(app, s, who, "order.read", _project_row(s, o.project), missing=order_missing(order_code))
        return _view(o, _steps(s, int(o.id)))

"""The rectification deadlines run (整改通知; 限期整改, 733号文 第十一条; the order use cases are
:mod:`govflow.governance.rectification`).

``run_deadlines`` (SPEC §4.2, docs/governance.md), for the orders of the projects in a chunk, in one transaction:

0. every order whose deadline is pending (期限待定, below) and can now be dated is dated;
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

A year without calendar data stops nothing else (SPEC §4, 期限待定). An order whose deadline would fall in it is
issued with ``deadline`` NULL, ``pending_from = as_of`` (the notice date) and ``pending_workdays`` (the policy's
count); its issued step and its notice say the deadline is pending and why. At the start of every later run such
an order of the chunk (any status but closed) is dated as ``add_workdays(pending_from, pending_workdays)`` as
soon as the year's data is there: ``deadline`` (and ``original_deadline`` if unset) is written, the pending
fields cleared, the version moved, an OrderStep ``{code}/dated@{deadline}`` and an audit event recorded, and the
lead department and the program office are told the deadline. Reminders and overdue handling then follow as
for any order. Orders without a deadline are never reminded, overdue or escalated; a reminder day or an overdue
count that itself needs a missing year is left for a later run (it catches up, once). Each missing year met by
the run writes the admin alarm ``alarm/calendar/{year}`` (once per year) in the run's own transaction, and the
run completes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import Session

from govflow.governance.orders import (
    CLAUSE,
    DEADLINES_ACTOR,
    FINDING,
    ORDER,
    PROJECT,
    OrderStatus,
    calendar_alarm,
    deadline_tag,
    in_chunk,
    insert_steps,
    order_message,
    order_parts,
    order_query,
    order_reason,
    try_date,
)
from govflow.governance.outbox import enqueue_many
from govflow.governance.ownership import open_owners
from govflow.governance.policy_service import active_policy
from govflow.governance.runs import system_record
from govflow.lifecycle.services import App
from govflow.models import audit
from govflow.models.audit import AuditRecord
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT
from govflow.states.calendar import WorkCalendar
from govflow.states.errors import CalendarDataMissing
from govflow.states.findings import FindingStatus, Rule, describe_finding
from govflow.states.permissions import Role
from govflow.states.policy import Policy
from govflow.states.vocabulary import pending_note

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
    #: pending deadlines dated by this run, and orders this run issued with their deadline pending (期限待定)
    dated: int = 0
    pending: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": "deadlines",
            "as_of": self.as_of.isoformat(),
            "chunk": list(self.chunk) if self.chunk else None,
            "orders_issued": self.orders_issued,
            "reminders": self.reminders,
            "overdue": self.overdue,
            "escalations": self.escalations,
            "dated": self.dated,
            "pending": self.pending,
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
    #: the first gap met for each year without calendar data: one alarm per year at the end of the run
    gaps: dict[int, CalendarDataMissing] = field(default_factory=dict)
    _sub: dict[tuple[date, int], date | None] = field(default_factory=dict)
    _after: dict[date, int | None] = field(default_factory=dict)

    def gap(self, exc: CalendarDataMissing) -> None:
        self.gaps.setdefault(exc.year, exc)

    def sub(self, d: date, n: int) -> date | None:
        """``n`` working days before ``d``; None (for a later run) when that needs a year without data."""
        if (d, n) not in self._sub:
            try:
                self._sub[(d, n)] = self.calendar.sub_workdays(d, n)
            except CalendarDataMissing as exc:
                self.gap(exc)
                self._sub[(d, n)] = None
        return self._sub[(d, n)]

    def overdue_workdays(self, deadline: date) -> int | None:
        """Working days overdue on ``as_of``; None (for a later run) when that needs a year without data."""
        if deadline not in self._after:
            try:
                self._after[deadline] = self.calendar.workdays_after(deadline, self.as_of)
            except CalendarDataMissing as exc:
                self.gap(exc)
                self._after[deadline] = None
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
        return system_record(action, DEADLINES_ACTOR, self.now, note, project_code=o.project, reasons=reasons)


def run_deadlines(app: App, as_of: date, chunk: tuple[int, int] | None = None) -> DeadlinesResult:
    """Issue, remind, mark overdue and escalate the rectification orders of the projects in ``chunk``."""
    with unit_of_work(app.engine) as s:
        run = _Run(s, app, app.calendar, active_policy(s), as_of, chunk, app.clock())
        dated = _date_pending(run)
        codes, pending = _issue_orders(run)
        reminders = _remind(run)
        overdue_rows = _mark_overdue(run)
        overdue = _notify_overdue(run, overdue_rows)
        escalations = _escalate(run, overdue_rows)
        for year in sorted(run.gaps):
            calendar_alarm(s, run.gaps[year], flow="deadlines", as_of=as_of, now=run.now)
        result = DeadlinesResult(
            as_of, chunk, len(codes), reminders, overdue, escalations, tuple(codes), dated, pending
        )
        if codes or reminders or overdue or escalations or dated:
            _audit_run(run, result)
        return result


def _date_pending(run: _Run) -> int:
    """Date the chunk's orders whose deadline is pending (期限待定) and whose year now has calendar data."""
    q = order_query().where(
        ORDER.c.deadline.is_(None),
        ORDER.c.status != OrderStatus.CLOSED.value,
        ORDER.c.notice_date <= run.as_of,
        in_chunk(ORDER.c.project_id, run.chunk),
    )
    steps, records, messages = [], [], []
    for o in run.s.execute(q.order_by(ORDER.c.code)).all():
        start, n = o.pending_from or o.notice_date, int(o.pending_workdays or o.workdays)
        deadline = try_date(run.calendar, start, n)
        if isinstance(deadline, CalendarDataMissing):
            run.gap(deadline)
            continue
        moved = run.s.execute(
            update(ORDER)
            .where(ORDER.c.id == o.id, ORDER.c.version == o.version)
            .values(
                deadline=deadline,
                original_deadline=func.coalesce(ORDER.c.original_deadline, deadline),
                pending_from=None,
                pending_workdays=None,
                version=ORDER.c.version + 1,
            )
            .returning(ORDER.c.id)
        ).first()
        if moved is None:  # changed by someone meanwhile: the next run dates it
            continue
        since = "通知日" if start == o.notice_date else start.isoformat()
        since_en = "the notice date" if start == o.notice_date else start.isoformat()
        zh = (
            f"整改通知 {o.code}（项目 {o.project}）的整改期限已确定：请于 {deadline.isoformat()} 前完成整改"
            f"（{since}后 {n} 个工作日，{deadline.year} 年工作日历已导入；{CLAUSE}）"
        )
        en = (
            f"order {o.code} (project {o.project}): deadline set, rectify by {deadline.isoformat()} "
            f"({n} working days after {since_en}, now that the {deadline.year} calendar is imported; {CLAUSE})"
        )
        d = _Issued(int(o.id), str(o.code), o.project, o.project_name, o.lead, deadline)
        key = f"{o.code}/dated@{deadline.isoformat()}"
        steps.append(
            run.step(
                d,
                key,
                "dated",
                f"整改期限 {deadline.isoformat()}（{since}后 {n} 个工作日，{CLAUSE}）",
                {"deadline": deadline, "pending_from": start, "workdays": n},
            )
        )
        reason = order_reason("ORDER_DATED", zh, en, o, int(o.version) + 1, o.status, o.status)
        records.append(run.record("order.date", o, [reason], zh))
        messages += [
            order_message(
                d, "dated", role, f"order/{key}/{role.value}", zh, en, notice_date=o.notice_date, workdays=n
            )
            for role in (Role.DEPARTMENT, Role.PROGRAM_OFFICE)
        ]
    insert_steps(run.s, steps)
    audit.append(run.s, records)
    enqueue_many(run.s, messages)
    return len(steps)


def _issue_orders(run: _Run) -> tuple[list[str], int]:
    """整改通知 for every open finding (opened on or before ``as_of``) that has no order yet; returns their
    codes and how many of them have their deadline pending."""
    lead = DEPT.alias("lead")
    q = (
        select(
            FINDING.c.id,
            FINDING.c.key,
            FINDING.c.rule,
            FINDING.c.subject,
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
            FINDING.c.status == FindingStatus.OPEN.value,
            FINDING.c.opened_on <= run.as_of,
            in_chunk(FINDING.c.project_id, run.chunk),
            FINDING.c.rule != Rule.ONBOARDING_GAP.value,  # it refuses the next approval, it is not rectified
            # NOT IN a subquery is evaluated once (rectification_order.finding_id has no index, so a
            # correlated NOT EXISTS would scan the orders once per finding)
            FINDING.c.id.not_in(select(ORDER.c.finding_id).where(ORDER.c.finding_id.is_not(None))),
        )
        .order_by(PROJECT.c.code, FINDING.c.key)
    )
    findings = _covered_by_open_orders(run, run.s.execute(q).all())
    if not findings:
        return [], 0
    workdays = run.policy.rectification.workdays
    computed = try_date(run.calendar, run.as_of, workdays)
    deadline = None if isinstance(computed, CalendarDataMissing) else computed
    if isinstance(computed, CalendarDataMissing):
        run.gap(computed)
    pids = sorted({int(f.project_id) for f in findings})
    counts: dict[int, int] = {}
    for part in order_parts(pids):
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
                "pending_from": run.as_of if deadline is None else None,
                "pending_workdays": workdays if deadline is None else None,
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
        if isinstance(computed, CalendarDataMissing):
            term, term_en = pending_note(computed.year, workdays), pending_note(computed.year, workdays, "en")
            zh = f"下达整改通知 {code}：{row['reasons'][0]['message']}；{term}（{CLAUSE}）"
            en = f"order {code} issued: {row['reasons'][0]['message_en']}; {term_en} ({CLAUSE})"
            note = f"{term}（{CLAUSE}）"
        else:
            zh = (
                f"下达整改通知 {code}：{row['reasons'][0]['message']}；请于 {computed.isoformat()} 前完成整改"
                f"（通知日后 {workdays} 个工作日，{CLAUSE}）"
            )
            en = (
                f"order {code} issued: {row['reasons'][0]['message_en']}; rectify by {computed.isoformat()} "
                f"({workdays} working days after the notice, {CLAUSE})"
            )
            note = f"整改期限 {computed.isoformat()}（通知日后 {workdays} 个工作日，{CLAUSE}）"
        steps.append(
            run.step(
                o,
                f"{code}/issued",
                "issued",
                note,
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
            order_message(
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
    return [str(r["code"]) for r in rows], len(rows) if deadline is None else 0


def _covered_by_open_orders(run: _Run, findings: Sequence[Any]) -> list[Any]:
    """One order per obligation (:mod:`govflow.governance.ownership`): a finding whose agreement item × consumer
    an open order already answers for (a failed acceptance's, or an earlier finding's) gets no order of its own;
    a ``covers`` step on the owning order records it, once. Returns the findings that need an order."""
    owners = open_owners(run.s, (int(f.project_id) for f in findings))
    out, steps = [], []
    for f in findings:
        owner = owners.get((int(f.project_id), str(f.subject)))
        if owner is None or f.rule == Rule.AGREEMENT_EXPIRED.value:
            out.append(f)
            continue
        steps.append(
            {
                "key": f"{owner.code}/covers/finding-{f.id}",  # not the key: it names the item
                "order_id": owner.id,
                "kind": "covers",
                "on": run.as_of,
                "at": run.now,
                "actor": DEADLINES_ACTOR,
                "note": f"巡查发现的问题 {f.key} 由本整改通知一并整改（一项共享义务只下达一份整改通知，{CLAUSE}）",
                "payload": {"finding": f.key},
            }
        )
    insert_steps(run.s, steps)
    return out


@dataclass(frozen=True)
class _Issued:
    """The few fields of a just-issued order that steps and messages need (the shape of an order row)."""

    id: int
    code: str
    project: str
    project_name: str
    lead: str
    deadline: date | None


def _orders(run: _Run, *statuses: OrderStatus) -> list[Any]:
    q = order_query().where(
        ORDER.c.status.in_([st.value for st in statuses]),
        ORDER.c.notice_date <= run.as_of,
        in_chunk(ORDER.c.project_id, run.chunk),
    )
    return list(run.s.execute(q.order_by(ORDER.c.code)).all())


def _remind(run: _Run) -> int:
    """Reminders due by ``as_of`` and not yet sent, late ones included (catch-up), never after the deadline."""
    steps: list[dict[str, Any]] = []
    meta: dict[str, tuple[Any, int, date]] = {}
    for o in _orders(run, OrderStatus.OPEN):
        if o.deadline is None or o.deadline < run.as_of:
            continue
        for r in sorted(run.policy.rectification.reminders, reverse=True):
            day = run.sub(o.deadline, r)
            if day is None or not (o.notice_date < day <= run.as_of):
                continue
            key = f"{o.code}/reminder-{r}{deadline_tag(o)}"
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
            order_message(
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
            in_chunk(ORDER.c.project_id, run.chunk),
        )
        .values(status=OrderStatus.OVERDUE.value, overdue_since=run.as_of, version=ORDER.c.version + 1)
    )
    return [o for o in _orders(run, OrderStatus.OVERDUE) if o.deadline is not None and o.deadline < run.as_of]


def _notify_overdue(run: _Run, rows: Sequence[Any]) -> int:
    """An overdue order is told once (per deadline) to audit, the program office and the lead department."""
    steps, meta = [], {}
    for o in rows:
        key = f"{o.code}/overdue{deadline_tag(o)}"
        n = run.overdue_workdays(o.deadline)
        if n is None:
            continue
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
                [order_reason("ORDER_OVERDUE", zh, en, o, int(o.version), "open", "overdue")],
                zh,
            )
        )
        for role in (Role.AUDIT, Role.PROGRAM_OFFICE, Role.DEPARTMENT):
            messages.append(
                order_message(
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
            if n is None or n < esc.after_workdays:
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
                [order_reason("ORDER_ESCALATED", zh, en, o, int(o.version), "overdue", "overdue")],
                zh,
            )
        )
        roles = [Role(r) for r in dict.fromkeys([*esc.notify, Role.DEPARTMENT.value])]
        for role in roles:
            messages.append(
                order_message(
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
    reason = {
        "code": "DEADLINES_RUN",
        "clause": CLAUSE,
        "message": "整改期限监测运行记录",
        "message_en": "rectification deadlines run record",
        "detail": {**result.to_dict(), "policy_version": run.policy.version},
    }
    note = (
        f"整改期限监测 as_of {result.as_of.isoformat()}{chunk}：下达整改通知 {result.orders_issued} 份"
        f"（期限待定 {result.pending} 份），确定待定期限 {result.dated} 份，"
        f"提醒 {result.reminders} 条，新逾期 {result.overdue} 份，升级 {result.escalations} 次"
    )
    record = system_record("flow.deadlines", DEADLINES_ACTOR, run.now, note, kind="data", reasons=[reason])
    audit.append(run.s, [record])

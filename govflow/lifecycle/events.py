"""Lifecycle events (SPEC §2): the one use case that moves a project's phase through the state machine, with its
guards' refusals, the acceptance orders it opens and closes, and the notices it writes to the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlmodel import Session

from govflow.governance.outbox import calendar_alarm, enqueue
from govflow.governance.ownership import open_owners, reason_subject
from govflow.lifecycle.core import (
    FUTURE_TOLERANCE,
    PROJECT,
    Actor,
    App,
    _conflict,
    _project_row,
    _reason_dict,
    authorize,
    business_date,
    get_actor,
    record_change,
    use_case,
)
from govflow.lifecycle.materials import recheck_onboarding
from govflow.models import audit
from govflow.models.audit import AuditRecord
from govflow.models.db import unit_of_work
from govflow.models.facts import PARTS, load_facts, t
from govflow.models.policies import active_policy
from govflow.models.tables import (
    OrderStep,
    RectificationOrder,
)
from govflow.reads import secrecy
from govflow.states.errors import CalendarDataMissing, RuleRefused, UsageError
from govflow.states.guards import GuardContext, guard_for, review_objections
from govflow.states.lifecycle import Outcome, fire, invalid_event, transition_for
from govflow.states.permissions import Role, event_action
from govflow.states.phases import Event, Phase
from govflow.states.sharing import FocusPoint, ProjectFacts
from govflow.states.verdict import Reason
from govflow.states.vocabulary import deadline_label, pending_note

# ---------------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class EventResult:
    project: str
    event: Event
    accepted: bool
    from_phase: Phase
    to_phase: Phase
    version: int
    at: datetime
    reasons: tuple[Reason, ...] = ()
    order: str | None = None
    deadline: date | None = None

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {
            "project": self.project,
            "event": self.event.value,
            "accepted": self.accepted,
            "refused": not self.accepted,
            "from": self.from_phase.value,
            "to": self.to_phase.value,
            "phase": self.to_phase.value,
            "version": self.version,
            "at": self.at.isoformat(),
            "reasons": [r.to_dict(lang) for r in self.reasons],
        }
        if self.order:
            out["rectification_order"] = {
                "code": self.order,
                "deadline": self.deadline.isoformat() if self.deadline else None,
                "deadline_label": deadline_label(self.deadline, lang),
            }
        return out


@use_case
def fire_event(
    app: App,
    code: str,
    event: Event | str,
    actor_name: str | None,
    *,
    reason: str | None = None,
    at: datetime | None = None,
    expect_version: int | None = None,
    override: str | None = None,
) -> EventResult:
    """Fire a lifecycle event. Optimistic: the project is read, judged, then written only if its version is
    still the one that was judged (or ``expect_version``); otherwise :class:`Conflict` and nothing changes.

    ``override`` (approve only) is the program office's reason for approving although the review judged a
    focus point not met (第十条第一款): the approval is then judged without those objections, and the accepted
    decision records each objection set aside with the reason (``REVIEW_OVERRIDDEN``)."""
    try:
        ev = Event(event)
    except ValueError as exc:
        raise UsageError(
            f"未知事件 {event}；可用事件：{', '.join(e.value for e in Event)}",
            f"unknown event {event}; events: {', '.join(e.value for e in Event)}",
        ) from exc
    override = (override or "").strip() or None
    if override is not None and ev is not Event.APPROVE:
        raise UsageError(
            "--override 只用于批复（approve）：记录不采纳评审意见的理由",
            "--override only goes with approve: the reason for setting the review aside",
        )
    if at is not None and at.tzinfo is None:
        raise UsageError("--at 须带时区（如 2026-03-01T09:00:00+08:00）", "--at needs a timezone offset")
    now = app.clock()
    try:
        when = at.astimezone(UTC) if at is not None else now
    except OverflowError as exc:
        raise UsageError(f"--at 超出可表示的时间范围：{at}", f"--at is out of range: {at}") from exc
    # 1. read and judge (no locks held)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        p = _project_row(s, code)
        authorize(app, s, actor, event_action(ev), p)
        if expect_version is not None and expect_version != int(p["version"]):
            raise _conflict(expect_version)
        source = Phase(p["phase"])
        early = _refused_before_judging(ev, source, when, now, p["last_event_at"])
        if early is None:
            on = business_date(when)
            facts = load_facts(s, p, p["lead_code"], PARTS.get(ev, frozenset()), on)
    if early is not None:
        # a refusal before the guards (wrong phase, a bad effective time) is a refused event like any other:
        # in the trail with its reasons (the project is not touched)
        with unit_of_work(app.engine) as s:
            record_change(
                app,
                s,
                actor,
                ev.value,
                kind="decision",
                outcome="refused",
                at=now,
                project_code=p["code"],
                from_phase=source.value,
                to_phase=source.value,
                reasons=[_reason_dict(r) for r in early.reasons],
                note=reason,
            )
        raise early
    judged_version = int(p["version"])
    set_aside = review_objections(facts, source) if override is not None else []
    if override is not None and not set_aside:
        raise UsageError(
            "评审意见没有判为「不符合」的重点，无需也不能记录不采纳理由（--override）",
            "the review judged no focus point not met: there is nothing to set aside (--override)",
        )
    outcome = judge(facts, GuardContext(ev, source, on, reason, override))
    recorded = list(outcome.reasons)
    if outcome.accepted and set_aside:
        recorded += [_overridden(r, override or "") for r in set_aside]
    # 2. write, if nobody moved the project meanwhile
    order_code: str | None = None
    deadline: date | None = None
    order_note: tuple[str, str] | None = None
    with unit_of_work(app.engine) as s:
        moved = outcome.dest is not source or outcome.accepted
        # A refusal is checked too: it must not be recorded against a phase the project has since left.
        if moved:
            params = {"pid": p["id"], "judged": judged_version, "phase": outcome.dest.value, "at": when}
            row = s.execute(_MOVE_PROJECT, params).first()
        else:
            row = s.execute(_CHECK_PROJECT, {"pid": p["id"], "judged": judged_version}).first()
        if row is None:
            raise _conflict(judged_version)
        version = int(row[0])
        if outcome.accepted and ev is Event.FAIL_ACCEPTANCE:
            order_code, deadline, order_note = _open_acceptance_order(app, s, p, on, when, actor, reason)
        if outcome.accepted and ev is Event.PASS_ACCEPTANCE:
            _close_acceptance_orders(s, p, on, when, actor)
        if outcome.accepted and ev is Event.APPROVE:
            recheck_onboarding(s, p, on)  # the approval found the gates' materials there
        seq = audit.append(
            s,
            [
                AuditRecord(
                    kind="decision",
                    outcome="accepted" if outcome.accepted else "refused",
                    action=ev.value,
                    actor=actor.name,
                    role=actor.role.value,
                    occurred_at=when,
                    project_code=p["code"],
                    from_phase=source.value,
                    to_phase=outcome.dest.value,
                    reasons=[_reason_dict(r) for r in recorded],
                    note=reason,
                )
            ],
        )
        # the record and the lead department's notice keep every word (the notice is projected for its recipient
        # when it is sent); the actor's answer hides the secret items it may not see (第二条第三款)
        notice = reasons = outcome.reasons
        if reasons:
            reasons = secrecy.visibility(s, actor, project_ids=[int(p["id"])]).reasons(reasons)
        _notify_decision(
            s, seq, p, ev, outcome.accepted, source, outcome.dest, notice, order_code, deadline, order_note
        )
    return EventResult(
        p["code"], ev, outcome.accepted, source, outcome.dest, version, when, reasons, order_code, deadline
    )


def judge(facts: ProjectFacts, ctx: GuardContext) -> Outcome:
    """Run ``ctx.event`` through the state machine on a phase held here, not on the row: the verdict the event
    gets, and where it would take the project. ``fire_event`` writes what this answers; the dry run
    (:mod:`govflow.lifecycle.precheck`) only shows it."""
    phase = [ctx.source.value]
    return fire(lambda: phase[0], lambda v: phase.__setitem__(0, v), facts, ctx)


def _overridden(objection: Reason, why: str) -> Reason:
    """An objection of the review that the program office set aside, with its recorded reason."""
    if "focus_point" not in objection.detail:  # the conclusion itself was against approval
        return Reason(
            "REVIEW_OVERRIDDEN",
            objection.clause,
            f"项目审批部门不采纳{objection.detail['agency']}不同意批复的评审结论，理由：{why}",
            f"the program office set aside the conclusion against approval of {objection.detail['agency']}: {why}",
            detail={**objection.detail, "override": why},
        )
    point = FocusPoint(objection.detail["focus_point"])
    return Reason(
        "REVIEW_OVERRIDDEN",
        objection.clause,
        f"项目审批部门不采纳{objection.detail['agency']}的评审意见（「{point.label()}」不符合），理由：{why}",
        f"the program office set aside the review by {objection.detail['agency']} "
        f"({point.label('en')} not met): {why}",
        detail={**objection.detail, "override": why},
    )


def _refused_before_judging(
    ev: Event, source: Phase, when: datetime, now: datetime, last_event_at: datetime
) -> RuleRefused | None:
    """The refusals that need no facts: an event the phase does not allow, an effective time in the future or
    before the project's last event."""
    if transition_for(ev, source) is None:
        return invalid_event(ev, source)
    if when > now + FUTURE_TOLERANCE:
        return RuleRefused(
            [
                Reason(
                    "AT_IN_FUTURE",
                    "govflow 生命周期",
                    f"生效时间 {when.isoformat()} 晚于当前时间：补录历史只能使用过去的时间",
                    f"effective time {when.isoformat()} is in the future; backfilling takes past times only",
                )
            ]
        )
    if when < last_event_at:
        return RuleRefused(
            [
                Reason(
                    "AT_BEFORE_LAST_EVENT",
                    "govflow 生命周期",
                    f"生效时间 {when.isoformat()} 早于项目最近一次事件 {last_event_at.isoformat()}",
                    f"effective time {when.isoformat()} is earlier than the last event {last_event_at.isoformat()}",
                )
            ]
        )
    return None


#: the only statement that writes a phase: guarded by the version that was judged (optimistic lock)
_MOVE_PROJECT = (
    update(PROJECT)
    .where(and_(PROJECT.c.id == bindparam("pid"), PROJECT.c.version == bindparam("judged")))
    .values(phase=bindparam("phase"), version=PROJECT.c.version + 1, last_event_at=bindparam("at"))
    .returning(PROJECT.c.version)
)
_CHECK_PROJECT = (
    update(PROJECT)
    .where(and_(PROJECT.c.id == bindparam("pid"), PROJECT.c.version == bindparam("judged")))
    .values(version=PROJECT.c.version)
    .returning(PROJECT.c.version)
)


def _open_acceptance_order(
    app: App, s: Session, p: Any, on: date, when: datetime, actor: Actor, reason: str | None
) -> tuple[str, date | None, tuple[str, str] | None]:
    """不予通过验收 opens a 限期整改 order (第十一条) with the reasons the acceptance guard would give now; its
    deadline is pending (None, 期限待定) when it would fall in a year without calendar data, and then the zh and
    English sentence saying so is returned for the notice."""
    facts = load_facts(s, p, p["lead_code"], PARTS[Event.PASS_ACCEPTANCE], on)
    reasons = [
        _reason_dict(r)
        for r in guard_for(Event.PASS_ACCEPTANCE)(
            facts, GuardContext(Event.PASS_ACCEPTANCE, Phase.ACCEPTANCE_REVIEW, on)
        ).reasons
    ]
    reasons = _mark_covered(s, int(p["id"]), reasons)
    if reason:
        reasons.append(
            {
                "code": "ACCEPTANCE_FAILED",
                "clause": "733号文 第十一条",
                "message": reason,
                "message_en": reason,
            }
        )
    ro = t(RectificationOrder)
    n = s.execute(select(func.count()).select_from(ro).where(ro.c.project_id == p["id"])).scalar_one()
    code = f"RO-{p['code']}-{int(n) + 1:02d}"
    policy = active_policy(s)
    workdays = policy.rectification.workdays
    deadline: date | None
    pending: tuple[str, str] | None = None
    try:
        deadline = app.calendar.add_workdays(on, workdays)
        note = f"整改期限 {deadline.isoformat()}（通知日后 {workdays} 个工作日，733号文 第十一条）"
    except CalendarDataMissing as exc:  # 期限待定: the deadlines run dates it once the year is imported
        deadline, note = None, f"{pending_note(exc.year, workdays)}（733号文 第十一条）"
        pending = (pending_note(exc.year, workdays), pending_note(exc.year, workdays, "en"))
        calendar_alarm(s, exc, flow="fail_acceptance", as_of=on, now=when)
    order_id = s.execute(
        insert(ro)
        .values(
            code=code,
            project_id=p["id"],
            origin="fail_acceptance",
            reasons=reasons,
            notice_date=on,
            workdays=workdays,
            original_deadline=deadline,
            policy_version=policy.version,
            deadline=deadline,
            pending_from=on if deadline is None else None,
            pending_workdays=workdays if deadline is None else None,
            status="open",
        )
        .returning(ro.c.id)
    ).scalar_one()
    # its first step, as the deadlines flow writes for the orders it issues
    s.execute(
        insert(t(OrderStep)).values(
            key=f"{code}/issued",
            order_id=order_id,
            kind="issued",
            on=on,
            at=when,
            actor=actor.name,
            note=note,
            payload={
                "deadline": deadline.isoformat() if deadline else None,
                "workdays": workdays,
                "policy_version": policy.version,
            },
        )
    )
    return code, deadline, pending


def _mark_covered(s: Session, pid: int, reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One order per obligation (:mod:`govflow.governance.ownership`): a reason about an agreement item × consumer
    that an open order already answers for stays in the new order as told, marked ``covered_by`` that order, whose
    deadline stands (a failed acceptance never resets the clock of an order already running)."""
    owners = open_owners(s, [pid])
    out = []
    for r in reasons:
        subj = reason_subject(r)
        owner = owners.get((pid, subj)) if subj is not None else None
        if owner is None:
            out.append(r)
            continue
        when, when_en = deadline_label(owner.deadline), deadline_label(owner.deadline, "en")
        out.append(
            r
            | {
                "message": f"{r['message']}（已由整改通知 {owner.code} 整改，期限 {when}）",
                "message_en": f"{r['message_en']} (already under order {owner.code}, due {when_en})",
                "detail": {**(r.get("detail") or {}), "covered_by": owner.code},
            }
        )
    return out


def _close_acceptance_orders(s: Session, p: Any, on: date, when: datetime, actor: Actor) -> None:
    """Passing acceptance settles the orders a failed acceptance opened (限期整改 done): close them, on time or
    late, with a step each, so the deadline flow stops reminding and escalating them."""
    ro, st = t(RectificationOrder), t(OrderStep)
    open_orders = s.execute(
        select(ro.c.id, ro.c.code, ro.c.deadline).where(
            ro.c.project_id == p["id"], ro.c.origin == "fail_acceptance", ro.c.status != "closed"
        )
    ).all()
    for oid, code, deadline in open_orders:
        s.execute(
            update(ro)
            .where(ro.c.id == oid)
            .values(
                status="closed",
                closed_on=on,
                closed_late=deadline is not None and on > deadline,
                closed_reason="acceptance_passed",
                version=ro.c.version + 1,
            )
        )
        s.execute(
            insert(st).values(
                key=f"{code}/close/acceptance",
                order_id=oid,
                kind="close",
                on=on,
                at=when,
                actor=actor.name,
                note="通过验收，整改完成（733号文 第十一条）",
                payload={"reason": "acceptance_passed", "late": deadline is not None and on > deadline},
            )
        )


_NOTIFY = {Event.INTAKE, Event.APPROVE, Event.REFUSE, Event.PASS_ACCEPTANCE, Event.FAIL_ACCEPTANCE}


def _notify_decision(
    s: Session,
    seq: int,
    p: Any,
    ev: Event,
    accepted: bool,
    source: Phase,
    dest: Phase,
    reasons: Sequence[Reason],
    order: str | None,
    deadline: date | None,
    pending: tuple[str, str] | None = None,
) -> None:
    """The program office's decisions are notified to the lead department, via the outbox (sent after commit)."""
    if ev not in _NOTIFY:
        return
    enqueue(
        s,
        f"decision:{seq}",
        f"decision.{ev.value}.{'accepted' if accepted else 'refused'}",
        Role.DEPARTMENT.value,
        {
            "project": p["code"],
            "project_name": p["name"],
            "department": p["lead_code"],
            "event": ev.value,
            "accepted": accepted,
            "from": source.value,
            "to": dest.value,
            "reasons": [_reason_dict(r) for r in reasons],
            "order": order,
            "deadline": deadline.isoformat() if deadline else None,
            "deadline_pending": order is not None and deadline is None,
            **({"pending_note": pending[0], "pending_note_en": pending[1]} if pending else {}),
        },
        project_code=p["code"],
    )

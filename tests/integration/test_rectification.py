"""Rectification orders (限期整改, 733号文 第十一条) on SQLite and PostgreSQL: the deadlines run and the use cases.

The demo portfolio supplies the findings: a sweep on 2026-09-28 finds ZJ-2026-004's missed C-002 (due
2026-06-30) and the four items of ZJ-2026-005 due 2026-06-30 and first delivered in October or November; 20 working days after
2026-09-28 run over 国庆 (10-01 to 10-07 off, Saturday 10-10 worked) to 2026-10-30.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from govflow.demo import demo_portfolio
from govflow.governance import rectification
from govflow.governance.calendar_years import import_calendar
from govflow.governance.flowruns import recorded_run
from govflow.governance.rectification import (
    DeadlinesResult,
    OrderStatus,
    extend_order,
    list_orders,
    reject_evidence,
    reopen_order,
    run_deadlines,
    show_order,
    submit_evidence,
    verify_order,
)
from govflow.governance.sweep import run_sweep
from govflow.lifecycle import services
from govflow.lifecycle.services import App, fire_event
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import AuditEvent, FlowRun, OrderStep, OutboxMessage, Project, RectificationOrder
from govflow.notifications.templates import render
from govflow.reads.admin import order_detail, order_page
from govflow.settings import Settings
from govflow.states.errors import (
    CalendarDataMissing,
    Conflict,
    NotFound,
    PermissionDenied,
    RuleRefused,
    UsageError,
)
from govflow.states.phases import Event
from tests.rectified import deliver_for

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, the demo's "today"
NOTICE = date(2026, 9, 28)
DEADLINE = date(2026, 10, 30)
#: the order for ZJ-2026-004's C-002 (lead: 人社厅, user chen) issued by the run of 2026-09-28
ORDER = "RO-ZJ-2026-004-01"
FICTIONAL_2027 = Path(__file__).resolve().parents[1] / "data" / "calendar-2027-fictional.yaml"


def make_app(engine: Engine, db_url: str, start: datetime = NOW) -> App:
    clock = iter(start + timedelta(seconds=i) for i in range(100_000))
    return App(Settings(database_url=db_url), engine, clock=lambda: next(clock))


def at(app: App, day: date) -> App:
    """The same database seen by a user acting on ``day`` (10:00 Beijing)."""
    return make_app(
        app.engine, app.settings.database_url, datetime(day.year, day.month, day.day, 2, tzinfo=UTC)
    )


@pytest.fixture
def app(engine: Engine, db_url: str) -> Iterator[App]:
    application = make_app(engine, db_url)
    services.load_portfolio(application, demo_portfolio(), None)
    yield application


@pytest.fixture
def issued(app: App) -> App:
    """The findings of 2026-09-28 and their orders, due 2026-10-30."""
    run_sweep(app, NOTICE)
    res = run_deadlines(app, NOTICE)
    assert res.orders_issued == 5 and res.issued_codes[0] == ORDER
    return app


def steps(app: App, code: str, kind: str | None = None) -> list[Any]:
    st, ro = t(OrderStep), t(RectificationOrder)
    q = select(st).join(ro, ro.c.id == st.c.order_id).where(ro.c.code == code)
    if kind:
        q = q.where(st.c.kind == kind)
    with unit_of_work(app.engine, write=False) as s:
        return list(s.execute(q.order_by(st.c.id)))


def outbox(app: App, prefix: str = "") -> dict[str, Any]:
    ob = t(OutboxMessage)
    with unit_of_work(app.engine, write=False) as s:
        return {r.key: r for r in s.execute(select(ob).where(ob.c.key.startswith(prefix)))}


def audit_actions(app: App, code: str | None = None) -> list[tuple[str, str, str]]:
    ae = t(AuditEvent)
    q = select(ae.c.action, ae.c.outcome, ae.c.actor)
    if code:
        q = q.where(ae.c.project_code == code)
    with unit_of_work(app.engine, write=False) as s:
        return [tuple(r) for r in s.execute(q.order_by(ae.c.seq))]


def count(app: App, model: Any) -> int:
    with unit_of_work(app.engine, write=False) as s:
        return int(s.execute(select(func.count()).select_from(t(model))).scalar_one())


# ---------------------------------------------------------------------------------------------- issuing


def test_an_order_per_open_finding_due_twenty_working_days_later_over_national_day(issued: App) -> None:
    assert issued.calendar.add_workdays(NOTICE, 20) == DEADLINE
    order = show_order(issued, ORDER, "wang")
    assert order.finding == "ZJ-2026-004/MILESTONE_MISSED/A-001/C-002/11330000GF0000005G/2026-06-30"
    assert (order.origin, order.status, order.notice_date, order.workdays, order.deadline) == (
        "finding",
        OrderStatus.OPEN,
        NOTICE,
        20,
        DEADLINE,
    )
    assert order.policy_version == "2026.1" and order.version == 1 and order.original_deadline == DEADLINE
    assert order.reasons[0]["code"] == "MILESTONE_MISSED"
    assert order.reasons[0]["clause"] == "733号文 第十一条"
    assert [s.kind for s in order.steps] == ["issued"]
    msg = outbox(issued, f"order/{ORDER}/")[f"order/{ORDER}/issued"]
    assert (msg.topic, msg.recipients_role) == ("order.issued", "department")
    assert msg.payload["deadline"] == "2026-10-30" and msg.payload["department"] == "11330000GF0000005G"
    assert ("order.issue", "recorded", "govflow-deadlines") in audit_actions(issued, "ZJ-2026-004")
    # rerun: no second order for the same finding
    again = run_deadlines(issued, NOTICE)
    assert again == DeadlinesResult(NOTICE, None, 0, 0, 0, 0)
    assert count(issued, RectificationOrder) == 5


def test_orders_are_numbered_per_project_after_the_existing_ones(app: App) -> None:
    run_sweep(app, date(2026, 11, 26))
    codes = run_deadlines(app, date(2026, 11, 26)).issued_codes
    assert codes == ("RO-ZJ-2026-004-01", "RO-ZJ-2026-004-02", "RO-ZJ-2026-005-01")
    fire_event(app, "ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen")
    res = fire_event(app, "ZJ-2026-004", Event.FAIL_ACCEPTANCE, "wang", reason="到期未实现共享")
    assert res.order == "RO-ZJ-2026-004-03"


def open_orders_by_obligation(app: App, project: str) -> dict[str, list[str]]:
    """Each agreement item × consumer of the project → the open orders answering for it."""
    from govflow.governance.ownership import open_owners

    with unit_of_work(app.engine, write=False) as s:
        pid = s.execute(select(t(Project).c.id).where(t(Project).c.code == project)).scalar_one()
        owners = open_owners(s, [pid])
    out: dict[str, list[str]] = {}
    for code in [
        o.code for o in list_orders(app, "wang", project=project) if o.status is not OrderStatus.CLOSED
    ]:
        order = show_order(app, code, "wang")
        subjects = {
            f"{d['agreement']}/{d['catalog']}/{d['consumer']}"
            for r in order.reasons
            if "catalog" in (d := r.get("detail") or {}) and not d.get("covered_by")
        }
        if order.finding:
            subjects.add("/".join(order.finding.split("/")[2:5]))
        for subj in subjects:
            out.setdefault(subj, []).append(code)
    assert {subj: owner.code for (_, subj), owner in owners.items()} == {k: v[0] for k, v in out.items()}
    return out


def test_a_failed_acceptance_does_not_open_a_second_order_for_an_obligation_under_order(app: App) -> None:
    """One order per obligation: the sweep's orders answer for C-001 and C-002; the failed acceptance lists them
    as covered by those orders, whose deadlines stand, and owns nothing twice."""
    run_sweep(app, date(2026, 11, 26))
    run_deadlines(app, date(2026, 11, 26))
    before = {o.code: o.deadline for o in list_orders(app, "wang", project="ZJ-2026-004")}
    fire_event(app, "ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen")
    res = fire_event(
        at(app, date(2026, 12, 1)), "ZJ-2026-004", Event.FAIL_ACCEPTANCE, "wang", reason="到期未实现共享"
    )
    acceptance = show_order(app, str(res.order), "wang")
    covered = {
        r["detail"]["catalog"]: r["detail"]["covered_by"]
        for r in acceptance.reasons
        if r["code"] == "DELIVERY_MISSING"
    }
    assert covered == {"C-001": "RO-ZJ-2026-004-01", "C-002": "RO-ZJ-2026-004-02"}
    assert all(
        "已由整改通知 RO-ZJ-2026-004-0" in r["message"]
        for r in acceptance.reasons
        if r["code"] == "DELIVERY_MISSING"
    )
    assert all(len(codes) == 1 for codes in open_orders_by_obligation(app, "ZJ-2026-004").values())
    assert {
        o.code: o.deadline for o in list_orders(app, "wang", project="ZJ-2026-004") if o.code in before
    } == before


def test_the_sweep_leaves_an_obligation_to_the_order_of_a_failed_acceptance(app: App) -> None:
    """The other way round: the failed acceptance's order answers for C-001 and C-002; the deadlines run issues no
    order for the sweep's findings on them (a ``covers`` step says so, once) — until that order is closed."""
    fire_event(app, "ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen")
    res = fire_event(app, "ZJ-2026-004", Event.FAIL_ACCEPTANCE, "wang", reason="到期未实现共享")
    assert res.order == "RO-ZJ-2026-004-01"
    run_sweep(app, date(2026, 11, 26))
    assert run_deadlines(app, date(2026, 11, 26)).issued_codes == ("RO-ZJ-2026-005-01",)
    run_deadlines(app, date(2026, 11, 27))
    covers = steps(app, "RO-ZJ-2026-004-01", "covers")
    assert sorted(s.payload["finding"].split("/")[3] for s in covers) == ["C-001", "C-002"]
    assert all("由本整改通知一并整改" in s.note for s in covers)
    obligations = open_orders_by_obligation(app, "ZJ-2026-004")
    assert obligations and all(codes == ["RO-ZJ-2026-004-01"] for codes in obligations.values())
    # evidence verified on the one order closes it; the findings still open then get orders of their own
    submit_evidence(app, "RO-ZJ-2026-004-01", "chen", "已补交共享数据")
    verify_order(app, "RO-ZJ-2026-004-01", "wang")
    issued = run_deadlines(app, date(2026, 11, 30)).issued_codes
    assert issued == ("RO-ZJ-2026-004-02", "RO-ZJ-2026-004-03")


# ---------------------------------------------------------------------------------------------- reminders


def test_reminders_five_and_one_working_days_before_the_deadline(issued: App) -> None:
    assert issued.calendar.sub_workdays(DEADLINE, 5) == date(2026, 10, 23)
    assert issued.calendar.sub_workdays(DEADLINE, 1) == date(2026, 10, 29)
    assert run_deadlines(issued, date(2026, 10, 22)).reminders == 0
    assert run_deadlines(issued, date(2026, 10, 23)).reminders == 5  # reminder-5 of the five orders
    assert run_deadlines(issued, date(2026, 10, 28)).reminders == 0
    assert run_deadlines(issued, date(2026, 10, 29)).reminders == 5  # reminder-1
    assert run_deadlines(issued, DEADLINE).reminders == 0
    keys = [s.key for s in steps(issued, ORDER, "reminder")]
    assert keys == [f"{ORDER}/reminder-5", f"{ORDER}/reminder-1"]
    msg = outbox(issued, f"order/{ORDER}/reminder-5")[f"order/{ORDER}/reminder-5"]
    assert (msg.topic, msg.recipients_role) == ("order.reminder", "department")
    assert (
        msg.payload["reminder"] == 5 and msg.payload["late"] is False and "第十一条" in msg.payload["clause"]
    )


def test_a_skipped_run_catches_up_each_reminder_once(issued: App) -> None:
    # no run between the notice and the day before the deadline
    res = run_deadlines(issued, date(2026, 10, 29))
    assert res.reminders == 10
    late = steps(issued, ORDER, "reminder")
    assert [(s.key, s.on, s.payload["late"]) for s in late] == [
        (f"{ORDER}/reminder-5", date(2026, 10, 29), True),
        (f"{ORDER}/reminder-1", date(2026, 10, 29), False),
    ]
    assert run_deadlines(issued, DEADLINE).reminders == 0
    assert len(outbox(issued, f"order/{ORDER}/reminder")) == 2


def test_no_reminder_after_the_deadline_or_for_submitted_evidence(issued: App) -> None:
    submit_evidence(at(issued, date(2026, 10, 20)), ORDER, "chen", "已完成照片接口联调")
    res = run_deadlines(issued, date(2026, 11, 2))  # past the deadline: no reminder is sent any more
    assert res.reminders == 0 and steps(issued, ORDER, "reminder") == []
    # under review, not overdue
    assert show_order(issued, ORDER, "wang").status is OrderStatus.EVIDENCE_SUBMITTED


# ---------------------------------------------------------------------------------------------- overdue


def test_overdue_once_with_audit_and_notices_to_audit_and_program_office(issued: App) -> None:
    assert run_deadlines(issued, DEADLINE).overdue == 0  # the deadline day itself is in time
    res = run_deadlines(issued, date(2026, 11, 2))  # Monday, 1 working day overdue
    assert res.overdue == 5 and res.escalations == 5  # level 1 fires after 1 working day
    order = show_order(issued, ORDER, "wang")
    assert (order.status, order.overdue_since, order.escalation_level, order.version) == (
        OrderStatus.OVERDUE,
        date(2026, 11, 2),
        1,
        2,
    )
    sent = outbox(issued, f"order/{ORDER}/overdue")
    assert {m.recipients_role for m in sent.values()} == {"audit", "program_office", "department"}
    assert all(m.topic == "order.overdue" and m.payload["overdue_workdays"] == 1 for m in sent.values())
    assert ("order.overdue", "recorded", "govflow-deadlines") in audit_actions(issued, "ZJ-2026-004")
    res = run_deadlines(issued, date(2026, 11, 3))
    assert (res.overdue, res.escalations) == (0, 0)
    assert len(outbox(issued, f"order/{ORDER}/overdue")) == 3
    assert show_order(issued, ORDER, "wang").overdue_since == date(2026, 11, 2)


def test_escalation_levels_fire_once_each_also_when_runs_were_skipped(issued: App) -> None:
    cal = issued.calendar
    assert cal.workdays_after(DEADLINE, date(2026, 11, 13)) == 10
    assert cal.workdays_after(DEADLINE, date(2026, 11, 27)) == 20
    assert run_deadlines(issued, date(2026, 11, 12)).escalations == 5  # level 1 only
    res = run_deadlines(issued, date(2026, 11, 27))  # jumps over level 2's day
    assert res.escalations == 10 and res.overdue == 0
    keys = [s.key for s in steps(issued, ORDER, "escalation")]
    assert keys == [f"{ORDER}/escalation-1", f"{ORDER}/escalation-2", f"{ORDER}/escalation-3"]
    assert show_order(issued, ORDER, "wang").escalation_level == 3
    assert run_deadlines(issued, date(2026, 12, 15)).escalations == 0
    level3 = outbox(issued, f"order/{ORDER}/escalation-3/")
    assert {m.recipients_role for m in level3.values()} == {
        "audit",
        "program_office",
        "finance",
        "department",
    }
    assert all(m.payload["name"] == "约谈" and m.payload["level"] == 3 for m in level3.values())
    assert services.verify_audit(issued).ok


def test_orders_of_a_failed_acceptance_are_reminded_and_escalated_too(app: App) -> None:
    fire_event(app, "ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen")
    fire_event(app, "ZJ-2026-004", Event.FAIL_ACCEPTANCE, "wang", reason="C-001、C-002 到期未实现共享")
    order = show_order(app, "RO-ZJ-2026-004-01", "wang")
    assert (order.origin, order.deadline) == ("fail_acceptance", date(2026, 12, 24))
    assert run_deadlines(app, date(2026, 12, 17)).reminders == 1
    res = run_deadlines(app, date(2026, 12, 28))
    assert (res.orders_issued, res.reminders, res.overdue, res.escalations) == (0, 0, 1, 1)
    assert show_order(app, "RO-ZJ-2026-004-01", "wang").status is OrderStatus.OVERDUE


def test_a_run_for_a_day_before_the_notice_leaves_the_order_alone(issued: App) -> None:
    assert run_deadlines(issued, date(2026, 9, 27)) == DeadlinesResult(date(2026, 9, 27), None, 0, 0, 0, 0)


# ---------------------------------------------------------------------------------------------- calendar


def import_2027(app: App) -> None:
    import_calendar(app, FICTIONAL_2027, "admin")


def order_row(app: App, code: str) -> Any:
    ro = t(RectificationOrder)
    with unit_of_work(app.engine, write=False) as s:
        return s.execute(select(ro).where(ro.c.code == code)).one()


def test_a_deadline_in_a_year_without_calendar_data_is_pending_and_the_run_completes(app: App) -> None:
    """期限待定: 20 working days after 2026-12-10 reach into 2027, which has no data yet. The orders are issued
    with their deadline pending, the run completes, the administrator is alarmed once per year."""
    run_sweep(app, date(2026, 12, 10))
    with recorded_run(app, "deadlines", date(2026, 12, 10)):
        res = run_deadlines(app, date(2026, 12, 10))
    assert res.orders_issued == 6 and res.pending == 6 and res.to_dict()["pending"] == 6
    order = show_order(app, ORDER, "wang")
    assert (order.status, order.deadline, order.original_deadline) == (OrderStatus.OPEN, None, None)
    assert (order.pending_from, order.pending_workdays) == (date(2026, 12, 10), 20)
    d = order.to_dict()
    assert (d["deadline"], d["deadline_label"], d["deadline_pending"]) == (None, "期限待定", True)
    assert order.to_dict("en")["deadline_label"] == "deadline pending"
    issued_note = order.steps[0].note or ""
    assert "整改期限待定：2027 年工作日历尚未导入，导入后自动按通知日起 20 个工作日确定期限" in issued_note
    notice = outbox(app, f"order/{ORDER}/issued")[f"order/{ORDER}/issued"]
    assert notice.payload["deadline"] is None and notice.payload["deadline_pending"] is True
    assert "整改期限待定" in notice.payload["message"]
    text = render(notice.topic, notice.payload, role="department")
    assert "整改期限：期限待定" in text.body and "2027 年工作日历尚未导入" in text.body
    assert "Deadline: deadline pending" in render(notice.topic, notice.payload, lang="en").body
    alarm = outbox(app, "alarm/")["alarm/calendar/2027"]
    assert (alarm.topic, alarm.recipients_role) == ("alarm.calendar", "admin")
    assert alarm.payload["year"] == "2027" and alarm.payload["flow"] == "deadlines"
    assert alarm.payload["as_of"] == "2026-12-10"
    fr = t(FlowRun)
    with unit_of_work(app.engine, write=False) as s:
        assert s.execute(select(fr.c.status)).scalar_one() == "completed"
    # nothing to remind, nothing overdue while pending; one alarm per missing year however often it is met
    later = run_deadlines(app, date(2026, 12, 31))
    assert (later.orders_issued, later.reminders, later.overdue, later.dated) == (0, 0, 0, 0)
    assert len(outbox(app, "alarm/")) == 1
    assert show_order(app, ORDER, "wang").status is OrderStatus.OPEN


def test_the_first_run_after_the_import_dates_pending_orders_from_their_notice_date(app: App) -> None:
    run_sweep(app, date(2026, 12, 10))
    run_deadlines(app, date(2026, 12, 10))
    import_2027(app)
    deadline = app.calendar.add_workdays(date(2026, 12, 10), 20)
    assert deadline == date(2027, 1, 8)  # December's 15 working days left, 2027-01-01..03 off, then 5

    res = run_deadlines(app, date(2026, 12, 14))
    assert (res.dated, res.orders_issued, res.pending) == (6, 0, 0)
    order = show_order(app, ORDER, "wang")
    assert (order.deadline, order.original_deadline, order.status) == (deadline, deadline, OrderStatus.OPEN)
    assert (order.pending_from, order.pending_workdays, order.version) == (None, None, 2)
    dated = order.steps[-1]
    assert (dated.kind, dated.key, dated.on) == ("dated", f"{ORDER}/dated@2027-01-08", date(2026, 12, 14))
    assert (
        dated.to_dict()["kind_label"] == "确定整改期限"
        and dated.to_dict("en")["kind_label"] == "deadline set"
    )
    notices = outbox(app, f"order/{ORDER}/dated")
    assert {n.recipients_role for n in notices.values()} == {"department", "program_office"}
    note = notices[f"order/{ORDER}/dated@2027-01-08/department"]
    assert note.payload["deadline"] == "2027-01-08" and note.payload["notice_date"] == "2026-12-10"
    assert "请于 2027-01-08 前完成整改" in note.payload["message"]
    assert "整改期限：2027-01-08" in render(note.topic, note.payload).body
    assert ("order.date", "recorded", "govflow-deadlines") in audit_actions(app, "ZJ-2026-004")
    assert services.verify_audit(app).ok
    # dated once; reminders then follow as for any order (5 working days before 01-08: 2026-12-31)
    again = run_deadlines(app, date(2026, 12, 31))
    assert (again.dated, again.reminders) == (0, 6)
    assert [s.key for s in steps(app, ORDER, "reminder")] == [f"{ORDER}/reminder-5"]
    assert run_deadlines(app, date(2027, 1, 11)).overdue == 6


def test_a_failed_acceptance_in_late_december_opens_a_pending_order(app: App) -> None:
    fire_event(app, "ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen")
    late = at(app, date(2026, 12, 20))
    res = fire_event(late, "ZJ-2026-004", Event.FAIL_ACCEPTANCE, "wang", reason="C-001、C-002 到期未实现共享")
    assert res.accepted and res.order == ORDER and res.deadline is None
    order = show_order(app, ORDER, "wang")
    assert (order.origin, order.deadline, order.pending_from, order.pending_workdays) == (
        "fail_acceptance",
        None,
        date(2026, 12, 20),
        20,
    )
    assert "2027 年工作日历尚未导入" in (order.steps[0].note or "")
    decision = next(m for m in outbox(app, "decision:").values() if m.payload["event"] == "fail_acceptance")
    assert decision.payload["deadline"] is None and decision.payload["deadline_pending"] is True
    body = render(decision.topic, decision.payload).body
    assert (
        "整改期限：期限待定" in body
        and "2027 年工作日历尚未导入，导入后自动按通知日起 20 个工作日确定期限" in body
    )
    assert "the working-day calendar of 2027" in render(decision.topic, decision.payload, lang="en").body
    assert outbox(app, "alarm/")["alarm/calendar/2027"].payload["flow"] == "fail_acceptance"

    import_2027(app)
    assert run_deadlines(app, date(2026, 12, 21)).dated == 1
    assert show_order(app, ORDER, "wang").deadline == app.calendar.add_workdays(date(2026, 12, 20), 20)


def test_an_overdue_count_that_needs_a_missing_year_waits_for_a_later_run(app: App) -> None:
    """An order due on 2026-12-24 seen on 2027-01-05 without 2027 data: overdue, but how many working days is
    not known yet, so its notice and escalation wait (the run completes); after the import they catch up."""
    fire_event(app, "ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen")
    fire_event(app, "ZJ-2026-004", Event.FAIL_ACCEPTANCE, "wang", reason="到期未实现共享")
    assert show_order(app, ORDER, "wang").deadline == date(2026, 12, 24)
    res = run_deadlines(app, date(2027, 1, 5))
    assert (res.overdue, res.escalations) == (0, 0)
    assert show_order(app, ORDER, "wang").status is OrderStatus.OVERDUE
    assert "alarm/calendar/2027" in outbox(app, "alarm/")
    # the orders page of that day still shows it: overdue, its working days not counted yet
    [line] = [x for x in order_page(app, "wang", as_of=date(2027, 1, 5)).items if x.order.code == ORDER]
    assert line.order.status is OrderStatus.OVERDUE and line.overdue_workdays is None
    import_2027(app)
    [line] = [x for x in order_page(app, "wang", as_of=date(2027, 1, 5)).items if x.order.code == ORDER]
    assert line.overdue_workdays is not None and line.overdue_workdays > 0
    res = run_deadlines(app, date(2027, 1, 5))
    assert (res.overdue, res.escalations) == (1, 1)


# ---------------------------------------------------------------------------------------------- use cases


def test_evidence_then_verification_closes_the_order_in_time(issued: App) -> None:
    day = at(issued, date(2026, 10, 27))
    order = submit_evidence(day, ORDER, "chen", "照片共享接口已上线，附联调记录")
    assert (order.status, order.version) == (OrderStatus.EVIDENCE_SUBMITTED, 2)
    assert order.steps[-1].kind == "evidence" and order.steps[-1].actor == "chen"
    assert order.steps[-1].note == "照片共享接口已上线，附联调记录"
    note = outbox(issued, f"order/{ORDER}/evidence/")[f"order/{ORDER}/evidence/v2"]
    assert note.recipients_role == "program_office" and note.payload["to"] == "evidence_submitted"
    deliver_for(day, ORDER, date(2026, 10, 26))  # the platform delivers C-002 again: the obligation is met
    order = verify_order(day, ORDER, "wang", "核验通过")
    assert (order.status, order.closed_on, order.closed_late, order.closed_reason) == (
        OrderStatus.CLOSED,
        date(2026, 10, 27),
        False,
        "verified",
    )
    assert [s.kind for s in order.steps] == ["issued", "evidence", "verify"]
    assert [a for a in audit_actions(issued, "ZJ-2026-004") if a[0].startswith("order.")][-2:] == [
        ("order.evidence", "accepted", "chen"),
        ("order.verify", "accepted", "wang"),
    ]
    assert services.verify_audit(issued).ok


def test_an_order_is_not_verified_while_its_obligation_is_still_broken(issued: App) -> None:
    """Materials submitted are not a rectification (第十一条): while the exchange platform still has no delivery
    of ZJ-2026-004's C-002, verifying its order is refused — by the dry run the order page's button shows and by
    the use case, nothing written — and the order stays on the overdue path; once the platform delivers, the
    same verification goes through. Refused for the program office without naming the catalog item."""
    day = at(issued, date(2026, 10, 27))
    submit_evidence(day, ORDER, "chen", "接口已上线（但平台尚无交付记录）")
    before = (count(issued, AuditEvent), count(issued, OrderStep), count(issued, OutboxMessage))
    page = order_detail(day, "wang", ORDER, as_of=date(2026, 10, 27))
    [why] = page.refusals["verify"]
    assert why.code == "ORDER_NOT_RECTIFIED" and why.detail == {
        "order": ORDER,
        "rule": "MILESTONE_MISSED",
        "as_of": "2026-10-27",
    }
    assert "仍然存在" in why.message and "C-002" not in why.message and "C-002" not in why.message_en
    assert page.refusals["reject"] == []  # rejecting the materials is what is left to do
    with pytest.raises(RuleRefused) as exc:
        verify_order(day, ORDER, "wang", "核验通过")
    assert [r.code for r in exc.value.reasons] == ["ORDER_NOT_RECTIFIED"]
    assert (count(issued, AuditEvent), count(issued, OrderStep), count(issued, OutboxMessage)) == before
    assert show_order(issued, ORDER, "wang").status is OrderStatus.EVIDENCE_SUBMITTED
    # rejected, the order is back on its way to overdue (what verifying it would have taken it off)
    assert reject_evidence(day, ORDER, "wang", "平台尚无交付记录").status is OrderStatus.OPEN
    submit_evidence(day, ORDER, "chen", "平台已恢复交付")

    deliver_for(day, ORDER, date(2026, 10, 27))
    assert order_detail(day, "wang", ORDER, as_of=date(2026, 10, 27)).refusals["verify"] == []
    assert verify_order(day, ORDER, "wang", "核验通过").status is OrderStatus.CLOSED


def test_verification_after_the_deadline_is_recorded_as_late(issued: App) -> None:
    late = at(issued, date(2026, 11, 3))
    run_deadlines(issued, date(2026, 11, 2))
    assert submit_evidence(late, ORDER, "chen", "补交").status is OrderStatus.EVIDENCE_SUBMITTED
    deliver_for(late, ORDER, date(2026, 11, 2))
    order = verify_order(late, ORDER, "wang", None)
    assert (order.status, order.closed_late) == (OrderStatus.CLOSED, True)


def test_rejected_evidence_returns_to_open_or_to_overdue_after_the_deadline(issued: App) -> None:
    early = at(issued, date(2026, 10, 20))
    submit_evidence(early, ORDER, "chen", "第一次提交")
    order = reject_evidence(early, ORDER, "wang", "缺少交换平台的交付记录")
    assert (order.status, order.overdue_since) == (OrderStatus.OPEN, None)
    assert order.steps[-1].kind == "reject" and order.steps[-1].note == "缺少交换平台的交付记录"
    submit_evidence(early, ORDER, "chen", "第二次提交")
    late = at(issued, date(2026, 11, 4))
    order = reject_evidence(late, ORDER, "wang", "仍无交付记录")
    assert (order.status, order.overdue_since) == (OrderStatus.OVERDUE, date(2026, 11, 4))
    # the run that follows tells audit and the program office, once
    assert run_deadlines(issued, date(2026, 11, 4)).overdue == 5
    assert len(outbox(issued, f"order/{ORDER}/overdue/")) == 3


def test_reopen_a_closed_order_with_a_reason(issued: App) -> None:
    day = at(issued, date(2026, 10, 27))
    submit_evidence(day, ORDER, "chen", "已整改")
    deliver_for(day, ORDER, date(2026, 10, 26))
    verify_order(day, ORDER, "wang", None)
    with pytest.raises(UsageError):
        reopen_order(day, ORDER, "wang", "  ")
    order = reopen_order(day, ORDER, "wang", "抽查发现交付再次中断")
    assert (order.status, order.closed_on, order.closed_late, order.closed_reason) == (
        OrderStatus.OPEN,
        None,
        None,
        None,
    )
    assert order.steps[-1].kind == "reopen" and order.steps[-1].payload["was_closed_reason"] == "verified"
    with pytest.raises(RuleRefused) as exc:
        reopen_order(day, ORDER, "wang", "再次")
    assert exc.value.reasons[0].code == "ORDER_STATUS" and exc.value.reasons[0].clause == "733号文 第十一条"


def test_extend_to_a_later_working_day_or_by_working_days(issued: App) -> None:
    day = at(issued, date(2026, 10, 27))
    with pytest.raises(UsageError):
        extend_order(day, ORDER, "wang", "需要协调公安厅")  # neither --to nor --workdays
    with pytest.raises(UsageError):
        extend_order(day, ORDER, "wang", "x", new_deadline=date(2026, 11, 6), workdays=3)
    with pytest.raises(RuleRefused) as exc:
        extend_order(day, ORDER, "wang", "x", new_deadline=date(2026, 10, 29))
    assert exc.value.reasons[0].code == "EXTENSION_NOT_LATER"
    order = extend_order(day, ORDER, "wang", "需要协调公安厅", workdays=5)
    assert (order.deadline, order.original_deadline) == (date(2026, 11, 6), DEADLINE)
    order = extend_order(day, ORDER, "wang", "再协调一周", new_deadline=date(2026, 11, 13))
    assert (order.deadline, order.original_deadline, order.version) == (date(2026, 11, 13), DEADLINE, 3)
    assert order.steps[-1].payload["previous_deadline"] == "2026-11-06"
    # a Saturday is no deadline: it moves to Monday (民法典 第二百零三条), and the step and trail say so
    order = extend_order(day, ORDER, "wang", "周末割接", new_deadline=date(2026, 11, 14))
    assert order.deadline == date(2026, 11, 16) and order.steps[-1].payload["requested"] == "2026-11-14"
    assert "2026-11-14 不是工作日，期限顺延至其后第一个工作日 2026-11-16" in (order.steps[-1].note or "")


def test_an_extended_overdue_order_is_open_again_and_watched_against_the_new_deadline(issued: App) -> None:
    run_deadlines(issued, date(2026, 11, 2))
    day = at(issued, date(2026, 11, 3))
    order = extend_order(day, ORDER, "wang", "因国庆后系统割接延期", new_deadline=date(2026, 11, 20))
    assert order.status is OrderStatus.OPEN and order.overdue_since == date(2026, 11, 2)
    res = run_deadlines(issued, date(2026, 11, 19))  # catches up both reminders of the new deadline
    assert res.reminders == 2
    assert [s.key for s in steps(issued, ORDER, "reminder")] == [
        f"{ORDER}/reminder-5@2026-11-20",
        f"{ORDER}/reminder-1@2026-11-20",
    ]
    assert run_deadlines(issued, date(2026, 11, 23)).overdue == 1  # the other four were told on 11-02
    assert [s.key for s in steps(issued, ORDER, "overdue")] == [
        f"{ORDER}/overdue",
        f"{ORDER}/overdue@2026-11-20",
    ]
    assert [s.key for s in steps(issued, ORDER, "escalation")] == [f"{ORDER}/escalation-1"]  # once per order


def test_extending_to_a_day_in_a_year_without_calendar_data_is_refused_with_an_alarm(issued: App) -> None:
    with pytest.raises(CalendarDataMissing) as exc:
        extend_order(at(issued, date(2026, 10, 27)), ORDER, "wang", "跨年", new_deadline=date(2027, 1, 8))
    assert exc.value.exit_code == 3 and exc.value.year == 2027
    assert "2027" in exc.value.message and "--workdays" in exc.value.message
    assert "govflow calendar import" in exc.value.message_en
    assert "alarm/calendar/2027" in outbox(issued, "alarm/")
    assert show_order(issued, ORDER, "wang").deadline == DEADLINE


def test_extending_by_working_days_into_a_year_without_data_leaves_the_deadline_pending(issued: App) -> None:
    run_deadlines(issued, date(2026, 11, 2))  # overdue since 11-02
    day = at(issued, date(2026, 11, 3))
    order = extend_order(day, ORDER, "wang", "跨年系统割接", workdays=60)
    assert (order.status, order.deadline, order.original_deadline) == (OrderStatus.OPEN, None, DEADLINE)
    assert (order.pending_from, order.pending_workdays, order.version) == (DEADLINE, 60, 3)
    step = order.steps[-1]
    assert (
        step.kind == "extend"
        and step.payload["deadline"] is None
        and step.payload["previous_deadline"] == "2026-10-30"
    )
    assert "导入后自动按 2026-10-30 起 60 个工作日确定期限" in step.payload["pending_note"]
    notice = outbox(issued, f"order/{ORDER}/extend/")[f"order/{ORDER}/extend/v3"]
    assert "整改期限：期限待定" in render(notice.topic, notice.payload).body
    assert outbox(issued, "alarm/")["alarm/calendar/2027"].payload["flow"] == "order.extend"
    # a pending deadline grows by working days, and cannot be moved to a given day
    order = extend_order(day, ORDER, "wang", "再延", workdays=5)
    assert (order.deadline, order.pending_from, order.pending_workdays) == (None, DEADLINE, 65)
    with pytest.raises(RuleRefused) as refused:
        extend_order(day, ORDER, "wang", "指定日期", new_deadline=date(2026, 12, 31))
    assert refused.value.reasons[0].code == "EXTENSION_OF_PENDING_DEADLINE"
    assert run_deadlines(issued, date(2026, 12, 31)).overdue == 0  # pending: never overdue

    import_2027(issued)
    res = run_deadlines(issued, date(2027, 1, 4))
    assert res.dated == 1
    order = show_order(issued, ORDER, "wang")
    assert order.deadline == issued.calendar.add_workdays(DEADLINE, 65)
    assert order.original_deadline == DEADLINE and order.steps[-1].kind == "dated"


def test_a_stale_version_is_a_conflict_and_changes_nothing(issued: App) -> None:
    day = at(issued, date(2026, 10, 20))
    submit_evidence(day, ORDER, "chen", "提交", expect_version=1)
    reject_evidence(day, ORDER, "wang", "不全")  # version 3 now
    n = count(issued, AuditEvent)
    with pytest.raises(Conflict) as exc:
        submit_evidence(day, ORDER, "chen", "基于旧页面提交", expect_version=2)
    assert exc.value.exit_code == 5 and "RO-ZJ-2026-004-01" in exc.value.message
    assert show_order(issued, ORDER, "wang").version == 3 and count(issued, AuditEvent) == n
    assert submit_evidence(day, ORDER, "chen", "刷新后提交", expect_version=3).version == 4


def _to_evidence(app: App) -> int:
    deliver_for(app, ORDER, app.today())  # so that verifying is not refused on the obligation
    return submit_evidence(app, ORDER, "chen", "已整改").version


def _to_closed(app: App) -> int:
    _to_evidence(app)
    return verify_order(app, ORDER, "wang", None).version


#: each order action: how to bring the order to a status that allows it, and the action with an expected version
ACTIONS: dict[str, tuple[Any, Any]] = {
    "verify": (_to_evidence, lambda a, v: verify_order(a, ORDER, "wang", "核验", expect_version=v)),
    "reject": (_to_evidence, lambda a, v: reject_evidence(a, ORDER, "wang", "不全", expect_version=v)),
    "reopen": (_to_closed, lambda a, v: reopen_order(a, ORDER, "wang", "再次中断", expect_version=v)),
    "extend": (
        lambda a: show_order(a, ORDER, "wang").version,
        lambda a, v: extend_order(a, ORDER, "wang", "协调", workdays=5, expect_version=v),
    ),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_order_action_refuses_a_stale_version_and_changes_nothing(issued: App, action: str) -> None:
    """verify, reject, reopen and extend take ``expect_version`` like evidence does: a page or script that saw
    an older version is told so (Conflict, exit 5 / HTTP 409) and writes no step, audit event or message."""
    day = at(issued, date(2026, 10, 27))
    prepare, act = ACTIONS[action]
    seen = prepare(day)
    before = (count(issued, AuditEvent), count(issued, OrderStep), count(issued, OutboxMessage))
    with pytest.raises(Conflict) as exc:
        act(day, seen - 1)
    assert (
        exc.value.exit_code == 5
        and ORDER in exc.value.message
        and f"预期版本 {seen - 1}" in exc.value.message
    )
    assert show_order(issued, ORDER, "wang").version == seen
    assert (count(issued, AuditEvent), count(issued, OrderStep), count(issued, OutboxMessage)) == before
    done = act(day, seen)
    assert done.version == seen + 1 and done.steps[-1].kind == action
    assert done.steps[-1].payload["version"] == seen + 1


def test_a_stale_version_is_told_before_the_status_and_the_permission_comes_first(issued: App) -> None:
    """An order verified since the page was loaded: the stale page learns it is stale (not that a closed order
    cannot be verified); someone without the permission learns only that (nothing about versions)."""
    day = at(issued, date(2026, 10, 27))
    deliver_for(day, ORDER, date(2026, 10, 26))
    submit_evidence(day, ORDER, "chen", "已整改", expect_version=1)
    verify_order(day, ORDER, "wang", "先核验", expect_version=2)
    with pytest.raises(Conflict):
        reject_evidence(day, ORDER, "wang", "基于旧页面退回", expect_version=2)
    with pytest.raises(PermissionDenied):
        reopen_order(day, ORDER, "zheng", "审计不能办理", expect_version=1)
    with pytest.raises(RuleRefused) as exc:  # the current version, a status that does not allow it
        verify_order(day, ORDER, "wang", "再次核验", expect_version=3)
    assert exc.value.reasons[0].code == "ORDER_STATUS"


def test_permissions_deny_by_default_and_scope_departments(issued: App) -> None:
    day = at(issued, date(2026, 10, 20))
    with pytest.raises(PermissionDenied) as exc:
        submit_evidence(day, ORDER, "li", "不是牵头部门")  # 大数据局 takes part in ZJ-2026-004, does not lead
    assert exc.value.reasons[0].code == "OUT_OF_DEPARTMENT"
    with pytest.raises(PermissionDenied) as exc:
        submit_evidence(day, ORDER, "wang", "项目审批部门不能代交")
    assert exc.value.reasons[0].code == "PERMISSION_DENIED"
    submit_evidence(day, ORDER, "chen", "已整改")
    for who, fn in [("chen", verify_order), ("zheng", verify_order), ("qian", verify_order)]:
        with pytest.raises(PermissionDenied):
            fn(day, ORDER, who, None)
    with pytest.raises(PermissionDenied):
        extend_order(day, ORDER, "chen", "自己延期", workdays=5)
    with pytest.raises(PermissionDenied):
        reject_evidence(day, ORDER, "zheng", "审计只读")
    with pytest.raises(PermissionDenied):
        show_order(day, ORDER, "pingshen")  # the review agency has no business with orders
    with pytest.raises(NotFound) as hidden:  # 市场监管局 has no part in ZJ-2026-004: as if it did not exist
        show_order(day, ORDER, "zhao")
    with pytest.raises(NotFound) as missing:
        show_order(day, "RO-NO-SUCH", "zhao")
    assert hidden.value.message == missing.value.message.replace("RO-NO-SUCH", ORDER)
    ae = t(AuditEvent)
    with unit_of_work(issued.engine, write=False) as s:
        denied = list(
            s.execute(select(ae.c.actor, ae.c.action).where(ae.c.outcome == "denied").order_by(ae.c.seq))
        )
    assert [tuple(r) for r in denied] == [
        ("li", "order.evidence"),
        ("wang", "order.evidence"),
        ("chen", "order.verify"),
        ("zheng", "order.verify"),
        ("qian", "order.verify"),
        ("chen", "order.extend"),
        ("zheng", "order.verify"),
        ("pingshen", "order.read"),
        ("zhao", "order.read"),
    ]
    with pytest.raises(NotFound):
        show_order(day, "RO-NO-SUCH", "wang")
    with pytest.raises(NotFound):
        submit_evidence(day, ORDER, "nobody", "x")
    with pytest.raises(UsageError):
        submit_evidence(day, ORDER, "chen", "")


def test_list_orders_by_role_status_and_project(issued: App) -> None:
    everything = [o.code for o in list_orders(issued, "wang")]
    assert everything == [ORDER, *(f"RO-ZJ-2026-005-0{i}" for i in range(1, 5))]
    assert [o.code for o in list_orders(issued, "zheng")] == everything  # audit reads everything
    # 人社厅 leads ZJ-2026-004 and takes part in ZJ-2026-005; 大数据局 takes part in 004 only,
    # 市场监管局 in 005 only
    assert [o.code for o in list_orders(issued, "chen")] == everything
    assert [o.code for o in list_orders(issued, "li")] == [ORDER]
    assert [o.code for o in list_orders(issued, "zhao")] == everything[1:]
    assert [o.code for o in list_orders(issued, "wang", project="ZJ-2026-004")] == [ORDER]
    submit_evidence(at(issued, date(2026, 10, 20)), ORDER, "chen", "已整改")
    assert [o.code for o in list_orders(issued, "wang", status="evidence_submitted")] == [ORDER]
    assert list_orders(issued, "wang", status="closed") == []
    with pytest.raises(UsageError):
        list_orders(issued, "wang", status="done")
    with pytest.raises(NotFound):  # no part in it: as if it did not exist
        list_orders(issued, "zhao", project="ZJ-2026-004")
    with pytest.raises(PermissionDenied):
        list_orders(issued, "pingshen")
    view = list_orders(issued, "qian")[0].to_dict("en")
    assert view["status_label"] == "evidence submitted" and view["clause"] == "733号文 第十一条"
    assert view["steps"] == []  # the list leaves the steps out


def test_show_order_tells_the_whole_story_in_both_languages(issued: App) -> None:
    run_deadlines(issued, date(2026, 11, 2))
    d = show_order(issued, ORDER, "chen").to_dict()
    assert d["status_label"] == "已逾期" and d["department"] == "11330000GF0000005G"
    assert [s["kind"] for s in d["steps"]] == ["issued", "overdue", "escalation"]
    assert d["steps"][0]["kind_label"] == "下达整改通知" and "2026-10-30" in d["steps"][0]["note"]
    en = show_order(issued, ORDER, "chen").to_dict("en")
    assert en["status_label"] == "overdue" and en["steps"][2]["kind_label"] == "escalation"
    assert en["reasons"][0]["message"].startswith("agreement A-001 promised")


def test_a_chunk_issues_and_watches_only_its_projects_orders(app: App) -> None:
    run_sweep(app, NOTICE)
    pt = t(Project)
    with unit_of_work(app.engine, write=False) as s:
        pid4 = int(s.execute(select(pt.c.id).where(pt.c.code == "ZJ-2026-004")).scalar_one())
    res = run_deadlines(app, NOTICE, (pid4, pid4))
    assert res.issued_codes == (ORDER,) and res.chunk == (pid4, pid4)
    assert run_deadlines(app, date(2026, 10, 23), (pid4, pid4)).reminders == 1
    assert run_deadlines(app, NOTICE).orders_issued == 4  # the rest, on the whole range


def test_two_decisions_on_one_order_at_once_exactly_one_wins(
    issued: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B verifies while A's rejection is being judged: A must not write over it (optimistic lock)."""
    if issued.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serializes writing transactions (BEGIN IMMEDIATE): no interleaving to test")
    day = at(issued, date(2026, 10, 27))
    deliver_for(day, ORDER, date(2026, 10, 26))
    submit_evidence(day, ORDER, "chen", "已整改")
    real = services._project_row  # what rectification calls, by the name it imported
    fired: list[bool] = []

    def interleaved(s: Any, code: str) -> Any:
        row = real(s, code)
        if not fired:
            fired.append(True)
            assert verify_order(day, ORDER, "wang", "B 先核验").status is OrderStatus.CLOSED
        return row

    monkeypatch.setattr(rectification, "_project_row", interleaved)
    with pytest.raises(Conflict):
        reject_evidence(day, ORDER, "wang", "A 的退回")
    order = show_order(issued, ORDER, "wang")
    assert (order.status, order.version) == (OrderStatus.CLOSED, 3)
    assert [s.kind for s in order.steps] == ["issued", "evidence", "verify"]
    assert services.verify_audit(issued).ok


def test_the_overdue_report_replays_a_deadline_that_was_pending(issued: App) -> None:
    """A pending deadline is never overdue, also in a report for a past day: extended while overdue by working
    days into 2027 (pending) and dated after the import, the order is overdue on 11-02 (the deadline then was
    10-30) and not on 11-10 (pending that day), whatever its deadline became later."""
    from govflow.reads import reports

    def overdue_on(day: date) -> list[str]:
        return [r["order"] for r in reports.records(reports.overdue_report(issued, day, "zheng"))]

    run_deadlines(issued, date(2026, 11, 2))
    extend_order(at(issued, date(2026, 11, 3)), ORDER, "wang", "跨年割接", workdays=60)
    assert ORDER in overdue_on(date(2026, 11, 2)) and ORDER not in overdue_on(date(2026, 11, 10))
    import_2027(issued)
    assert run_deadlines(issued, date(2027, 1, 4)).dated == 1
    deadline = show_order(issued, ORDER, "wang").deadline
    assert deadline is not None and deadline > date(2027, 1, 4)
    assert ORDER in overdue_on(date(2026, 11, 2)) and ORDER not in overdue_on(date(2026, 11, 10))
    assert ORDER not in overdue_on(date(2027, 1, 4))

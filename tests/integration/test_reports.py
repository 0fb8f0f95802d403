"""Reports on SQLite and PostgreSQL: overdue orders (audit), cut recommendations (finance), portfolio by phase.

Orders and recommendations are inserted straight into their tables (the flows that make them are tested on
their own); the portfolio's history comes from real lifecycle events fired with ``at=``. Expected working-day
counts are worked out by hand from the State Council's 2026 holiday notice (国办发明电〔2025〕7号), which the
calendar data carries:

- 春节 2026: 2-15 … 2-23 off; Saturday 2-14 and Saturday 2-28 are 调休 working days.
- 中秋 2026: Friday 9-25 off (9-26/27 the weekend); 国庆 10-1 … 10-7 off; Sunday 9-20 and Saturday 10-10 work.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pandas as pd  # type: ignore[import-untyped]
import pytest
from sqlalchemy import Engine, insert, select, update

from govflow.demo import demo_portfolio
from govflow.governance import policy_service
from govflow.lifecycle import services
from govflow.lifecycle.services import App, fire_event
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import AuditEvent, CutRecommendation, OrderStep, Project, RectificationOrder
from govflow.reads import reports
from govflow.reads.reports import COLUMNS, Format, Kind
from govflow.settings import Settings
from govflow.states.errors import CalendarDataMissing, NotFound, PermissionDenied, UsageError
from govflow.states.phases import Event, Phase
from govflow.states.policy import default_policy

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 in Beijing: the demo portfolio's "today"
CST = timezone(timedelta(hours=8))
ORDER, STEP, CUT = t(RectificationOrder), t(OrderStep), t(CutRecommendation)

NDRC_PROJECT = "ZJ-2026-005"  # operation, led by 浙江省发展和改革委员会, O&M budget 800 000
HRSS_PROJECT = "ZJ-2026-004"  # construction, led by 浙江省人力资源和社会保障厅, O&M budget 900 000


@pytest.fixture
def app(engine: Engine, db_url: str) -> Iterator[App]:
    clock = iter(NOW + timedelta(seconds=i) for i in range(10_000))
    application = App(Settings(database_url=db_url), engine, clock=lambda: next(clock))
    services.load_portfolio(application, demo_portfolio(), None)
    yield application


def project_id(app: App, code: str) -> int:
    p = t(Project)
    with unit_of_work(app.engine, write=False) as s:
        return int(s.execute(select(p.c.id).where(p.c.code == code)).scalar_one())


def add_order(
    app: App,
    code: str,
    *,
    project: str = NDRC_PROJECT,
    notice: date,
    deadline: date,
    status: str = "overdue",
    closed_on: date | None = None,
    original_deadline: date | None = None,
    origin: str = "finding",
) -> int:
    with unit_of_work(app.engine) as s:
        return int(
            s.execute(
                insert(ORDER)
                .values(
                    code=code,
                    project_id=project_id(app, project),
                    origin=origin,
                    reasons=[],
                    notice_date=notice,
                    workdays=20,
                    deadline=deadline,
                    status=status,
                    closed_on=closed_on,
                    original_deadline=original_deadline,
                    overdue_since=deadline + timedelta(days=1) if status == "overdue" else None,
                    policy_version="2026.1",
                )
                .returning(ORDER.c.id)
            ).scalar_one()
        )


def add_step(app: App, order_id: int, kind: str, on: date, **payload: str) -> None:
    with unit_of_work(app.engine) as s:
        s.execute(
            insert(STEP).values(
                key=f"{order_id}/{kind}/{on}",
                order_id=order_id,
                kind=kind,
                on=on,
                at=datetime(on.year, on.month, on.day, 2, tzinfo=UTC),
                actor="test",
                payload=payload,
            )
        )


def add_cut(
    app: App,
    project: str,
    *,
    period: str = "2026",
    computed_on: date,
    percent: str,
    amount: str,
    base: str,
    status: str = "proposed",
    decided_at: datetime | None = None,
    decided_by: str | None = None,
    reason: str | None = None,
    withdrawn_on: date | None = None,
) -> None:
    evidence = {
        "coverage": "0.50",
        "obligations": [{"catalog": "C-001", "expected": "daily", "delivered": 0}],
        "orders": [{"code": f"RO-{project}-01", "overdue_workdays": 12}],
    }
    with unit_of_work(app.engine) as s:
        s.execute(
            insert(CUT).values(
                project_id=project_id(app, project),
                period=period,
                as_of=computed_on,
                policy_version="2026.1",
                percent=Decimal(percent),
                base_budget=Decimal(base),
                amount=Decimal(amount),
                reasons=[],
                evidence=evidence,
                status=status,
                decided_at=decided_at,
                decided_by=decided_by,
                decision_reason=reason,
                withdrawn_on=withdrawn_on,
            )
        )


def overdue(app: App, as_of: date, actor: str | None = "zheng") -> list[dict[str, Any]]:
    return reports.records(reports.overdue_report(app, as_of, actor))


def by_order(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["order"]: r for r in rows}


# ---------------------------------------------------------------------------------------------- overdue


def test_working_days_overdue_skip_national_day_and_count_the_makeup_saturday(app: App) -> None:
    add_order(app, "RO-GUOQING", notice=date(2026, 9, 1), deadline=date(2026, 9, 30))
    expected = {
        date(2026, 10, 5): (0, 0, None),  # past the deadline, but 10-1 … 10-5 are holidays
        date(2026, 10, 9): (2, 1, "逾期通报"),  # 10-8 Thu, 10-9 Fri
        date(2026, 10, 12): (4, 1, "逾期通报"),  # + Saturday 10-10 (调休) and Monday 10-12
        date(2026, 10, 19): (9, 1, "逾期通报"),  # + 10-13 … 10-16, 10-19
        date(2026, 10, 20): (10, 2, "督办"),  # + 10-20: the policy's 10-working-day step
    }
    for as_of, (days, level, name) in expected.items():
        [row] = overdue(app, as_of)
        assert (row["overdue_workdays"], row["escalation_level"], row["escalation"]) == (days, level, name), (
            as_of
        )
        assert row["overdue_workdays"] == app.calendar.workdays_after(date(2026, 9, 30), as_of)
        assert row["deadline"] == "2026-09-30" and row["clause"] == "733号文 第十一条"
    # weekdays alone would say 14 on 10-20: the holidays and the make-up day matter
    assert sum(1 for d in range(1, 21) if date(2026, 10, d).weekday() < 5) == 14


def test_working_days_overdue_across_the_spring_festival(app: App) -> None:
    add_order(app, "RO-CHUNJIE", notice=date(2026, 1, 14), deadline=date(2026, 2, 13))
    expected = {
        date(2026, 2, 14): (1, 1),  # Saturday 2-14 is a 调休 working day
        date(2026, 2, 23): (1, 1),  # 2-15 … 2-23 off
        date(2026, 2, 24): (2, 1),
        date(2026, 3, 2): (7, 1),  # 2-25, 2-26, 2-27, Saturday 2-28 (调休), 3-2
        date(2026, 3, 18): (19, 2),  # 3-3 … 3-6, 3-9 … 3-13, 3-16 … 3-18
        date(2026, 3, 19): (20, 3),  # 约谈 after 20 working days
    }
    for as_of, (days, level) in expected.items():
        [row] = overdue(app, as_of)
        assert (row["overdue_workdays"], row["escalation_level"]) == (days, level), as_of
    assert overdue(app, date(2026, 3, 19))[0]["escalation"] == "约谈"


def test_only_orders_noticed_past_their_deadline_and_not_closed_that_day_are_overdue(app: App) -> None:
    add_order(app, "RO-A", notice=date(2026, 9, 1), deadline=date(2026, 10, 9))  # due on the day: not yet
    add_order(app, "RO-B", notice=date(2026, 10, 12), deadline=date(2026, 10, 8))  # noticed later (bad data)
    add_order(app, "RO-C", notice=date(2026, 9, 1), deadline=date(2026, 9, 30), status="closed",
              closed_on=date(2026, 10, 9))  # fmt: skip
    add_order(app, "RO-D", notice=date(2026, 9, 1), deadline=date(2026, 9, 30), status="closed",
              closed_on=date(2026, 10, 10))  # fmt: skip
    add_order(
        app,
        "RO-E",
        project=HRSS_PROJECT,
        notice=date(2026, 8, 3),
        deadline=date(2026, 9, 1),
        status="open",
        origin="fail_acceptance",
    )  # past due, the deadlines flow has not run yet
    rows = by_order(overdue(app, date(2026, 10, 9)))
    assert sorted(rows) == ["RO-D", "RO-E"]  # RO-C was closed on the day itself
    assert rows["RO-D"]["status"] == "overdue"  # closed the next day: overdue that day
    assert rows["RO-E"]["status"] == "overdue" and rows["RO-E"]["origin"] == "fail_acceptance"
    assert rows["RO-E"]["department_name"] == "浙江省人力资源和社会保障厅"
    # most overdue first
    assert [r["order"] for r in overdue(app, date(2026, 10, 9))] == ["RO-E", "RO-D"]


def test_last_quarters_report_is_reproducible_after_later_changes(app: App) -> None:
    a = add_order(app, "RO-Q3-A", notice=date(2026, 8, 3), deadline=date(2026, 8, 31))
    b = add_order(app, "RO-Q3-B", project=HRSS_PROJECT, notice=date(2026, 9, 1), deadline=date(2026, 9, 21))
    quarter_end = date(2026, 9, 30)
    before = overdue(app, quarter_end)
    # A: 9-1 … 9-4, 9-7 … 9-11, 9-14 … 9-18, Sunday 9-20 (调休), 9-21 … 9-24 (9-25 中秋), 9-28 … 9-30
    # B: 9-22 … 9-24, 9-28 … 9-30
    assert [(r["order"], r["overdue_workdays"]) for r in before] == [("RO-Q3-A", 22), ("RO-Q3-B", 6)]
    # the fourth quarter: A is evidenced, verified and closed late; B is extended; a new order is issued
    add_step(app, a, "evidence", date(2026, 10, 12))
    add_step(app, a, "verify", date(2026, 10, 14))
    with unit_of_work(app.engine) as s:
        s.execute(
            update(ORDER)
            .where(ORDER.c.code == "RO-Q3-A")
            .values(status="closed", closed_on=date(2026, 10, 14), closed_late=True)
        )
        s.execute(
            update(ORDER)
            .where(ORDER.c.code == "RO-Q3-B")
            .values(status="open", deadline=date(2026, 11, 30), original_deadline=date(2026, 9, 21))
        )
    add_step(app, b, "extend", date(2026, 10, 15), previous_deadline="2026-09-21", deadline="2026-11-30")
    add_order(app, "RO-Q4", notice=date(2026, 10, 1), deadline=date(2026, 10, 29))
    assert overdue(app, quarter_end) == before
    now = by_order(overdue(app, date(2026, 11, 2)))
    assert sorted(now) == ["RO-Q4"]  # A closed, B's extended deadline not reached


def test_status_and_deadline_on_a_day_are_replayed_from_the_orders_dated_steps(app: App) -> None:
    o = add_order(app, "RO-S", notice=date(2026, 9, 1), deadline=date(2026, 9, 30))
    add_step(app, o, "evidence", date(2026, 10, 12))
    add_step(app, o, "reject", date(2026, 10, 14))
    add_step(app, o, "evidence", date(2026, 10, 16))
    add_step(app, o, "verify", date(2026, 10, 19))
    add_step(app, o, "reopen", date(2026, 10, 21))  # reopened: closed_on cleared, the steps remember
    status = {
        d: by_order(overdue(app, date(2026, 10, d))).get("RO-S", {}).get("status") for d in range(9, 23)
    }
    assert status[9] == "overdue"
    assert status[12] == status[13] == "evidence_submitted"
    assert status[14] == status[15] == "overdue"
    assert status[16] == "evidence_submitted"
    assert status[19] is None and status[20] is None  # verified: not overdue those days
    assert status[21] == "overdue"
    e = add_order(app, "RO-X", notice=date(2026, 9, 1), deadline=date(2026, 10, 30),
                  original_deadline=date(2026, 9, 30))  # fmt: skip
    add_step(app, e, "extend", date(2026, 10, 13), previous_deadline="2026-09-30", deadline="2026-10-30")
    assert by_order(overdue(app, date(2026, 10, 12)))["RO-X"]["deadline"] == "2026-09-30"
    assert "RO-X" not in by_order(overdue(app, date(2026, 10, 13)))
    assert by_order(overdue(app, date(2026, 11, 2)))["RO-X"]["overdue_workdays"] == 1


def test_escalation_follows_the_active_policy(app: App, tmp_path: Path) -> None:
    add_order(app, "RO-P", notice=date(2026, 9, 1), deadline=date(2026, 9, 30))
    assert overdue(app, date(2026, 10, 12))[0]["escalation_level"] == 1  # 4 days: default 逾期通报 only
    doc = default_policy().model_dump(mode="json")
    doc["version"] = "test.2"
    doc["rectification"]["escalation"] = [
        {"level": 1, "after_workdays": 2, "name": "书面提醒", "notify": ["audit"]},
        {"level": 2, "after_workdays": 4, "name": "公开通报", "notify": ["audit", "finance"]},
    ]
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    policy_service.load_policy(app, policy, "admin")
    [row] = overdue(app, date(2026, 10, 12))
    assert (row["escalation_level"], row["escalation"]) == (2, "公开通报")
    assert overdue(app, date(2026, 10, 8))[0]["escalation_level"] == 0  # one working day: below every step


def test_a_year_without_calendar_data_is_an_error_not_a_guess(app: App) -> None:
    add_order(app, "RO-Y", notice=date(2026, 12, 1), deadline=date(2026, 12, 29))
    with pytest.raises(CalendarDataMissing) as exc:
        reports.overdue_report(app, date(2027, 1, 5), "zheng")
    assert "2027" in exc.value.message


def test_report_permissions_follow_the_table(app: App) -> None:
    add_order(app, "RO-Z", notice=date(2026, 9, 1), deadline=date(2026, 9, 30))
    for user in ("zheng", "wang", "qian", "admin", None):  # audit, program office, finance, admin, operator
        assert len(overdue(app, date(2026, 10, 9), user)) == 1
    # a department sees no report at all (its own orders are under `govflow order list`)
    with pytest.raises(PermissionDenied) as exc:
        reports.overdue_report(app, date(2026, 10, 9), "li")
    assert exc.value.reasons[0].code == "PERMISSION_DENIED"
    with pytest.raises(PermissionDenied):
        reports.cuts_report(app, "2026", "li")
    for user in ("xu", "pingshen"):  # a department of the program office's own bureau; the review agency
        with pytest.raises(PermissionDenied):
            reports.portfolio_report(app, date(2026, 10, 9), user)
    ae = t(AuditEvent)
    with unit_of_work(app.engine, write=False) as s:
        denied = list(
            s.execute(select(ae.c.actor, ae.c.action).where(ae.c.outcome == "denied").order_by(ae.c.seq))
        )
    assert [tuple(r) for r in denied] == [
        ("li", "report.overdue"),
        ("li", "report.cuts"),
        ("xu", "report.portfolio"),
        ("pingshen", "report.portfolio"),
    ]
    with pytest.raises(NotFound):
        reports.overdue_report(app, date(2026, 10, 9), "nobody")


# ---------------------------------------------------------------------------------------------- cuts


def beijing(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CST)


def seed_cuts(app: App) -> None:
    add_cut(app, NDRC_PROJECT, computed_on=date(2026, 11, 2), percent="10.00", amount="80000.00",
            base="800000.00", status="accepted", decided_at=beijing(2026, 11, 20, 23, 30),
            decided_by="qian", reason="逾期未整改，按策略削减")  # fmt: skip
    add_cut(app, HRSS_PROJECT, computed_on=date(2026, 11, 2), percent="5.00", amount="45000.00",
            base="900000.00", status="declined", decided_at=beijing(2026, 11, 21, 0, 30),
            decided_by="qian", reason="已列入下年度整改计划")  # fmt: skip
    add_cut(app, "ZJ-2026-001", computed_on=date(2026, 11, 9), percent="20.00", amount="240000.00",
            base="1200000.00", status="withdrawn", withdrawn_on=date(2026, 11, 15))  # fmt: skip
    add_cut(app, NDRC_PROJECT, period="2025", computed_on=date(2025, 12, 1), percent="5.00",
            amount="40000.00", base="800000.00")  # fmt: skip


def cuts(app: App, as_of: date | None = None, period: str = "2026") -> dict[str, dict[str, Any]]:
    return {r["project"]: r for r in reports.records(reports.cuts_report(app, period, "qian", as_of=as_of))}


def test_cuts_as_they_stood_on_a_day(app: App) -> None:
    seed_cuts(app)
    assert cuts(app, date(2026, 11, 1)) == {}
    first = cuts(app, date(2026, 11, 2))
    assert sorted(first) == [HRSS_PROJECT, NDRC_PROJECT]
    assert {r["status"] for r in first.values()} == {"proposed"}
    assert all(r["decided_by"] is None and r["decided_on"] is None for r in first.values())
    on_14 = cuts(app, date(2026, 11, 14))
    assert on_14["ZJ-2026-001"]["status"] == "proposed" and on_14["ZJ-2026-001"]["withdrawn_on"] is None
    assert cuts(app, date(2026, 11, 15))["ZJ-2026-001"]["status"] == "withdrawn"
    # decided at 23:30 on 11-20 in Beijing (15:30 UTC) and at 00:30 on 11-21 (16:30 UTC on 11-20)
    on_20 = cuts(app, date(2026, 11, 20))
    assert (on_20[NDRC_PROJECT]["status"], on_20[NDRC_PROJECT]["decided_on"]) == ("accepted", "2026-11-20")
    assert on_20[NDRC_PROJECT]["decision_reason"] == "逾期未整改，按策略削减"
    assert on_20[HRSS_PROJECT]["status"] == "proposed"
    on_21 = cuts(app, date(2026, 11, 21))
    assert (on_21[HRSS_PROJECT]["status"], on_21[HRSS_PROJECT]["decided_by"]) == ("declined", "qian")
    assert cuts(app) == on_21  # no day: as things stand


def test_cut_rows_carry_exact_money_the_clause_and_the_evidence(app: App) -> None:
    seed_cuts(app)
    rows = reports.records(reports.cuts_report(app, "2026", "zheng"))
    assert [r["amount"] for r in rows] == ["240000.00", "80000.00", "45000.00"]  # largest first
    ndrc = rows[1]
    assert ndrc == {
        "project": NDRC_PROJECT,
        "project_name": "浙江省公共信用信息平台（升级改造）",
        "department": "11330000GF00000014",
        "department_name": "浙江省发展和改革委员会",
        "period": "2026",
        "percent": "10.00",
        "amount": "80000.00",
        "base_budget": "800000.00",
        "policy_version": "2026.1",
        "computed_on": "2026-11-02",
        "status": "accepted",
        "decided_on": "2026-11-20",
        "decider": {"user": "qian", "display_name": "钱静", "role": "finance"},
        "decided_by": "qian",
        "decision_reason": "逾期未整改，按策略削减",
        "withdrawn_on": None,
        "clause": "733号文 第十一条",
        "evidence": ndrc["evidence"],
    }
    assert ndrc["evidence"]["orders"][0]["overdue_workdays"] == 12
    assert list(cuts(app, period="2025")) == [NDRC_PROJECT]
    with pytest.raises(UsageError):
        reports.cuts_report(app, "26", "qian")


def test_the_cut_files_name_who_decided_as_the_finance_page_does(app: App, tmp_path: Path) -> None:
    """决定人 in CSV and XLSX is 钱静（财政部门）— the page's words — not the user name qian, which stays in its own
    column (决定人账号) and in the JSON as an identifier."""
    seed_cuts(app)
    df = reports.cuts_report(app, "2026", "zheng")
    for lang, header, account, shown in (
        ("zh", "决定人", "决定人账号", "钱静（财政部门）"),
        ("en", "Decided by", "Decided by (user name)", "钱静 (finance bureau)"),
    ):
        for fmt in (Format.CSV, Format.XLSX):
            path = tmp_path / f"cuts-{lang}.{fmt.value}"
            reports.render(df, fmt, path, lang)
            back = (
                pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
                if fmt is Format.CSV
                else pd.read_excel(path, engine="openpyxl")
            )
            decided = back[back[account] == "qian"]
            assert len(decided) == 2 and set(decided[header]) == {shown}, (lang, fmt)


# ---------------------------------------------------------------------------------------------- portfolio


def phases(app: App, as_of: date) -> dict[str, int]:
    df = reports.portfolio_report(app, as_of, "wang")
    total = df[df["department_name"] == reports.TOTAL].iloc[0]
    assert int(total["total"]) == int(df.loc[df["department_name"] != reports.TOTAL, "total"].sum())
    assert all(int(r["total"]) == sum(int(r[p.value]) for p in Phase) for _, r in df.iterrows())
    return {p.value: int(total[p.value]) for p in Phase if int(total[p.value])}


def test_the_portfolio_on_a_past_day_shows_the_phases_of_that_day(app: App) -> None:
    def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
        return beijing(y, m, d, hh, mm)

    app.clock = lambda: at(2026, 12, 10, 9)  # the events below are backfilled, so they lie before "now"

    fire_event(app, "ZJ-2026-001", Event.SUBMIT_PROPOSAL, "li", at=at(2026, 11, 27, 10))
    fire_event(app, "ZJ-2026-002", Event.SUBMIT_PROPOSAL, "zhao", at=at(2026, 11, 27, 11))
    assert not fire_event(app, "ZJ-2026-002", Event.INTAKE, "wang", at=at(2026, 11, 28, 9)).accepted
    fire_event(app, "ZJ-2026-001", Event.INTAKE, "wang", at=at(2026, 11, 30, 23, 30))  # 15:30 UTC
    fire_event(app, "ZJ-2026-001", Event.APPROVE, "wang", at=at(2026, 12, 1, 0, 30))  # 11-30 16:30 UTC
    fire_event(app, HRSS_PROJECT, Event.REQUEST_ACCEPTANCE, "chen", at=at(2026, 12, 2, 10))
    fire_event(
        app, HRSS_PROJECT, Event.FAIL_ACCEPTANCE, "wang", reason="到期未实现共享", at=at(2026, 12, 3, 10)
    )

    assert phases(app, date(2026, 11, 25)) == {}  # nothing was under management yet
    assert phases(app, date(2026, 11, 26)) == {"draft": 3, "construction": 1, "operation": 1}
    assert phases(app, date(2026, 11, 27)) == {
        "draft": 1, "proposal_submitted": 2, "construction": 1, "operation": 1,
    }  # fmt: skip
    assert phases(app, date(2026, 11, 28)) == {  # the refused intake sent ZJ-2026-002 back to draft
        "draft": 2, "proposal_submitted": 1, "construction": 1, "operation": 1,
    }  # fmt: skip
    assert phases(app, date(2026, 11, 30))["proposal_review"] == 1  # the end of the day is Beijing's
    assert phases(app, date(2026, 12, 1))["proposal_approved"] == 1
    assert phases(app, date(2026, 12, 2))["acceptance_review"] == 1
    assert phases(app, date(2026, 12, 3)) == {
        "draft": 2, "proposal_approved": 1, "rectification": 1, "operation": 1,
    }  # fmt: skip
    # today's report agrees with the projects' current phases
    current: dict[str, int] = {}
    for p in services.list_projects(app):
        current[p["phase"]] = current.get(p["phase"], 0) + 1
    assert phases(app, date(2026, 12, 31)) == current


def test_portfolio_rows_are_lead_departments_with_a_total_row_and_column(app: App) -> None:
    df = reports.portfolio_report(app, date(2026, 11, 26), "zheng")
    assert list(df.columns) == ["department", "department_name", *(p.value for p in Phase), "total"]
    rows = reports.records(df)
    assert [r["department"] for r in rows] == [
        "11330000GF00000014",
        "11330000GF00000027",
        "11330000GF0000003A",
        "11330000GF0000005G",
        "11330000GF0000006K",
        None,
    ]
    assert rows[-1]["department_name"] == "total" and rows[-1]["total"] == 5
    assert rows[0] == {
        "department": "11330000GF00000014",
        "department_name": "浙江省发展和改革委员会",
        **{p.value: 0 for p in Phase},
        "operation": 1,
        "total": 1,
    }


# ---------------------------------------------------------------------------------------------- formats


def seed_everything(app: App) -> None:
    add_order(app, "RO-F1", notice=date(2026, 9, 1), deadline=date(2026, 9, 30))
    add_order(app, "RO-F2", project=HRSS_PROJECT, notice=date(2026, 1, 14), deadline=date(2026, 2, 13),
              origin="fail_acceptance")  # fmt: skip
    seed_cuts(app)


def built(app: App, name: str) -> Any:
    return {
        "overdue": lambda: reports.overdue_report(app, date(2026, 10, 20), "zheng"),
        "cuts": lambda: reports.cuts_report(app, "2026", "qian", as_of=date(2026, 11, 20)),
        "portfolio": lambda: reports.portfolio_report(app, date(2026, 11, 26), "wang"),
    }[name]()


def read_back(path: Path, fmt: Format, lang: str) -> Any:
    """A CSV or XLSX report as pandas reads it, with its headers mapped back to the English keys."""
    keys = {c.header(lang): key for key, c in COLUMNS.items()}
    if fmt is Format.CSV:
        df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    else:
        df = pd.read_excel(path, engine="openpyxl")
    return df.rename(columns=lambda h: keys[str(h)])


def _blank(v: Any) -> bool:
    return bool(v is None or v == "" or pd.isna(v))


def same(expected: Any, got: Any, key: str, lang: str) -> bool:
    """A JSON value and what a person's file shows for it are the same datum."""
    col = COLUMNS[key]
    if expected is None:
        return _blank(got)
    if col.kind is Kind.INT:
        return bool(int(got) == expected)
    if col.kind is Kind.MONEY:
        return Decimal(str(got)).quantize(Decimal("0.01")) == Decimal(expected)
    if col.kind is Kind.DATE:
        return bool((got if isinstance(got, str) else got.date().isoformat()) == expected)
    if col.kind is Kind.JSON:  # an object in JSON, the sentence a person reads in CSV and XLSX
        assert col.describe is not None
        return bool(got == col.describe(expected, lang)) and not str(got).lstrip().startswith("{")
    return str(got) == col.label(expected, lang)


@pytest.mark.parametrize("name", ["overdue", "cuts", "portfolio"])
def test_every_format_carries_the_same_numbers(
    app: App, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_everything(app)
    df = built(app, name)
    assert len(df) >= 2
    assert reports.render(df, "json", tmp_path / "r.json") == tmp_path / "r.json"
    expected = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert expected == reports.records(df)
    reports.render(df, "json")  # stdout: the same document
    assert json.loads(capsys.readouterr().out) == expected
    for lang in ("zh", "en"):
        for fmt in (Format.CSV, Format.XLSX):
            path = tmp_path / f"r-{lang}.{fmt.value}"
            reports.render(df, fmt, path, lang)
            back = read_back(path, fmt, lang)
            assert list(back.columns) == list(df.columns), (lang, fmt)
            assert len(back) == len(expected)
            for i, row in enumerate(expected):
                for key, value in row.items():
                    assert same(value, back.iloc[i][key], key, lang), (
                        lang,
                        fmt,
                        i,
                        key,
                        value,
                        back.iloc[i][key],
                    )
    # the terminal table shows the same numbers (wide enough not to fold them)
    monkeypatch.setenv("COLUMNS", "250")
    reports.render(df, "table", None, "zh")
    shown = capsys.readouterr().out
    for row in expected:
        for key, value in row.items():
            kind = COLUMNS[key].kind
            if kind is Kind.MONEY:
                assert f"{Decimal(value):,.2f}" in shown
            elif kind is Kind.DATE and value:
                assert value in shown


def test_csv_has_a_bom_and_zh_headers_unless_english(app: App, tmp_path: Path) -> None:
    seed_everything(app)
    df = built(app, "overdue")
    reports.render(df, "csv", tmp_path / "zh.csv")
    reports.render(df, "csv", tmp_path / "en.csv", "en")
    raw = (tmp_path / "zh.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].decode("utf-8").splitlines()[0]
    assert header.startswith(
        "项目编号,项目名称,牵头部门代码,牵头部门,整改通知,来源,通知日期,整改期限,逾期工作日数"
    )
    assert "已逾期" in raw.decode("utf-8-sig") and "733号文 第十一条" in raw.decode("utf-8-sig")
    en = (tmp_path / "en.csv").read_text(encoding="utf-8-sig").splitlines()
    assert en[0].startswith("Project,Project name,Lead department code,Lead department,Order,Origin")
    assert ",overdue," in en[1]


def test_xlsx_has_a_titled_sheet_a_frozen_header_dates_and_money_as_numbers(app: App, tmp_path: Path) -> None:
    seed_everything(app)
    reports.render(built(app, "cuts"), "xlsx", tmp_path / "cuts.xlsx")
    reports.render(built(app, "overdue"), "xlsx", tmp_path / "overdue.xlsx", "en")
    wb = openpyxl.load_workbook(tmp_path / "cuts.xlsx")
    ws = wb.active
    assert ws.title == "运维经费削减建议"
    assert "截至 2026-11-20" in wb.properties.title
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold
    heads = [c.value for c in ws[1]]
    amount = ws.cell(row=2, column=heads.index("建议削减金额（元）") + 1)
    assert isinstance(amount.value, int | float | Decimal) and amount.number_format == "#,##0.00"
    computed = ws.cell(row=2, column=heads.index("测算日期") + 1)
    assert isinstance(computed.value, datetime) and computed.number_format == "yyyy-mm-dd"
    assert ws.column_dimensions["B"].width > ws.column_dimensions["E"].width  # names are wider than years
    wb2 = openpyxl.load_workbook(tmp_path / "overdue.xlsx")
    assert wb2.active.title == "Overdue rectifications"
    assert [c.value for c in wb2.active[1]][:3] == ["Project", "Project name", "Lead department code"]


def test_empty_reports_keep_their_columns(
    app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    df = reports.overdue_report(app, date(2026, 10, 9), "zheng")
    assert df.empty and list(df.columns) == reports.OVERDUE_COLUMNS
    reports.render(df, "json")
    assert json.loads(capsys.readouterr().out) == []
    reports.render(df, "csv", tmp_path / "e.csv")
    assert read_back(tmp_path / "e.csv", Format.CSV, "zh").columns.tolist() == reports.OVERDUE_COLUMNS
    reports.render(df, "xlsx", tmp_path / "e.xlsx")
    assert read_back(tmp_path / "e.xlsx", Format.XLSX, "zh").columns.tolist() == reports.OVERDUE_COLUMNS
    reports.render(df, "table")
    assert "逾期整改（截至 2026-10-09）：无" in capsys.readouterr().out


def test_render_refuses_what_it_cannot_do(app: App, tmp_path: Path) -> None:
    df = reports.portfolio_report(app, date(2026, 11, 26), "wang")
    with pytest.raises(UsageError):
        reports.render(df, "xlsx", None)
    with pytest.raises(UsageError):
        reports.render(df, "table", tmp_path / "t.txt")
    with pytest.raises(UsageError):
        reports.render(df, "pdf", tmp_path / "t.pdf")

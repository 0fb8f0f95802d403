"""O&M cut recommendations (733号文 第十一条) through the service layer, on SQLite and PostgreSQL.

Data: the demo portfolio (ZJ-2026-005 is in operation; its weekly item C-002 was last delivered on 2026-10-30,
so on 2026-11-26 three of its four due agreement items are covered: coverage 0.75), plus rectification orders
and delivery evidence written straight into their tables, so that these tests depend neither on the sweep nor
on the deadlines flow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from govflow.governance import cuts, policy_service
from govflow.governance.calendar_years import import_calendar
from govflow.governance.cuts import CutStatus, decide_cut, list_cuts, run_cuts, show_cut
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models import deliveries
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import (
    AuditEvent,
    CatalogItem,
    CutRecommendation,
    DeliveryEvidence,
    OutboxMessage,
    Project,
    RectificationOrder,
)
from govflow.states.errors import (
    CalendarDataMissing,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RuleRefused,
    UsageError,
)
from govflow.states.phases import Event

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
AS_OF = date(2026, 11, 26)
P5 = "ZJ-2026-005"
NDRC = "11330000GF00000014"  # the consumer of C-002 in ZJ-2026-005
POLICY_DATA = Path(__file__).resolve().parents[1] / "data" / "policy"
AE, OB, CUT, RO = t(AuditEvent), t(OutboxMessage), t(CutRecommendation), t(RectificationOrder)


# ---------------------------------------------------------------------------------------------- helpers


def project_id(app: App, code: str = P5) -> int:
    p = t(Project)
    with unit_of_work(app.engine, write=False) as s:
        return int(s.execute(select(p.c.id).where(p.c.code == code)).scalar_one())


def add_order(
    app: App,
    n: int,
    deadline: date,
    *,
    status: str = "overdue",
    notice: date | None = None,
    closed_on: date | None = None,
    code: str = P5,
) -> str:
    """A rectification order as the deadlines flow would have left it (inserted directly)."""
    order = f"RO-{code}-{n:02d}"
    with unit_of_work(app.engine) as s:
        s.execute(
            insert(RO).values(
                code=order,
                project_id=project_id(app, code),
                origin="finding",
                reasons=[
                    {"code": "DELIVERY_STALE", "clause": "733号文 第十一条", "message": "C-002 交付过期"}
                ],
                notice_date=notice or deadline - timedelta(days=28),
                workdays=20,
                deadline=deadline,
                status=status,
                overdue_since=deadline + timedelta(days=1) if status == "overdue" else None,
                closed_on=closed_on,
                escalation_level=0,
                policy_version="2026.1",
                version=1,
            )
        )
    return order


def close_order(app: App, order: str, on: date) -> None:
    with unit_of_work(app.engine) as s:
        s.execute(
            update(RO).where(RO.c.code == order).values(status="closed", closed_on=on, closed_late=True)
        )


def deliver(
    app: App, catalog: str, day: date, records: int = 100, consumer: str = NDRC, code: str = P5
) -> None:
    ci, de = t(CatalogItem), t(DeliveryEvidence)
    pid = project_id(app, code)
    with unit_of_work(app.engine) as s:
        item = s.execute(select(ci.c.id).where(ci.c.project_id == pid, ci.c.code == catalog)).scalar_one()
        dept = s.execute(select(DEPT.c.id).where(DEPT.c.code == consumer)).scalar_one()
        s.execute(
            insert(de).values(
                project_id=pid, catalog_item_id=item, consumer_id=dept, day=day, records=records
            )
        )
        deliveries.recompute(s.connection(), [(item, dept)])  # as every write of evidence keeps it


def set_budget(app: App, amount: str, code: str = P5) -> None:
    p = t(Project)
    with unit_of_work(app.engine) as s:
        s.execute(update(p).where(p.c.code == code).values(om_budget=Decimal(amount)))


def rec(app: App, code: str = P5, period: str = "2026") -> cuts.CutView:
    return show_cut(app, code, period)


def rows(app: App) -> list[Any]:
    with unit_of_work(app.engine, write=False) as s:
        return list(s.execute(select(CUT).order_by(CUT.c.id)))


def outbox(app: App, prefix: str = "cut/") -> dict[str, tuple[str, str]]:
    """key -> (topic, role) of the outbox messages whose key starts with ``prefix``."""
    with unit_of_work(app.engine, write=False) as s:
        q = select(OB.c.key, OB.c.topic, OB.c.recipients_role).where(OB.c.key.startswith(prefix))
        return {k: (tp, role) for k, tp, role in s.execute(q)}


def audits(app: App, prefix: str = "cuts.") -> list[Any]:
    with unit_of_work(app.engine, write=False) as s:
        q = select(
            AE.c.action, AE.c.outcome, AE.c.actor, AE.c.role, AE.c.project_code, AE.c.note, AE.c.clauses
        )
        return list(s.execute(q.where(AE.c.action.startswith(prefix)).order_by(AE.c.seq)))


def counts(app: App) -> tuple[int, int, int]:
    with unit_of_work(app.engine, write=False) as s:
        return (
            int(s.execute(select(func.count()).select_from(CUT)).scalar_one()),
            int(s.execute(select(func.count()).select_from(AE)).scalar_one()),
            int(s.execute(select(func.count()).select_from(OB)).scalar_one()),
        )


def trail(v: cuts.CutView) -> list[str]:
    return [e["event"] for e in v.evidence["trail"]]


def obligation(v: cuts.CutView, catalog: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [o for o in v.evidence["obligations"] if o["catalog"] == catalog]
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------------------------------------- proposing


def test_low_coverage_gives_one_recommendation_with_evidence_policy_and_amount(app: App) -> None:
    res = run_cuts(app, AS_OF)
    assert (res.period, res.projects, res.with_cause, res.proposed, res.notified) == ("2026", 1, 1, 1, 1)
    assert len(rows(app)) == 1  # only ZJ-2026-005 is in operation
    v = rec(app)
    assert (v.status, v.period, v.as_of, v.policy_version) == (CutStatus.PROPOSED, "2026", AS_OF, "2026.1")
    assert (v.percent, v.base_budget, v.amount) == (
        Decimal("5.00"),
        Decimal("800000.00"),
        Decimal("40000.00"),
    )
    assert [r["code"] for r in v.reasons] == ["LOW_COVERAGE"]
    assert all(r["clause"] == "733号文 第十一条" for r in v.reasons)
    assert "0.7500" in v.reasons[0]["message"] and "A-001/C-002" in v.reasons[0]["message"]
    ev = v.evidence
    assert ev["clause"] == "733号文 第十一条" and ev["policy_version"] == "2026.1"
    assert ev["coverage"] == {"value": "0.7500", "covered": 3, "due_items": 4, "threshold": "0.9"}
    c2 = obligation(v, "C-002")
    assert c2["expected"] == {"due": "2026-06-30", "update_frequency": "weekly", "max_gap_days": 7}
    assert c2["delivered"] == {
        "last_day": "2026-10-30",
        "days_since_last": 27,
        "records_in_period": 312 + 298 + 305,
        "days_in_period": 3,
    }
    assert c2["covered"] is False
    assert obligation(v, "C-001")["delivered"]["records_in_period"] == 1832 + 1290 + 1764 + 1200 + 455
    assert ev["orders"] == [] and ev["max_overdue_workdays"] is None
    assert trail(v) == ["proposed"]
    assert outbox(app) == {"cut/ZJ-2026-005/2026": ("cuts.proposed", "finance")}
    (a,) = audits(app)
    assert (a.action, a.actor, a.project_code, a.clauses) == (
        "cuts.propose",
        "system",
        P5,
        ["733号文 第十一条"],
    )
    assert "40000.00" in a.note and "2026.1" in a.note
    assert services.verify_audit(app).ok


def test_rerunning_the_same_as_of_changes_nothing_and_notifies_nobody(app: App) -> None:
    add_order(app, 1, date(2026, 11, 10))
    run_cuts(app, AS_OF)
    before, snapshot = counts(app), [dict(r._mapping) for r in rows(app)]
    res = run_cuts(app, AS_OF)
    assert (res.proposed, res.revised, res.refreshed, res.unchanged, res.notified) == (0, 0, 0, 1, 0)
    assert counts(app) == before
    assert [dict(r._mapping) for r in rows(app)] == snapshot


def test_an_overdue_order_is_a_cause_and_refreshes_the_proposed_row_in_place(app: App) -> None:
    run_cuts(app, AS_OF)
    order = add_order(app, 1, date(2026, 11, 10))  # 12 working days overdue on 11-26
    res = run_cuts(app, AS_OF)
    assert (res.proposed, res.revised, res.notified) == (0, 1, 1)
    assert len(rows(app)) == 1
    v = rec(app)
    assert (v.percent, v.amount) == (Decimal("10.00"), Decimal("80000.00"))
    assert [r["code"] for r in v.reasons] == ["OVERDUE_ORDER", "LOW_COVERAGE"]
    assert "逾期 12 个工作日" in v.reasons[0]["message"] and order in v.reasons[0]["message"]
    (o,) = v.evidence["orders"]
    assert (o["code"], o["deadline"], o["workdays_overdue"], o["status"]) == (
        order,
        "2026-11-10",
        12,
        "overdue",
    )
    assert v.evidence["max_overdue_workdays"] == 12
    assert trail(v) == ["proposed", "revised"]
    assert v.evidence["trail"][1]["previous"] == {
        "percent": "5.00",
        "amount": "40000.00",
        "policy_version": "2026.1",
    }
    assert outbox(app)["cut/ZJ-2026-005/2026/revised-2"] == ("cuts.revised", "finance")
    assert [a.action for a in audits(app)] == ["cuts.propose", "cuts.revise"]


def test_an_overdue_order_alone_is_enough(app: App) -> None:
    deliver(app, "C-002", date(2026, 11, 20))  # coverage back to 1
    add_order(app, 1, date(2026, 10, 20))  # 27 working days overdue
    run_cuts(app, AS_OF)
    v = rec(app)
    assert [r["code"] for r in v.reasons] == ["OVERDUE_ORDER"]
    assert v.evidence["coverage"]["value"] == "1.0000"
    assert (v.evidence["max_overdue_workdays"], v.percent, v.amount) == (
        27,
        Decimal("20.00"),
        Decimal("160000.00"),
    )


def test_the_amount_is_an_exact_decimal_rounded_half_up_to_the_fen(app: App) -> None:
    set_budget(app, "123456.90")  # × 5 % = 6172.845: half-up gives .85 (half-even would give .84)
    run_cuts(app, AS_OF)
    v = rec(app)
    assert isinstance(v.amount, Decimal) and v.amount == Decimal("6172.85")
    assert v.base_budget == Decimal("123456.90")
    set_budget(app, "123456.70")  # × 5 % = 6172.835 → 6172.84; a budget change is a revision
    assert run_cuts(app, AS_OF).revised == 1
    assert rec(app).amount == Decimal("6172.84")


def test_projects_without_a_cause_get_nothing(app: App) -> None:
    deliver(app, "C-002", date(2026, 11, 26))
    res = run_cuts(app, AS_OF)
    assert (res.projects, res.with_cause, res.proposed) == (1, 0, 0)
    assert rows(app) == [] and outbox(app) == {}


@pytest.mark.parametrize(
    ("day", "records", "covered"),
    [
        (date(2026, 11, 19), 10, True),  # 7 days before as_of: within a weekly window
        (date(2026, 11, 18), 10, False),  # 8 days: stale
        (date(2026, 11, 25), 0, False),  # a row with no records is no delivery
        (date(2026, 11, 27), 10, False),  # after as_of: not known yet
    ],
)
def test_an_item_is_covered_when_its_last_delivery_is_within_its_frequency_window(
    app: App, day: date, records: int, covered: bool
) -> None:
    deliver(app, "C-002", day, records)
    res = run_cuts(app, AS_OF)
    assert res.proposed == (0 if covered else 1)
    if not covered:
        assert obligation(rec(app), "C-002")["covered"] is False


def test_items_not_yet_due_do_not_count_and_no_due_items_means_full_coverage(app: App) -> None:
    # up to and including the due day (2026-06-30) none of ZJ-2026-005's items is due yet: coverage 1, no cause
    # (the same rule as the sweep's MILESTONE_MISSED: the due day itself is still in time)
    for day in (date(2026, 6, 29), date(2026, 6, 30)):
        res = run_cuts(app, day)
        assert (res.projects, res.with_cause, res.proposed) == (1, 0, 0)
    # the day after all four are due, and the demo's deliveries all came later: coverage 0
    res = run_cuts(app, date(2026, 7, 1))
    v = rec(app)
    assert v.evidence["coverage"] == {"value": "0.0000", "covered": 0, "due_items": 4, "threshold": "0.9"}
    assert {o["status"] for o in v.evidence["obligations"]} == {"missed"}
    assert v.percent == Decimal("20.00")  # coverage 0 ≤ 0.5


@pytest.mark.parametrize(
    ("kwargs", "counted"),
    [
        ({"status": "overdue"}, True),
        ({"status": "open"}, True),  # past its deadline although the deadlines flow has not marked it yet
        ({"status": "evidence_submitted"}, True),  # evidence is not 整改到位 until verified
        ({"status": "closed", "closed_on": date(2026, 11, 20)}, False),  # closed late, but closed by as_of
        ({"status": "closed", "closed_on": date(2026, 11, 30)}, True),  # closed after as_of: overdue then
        ({"status": "overdue", "notice": date(2026, 11, 27)}, False),  # issued after as_of
    ],
)
def test_which_orders_count_as_overdue_on_as_of(app: App, kwargs: dict[str, Any], counted: bool) -> None:
    deliver(app, "C-002", date(2026, 11, 26))  # coverage 1: the order alone decides
    order = add_order(app, 1, date(2026, 11, 10), **kwargs)
    run_cuts(app, AS_OF)
    if counted:
        assert [o["code"] for o in rec(app).evidence["orders"]] == [order]
    else:
        assert rows(app) == []


def test_an_order_overdue_over_a_weekend_only_is_within_the_grace(app: App) -> None:
    deliver(app, "C-002", date(2026, 11, 21))
    # deadline Friday 2026-11-20, as_of Sunday 11-22: overdue, but 0 working days; tier 1 needs 1
    add_order(app, 1, date(2026, 11, 20))
    for d in ("C-001", "C-004"):
        deliver(app, d, date(2026, 11, 22))
    res = run_cuts(app, date(2026, 11, 22))
    assert (res.with_cause, res.proposed) == (0, 0)
    res = run_cuts(app, date(2026, 11, 23))  # Monday: 1 working day overdue
    assert res.proposed == 1
    assert rec(app).evidence["max_overdue_workdays"] == 1


# ---------------------------------------------------------------------------------------------- withdrawal


def test_a_recommendation_whose_cause_is_fixed_before_the_decision_is_withdrawn_with_its_trail(
    app: App,
) -> None:
    order = add_order(app, 1, date(2026, 11, 10))
    run_cuts(app, AS_OF)
    proposed = rec(app)
    deliver(app, "C-002", date(2026, 11, 26))
    close_order(app, order, date(2026, 11, 26))
    res = run_cuts(app, AS_OF)
    assert (res.withdrawn, res.with_cause, res.notified) == (1, 0, 1)
    v = rec(app)
    assert (v.status, v.withdrawn_on, v.decided_by) == (CutStatus.WITHDRAWN, AS_OF, None)
    # the row is kept with what justified it; the trail says why it was withdrawn
    assert (v.percent, v.amount, v.policy_version) == (proposed.percent, proposed.amount, "2026.1")
    assert v.evidence["obligations"] == proposed.evidence["obligations"]
    assert trail(v) == ["proposed", "withdrawn"]
    assert v.evidence["trail"][1] == {
        "on": "2026-11-26",
        "event": "withdrawn",
        "cause": "CAUSE_GONE",
        "coverage": "1.0000",
        "max_overdue_workdays": None,
    }
    assert outbox(app)["cut/ZJ-2026-005/2026/withdrawn-2"] == ("cuts.withdrawn", "finance")
    assert [a.action for a in audits(app)] == ["cuts.propose", "cuts.withdraw"]
    assert [x.project for x in list_cuts(app, 2026, "qian", "withdrawn")] == [P5]
    # idempotent once withdrawn
    before = counts(app)
    assert run_cuts(app, AS_OF).unchanged == 1
    assert counts(app) == before
    with pytest.raises(Conflict, match="撤回"):
        decide_cut(app, P5, 2026, "qian", accept=True, reason="同意")


def test_a_withdrawn_recommendation_is_proposed_again_when_the_cause_returns(app: App) -> None:
    run_cuts(app, AS_OF)
    deliver(app, "C-002", date(2026, 11, 20))
    run_cuts(app, AS_OF)
    assert rec(app).status is CutStatus.WITHDRAWN
    add_order(app, 1, date(2026, 11, 10))
    res = run_cuts(app, AS_OF)
    assert res.reproposed == 1
    v = rec(app)
    assert (v.status, v.withdrawn_on, v.percent) == (CutStatus.PROPOSED, None, Decimal("10.00"))
    assert trail(v) == ["proposed", "withdrawn", "reproposed"]
    assert "cut/ZJ-2026-005/2026/reproposed-3" in outbox(app)
    assert len(rows(app)) == 1


def test_a_project_that_left_operation_has_its_proposed_recommendation_withdrawn(app: App) -> None:
    run_cuts(app, AS_OF)
    assert services.fire_event(app, P5, Event.RETIRE, "wang").accepted
    res = run_cuts(app, AS_OF)
    assert (res.projects, res.withdrawn) == (0, 1)
    v = rec(app)
    assert v.status is CutStatus.WITHDRAWN
    assert v.evidence["trail"][-1]["cause"] == "LEFT_OPERATION"
    assert v.evidence["trail"][-1]["phase"] == "retired"


# ---------------------------------------------------------------------------------------------- decisions


@pytest.mark.parametrize("accept", [True, False], ids=["accepted", "declined"])
def test_decided_recommendations_are_never_touched_by_later_runs(app: App, accept: bool) -> None:
    run_cuts(app, AS_OF)
    decided = decide_cut(
        app, P5, "2026", "qian", accept=accept, reason="经核实，情况属实" if accept else "已列入下年度统筹"
    )
    assert decided.status is (CutStatus.ACCEPTED if accept else CutStatus.DECLINED)
    snapshot = [dict(r._mapping) for r in rows(app)]
    add_order(app, 1, date(2026, 10, 20))  # worse
    assert run_cuts(app, AS_OF).decided == 1
    deliver(app, "C-002", date(2026, 11, 26))  # then fixed
    res = run_cuts(app, date(2026, 11, 27))
    assert (res.decided, res.withdrawn, res.revised, res.proposed) == (1, 0, 0, 0)
    assert [dict(r._mapping) for r in rows(app)] == snapshot


def test_a_decision_is_audited_and_told_to_the_department_and_the_program_office(app: App) -> None:
    run_cuts(app, AS_OF)
    v = decide_cut(app, P5, 2026, "qian", accept=True, reason="  共享覆盖率不足，同意削减  ")
    assert (v.decided_by, v.decision_reason) == ("qian", "共享覆盖率不足，同意削减")
    assert v.decided_at is not None and v.decided_at.tzinfo is not None
    a = audits(app)[-1]
    assert (a.action, a.actor, a.role, a.project_code) == ("cuts.accept", "qian", "finance", P5)
    assert "共享覆盖率不足，同意削减" in a.note and "40000.00" in a.note
    assert outbox(app, "cut/ZJ-2026-005/2026/decision") == {
        "cut/ZJ-2026-005/2026/decision/department": ("cuts.accepted", "department"),
        "cut/ZJ-2026-005/2026/decision/program_office": ("cuts.accepted", "program_office"),
    }
    assert services.verify_audit(app).ok


@pytest.mark.parametrize(
    "who", ["zheng", "wang", "li", None], ids=["audit", "program_office", "department", "operator"]
)
def test_only_finance_may_decide(app: App, who: str | None) -> None:
    run_cuts(app, AS_OF)
    if who == "li":  # 大数据局 has no part in ZJ-2026-005: it reads as missing (no existence oracle)
        with pytest.raises(NotFound) as missing:
            decide_cut(app, P5, 2026, who, accept=True, reason="同意")
        assert missing.value.message == f"项目 {P5} 不存在"
    else:
        with pytest.raises(PermissionDenied) as info:
            decide_cut(app, P5, 2026, who, accept=True, reason="同意")
        assert info.value.reasons[0].code == "PERMISSION_DENIED"
    assert rec(app).status is CutStatus.PROPOSED
    with unit_of_work(app.engine, write=False) as s:
        denied = s.execute(
            select(AE.c.action, AE.c.actor).where(AE.c.outcome == "denied").order_by(AE.c.seq.desc())
        ).first()
    assert denied is not None and tuple(denied) == ("cuts.decide", who or "operator")


@pytest.mark.parametrize("reason", ["", "   ", None])
@pytest.mark.parametrize("accept", [True, False])
def test_a_reason_is_required_to_accept_or_decline(app: App, reason: str | None, accept: bool) -> None:
    run_cuts(app, AS_OF)
    with pytest.raises(RuleRefused) as info:
        decide_cut(app, P5, 2026, "qian", accept=accept, reason=reason)
    (r,) = info.value.reasons
    assert r.code == "REASON_REQUIRED" and "须说明理由" in r.message and r.clause == "733号文 第十一条"
    assert rec(app).status is CutStatus.PROPOSED


def test_deciding_twice_is_a_conflict(app: App) -> None:
    run_cuts(app, AS_OF)
    decide_cut(app, P5, 2026, "qian", accept=False, reason="预算已压减")
    with pytest.raises(
        Conflict, match=r"已由 钱静 于 .*（北京时间）未采纳"
    ) as exc:  # by name, in Beijing time
        decide_cut(app, P5, 2026, "qian", accept=True, reason="改为采纳")
    assert "was already declined by 钱静" in exc.value.message_en
    v = rec(app)
    assert (v.status, v.decision_reason) == (CutStatus.DECLINED, "预算已压减")


def test_unknown_recommendations_and_bad_arguments(app: App) -> None:
    run_cuts(app, AS_OF)
    with pytest.raises(NotFound, match="2025"):
        decide_cut(app, P5, 2025, "qian", accept=True, reason="同意")
    with pytest.raises(NotFound):
        decide_cut(app, "ZJ-1999-999", 2026, "qian", accept=True, reason="同意")
    with pytest.raises(NotFound):
        show_cut(app, "ZJ-2026-001", 2026)
    with pytest.raises(UsageError):
        list_cuts(app, "26", "qian")
    with pytest.raises(UsageError):
        list_cuts(app, 2026, "qian", "approved")


def test_who_may_list(app: App) -> None:
    run_cuts(app, AS_OF)
    for who in ("qian", "zheng", "wang", None):
        assert [v.project for v in list_cuts(app, 2026, who)] == [P5]
    assert list_cuts(app, 2026, "qian", "accepted") == []
    assert list_cuts(app, 2027, "qian") == []
    with pytest.raises(PermissionDenied):
        list_cuts(app, 2026, "li")


# ---------------------------------------------------------------------------------------------- policy


def test_an_invalid_policy_file_is_refused_and_the_old_policy_stays(app: App) -> None:
    run_cuts(app, AS_OF)
    with pytest.raises(InvalidInput) as info:
        policy_service.load_policy(app, POLICY_DATA / "policy-invalid.yaml", "admin")
    assert {r.path for r in info.value.reasons} >= {"cuts.tiers.1.percent", "cuts.tiers"}
    active, history = policy_service.show_policy(app)
    assert active.version == "2026.1" and [h["version"] for h in history] == ["2026.1"]
    add_order(app, 1, date(2026, 11, 10))
    run_cuts(app, AS_OF)
    assert rec(app).policy_version == "2026.1"


def test_only_admin_loads_a_policy(app: App) -> None:
    with pytest.raises(PermissionDenied):
        policy_service.load_policy(app, POLICY_DATA / "policy-2026.2.yaml", "qian")
    assert policy_service.show_policy(app)[0].version == "2026.1"


def test_a_new_policy_version_makes_later_recommendations_cite_it(app: App) -> None:
    run_cuts(app, AS_OF)
    assert rec(app).policy_version == "2026.1"
    loaded = policy_service.load_policy(app, POLICY_DATA / "policy-2026.2.yaml", "admin")
    assert loaded.version == "2026.2"
    res = run_cuts(app, AS_OF)
    assert (res.policy_version, res.revised) == ("2026.2", 1)
    v = rec(app)
    assert (v.policy_version, v.percent, v.amount) == ("2026.2", Decimal("8.00"), Decimal("64000.00"))
    assert v.evidence["policy_version"] == "2026.2"
    assert v.evidence["trail"][-1]["previous"]["policy_version"] == "2026.1"
    # a decided recommendation keeps the version it was decided under
    decide_cut(app, P5, 2026, "qian", accept=True, reason="按 2026.2 策略削减")
    policy_service.load_policy(app, POLICY_DATA / "policy-2026.3.json", "admin")
    assert run_cuts(app, AS_OF).decided == 1
    assert rec(app).policy_version == "2026.2"
    _, history = policy_service.show_policy(app)
    assert [h["version"] for h in history if h["active"]] == ["2026.3"]


def test_a_new_project_recommendation_cites_the_policy_active_when_it_is_made(app: App) -> None:
    policy_service.load_policy(app, POLICY_DATA / "policy-2026.3.json", "admin")
    run_cuts(app, AS_OF)
    v = rec(app)
    # 2026.3: threshold 0.8, coverage 0.75 reaches the coverage-only tier (6 %)
    assert (v.policy_version, v.percent, v.amount) == ("2026.3", Decimal("6.00"), Decimal("48000.00"))
    assert v.evidence["tier"] == {
        "index": 1,
        "min_overdue_workdays": None,
        "max_coverage": "0.8",
        "percent": "6",
    }


# ---------------------------------------------------------------------------------------------- runs


def test_a_chunk_limits_the_run_to_its_projects(app: App) -> None:
    pid = project_id(app)
    assert run_cuts(app, AS_OF, chunk=(pid + 1, pid + 100)).projects == 0
    assert rows(app) == []
    assert run_cuts(app, AS_OF, chunk=(pid, pid)).proposed == 1


def test_an_older_as_of_never_rewrites_a_row_a_later_run_made(app: App) -> None:
    run_cuts(app, AS_OF)
    add_order(app, 1, date(2026, 11, 10))
    snapshot = [dict(r._mapping) for r in rows(app)]
    res = run_cuts(app, date(2026, 11, 20))
    assert (res.newer, res.revised) == (1, 0)
    assert [dict(r._mapping) for r in rows(app)] == snapshot


def test_a_project_whose_overdue_count_needs_a_missing_year_is_left_alone_with_an_alarm(app: App) -> None:
    """Working days overdue on 2027-01-11 of an order due 2026-12-21 cannot be counted without 2027: the project
    is not assessed (no proposal, its proposed row neither refreshed nor withdrawn), the run completes, the
    administrator is alarmed once; after the import the project is assessed again."""
    first = run_cuts(app, AS_OF)
    assert first.proposed == 1 and first.pending_calendar == 0
    before = [dict(r._mapping) for r in rows(app)]
    add_order(app, 1, date(2026, 12, 21))
    res = run_cuts(app, date(2027, 1, 11))
    assert (res.pending_calendar, res.projects, res.proposed, res.withdrawn, res.revised) == (1, 0, 0, 0, 0)
    assert res.to_dict()["pending_calendar"] == 1
    assert [dict(r._mapping) for r in rows(app)] == before
    assert outbox(app, "alarm/") == {"alarm/calendar/2027": ("alarm.calendar", "admin")}
    assert run_cuts(app, date(2027, 1, 12)).pending_calendar == 1
    assert len(outbox(app, "alarm/")) == 1  # once per year, however often it is met
    with pytest.raises(CalendarDataMissing):  # a preview cannot leave the project alone: it says why
        cuts.preview_evidence(app, P5, date(2027, 1, 11))

    import_calendar(
        app, Path(__file__).resolve().parents[1] / "data" / "calendar-2027-fictional.yaml", "admin"
    )
    res = run_cuts(app, date(2027, 1, 11))
    assert res.pending_calendar == 0 and res.projects == 1 and res.proposed == 1  # the 2027 period


def test_the_budget_period_is_the_year_of_as_of(app: App) -> None:
    run_cuts(app, AS_OF)
    for d in ("C-001", "C-004"):
        deliver(app, d, date(2027, 1, 4))
    res = run_cuts(app, date(2027, 1, 4))  # no order: no working-day arithmetic needed
    assert res.period == "2027"
    assert [(r.period, r.status) for r in rows(app)] == [("2026", "proposed"), ("2027", "proposed")]
    # the 2027 row counts records of 2027 only
    assert obligation(rec(app, period="2027"), "C-001")["delivered"]["records_in_period"] == 100

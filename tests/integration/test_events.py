"""Lifecycle events through the service layer on SQLite and PostgreSQL: audit, refusals, locking, orders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from govflow.lifecycle import events, services
from govflow.lifecycle.services import App, fire_event
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import AuditEvent, OrderStep, OutboxMessage, Project, RectificationOrder
from govflow.states.errors import Conflict, NotFound, PermissionDenied, RuleRefused, UsageError
from govflow.states.phases import Event, Phase

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def phase_version(app: App, code: str) -> tuple[str, int]:
    view = services.show_project(app, code)
    return view.phase.value, view.version


def audit_rows(app: App, code: str | None = None) -> list[Any]:
    ae: Any = AuditEvent.__table__  # type: ignore[attr-defined]
    q = select(
        ae.c.seq,
        ae.c.kind,
        ae.c.outcome,
        ae.c.action,
        ae.c.actor,
        ae.c.from_phase,
        ae.c.to_phase,
        ae.c.reasons,
    )
    if code:
        q = q.where(ae.c.project_code == code)
    with unit_of_work(app.engine, write=False) as s:
        return list(s.execute(q.order_by(ae.c.seq)))


def count(app: App, model: Any) -> int:
    with unit_of_work(app.engine, write=False) as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_complete_project_walks_to_operation_with_one_audit_event_per_step(app: App) -> None:
    steps = [
        (Event.SUBMIT_PROPOSAL, "li"), (Event.INTAKE, "wang"), (Event.APPROVE, "wang"),
        (Event.SUBMIT_FEASIBILITY, "li"), (Event.APPROVE, "wang"), (Event.SUBMIT_DESIGN, "li"),
        (Event.APPROVE, "wang"), (Event.REQUEST_ACCEPTANCE, "li"), (Event.PASS_ACCEPTANCE, "wang"),
        (Event.RETIRE, "wang"),
    ]  # fmt: skip
    for i, (ev, who) in enumerate(steps, start=1):
        res = fire_event(app, "ZJ-2026-001", ev, who)
        assert res.accepted, res.reasons
        assert res.version == 1 + i
    assert phase_version(app, "ZJ-2026-001") == ("retired", 11)
    rows = audit_rows(app, "ZJ-2026-001")
    decisions = [r for r in rows if r.kind == "decision"]
    assert [r.action for r in decisions] == [e.value for e, _ in steps]
    assert all(r.outcome == "accepted" for r in decisions)
    assert decisions[0].from_phase == "draft" and decisions[-1].to_phase == "retired"
    assert services.verify_audit(app).ok


def test_refused_intake_returns_to_draft_records_reasons_and_notifies(app: App) -> None:
    fire_event(app, "ZJ-2026-002", Event.SUBMIT_PROPOSAL, "zhao")
    res = fire_event(app, "ZJ-2026-002", Event.INTAKE, "wang")
    assert not res.accepted and res.to_phase is Phase.DRAFT
    assert {r.code for r in res.reasons} == {"NO_AGREEMENT", "OPINION_MISSING"}
    assert all("733号文 第十条第二款" in r.clause for r in res.reasons)
    assert phase_version(app, "ZJ-2026-002") == ("draft", 3)
    last = audit_rows(app, "ZJ-2026-002")[-1]
    assert (last.action, last.outcome, last.from_phase, last.to_phase) == (
        "intake",
        "refused",
        "proposal_submitted",
        "draft",
    )
    assert {r["code"] for r in last.reasons} == {"NO_AGREEMENT", "OPINION_MISSING"}
    assert all(r["clause"].startswith("733号文 第十条第二款") for r in last.reasons)
    with unit_of_work(app.engine, write=False) as s:
        ob = t(OutboxMessage)
        topics = list(s.execute(select(ob.c.topic).where(ob.c.project_code == "ZJ-2026-002")).scalars())
    assert topics == ["decision.intake.refused"]


def test_refused_approval_keeps_the_phase_and_the_version(app: App) -> None:
    fire_event(app, "ZJ-2026-003", Event.SUBMIT_PROPOSAL, "lin")
    fire_event(app, "ZJ-2026-003", Event.INTAKE, "wang")
    before = phase_version(app, "ZJ-2026-003")
    res = fire_event(app, "ZJ-2026-003", Event.APPROVE, "wang")
    assert not res.accepted and [r.code for r in res.reasons] == ["UNMET_NEED_NOT_COVERED"]
    assert "浙江省公安厅" in res.reasons[0].message
    assert phase_version(app, "ZJ-2026-003") == before


def test_an_opinion_and_a_review_make_a_refused_step_pass(app: App) -> None:
    fire_event(app, "ZJ-2026-003", Event.SUBMIT_PROPOSAL, "lin")
    fire_event(app, "ZJ-2026-003", Event.INTAKE, "wang")
    assert not fire_event(app, "ZJ-2026-003", Event.APPROVE, "wang").accepted
    # the Public Security department withdraws its unmet need; the approval then rests on the review only
    v = services.record_opinion(
        app,
        "ZJ-2026-003",
        "zhou",
        department="11330000GF0000004D",
        on=date(2026, 11, 20),
        verdict="agree",
        unmet_needs=[],
        comment="已协商一致",
    )
    assert v == phase_version(app, "ZJ-2026-003")[1]
    history = services.project_history(app, "ZJ-2026-003", "wang")
    assert history[-1]["note"] == "浙江省公安厅（11330000GF0000004D）意见：同意"
    res = fire_event(app, "ZJ-2026-003", Event.APPROVE, "wang")
    assert res.accepted, res.reasons  # the newest opinion of a department supersedes its earlier one


def test_record_review_only_in_the_matching_review_phase_and_by_the_agency(app: App) -> None:
    judgments = {
        p: ("met", None) for p in ("agreement", "catalog", "infrastructure", "aggregation", "technical")
    }
    with pytest.raises(RuleRefused) as exc:
        services.record_review(
            app,
            "ZJ-2026-001",
            "pingshen",
            stage="proposal",
            agency=None,
            on=date(2026, 11, 1),
            judgments=judgments,
            conclusion=None,
        )
    assert exc.value.reasons[0].code == "NOT_IN_REVIEW"
    with pytest.raises(PermissionDenied):
        services.record_review(
            app,
            "ZJ-2026-001",
            "wang",
            stage="proposal",
            agency=None,
            on=date(2026, 11, 1),
            judgments=judgments,
            conclusion=None,
        )
    with pytest.raises(UsageError):
        services.record_review(
            app,
            "ZJ-2026-001",
            "pingshen",
            stage="proposal",
            agency=None,
            on=date(2026, 11, 1),
            judgments={"agreement": ("great", None)},
            conclusion=None,
        )


def test_permission_denial_is_a_security_event_and_changes_nothing(app: App) -> None:
    before = phase_version(app, "ZJ-2026-001")
    with pytest.raises(PermissionDenied) as exc:
        fire_event(app, "ZJ-2026-001", Event.SUBMIT_PROPOSAL, "zhao")  # another department's project
    assert exc.value.reasons[0].code == "OUT_OF_DEPARTMENT"
    with pytest.raises(PermissionDenied) as exc2:
        fire_event(app, "ZJ-2026-001", Event.SUBMIT_PROPOSAL, "qian")  # finance
    assert exc2.value.reasons[0].code == "PERMISSION_DENIED"
    assert phase_version(app, "ZJ-2026-001") == before
    security = [r for r in audit_rows(app, "ZJ-2026-001") if r.kind == "security"]
    assert [(r.actor, r.outcome, r.action) for r in security] == [
        ("zhao", "denied", "event.submit_proposal"),
        ("qian", "denied", "event.submit_proposal"),
    ]


def test_an_impossible_event_changes_nothing_but_is_audited_and_unknown_names_write_nothing(app: App) -> None:
    n = count(app, AuditEvent)
    with pytest.raises(RuleRefused) as exc:
        fire_event(app, "ZJ-2026-001", Event.APPROVE, "wang")
    assert exc.value.reasons[0].code == "EVENT_NOT_ALLOWED"
    assert phase_version(app, "ZJ-2026-001") == ("draft", 1)
    assert count(app, AuditEvent) == n + 1  # every refused event is in the trail
    n += 1
    with pytest.raises(NotFound):
        fire_event(app, "NO-SUCH", Event.APPROVE, "wang")
    with pytest.raises(NotFound):
        fire_event(app, "ZJ-2026-001", Event.SUBMIT_PROPOSAL, "nobody")
    with pytest.raises(UsageError):
        fire_event(app, "ZJ-2026-001", "jump", "li")
    assert count(app, AuditEvent) == n


def test_stale_expected_version_is_a_conflict_and_changes_nothing(app: App) -> None:
    n = count(app, AuditEvent)
    with pytest.raises(Conflict):
        fire_event(app, "ZJ-2026-001", Event.SUBMIT_PROPOSAL, "li", expect_version=7)
    assert phase_version(app, "ZJ-2026-001") == ("draft", 1)
    assert count(app, AuditEvent) == n
    assert fire_event(app, "ZJ-2026-001", Event.SUBMIT_PROPOSAL, "li", expect_version=1).accepted


def test_a_concurrent_change_between_judging_and_writing_loses_with_a_conflict(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exactly one of two overlapping events wins: B commits while A is being judged, so A must not write."""
    fire_event(app, "ZJ-2026-001", Event.SUBMIT_PROPOSAL, "li")
    fire_event(app, "ZJ-2026-001", Event.INTAKE, "wang")
    real = events.load_facts  # type: ignore[attr-defined]  # what fire_event calls, by the name it imported
    fired: list[bool] = []

    def interleaved(*args: Any, **kwargs: Any) -> Any:
        facts = real(*args, **kwargs)
        if not fired:
            fired.append(True)
            res_b = fire_event(app, "ZJ-2026-001", Event.WITHDRAW, "li", reason="并入省级平台统一建设")
            assert res_b.accepted
        return facts

    monkeypatch.setattr(events, "load_facts", interleaved)
    n = count(app, AuditEvent)
    with pytest.raises(Conflict):
        fire_event(app, "ZJ-2026-001", Event.APPROVE, "wang")
    assert phase_version(app, "ZJ-2026-001") == ("withdrawn", 4)
    assert count(app, AuditEvent) == n + 1  # only B's event
    assert services.verify_audit(app).ok


def test_backfilled_time_is_recorded_and_never_before_the_last_event(app: App) -> None:
    app.clock = lambda: NOW + timedelta(days=2)  # two days after the load: backfill the day in between
    at = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    res = fire_event(app, "ZJ-2026-001", Event.SUBMIT_PROPOSAL, "li", at=at)
    assert res.at == at
    assert services.project_history(app, "ZJ-2026-001")[-1]["occurred_at"] == at
    with pytest.raises(RuleRefused) as exc:
        fire_event(app, "ZJ-2026-001", Event.INTAKE, "wang", at=at - timedelta(minutes=1))
    assert exc.value.reasons[0].code == "AT_BEFORE_LAST_EVENT"
    with pytest.raises(UsageError):
        fire_event(app, "ZJ-2026-001", Event.INTAKE, "wang", at=datetime(2026, 11, 28, 9, 0))
    with pytest.raises(RuleRefused) as future:
        fire_event(app, "ZJ-2026-001", Event.INTAKE, "wang", at=NOW + timedelta(days=3))
    assert future.value.reasons[0].code == "AT_IN_FUTURE"


def test_failed_acceptance_opens_an_order_due_in_twenty_working_days(app: App) -> None:
    fire_event(app, "ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen")
    refused = fire_event(app, "ZJ-2026-004", Event.PASS_ACCEPTANCE, "wang")
    assert {r.code for r in refused.reasons} == {"DELIVERY_MISSING"}
    assert {r.clause for r in refused.reasons} == {"733号文 第十一条"}
    res = fire_event(app, "ZJ-2026-004", Event.FAIL_ACCEPTANCE, "wang", reason="C-001、C-002 到期未实现共享")
    assert res.accepted and res.to_phase is Phase.RECTIFICATION
    # 2026-11-26 (Thu) + 20 working days, no holidays in between: 2026-12-24
    assert res.order == "RO-ZJ-2026-004-01" and res.deadline == date(2026, 12, 24)
    with unit_of_work(app.engine, write=False) as s:
        order = s.execute(select(RectificationOrder)).scalars().one()
        assert (order.status, order.notice_date, order.workdays) == ("open", date(2026, 11, 26), 20)
        assert {r["code"] for r in order.reasons} == {"DELIVERY_MISSING", "ACCEPTANCE_FAILED"}
        # its history starts with its issue, by whom and with the deadline, like the orders the flows issue
        [step] = s.execute(select(OrderStep).where(OrderStep.order_id == order.id)).scalars().all()
        assert (step.kind, step.actor, step.on, step.key) == (
            "issued",
            "wang",
            date(2026, 11, 26),
            f"{res.order}/issued",
        )
        assert step.payload["deadline"] == "2026-12-24" and "第十一条" in (step.note or "")
    # the department asks again after rectifying
    assert (
        fire_event(app, "ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen").to_phase is Phase.ACCEPTANCE_REVIEW
    )


def test_an_opinion_of_unmet_needs_must_list_them_each_with_a_name(app: App) -> None:
    version = phase_version(app, "ZJ-2026-003")[1]
    for needs in ([], [{"name": "  ", "catalog": None}]):
        with pytest.raises(RuleRefused) as exc:
            services.record_opinion(
                app, "ZJ-2026-003", "zhou", department="11330000GF0000004D", on=date(2026, 11, 20),
                verdict="unmet_needs", unmet_needs=needs, comment=None,
            )  # fmt: skip
        [reason] = exc.value.reasons
        assert (reason.code, reason.clause, reason.path) == (
            "UNMET_NEEDS_NOT_LISTED",
            "733号文 第九条",
            "unmet_needs",
        )
    assert phase_version(app, "ZJ-2026-003")[1] == version  # nothing was recorded


def test_onboarded_projects_are_recorded_as_such(app: App) -> None:
    rows = audit_rows(app, "ZJ-2026-004")
    assert [(r.kind, r.action, r.to_phase) for r in rows] == [("onboarding", "onboard", "construction")]
    with unit_of_work(app.engine, write=False) as s:
        pr = t(Project)
        assert s.execute(select(pr.c.phase).where(pr.c.code == "ZJ-2026-005")).scalar_one() == "operation"


def test_tampering_with_the_chain_is_found(app: App, db_url: str) -> None:
    for code, ev, who in [
        ("ZJ-2026-001", Event.SUBMIT_PROPOSAL, "li"),
        ("ZJ-2026-001", Event.INTAKE, "wang"),
    ]:
        fire_event(app, code, ev, who)
    assert services.verify_audit(app).ok
    with app.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 3"))
    rep = services.verify_audit(app)
    assert not rep.ok and rep.first_bad_seq == 3


def test_the_chain_holds_when_the_clock_reads_beijing_time(app: App) -> None:
    """A clock in +08:00 is the same instant as UTC: hashing must not depend on the offset it was read in."""
    from zoneinfo import ZoneInfo

    beijing = ZoneInfo("Asia/Shanghai")
    app.clock = lambda: (NOW + timedelta(hours=1)).astimezone(beijing)
    fire_event(app, "ZJ-2026-001", Event.SUBMIT_PROPOSAL, "li")
    fire_event(app, "ZJ-2026-001", Event.INTAKE, "wang", at=(NOW + timedelta(minutes=61)).astimezone(beijing))
    assert services.verify_audit(app).ok


def test_passing_acceptance_after_rectification_closes_the_acceptance_order(app: App) -> None:
    fire_event(app, "ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen")
    order = fire_event(app, "ZJ-2026-004", Event.FAIL_ACCEPTANCE, "wang", reason="到期未实现共享").order
    fire_event(app, "ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen")
    # deliveries arrived for the due items
    with unit_of_work(app.engine) as s:
        s.execute(text("UPDATE agreement_item SET due = NULL"))
    assert fire_event(app, "ZJ-2026-004", Event.PASS_ACCEPTANCE, "wang").accepted
    with unit_of_work(app.engine, write=False) as s:
        ro = t(RectificationOrder)
        status, reason, late = s.execute(
            select(ro.c.status, ro.c.closed_reason, ro.c.closed_late).where(ro.c.code == order)
        ).one()
    assert (status, reason, late) == ("closed", "acceptance_passed", False)


AGREEMENT_FILE = """
agreements:
  - code: A-101
    form: agreement
    parties: ["11330000GF0000003A", "11330000GF0000004D"]
    signed_on: 2026-11-20
    term: {start: 2026-12-01, end: 2029-11-30}
    basis: 《浙江省公共数据条例》第二十条
    items:
      - {catalog: C-002, consumer: "11330000GF0000003A", quality: 与备案系统一致, quantity: 全量,
         update_frequency: daily, scope: 企业开办联办, usage: 接口查询, due: 2027-03-31}
"""


def test_a_clerk_fixes_a_refused_intake_with_an_agreement_and_an_opinion(app: App, tmp_path: Any) -> None:
    fire_event(app, "ZJ-2026-002", Event.SUBMIT_PROPOSAL, "zhao")
    refused = fire_event(app, "ZJ-2026-002", Event.INTAKE, "wang")
    assert {r.code for r in refused.reasons} == {"NO_AGREEMENT", "OPINION_MISSING"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        AGREEMENT_FILE.replace("quality: 与备案系统一致, ", "").replace("C-002,", "C-404,"), encoding="utf-8"
    )
    with pytest.raises(RuleRefused) as exc:
        services.add_agreements(app, "ZJ-2026-002", bad, "zhao")
    assert {(r.code, r.path) for r in exc.value.reasons} == {
        ("AGREEMENT_ITEM_TERM_MISSING", "agreements[0].items[0].quality"),
        ("CATALOG_ITEM_UNKNOWN", "agreements[0].items[0].catalog"),
    }
    good = tmp_path / "agreement.yaml"
    good.write_text(AGREEMENT_FILE, encoding="utf-8")
    with pytest.raises(NotFound):  # another department, with no part in it: as if it did not exist
        services.add_agreements(app, "ZJ-2026-002", good, "li")
    assert services.add_agreements(app, "ZJ-2026-002", good, "zhao")["agreement_items"] == 1
    services.record_opinion(
        app, "ZJ-2026-002", "zhou", department="11330000GF0000004D", on=date(2026, 11, 26), verdict="agree",
        unmet_needs=[], comment=None,
    )  # fmt: skip
    services.set_needs_analysis(
        app, "ZJ-2026-002", "zhao", internal="登记、备案数据内部共享", external=None, central_local=None
    )
    fire_event(app, "ZJ-2026-002", Event.SUBMIT_PROPOSAL, "zhao")
    assert fire_event(app, "ZJ-2026-002", Event.INTAKE, "wang").accepted
    with pytest.raises(RuleRefused) as locked:
        services.set_needs_analysis(
            app, "ZJ-2026-002", "zhao", internal="x", external=None, central_local=None
        )
    assert locked.value.reasons[0].code == "MATERIALS_LOCKED"

"""The obligation sweep (SPEC §4.1, docs/governance.md) on SQLite and PostgreSQL.

Two portfolios: the demo (ZJ-2026-004 in construction with missed milestones, ZJ-2026-005 in operation with a
stale weekly item and an agreement ending on 2026-12-20) and ``tests/data/governance/sweep-portfolio.yaml``,
small and built for the rules' edges (frequency override, zero-record deliveries, phases that are not swept).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from govflow.demo import demo_portfolio
from govflow.governance.rectification import run_deadlines, show_order
from govflow.governance.sweep import SweepResult, run_sweep
from govflow.lifecycle import portfolio, services
from govflow.lifecycle.services import App, fire_event
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import (
    AgreementItem,
    AuditEvent,
    CatalogItem,
    Finding,
    OutboxMessage,
    Project,
    RectificationOrder,
)
from govflow.settings import Settings
from govflow.states.findings import describe_finding
from govflow.states.phases import Event

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, the demo's "today"
SMALL = Path(__file__).resolve().parents[1] / "data" / "governance" / "sweep-portfolio.yaml"

NDRC = "11330000GF00000014"  # 浙江省发展和改革委员会: leads ZJ-2026-005
BIGDATA = "11330000GF00000027"
SAMR = "11330000GF0000003A"
HRSS = "11330000GF0000005G"  # 浙江省人力资源和社会保障厅: leads ZJ-2026-004

M004_C002 = f"ZJ-2026-004/MILESTONE_MISSED/A-001/C-002/{HRSS}/2026-06-30"
M004_C001 = f"ZJ-2026-004/MILESTONE_MISSED/A-001/C-001/{BIGDATA}/2026-09-30"
S005_C002 = f"ZJ-2026-005/DELIVERY_STALE/A-001/C-002/{NDRC}/2026-10-30"


def make_app(engine: Engine, db_url: str, start: datetime = NOW) -> App:
    clock = iter(start + timedelta(seconds=i) for i in range(100_000))
    return App(Settings(database_url=db_url), engine, clock=lambda: next(clock))


@pytest.fixture
def app(engine: Engine, db_url: str) -> Iterator[App]:
    application = make_app(engine, db_url)
    services.load_portfolio(application, demo_portfolio(), None)
    yield application


@pytest.fixture
def small(engine: Engine, db_url: str) -> Iterator[App]:
    application = make_app(engine, db_url)
    services.load_portfolio(application, SMALL, None)
    yield application


def findings(app: App) -> dict[str, Any]:
    f = t(Finding)
    with unit_of_work(app.engine, write=False) as s:
        return {r.key: r for r in s.execute(select(f))}


def outbox(app: App, prefix: str = "") -> dict[str, Any]:
    ob = t(OutboxMessage)
    with unit_of_work(app.engine, write=False) as s:
        return {r.key: r for r in s.execute(select(ob).where(ob.c.key.startswith(prefix)))}


def count(app: App, model: Any) -> int:
    with unit_of_work(app.engine, write=False) as s:
        return int(s.execute(select(func.count()).select_from(t(model))).scalar_one())


def sweep_events(app: App) -> list[Any]:
    ae = t(AuditEvent)
    with unit_of_work(app.engine, write=False) as s:
        return list(s.execute(select(ae).where(ae.c.action == "flow.sweep").order_by(ae.c.seq)))


def deliver(app: App, project: str, catalog: str, consumer: str, day: date, records: int) -> None:
    """What the exchange platform's import writes (the import itself refuses days after the app's today)."""
    row = portfolio.EvidenceIn(project=project, catalog=catalog, consumer=consumer, date=day, records=records)
    with unit_of_work(app.engine) as s:
        portfolio.write_evidence(s, [row])


def project_id(app: App, code: str) -> int:
    p = t(Project)
    with unit_of_work(app.engine, write=False) as s:
        return int(s.execute(select(p.c.id).where(p.c.code == code)).scalar_one())


# ---------------------------------------------------------------------------------------------- the rules


def test_the_demo_sweep_finds_each_designed_problem_with_key_clause_and_evidence(app: App) -> None:
    res = run_sweep(app, date(2026, 11, 26))
    assert (res.opened, res.closed, res.still_open, res.expiry_notices) == (3, 0, 0, 1)
    assert res.opened_by_rule == {"MILESTONE_MISSED": 2, "DELIVERY_STALE": 1}
    found = findings(app)
    assert set(found) == {M004_C002, M004_C001, S005_C002}

    missed = found[M004_C002]
    assert (missed.rule, missed.clause, missed.status, missed.opened_on) == (
        "MILESTONE_MISSED",
        "733号文 第十一条",
        "open",
        date(2026, 11, 26),
    )
    assert (missed.subject, missed.period) == (f"A-001/C-002/{HRSS}", "2026-06-30")
    ev = missed.evidence
    assert ev["expected"]["due"] == "2026-06-30" and ev["delivered"] == {"records": 0, "last_day": None}
    assert ev["since"] == "2026-07-01" and ev["basis"] == "733号文 第八条（实现进度）"
    text = describe_finding(missed.rule, ev)
    assert (
        "居民身份证照片信息" in text and "截至 2026-11-26 无交付记录" in text and "第八条（实现进度）" in text
    )
    assert describe_finding(missed.rule, ev, "en").startswith("agreement A-001 promised catalog item C-002")

    stale = found[S005_C002]
    assert (stale.rule, stale.clause, stale.period) == ("DELIVERY_STALE", "733号文 第十一条", "2026-10-30")
    assert stale.evidence["expected"] == {"frequency": "weekly", "max_gap_days": 7}
    assert stale.evidence["delivered"] == {"records": 305, "last_day": "2026-10-30"}
    assert stale.evidence["since"] == "2026-11-07"  # the first day more than 7 days after 10-30
    text = describe_finding(stale.rule, stale.evidence)
    assert "按「每周」更新" in text and "27 天未更新" in text and "第八条（更新频度）" in text


def test_each_new_finding_is_sent_once_to_the_lead_department(app: App) -> None:
    run_sweep(app, date(2026, 11, 26))
    sent = outbox(app, "finding/")
    assert set(sent) == {f"finding/{k}" for k in (M004_C002, M004_C001, S005_C002)}
    msg = sent[f"finding/{S005_C002}"]
    assert (msg.topic, msg.recipients_role, msg.project_code) == (
        "finding.opened",
        "department",
        "ZJ-2026-005",
    )
    assert msg.payload["department"] == NDRC and msg.payload["clause"] == "733号文 第十一条"
    assert msg.payload["rule"] == "DELIVERY_STALE" and msg.payload["period"] == "2026-10-30"
    assert sent[f"finding/{M004_C001}"].payload["department"] == HRSS


def test_rerunning_the_same_day_creates_nothing(app: App) -> None:
    run_sweep(app, date(2026, 11, 26))
    before = (count(app, Finding), count(app, OutboxMessage), count(app, AuditEvent))
    res = run_sweep(app, date(2026, 11, 26))
    assert (res.opened, res.closed, res.still_open, res.expiry_notices) == (0, 0, 3, 0)
    assert (count(app, Finding), count(app, OutboxMessage), count(app, AuditEvent)) == before


def test_frequency_override_zero_records_expired_term_and_unswept_phases(small: App) -> None:
    res = run_sweep(small, date(2026, 11, 26))
    # T-OPS and T-ACC were onboarded with a legacy reason: their gaps are findings of the load, not the sweep's
    gaps = {k: f for k, f in findings(small).items() if "/ONBOARDING_GAP/" in k}
    assert gaps and all(f.status == "open" for f in gaps.values())
    assert (
        set(findings(small)) - set(gaps)
        == {
            f"T-OPS/DELIVERY_STALE/A-001/C-001/{SAMR}/2026-10-20",  # monthly: 37 days > 31
            f"T-OPS/MILESTONE_MISSED/A-002/C-002/{NDRC}/2026-06-01",  # 0 records is no delivery; due Sun 05-31 → Mon
            "T-OPS/AGREEMENT_EXPIRED/A-002/-/-/2026-10-31",
        }
    )
    # C-002 is daily in the catalog but weekly in the agreement: 6 days since the last delivery is in time;
    # C-003 of A-003 is due today, which is not yet missed; T-ACC is not judged for staleness, T-DRAFT not at all
    expired = findings(small)["T-OPS/AGREEMENT_EXPIRED/A-002/-/-/2026-10-31"]
    assert expired.clause == "733号文 第八条" and expired.subject == "A-002"
    assert expired.evidence["since"] == "2026-11-01" and expired.evidence["delivered"] is None
    assert "联合发文 A-002 的共享期限已于 2026-10-31 届满" in describe_finding(expired.rule, expired.evidence)
    assert res.expiry_notices == 1
    assert set(outbox(small, "notice/")) == {"notice/agreement-expiry/T-OPS/A-003/2026-12-26"}


def test_without_its_own_frequency_an_item_is_judged_by_the_catalog_frequency(small: App) -> None:
    ai, ci = t(AgreementItem), t(CatalogItem)
    with unit_of_work(small.engine) as s:
        item = select(ci.c.id).where(ci.c.code == "C-002", ci.c.project_id == project_id(small, "T-OPS"))
        s.execute(update(ai).where(ai.c.catalog_item_id.in_(item)).values(update_frequency=None))
    run_sweep(small, date(2026, 11, 26))
    key = f"T-OPS/DELIVERY_STALE/A-001/C-002/{SAMR}/2026-11-20"  # daily: 6 days > 1
    assert findings(small)[key].evidence["expected"]["frequency"] == "daily"


def test_delivery_stale_is_judged_in_operation_only(app: App) -> None:
    # ZJ-2026-004 (construction) delivers C-001 once, after its due date, and never again: late, so
    # MILESTONE_MISSED for it is gone, and however old that delivery gets it is not DELIVERY_STALE
    deliver(app, "ZJ-2026-004", "C-001", BIGDATA, date(2026, 10, 1), 1200)
    deliver(app, "ZJ-2026-004", "C-002", HRSS, date(2026, 7, 1), 0)  # 0 records: still missed
    run_sweep(app, date(2026, 11, 26))
    rules_004 = {(f.rule, f.subject) for f in findings(app).values() if f.key.startswith("ZJ-2026-004/")}
    assert rules_004 == {("MILESTONE_MISSED", f"A-001/C-002/{HRSS}")}
    # the same kind of gap in ZJ-2026-005 (operation) is a finding
    assert S005_C002 in findings(app)


def test_the_expiry_notice_is_sent_once_within_thirty_days_and_expiry_becomes_a_finding(app: App) -> None:
    key = "notice/agreement-expiry/ZJ-2026-005/A-002/2026-12-20"
    assert run_sweep(app, date(2026, 11, 19)).expiry_notices == 0  # 31 days before the end
    assert run_sweep(app, date(2026, 11, 20)).expiry_notices == 1  # 30 days
    assert run_sweep(app, date(2026, 11, 26)).expiry_notices == 0  # already told
    notice = outbox(app, "notice/")[key]
    assert (notice.topic, notice.recipients_role) == ("notice.agreement_expiry", "department")
    assert notice.payload["days_left"] == 30 and notice.payload["clause"] == "733号文 第八条"
    assert notice.payload["department"] == NDRC and "调整" in notice.payload["message"]
    assert run_sweep(app, date(2026, 12, 20)).expiry_notices == 0  # the last day of the term: not expired
    res = run_sweep(app, date(2026, 12, 21))
    assert res.opened_by_rule.get("AGREEMENT_EXPIRED") == 1
    assert "ZJ-2026-005/AGREEMENT_EXPIRED/A-002/-/-/2026-12-20" in findings(app)


# ---------------------------------------------------------------------------------------------- closing


def test_a_later_sweep_closes_a_fixed_finding_and_keeps_the_record(app: App) -> None:
    run_sweep(app, date(2026, 11, 26))
    deliver(app, "ZJ-2026-005", "C-002", NDRC, date(2026, 11, 30), 310)
    deliver(app, "ZJ-2026-004", "C-001", BIGDATA, date(2026, 12, 1), 900)
    # the daily items of ZJ-2026-005 keep being delivered
    for code in ("C-001", "C-004"):
        deliver(app, "ZJ-2026-005", code, NDRC, date(2026, 12, 1), 10)
    res = run_sweep(app, date(2026, 12, 2))
    assert (res.opened, res.closed, res.still_open) == (0, 2, 1)
    assert res.closed_by_rule == {"DELIVERY_STALE": 1, "MILESTONE_MISSED": 1}
    found = findings(app)
    for key in (S005_C002, M004_C001):
        assert (found[key].status, found[key].closed_on, found[key].closed_reason) == (
            "closed",
            date(2026, 12, 2),
            "cause_gone",
        )
    assert found[M004_C002].status == "open"
    # a rerun of that day changes nothing, and a later gap is a new episode with a new key
    assert run_sweep(app, date(2026, 12, 2)).closed == 0
    res = run_sweep(app, date(2026, 12, 9))
    new_key = f"ZJ-2026-005/DELIVERY_STALE/A-001/C-002/{NDRC}/2026-11-30"
    assert new_key in findings(app) and findings(app)[S005_C002].status == "closed"
    assert res.opened_by_rule["DELIVERY_STALE"] == 4  # C-002 (weekly), the two daily items, C-003 (monthly)


def test_closing_a_finding_closes_its_order_and_records_whether_it_was_late(app: App) -> None:
    run_sweep(app, date(2026, 11, 26))
    run_deadlines(app, date(2026, 11, 26))  # orders due 2026-12-24
    deliver(app, "ZJ-2026-005", "C-002", NDRC, date(2026, 11, 30), 310)
    res = run_sweep(app, date(2026, 12, 1))
    assert res.orders_closed == 1
    order = show_order(app, "RO-ZJ-2026-005-01", "wang")
    assert (order.status, order.closed_on, order.closed_late, order.closed_reason) == (
        "closed",
        date(2026, 12, 1),
        False,
        "finding_closed",
    )
    assert order.version == 2 and order.steps[-1].kind == "close"
    assert order.steps[-1].payload["finding_closed_reason"] == "cause_gone"
    closed = outbox(app, "order/RO-ZJ-2026-005-01/closed/v2/")
    assert {m.recipients_role for m in closed.values()} == {"department", "program_office"}
    # fixed only after the deadline: closed late
    deliver(app, "ZJ-2026-004", "C-001", BIGDATA, date(2026, 12, 28), 900)
    run_sweep(app, date(2026, 12, 28))
    late = show_order(app, "RO-ZJ-2026-004-01", "wang")
    assert late.finding == M004_C001 and (late.status, late.closed_late) == ("closed", True)
    assert services.verify_audit(app).ok


def test_a_sweep_for_an_earlier_day_never_touches_a_later_finding(app: App) -> None:
    run_sweep(app, date(2026, 11, 27))  # the daily items of ZJ-2026-005 are 2 days old: stale
    daily = f"ZJ-2026-005/DELIVERY_STALE/A-001/C-001/{NDRC}/2026-11-25"
    assert findings(app)[daily].opened_on == date(2026, 11, 27)
    res = run_sweep(app, date(2026, 11, 26))  # on the 26th C-001 was in time, but that finding is later
    assert res.closed == 0 and findings(app)[daily].status == "open"


def test_a_project_that_leaves_the_swept_phases_has_its_findings_closed(app: App) -> None:
    run_sweep(app, date(2026, 11, 26))
    fire_event(app, "ZJ-2026-004", Event.WITHDRAW, "chen", reason="并入省级平台统一建设")
    res = run_sweep(app, date(2026, 11, 27))
    closed = {k: f.closed_reason for k, f in findings(app).items() if f.status == "closed"}
    assert closed == {M004_C002: "left_swept_phases", M004_C001: "left_swept_phases"}
    assert res.closed_by_rule == {"MILESTONE_MISSED": 2}


def test_a_chunk_sweeps_only_its_projects(app: App) -> None:
    pid = project_id(app, "ZJ-2026-004")
    res = run_sweep(app, date(2026, 11, 26), (pid, pid))
    assert res.chunk == (pid, pid) and res.opened == 2 and res.expiry_notices == 0
    assert set(findings(app)) == {M004_C002, M004_C001}
    # the rest, then everything: nothing twice
    pid5 = project_id(app, "ZJ-2026-005")
    assert run_sweep(app, date(2026, 11, 26), (pid5, pid5)).opened == 1
    assert run_sweep(app, date(2026, 11, 26)).opened == 0


# ---------------------------------------------------------------------------------------------- the trail


def test_one_audit_event_per_run_binds_the_keys_it_opened_and_closed(app: App) -> None:
    res = run_sweep(app, date(2026, 11, 26))
    events = sweep_events(app)
    assert len(events) == 1
    ev = events[0]
    assert (ev.kind, ev.outcome, ev.actor, ev.role, ev.project_code) == (
        "data",
        "recorded",
        "govflow-sweep",
        "system",
        None,
    )
    assert set(ev.clauses) == {"733号文 第十一条", "733号文 第八条"}
    detail = next(r["detail"] for r in ev.reasons if r["code"] == "SWEEP_RUN")
    opened = sorted([M004_C002, M004_C001, S005_C002])
    assert detail["opened_keys"] == opened
    assert detail["opened_keys_sha256"] == hashlib.sha256("\n".join(opened).encode()).hexdigest()
    assert detail["findings_opened"] == res.opened == 3
    assert "新发现 3 项" in (ev.note or "")
    run_sweep(app, date(2026, 11, 26))  # nothing new: no event
    assert len(sweep_events(app)) == 1
    assert services.verify_audit(app).ok


def test_the_result_is_plain_json(app: App) -> None:
    res = run_sweep(app, date(2026, 11, 26))
    assert isinstance(res, SweepResult)
    assert res.to_dict() == {
        "flow": "sweep",
        "as_of": "2026-11-26",
        "chunk": None,
        "findings_opened": 3,
        "findings_closed": 0,
        "findings_still_open": 0,
        "expiry_notices": 1,
        "orders_closed": 0,
        "opened_by_rule": {"MILESTONE_MISSED": 2, "DELIVERY_STALE": 1},
        "closed_by_rule": {},
    }
    with pytest.raises(AttributeError):
        res.opened = 9  # type: ignore[misc]


def test_no_order_is_closed_for_a_finding_that_stays_open(app: App) -> None:
    run_sweep(app, date(2026, 11, 26))
    run_deadlines(app, date(2026, 11, 26))
    with unit_of_work(app.engine, write=False) as s:
        ro = t(RectificationOrder)
        statuses = set(s.execute(select(ro.c.status)).scalars())
    run_sweep(app, date(2026, 11, 26))
    assert statuses == {"open"} and run_sweep(app, date(2026, 11, 26)).orders_closed == 0

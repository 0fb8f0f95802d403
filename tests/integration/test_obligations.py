"""One table of obligation cases through every surface that judges sharing obligations, on SQLite and PostgreSQL:
the acceptance guard (fired for real), the sweep's findings, the cut run's stored evidence (obligation status and
coverage), the dashboard (the project's obligations and the providing department's coverage), the cut report and
the API — each must say what :func:`govflow.states.obligations.evaluate` says. The evaluator's rules in SQL
(:func:`govflow.governance.obligations.delivery_status_sql` and ``finding_rule_sql``, with which the sweep
judges a whole chunk in one statement) must say it too, for every case on days around each of its boundaries and
for a project in every phase.

Data: the demo portfolio reduced to one agreement item — ZJ-2026-005's A-001 / C-002 to 浙江省发展和改革委员会
(provided by 浙江省人力资源和社会保障厅) — whose due date, frequency, term and deliveries each case sets. An
overdue rectification order makes every cut run propose a recommendation, so its evidence is always stored.

Then, for every project of the demo (after ``govflow demo``'s flows) and of a small benchmark portfolio
(bench/national.py), the dashboard's coverage equals the cut evidence's; and the board's coverage chart, which
counts per providing department in one SQL statement (:func:`govflow.governance.obligations.coverage_query`),
equals :func:`~govflow.states.obligations.coverage` of the evaluator's verdicts per provider — for every case
on every day of :data:`JUDGED_ON`, and over both portfolios on days around their deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, String, delete, insert, literal, select, update

from govflow.access import auth
from govflow.api import ApiSettings, create_app
from govflow.demo import run_demo
from govflow.governance import cuts
from govflow.governance.cuts import run_cuts
from govflow.governance.obligations import (
    delivery_status_sql,
    finding_rule_sql,
    obligation_query,
    read_obligations,
)
from govflow.governance.sweep import run_sweep
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models import deliveries
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import (
    Agreement,
    AgreementItem,
    CatalogItem,
    DeliveryEvidence,
    Finding,
    Project,
    RectificationOrder,
)
from govflow.reads import dashboard, reports
from govflow.states.obligations import (
    Coverage,
    Obligation,
    ObligationStatus,
    ObligationVerdict,
    coverage,
    evaluate,
    finding_rules,
    last_delivery,
)
from govflow.states.phases import Event, Phase
from govflow.states.sharing import Frequency

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
AS_OF = date(2026, 11, 26)
P5, AGREEMENT, CATALOG = "ZJ-2026-005", "A-001", "C-002"
NDRC = "11330000GF00000014"  # the consumer
HRSS = "11330000GF0000005G"  # the provider of C-002
PAST, FUTURE = date(2026, 6, 30), date(2026, 12, 31)
D, W, M = Frequency.DAILY, Frequency.WEEKLY, Frequency.MONTHLY
AI, AG, PR, DE = t(AgreementItem), t(Agreement), t(Project), t(DeliveryEvidence)


@dataclass(frozen=True)
class Case:
    name: str
    due: date | None
    frequency: Frequency
    deliveries: tuple[tuple[date, int], ...] = ()
    term_end: date = date(2029, 12, 31)

    def verdict(self) -> ObligationVerdict:
        last = last_delivery(self.deliveries, AS_OF)
        return evaluate(Obligation(self.due, self.frequency, last, self.term_end), AS_OF)


CASES = [
    Case("not yet due", FUTURE, W),
    Case("due today", AS_OF, W),
    Case("delivered before due", FUTURE, W, ((date(2026, 11, 25), 5),)),
    Case("delivered before due, then stopped", FUTURE, W, ((date(2026, 11, 1), 5),)),
    Case("no delivery after due", PAST, W),
    Case("0-record delivery", PAST, W, ((date(2026, 11, 25), 0),)),
    Case("delivered weekly", PAST, W, ((date(2026, 11, 20), 50),)),
    Case("stale daily", PAST, D, ((date(2026, 11, 24), 10),)),
    Case("stale weekly", PAST, W, ((date(2026, 11, 18), 10),)),
    Case("stale monthly", PAST, M, ((date(2026, 10, 25), 10),)),
    Case("in time monthly", PAST, M, ((date(2026, 10, 26), 10),)),
    Case("0 records after a real delivery", PAST, W, ((date(2026, 11, 10), 7), (date(2026, 11, 24), 0))),
    Case("agreement expired, delivered", PAST, W, ((date(2026, 11, 25), 5),), date(2026, 11, 20)),
    Case("agreement expired, missed", PAST, W, (), date(2026, 10, 31)),
]


def _set_up(app: App, case: Case) -> None:
    """Only the case's agreement item is left in the portfolio, with the case's terms and deliveries."""
    with unit_of_work(app.engine) as s:
        pid = s.execute(select(PR.c.id).where(PR.c.code == P5)).scalar_one()
        aid = s.execute(select(AG.c.id).where(AG.c.project_id == pid, AG.c.code == AGREEMENT)).scalar_one()
        ci = t(CatalogItem)
        cid = s.execute(select(ci.c.id).where(ci.c.project_id == pid, ci.c.code == CATALOG)).scalar_one()
        consumer = s.execute(select(DEPT.c.id).where(DEPT.c.code == NDRC)).scalar_one()
        keep = (AI.c.agreement_id == aid) & (AI.c.catalog_item_id == cid) & (AI.c.consumer_id == consumer)
        s.execute(delete(AI).where(~keep))
        s.execute(update(AI).values(due=case.due, update_frequency=case.frequency.value))
        s.execute(update(AG).where(AG.c.id == aid).values(term_end=case.term_end))
        s.execute(delete(DE))
        for day, records in case.deliveries:
            s.execute(
                insert(DE).values(
                    project_id=pid, catalog_item_id=cid, consumer_id=consumer, day=day, records=records
                )
            )
        deliveries.recompute(s.connection())  # as every write of evidence keeps it
        s.execute(update(PR).where(PR.c.id == pid).values(phase=Phase.ACCEPTANCE_REVIEW.value))


def _to_operation(app: App) -> None:
    with unit_of_work(app.engine) as s:
        s.execute(update(PR).where(PR.c.code == P5).values(phase=Phase.OPERATION.value))
        pid = s.execute(select(PR.c.id).where(PR.c.code == P5)).scalar_one()
        s.execute(  # an order 27 working days overdue: every cut run proposes, so its evidence is stored
            insert(t(RectificationOrder)).values(
                code=f"RO-{P5}-09",
                project_id=pid,
                origin="finding",
                reasons=[],
                notice_date=date(2026, 9, 1),
                workdays=20,
                deadline=date(2026, 10, 20),
                status="overdue",
                overdue_since=date(2026, 10, 21),
                escalation_level=0,
                policy_version="2026.1",
                version=1,
            )
        )


def _expected_rules(v: ObligationVerdict) -> set[str]:
    rules = {r.value for r in finding_rules(v, Phase.OPERATION)}
    return rules | ({"AGREEMENT_EXPIRED"} if v.expired else set())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_surface_gives_the_evaluators_verdict_and_coverage(app: App, case: Case) -> None:
    v = case.verdict()
    cover = coverage([v])
    _set_up(app, case)

    # the acceptance guard, fired for real (before any sweep, so no finding stands in its way)
    res = services.fire_event(app, P5, Event.PASS_ACCEPTANCE, "wang")
    broken = v.delivery in (ObligationStatus.MISSED, ObligationStatus.STALE)
    assert res.accepted is not broken
    assert [r.detail["status"] for r in res.reasons] == ([v.delivery.value] if broken else [])
    assert [r.detail["rule"] for r in res.reasons] == ([v.delivery.rule] if broken else [])
    _to_operation(app)

    # the sweep
    run_sweep(app, AS_OF)
    fi = t(Finding)
    with unit_of_work(app.engine, write=False) as s:
        found = {str(r) for r in s.execute(select(fi.c.rule).where(fi.c.status == "open")).scalars()}
    assert found == _expected_rules(v)

    # the cut run's stored evidence
    assert run_cuts(app, AS_OF).proposed == 1
    ev = cuts.show_cut(app, P5, "2026", "zheng").evidence
    _assert_evidence(ev, v, cover)
    assert cuts.preview_evidence(app, P5, AS_OF)["coverage"] == ev["coverage"]

    # the dashboard: the project's obligations and the providing department's coverage
    judged = dashboard.project_obligations(app, P5, AS_OF)
    assert judged.verdicts[(AGREEMENT, CATALOG, NDRC)] == v and judged.cover == cover
    by_dept = {c.department: c.cover for c in dashboard.coverage_by_department(app, AS_OF)}
    assert by_dept == ({HRSS: cover} if v.in_force else {})

    # the cut report and the API
    [row] = reports.records(reports.cuts_report(app, "2026", "zheng"))
    _assert_evidence(row["evidence"], v, cover)
    headers = {"Authorization": f"Bearer {auth.issue_token(app, None, 'zheng')}"}
    with TestClient(create_app(ApiSettings(database_url=str(app.engine.url)), app=app)) as client:
        listed = client.get("/api/v1/cuts", params={"period": "2026"}, headers=headers)
        report = client.get("/api/v1/reports/cuts", params={"period": "2026"}, headers=headers)
    assert listed.status_code == 200 and report.status_code == 200, (listed.text, report.text)
    for body in (listed.json(), report.json()):
        [api] = [c for c in (body["items"] if isinstance(body, dict) else body) if c["project"] == P5]
        _assert_evidence(api["evidence"], v, cover)


#: days around every boundary of the cases: their due dates, deliveries (and the frequencies after them), terms
JUDGED_ON = sorted(
    {
        *(date(2026, 6, 29), date(2026, 6, 30), date(2026, 7, 1), date(2026, 12, 31), date(2027, 1, 1)),
        *(date(2026, 10, m) for m in (19, 20, 21, 25, 26, 31)),
        *(date(2026, 11, d) for d in (1, 2, 8, 9, 10, 17, 18, 19, 20, 21, 24, 25, 26, 27, 28)),
        *(date(2026, 12, d) for d in (1, 2, 25, 26, 27)),
    }
)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_evaluators_rules_in_sql_give_its_verdicts(app: App, case: Case) -> None:
    """What the sweep's one statement decides for an item equals what the evaluator decides: the delivery status
    on each day of :data:`JUDGED_ON`, and the finding rule for a project in each phase (swept or not)."""
    _set_up(app, case)
    phases = list(Phase)
    for on in JUDGED_ON:
        o = obligation_query(on, PR.c.code == P5).subquery()
        status = delivery_status_sql(on, o.c.due, o.c.frequency, o.c.last_day)
        rules = [finding_rule_sql(status, literal(p.value, String)) for p in phases]
        with unit_of_work(app.engine, write=False) as s:
            [(sql_status, *sql_rules)] = s.execute(select(status, *rules)).all()
        last = last_delivery(case.deliveries, on)
        v = evaluate(Obligation(case.due, case.frequency, last, case.term_end), on)
        assert sql_status == v.delivery.value, (case.name, on)
        expected = [next((r.value for r in finding_rules(v, p)), None) for p in phases]
        assert sql_rules == expected, (case.name, on)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_boards_coverage_chart_counts_what_the_evaluator_counts(app: App, case: Case) -> None:
    """The chart's per-provider counts in SQL equal the evaluator's coverage of the case's verdict on each day
    of :data:`JUDGED_ON`: a missed or stale item is due and not delivered, a not yet due one is not counted
    (its provider then has no bar)."""
    _set_up(app, case)
    for on in JUDGED_ON:
        last = last_delivery(case.deliveries, on)
        v = evaluate(Obligation(case.due, case.frequency, last, case.term_end), on)
        assert _chart(app, on) == ({HRSS: coverage([v])} if v.in_force else {}), (case.name, on)


def _chart(app: App, on: date) -> dict[str, Coverage]:
    """The chart's bars, which come in the order of their departments' codes."""
    bars = dashboard.coverage_by_department(app, on)
    assert [c.department for c in bars] == sorted(c.department for c in bars)
    return {c.department: c.cover for c in bars}


def _assert_chart_is_the_evaluators(app: App, on: date) -> set[ObligationStatus]:
    """The board's chart on ``on`` equals, per providing department, :func:`coverage` of the evaluator's
    verdicts on every agreement item read as an obligation (all projects, all phases); returns the statuses
    judged, so that a caller can tell its portfolio has items of every kind."""
    with unit_of_work(app.engine, write=False) as s:
        rows = read_obligations(s, on)
    judged: dict[str, list[ObligationVerdict]] = defaultdict(list)
    for r in rows:
        judged[r.provider].append(r.judge(on))
    expected = {p: cover for p, v in judged.items() if (cover := coverage(v)).due}
    assert _chart(app, on) == expected, on
    return {v.delivery for verdicts in judged.values() for v in verdicts}


def _assert_evidence(ev: dict[str, object], v: ObligationVerdict, cover: Coverage) -> None:
    assert ev["coverage"] == {
        "value": cover.text(),
        "covered": cover.delivered,
        "due_items": cover.due,
        "threshold": "0.9",
    }
    obligations = ev["obligations"]
    assert isinstance(obligations, list)
    expected = [(CATALOG, NDRC, v.status.value, v.covered)] if v.in_force else []
    assert [(o["catalog"], o["consumer"], o["status"], o["covered"]) for o in obligations] == expected


# ---------------------------------------------------------------------------------------------- portfolios


def _assert_dashboard_equals_cut_evidence(app: App, as_of: date) -> list[Coverage]:
    """For every project: the dashboard's coverage equals the cut evidence's; returns the coverages."""
    with unit_of_work(app.engine, write=False) as s:
        codes = [str(c) for c in s.execute(select(PR.c.code).order_by(PR.c.code)).scalars()]
    out = []
    for code in codes:
        judged = dashboard.project_obligations(app, code, as_of).cover
        ev = cuts.preview_evidence(app, code, as_of)["coverage"]
        shown = (ev["value"], ev["covered"], ev["due_items"])
        assert shown == (judged.text(), judged.delivered, judged.due), code
        out.append(judged)
    return out


def test_the_demo_dashboard_coverage_equals_the_cut_evidence(engine: Engine, db_url: str) -> None:
    app = App(ApiSettings(database_url=db_url), engine, clock=lambda: NOW)
    run_demo(app, lambda zh, en: None)  # `govflow demo`: the portfolio and its story
    run_sweep(app, AS_OF)
    run_cuts(app, AS_OF)
    covers = _assert_dashboard_equals_cut_evidence(app, AS_OF)
    assert len(covers) >= 5 and any(0 < c.delivered < c.due for c in covers)  # not only trivial coverages
    judged = set()
    for on in (date(2026, 6, 30), date(2026, 7, 1), AS_OF, date(2026, 12, 30)):
        judged |= _assert_chart_is_the_evaluators(app, on)
    assert judged == set(ObligationStatus) - {ObligationStatus.AGREEMENT_EXPIRED}
    # the recommendation the demo's cut run stored says the same
    ev = cuts.show_cut(app, P5, "2026", "zheng").evidence["coverage"]
    assert ev["value"] == dashboard.project_obligations(app, P5, AS_OF).cover.text()


def test_a_benchmark_portfolio_dashboard_coverage_equals_the_cut_evidence(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    from bench import national
    from bench.databases import Database

    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    name = db_url.removeprefix("sqlite:///") if backend == "sqlite" else engine.url.database or ""
    engine.dispose()
    summary = national.generate(Database(backend, db_url, name), tmp_path, scale=0.0025)
    app = App(ApiSettings(database_url=db_url), engine, clock=lambda: NOW)
    services.import_evidence(app, Path(summary.import_file), None)  # the platform's last 14 days
    covers = _assert_dashboard_equals_cut_evidence(app, national.AS_OF)
    assert len(covers) >= 50 and any(0 < c.delivered < c.due for c in covers)
    assert any(c.due and c.delivered == c.due for c in covers)
    judged = set()
    for days in (-30, -7, -1, 0, 1, 8, 40):
        judged |= _assert_chart_is_the_evaluators(app, national.AS_OF + timedelta(days=days))
    assert judged == set(ObligationStatus) - {ObligationStatus.AGREEMENT_EXPIRED}

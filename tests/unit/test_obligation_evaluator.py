"""The one obligation evaluator (govflow.states.obligations): one table of cases, the rules and clauses of each
status, coverage as an exact Decimal, and the findings the sweep opens per phase."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from govflow.states.findings import Rule
from govflow.states.obligations import (
    Coverage,
    Obligation,
    ObligationStatus,
    agreement_expired,
    coverage,
    evaluate,
    finding_rules,
    last_delivery,
    stated_records,
)
from govflow.states.phases import Phase
from govflow.states.sharing import Frequency

ON = date(2026, 11, 26)
PAST, FUTURE = date(2026, 6, 30), date(2026, 12, 31)
D, W, M = Frequency.DAILY, Frequency.WEEKLY, Frequency.MONTHLY
S = ObligationStatus

#: (name, due, frequency, (day, records) deliveries, term end, expected status, expected delivery status)
CASES = [
    ("no due date", None, W, [], None, S.NOT_DUE, S.NOT_DUE),
    ("not yet due, nothing delivered", FUTURE, W, [], None, S.NOT_DUE, S.NOT_DUE),
    ("due today is still in time", ON, W, [], None, S.NOT_DUE, S.NOT_DUE),
    ("delivered before its due date", FUTURE, W, [(date(2026, 11, 25), 5)], None, S.DELIVERED, S.DELIVERED),
    (
        "delivered before its due date, then stopped",
        FUTURE,
        W,
        [(date(2026, 11, 1), 5)],
        None,
        S.STALE,
        S.STALE,
    ),
    ("no due date, delivered long ago", None, M, [(date(2026, 9, 1), 5)], None, S.STALE, S.STALE),
    ("due yesterday, nothing delivered", date(2026, 11, 25), W, [], None, S.MISSED, S.MISSED),
    ("past due, nothing delivered", PAST, W, [], None, S.MISSED, S.MISSED),
    ("a delivery of 0 records is none", PAST, W, [(date(2026, 11, 25), 0)], None, S.MISSED, S.MISSED),
    ("a delivery after the day does not count", PAST, W, [(date(2026, 11, 27), 9)], None, S.MISSED, S.MISSED),
    ("weekly, 6 days ago", PAST, W, [(date(2026, 11, 20), 50)], None, S.DELIVERED, S.DELIVERED),
    ("weekly, 7 days ago", PAST, W, [(date(2026, 11, 19), 50)], None, S.DELIVERED, S.DELIVERED),
    ("weekly, 8 days ago", PAST, W, [(date(2026, 11, 18), 50)], None, S.STALE, S.STALE),
    ("daily, yesterday", PAST, D, [(date(2026, 11, 25), 1)], None, S.DELIVERED, S.DELIVERED),
    ("daily, 2 days ago", PAST, D, [(date(2026, 11, 24), 1)], None, S.STALE, S.STALE),
    ("monthly, 31 days ago", PAST, M, [(date(2026, 10, 26), 1)], None, S.DELIVERED, S.DELIVERED),
    ("monthly, 32 days ago", PAST, M, [(date(2026, 10, 25), 1)], None, S.STALE, S.STALE),
    (
        "0 records after a real delivery: the real one counts",
        PAST,
        W,
        [(date(2026, 11, 10), 7), (date(2026, 11, 24), 0)],
        None,
        S.STALE,
        S.STALE,
    ),
    ("term ends today: not expired", PAST, W, [(date(2026, 11, 25), 5)], ON, S.DELIVERED, S.DELIVERED),
    (
        "expired, still delivered",
        PAST,
        W,
        [(date(2026, 11, 25), 5)],
        date(2026, 11, 20),
        S.AGREEMENT_EXPIRED,
        S.DELIVERED,
    ),
    ("expired and missed", PAST, W, [], date(2026, 10, 31), S.AGREEMENT_EXPIRED, S.MISSED),
]


@pytest.mark.parametrize(
    ("due", "frequency", "deliveries", "term_end", "status", "delivery"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_the_evaluator_decides_each_case(
    due: date | None,
    frequency: Frequency,
    deliveries: list[tuple[date, int]],
    term_end: date | None,
    status: ObligationStatus,
    delivery: ObligationStatus,
) -> None:
    v = evaluate(Obligation(due, frequency, last_delivery(deliveries, ON), term_end), ON)
    assert (v.status, v.delivery) == (status, delivery)
    assert v.covered is (delivery is S.DELIVERED)
    assert v.in_force is (delivery is not S.NOT_DUE)


def test_each_status_carries_its_rule_clause_and_labels() -> None:
    assert [(s.rule, s.clause) for s in (S.MISSED, S.STALE, S.AGREEMENT_EXPIRED)] == [
        (Rule.MILESTONE_MISSED, "733号文 第十一条"),
        (Rule.DELIVERY_STALE, "733号文 第十一条"),
        (Rule.AGREEMENT_EXPIRED, "733号文 第八条"),
    ]
    assert S.NOT_DUE.rule is None and S.DELIVERED.clause is None
    assert (S.STALE.label(), S.STALE.label("en")) == ("未按更新频度持续共享", "not kept up at its frequency")
    assert all(s.zh and s.en and s.zh != s.en for s in ObligationStatus)
    assert Rule.DELIVERY_STALE.basis() == "733号文 第八条（更新频度）"


def test_since_is_the_first_broken_day() -> None:
    missed = evaluate(Obligation(PAST, W), ON)
    stale = evaluate(Obligation(PAST, W, date(2026, 10, 30)), ON)
    assert (missed.since, stale.since) == (date(2026, 7, 1), date(2026, 11, 7))
    assert (stale.days_since_last, stale.max_gap_days) == (27, 7)
    assert evaluate(Obligation(PAST, W, date(2026, 11, 25)), ON).since is None


@pytest.mark.parametrize(
    ("delivery", "phase", "rules"),
    [
        (S.MISSED, Phase.CONSTRUCTION, (Rule.MILESTONE_MISSED,)),
        (S.MISSED, Phase.OPERATION, (Rule.MILESTONE_MISSED,)),
        (S.STALE, Phase.OPERATION, (Rule.DELIVERY_STALE,)),
        (S.STALE, Phase.ACCEPTANCE_REVIEW, ()),  # staleness is a finding in operation only (SPEC §4.1)
        (S.MISSED, Phase.DRAFT, ()),  # not a swept phase
        (S.DELIVERED, Phase.OPERATION, ()),
    ],
)
def test_finding_rules_follow_the_phase(
    delivery: ObligationStatus, phase: Phase, rules: tuple[Rule, ...]
) -> None:
    last = {S.MISSED: None, S.STALE: date(2026, 10, 1), S.DELIVERED: date(2026, 11, 25)}[delivery]
    v = evaluate(Obligation(PAST, W, last), ON)
    assert v.delivery is delivery and finding_rules(v, phase) == rules


def test_agreement_expired_the_day_after_its_term() -> None:
    assert not agreement_expired(None, ON) and not agreement_expired(ON, ON)
    assert agreement_expired(date(2026, 11, 25), ON)


def test_coverage_counts_in_force_items_and_is_an_exact_decimal() -> None:
    verdicts = [
        evaluate(Obligation(PAST, W, date(2026, 11, 25)), ON),  # delivered
        evaluate(
            Obligation(PAST, W, date(2026, 11, 25), date(2026, 11, 1)), ON
        ),  # expired, delivered: counts
        evaluate(Obligation(PAST, W), ON),  # missed
        evaluate(Obligation(FUTURE, W), ON),  # not due: not counted
    ]
    c = coverage(verdicts)
    assert (c.due, c.delivered) == (3, 2)
    assert (
        c.value == Decimal(2) / Decimal(3) and c.text() == "0.6666"
    )  # rounded down, never up to a threshold
    assert c.percent == Decimal(200) / Decimal(3)
    assert Coverage().value == Decimal(1) and Coverage().text() == "1.0000"  # nothing due: full coverage
    assert Coverage(1, 0) + Coverage(2, 2) == Coverage(3, 2)


@pytest.mark.parametrize(
    ("quantity", "stated"),
    [
        ("每日全量10000条", 10000),
        ("每月约2万条", 20000),
        ("每日增量 1,500 条", 1500),
        ("每月全量", None),
        ("全省存续企业全量（约 1,000 万户）及每日增量", None),
        (None, None),
    ],
)
def test_the_number_of_records_an_agreement_states(quantity: str | None, stated: int | None) -> None:
    assert stated_records(quantity) == stated

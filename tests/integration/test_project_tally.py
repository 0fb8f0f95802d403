"""``project_tally`` (migration 0016, :mod:`govflow.models.tally`): the number of projects per phase kept by
triggers on ``project``, which the project list's total reads. On SQLite and PostgreSQL: it equals the projects
after every kind of write (a portfolio load, lifecycle events accepted and refused, SQL by hand), the list's total
read from it equals the projects listed, and on PostgreSQL concurrent phase changes neither deadlock nor lose a
count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from govflow.lifecycle.services import App, fire_event, list_projects, page_projects
from govflow.models import tally
from govflow.models.db import make_engine
from govflow.models.migrate import downgrade, upgrade
from govflow.states.phases import Event


def counts(engine: Engine) -> tuple[dict[str, int], dict[str, int]]:
    """(what ``project_tally`` holds, what the projects say)."""
    with engine.connect() as conn:
        return tally.held(conn), tally.derived(conn)


def assert_kept(engine: Engine) -> dict[str, int]:
    held, derived = counts(engine)
    assert held == derived
    return held


def totals(app: App, actor: str, phase: str | None = None) -> tuple[int, int]:
    """(the list's total, the number of projects the full list holds) for one reader and phase."""
    _, total = page_projects(app, actor, page=1, size=2, phase=phase)
    return total, len(list_projects(app, actor, phase=phase))


def test_the_portfolio_load_and_lifecycle_events_keep_the_tally(app: App, engine: Engine) -> None:
    before = assert_kept(engine)
    assert sum(before.values()) == 5
    assert fire_event(app, "ZJ-2026-003", Event.SUBMIT_PROPOSAL, "lin").accepted
    after = assert_kept(engine)
    assert after != before and sum(after.values()) == 5
    assert fire_event(app, "ZJ-2026-003", Event.INTAKE, "wang").accepted
    reviewed = assert_kept(engine)
    assert reviewed != after
    assert not fire_event(app, "ZJ-2026-003", Event.APPROVE, "wang").accepted  # its guards refuse
    assert assert_kept(engine) == reviewed


def test_sql_by_hand_keeps_the_tally(app: App, engine: Engine) -> None:
    """Whoever writes ``project`` — an operator's SQL too — the triggers keep the numbers."""
    with engine.begin() as conn:
        lead = conn.execute(text("SELECT lead_department_id FROM project ORDER BY id LIMIT 1")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO project (code, name, lead_department_id, om_budget, phase, version, created_at, "
                "last_event_at) VALUES ('HAND-1', '手工项目', :lead, 0, 'withdrawn', 1, :at, :at), "
                "('HAND-2', '手工项目二', :lead, 0, 'withdrawn', 1, :at, :at)"
            ),
            {"lead": lead, "at": "2026-11-26 02:00:00+00:00"},
        )
    assert assert_kept(engine)["withdrawn"] == 2
    with engine.begin() as conn:
        conn.execute(text("UPDATE project SET phase = 'retired' WHERE code LIKE 'HAND-%'"))
    held = assert_kept(engine)
    assert held["retired"] >= 2 and "withdrawn" not in held
    with engine.begin() as conn:
        conn.execute(text("UPDATE project SET version = version + 1"))  # no phase changes: nothing moves
    assert assert_kept(engine) == held
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM project WHERE code LIKE 'HAND-%'"))
    assert sum(assert_kept(engine).values()) == 5
    with engine.begin() as conn:  # a write rolled back leaves the numbers as they were
        conn.execute(text("UPDATE project SET phase = 'withdrawn'"))
        conn.rollback()
    assert sum(assert_kept(engine).values()) == 5


@pytest.mark.parametrize("actor", ["wang", "qian", "zhao", "xu"])
def test_the_list_total_read_from_the_tally_is_the_number_listed(app: App, actor: str) -> None:
    """Every reader and filter: the total is what the list holds — for readers who see every project it comes
    from the tally, for a department from a count — before and after a project moves."""

    def every_filter() -> None:
        phases = {p["phase"] for p in list_projects(app, "wang")}
        total, listed = totals(app, actor)
        assert total == listed
        for phase in sorted(phases | {"operation", "withdrawn"}):
            total, listed = totals(app, actor, phase=phase)
            assert total == listed, phase

    every_filter()
    assert fire_event(app, "ZJ-2026-003", Event.SUBMIT_PROPOSAL, "lin").accepted
    every_filter()


def test_0016_derives_the_tally_of_the_projects_on_record(engine: Engine, app: App) -> None:
    """A database with projects, stepped down below 0016 and up again, holds each phase's number."""
    before = assert_kept(engine)
    downgrade(engine, "0015")
    with engine.begin() as conn:  # a project written while there were no triggers
        conn.execute(text("UPDATE project SET phase = 'withdrawn' WHERE code = 'ZJ-2026-001'"))
    upgrade(engine)
    after = assert_kept(engine)
    assert sum(after.values()) == sum(before.values()) and after.get("withdrawn", 0) >= 1


@pytest.fixture
def pg_engine(engine: Engine, db_url: str) -> Iterator[Engine]:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: phase changes cannot run concurrently there")
    other = make_engine(db_url)
    yield other
    other.dispose()


def test_concurrent_phase_changes_neither_deadlock_nor_lose_a_count(app: App, pg_engine: Engine) -> None:
    """Four connections move projects back and forth between two phases at once, in opposite directions: every
    transaction commits (no deadlock: each takes the two phases' rows in the same order) and the numbers end
    exact."""
    with pg_engine.connect() as conn:
        ids = [int(i) for i in conn.execute(text("SELECT id FROM project ORDER BY id")).scalars()]
    errors: list[BaseException] = []

    def mover(pid: int, first: str, second: str) -> None:
        try:
            with pg_engine.connect() as conn:
                conn.execute(text("SET lock_timeout = '10s'"))
                conn.commit()
                for k in range(40):
                    with conn.begin():
                        phase = first if k % 2 == 0 else second
                        conn.execute(
                            text("UPDATE project SET phase = :p WHERE id = :id"), {"p": phase, "id": pid}
                        )
        except BaseException as exc:  # reported below
            errors.append(exc)

    directions = [("construction", "operation"), ("operation", "construction")]
    threads = [
        threading.Thread(target=mover, args=(pid, *directions[k % 2])) for k, pid in enumerate(ids[:4])
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors, errors
    assert not any(th.is_alive() for th in threads)
    held, derived = counts(pg_engine)
    assert held == derived


def test_a_load_that_bypassed_the_triggers_is_derived_again(app: App, engine: Engine) -> None:
    """:data:`tally.DERIVE_SQL` (what ``bench.national`` runs after its trigger-less PostgreSQL load) puts the
    numbers right whatever the table held."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE project_tally SET n = n + 7"))
    assert counts(engine)[0] != counts(engine)[1]
    with engine.begin() as conn:
        tally.derive(conn)
    assert_kept(engine)

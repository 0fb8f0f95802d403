"""``delivery_evidence``'s parents (project, catalog item, consuming department), on SQLite and PostgreSQL.

SQLite checks them with its foreign keys; PostgreSQL, since migration 0015, with statement-level triggers and an
advisory lock against parent deletes (a check per statement instead of one per row). Either way: evidence naming
a missing parent is refused and nothing is written, a parent that evidence references cannot be deleted (nor its
id changed), one that nothing references can; and on PostgreSQL a delete and an evidence insert running at once
wait for each other, so that the one committing second fails, as with the foreign keys' row locks.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from govflow.demo import demo_portfolio
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.tables import CatalogItem, Department, Project
from govflow.settings import Settings

NOW = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
MISSING = 987654321
INSERT = text(
    "INSERT INTO delivery_evidence (project_id, catalog_item_id, consumer_id, day, records) "
    "VALUES (:p, :i, :c, :day, 3)"
)
FK_NAMES = {
    "project": "fk_delivery_evidence_project_id_project",
    "catalog_item": "fk_delivery_evidence_catalog_item_id_catalog_item",
    "department": "fk_delivery_evidence_consumer_id_department",
}
COLUMNS = {"project": "project_id", "catalog_item": "catalog_item_id", "department": "consumer_id"}
#: the parent's bound parameter in :data:`INSERT` (and :meth:`Parents.evidence`)
BIND = {"project": "p", "catalog_item": "i", "department": "c"}


@dataclass(frozen=True)
class Parents:
    """A project, a catalog item (of another project) and a department that nothing but evidence will reference:
    deleting one fails only because of the evidence."""

    project: int
    catalog_item: int
    department: int

    def of(self, table: str) -> int:
        return int(getattr(self, table))

    def evidence(self, day: str = "2026-11-20", **override: int) -> dict[str, Any]:
        return {"p": self.project, "i": self.catalog_item, "c": self.department, "day": day, **override}


@pytest.fixture
def app(engine: Engine, db_url: str) -> Iterator[App]:
    application = App(Settings(database_url=db_url), engine, clock=lambda: NOW)
    services.load_portfolio(application, demo_portfolio(), None)
    yield application


@pytest.fixture
def parents(app: App) -> Parents:
    with unit_of_work(app.engine) as s:
        lead = Department(
            code="91330000EVFK00001X", name="牵头部门（测试）", region="330000", level="province"
        )
        consumer = Department(
            code="91330000EVFK00002X", name="使用部门（测试）", region="330000", level="province"
        )
        s.add_all([lead, consumer])
        s.flush()
        assert lead.id is not None and consumer.id is not None
        project = Project(code="EVFK-1", name="测试项目", lead_department_id=lead.id, phase="approved")
        s.add(project)
        other = s.execute(text("SELECT min(id) FROM project")).scalar_one()
        item = CatalogItem(
            project_id=other,
            code="EVFK-C",
            name="测试条目",
            provider_id=lead.id,
            category="basic",
            share_type="unconditional",
            method="interface",
            update_frequency="daily",
            secrecy="public",
        )
        s.add(item)
        s.flush()
        assert project.id is not None and item.id is not None
        return Parents(project.id, item.id, consumer.id)


def evidence_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM delivery_evidence")).scalar_one())


def assert_fk_error(exc: IntegrityError, dialect: str, constraint: str, detail: str) -> None:
    """PostgreSQL: SQLSTATE 23503 naming the (former) foreign key and the key, as its own error does; SQLite:
    its foreign-key error."""
    if dialect == "sqlite":
        assert "FOREIGN KEY constraint failed" in str(exc.orig)
        return
    orig: Any = exc.orig
    assert orig.sqlstate == "23503"
    assert orig.diag.constraint_name == constraint
    assert detail in (orig.diag.message_detail or "")


@pytest.mark.parametrize(
    ("parent", "detail"),
    [
        ("project", f'Key (project_id)=({MISSING}) is not present in table "project".'),
        ("catalog_item", f'Key (catalog_item_id)=({MISSING}) is not present in table "catalog_item".'),
        ("department", f'Key (consumer_id)=({MISSING}) is not present in table "department".'),
    ],
)
def test_evidence_naming_a_missing_parent_is_refused_and_nothing_is_written(
    app: App, parents: Parents, parent: str, detail: str
) -> None:
    engine, dialect = app.engine, app.engine.dialect.name
    before = evidence_rows(engine)
    key = BIND[parent]
    with pytest.raises(IntegrityError) as exc, engine.begin() as conn:
        # a good row first and the bad one in the same statement: the whole statement goes
        conn.execute(INSERT, [parents.evidence(), parents.evidence("2026-11-21", **{key: MISSING})])
    assert_fk_error(exc.value, dialect, FK_NAMES[parent], detail)
    assert evidence_rows(engine) == before

    with engine.begin() as conn:
        conn.execute(INSERT, parents.evidence())
        row = conn.execute(text("SELECT max(id) FROM delivery_evidence")).scalar_one()
    with pytest.raises(IntegrityError) as exc, engine.begin() as conn:
        conn.execute(
            text(f"UPDATE delivery_evidence SET {COLUMNS[parent]} = :v WHERE id = :id"),
            {"v": MISSING, "id": row},
        )
    assert_fk_error(exc.value, dialect, FK_NAMES[parent], detail)
    with engine.connect() as conn:
        kept = conn.execute(
            text(f"SELECT {COLUMNS[parent]} FROM delivery_evidence WHERE id = :id"), {"id": row}
        )
        assert kept.scalar_one() == parents.of(parent)


@pytest.mark.parametrize("parent", ["project", "catalog_item", "department"])
def test_a_parent_that_evidence_references_cannot_be_deleted_and_one_nothing_references_can(
    app: App, parents: Parents, parent: str
) -> None:
    engine, dialect = app.engine, app.engine.dialect.name
    with engine.begin() as conn:
        conn.execute(INSERT, parents.evidence())
    key = parents.of(parent)
    detail = f'Key (id)=({key}) is still referenced from table "delivery_evidence".'
    with pytest.raises(IntegrityError) as exc, engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {parent} WHERE id = :id"), {"id": key})
    assert_fk_error(exc.value, dialect, FK_NAMES[parent], detail)
    with pytest.raises(IntegrityError) as exc, engine.begin() as conn:
        conn.execute(text(f"UPDATE {parent} SET id = :new WHERE id = :id"), {"new": MISSING, "id": key})
    assert_fk_error(exc.value, dialect, FK_NAMES[parent], detail)
    with engine.begin() as conn:  # changing something else of the parent is no business of the checks
        conn.execute(text(f"UPDATE {parent} SET name = name || ' ' WHERE id = :id"), {"id": key})

    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM delivery_evidence WHERE {COLUMNS[parent]} = :id"), {"id": key})
        assert conn.execute(text(f"DELETE FROM {parent} WHERE id = :id"), {"id": key}).rowcount == 1
    with engine.connect() as conn:
        assert (
            conn.execute(text(f"SELECT count(*) FROM {parent} WHERE id = :id"), {"id": key}).scalar_one() == 0
        )


# ---------------------------------------------------------------------------------------------- concurrency


CONCURRENT = "SQLite serializes writers (one write transaction at a time): no concurrent delete to test"


def _require_pg(engine: Engine, why: str) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip(why)


def _waits_for_the_lock(engine: Engine, pid: int) -> None:
    """Until the backend ``pid`` waits for the advisory lock (at most 20 s)."""
    deadline = time.monotonic() + 20
    with engine.connect() as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                text("SELECT wait_event FROM pg_stat_activity WHERE pid = :pid AND wait_event_type = 'Lock'"),
                {"pid": pid},
            ).scalar()
            if waiting == "advisory":
                return
            watcher.rollback()
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} never waited for the advisory lock")


class _Started(threading.Event):
    pid = 0


def _second(engine: Engine, work: Callable[[Connection], object], started: _Started) -> Any:
    """Run ``work`` in a transaction of a connection of its own (lock_timeout 20 s, so nothing can hang); return
    the exception it raised, if any."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SET lock_timeout = '20s'")
        started.pid = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        conn.commit()
        started.set()
        try:
            with conn.begin():
                work(conn)
        except IntegrityError as exc:
            return exc
    return None


def _run_against(
    engine: Engine, first: Callable[[Connection], object], then: Callable[[Connection], object]
) -> Any:
    """``first`` in an open transaction, ``then`` in another connection, which must wait; ``first`` commits; what
    ``then`` raised."""
    started = _Started()
    with ThreadPoolExecutor(1) as pool, engine.connect() as conn:
        conn.exec_driver_sql("SET lock_timeout = '20s'")
        conn.commit()
        with conn.begin():
            first(conn)
            future = pool.submit(_second, engine, then, started)
            assert started.wait(20)
            _waits_for_the_lock(engine, started.pid)
        return future.result(timeout=40)


def test_a_delete_waits_for_an_uncommitted_evidence_insert_and_then_fails(app: App, parents: Parents) -> None:
    _require_pg(app.engine, CONCURRENT)
    item = parents.catalog_item
    failed = _run_against(
        app.engine,
        lambda conn: conn.execute(INSERT, parents.evidence()),
        lambda conn: conn.execute(text("DELETE FROM catalog_item WHERE id = :id"), {"id": item}),
    )
    assert isinstance(failed, IntegrityError)
    assert_fk_error(
        failed,
        "postgresql",
        FK_NAMES["catalog_item"],
        f'Key (id)=({item}) is still referenced from table "delivery_evidence".',
    )
    with app.engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM catalog_item WHERE id = :id"), {"id": item}).scalar_one()
            == 1
        )


def test_an_evidence_insert_waits_for_an_uncommitted_delete_and_then_fails(
    app: App, parents: Parents
) -> None:
    _require_pg(app.engine, CONCURRENT)
    item = parents.catalog_item
    before = evidence_rows(app.engine)
    failed = _run_against(
        app.engine,
        lambda conn: conn.execute(text("DELETE FROM catalog_item WHERE id = :id"), {"id": item}),
        lambda conn: conn.execute(INSERT, parents.evidence()),
    )
    assert isinstance(failed, IntegrityError)
    assert_fk_error(
        failed,
        "postgresql",
        FK_NAMES["catalog_item"],
        f'Key (catalog_item_id)=({item}) is not present in table "catalog_item".',
    )
    assert evidence_rows(app.engine) == before


def test_postgresql_checks_by_triggers_and_sqlite_by_foreign_keys(engine: Engine) -> None:
    """What the tests above exercise: on PostgreSQL the triggers of migration 0015 (no foreign key left on
    ``delivery_evidence``), on SQLite the three foreign keys."""
    fks = {fk["name"] for fk in inspect(engine).get_foreign_keys("delivery_evidence")}
    if engine.dialect.name == "sqlite":
        referred = {fk["referred_table"] for fk in inspect(engine).get_foreign_keys("delivery_evidence")}
        assert referred == set(FK_NAMES)
        return
    assert fks == set()
    with engine.connect() as conn:
        triggers = conn.execute(
            text(
                "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                "WHERE NOT tgisinternal AND tgname LIKE 'govflow_evidence%' ORDER BY 1, 2"
            )
        ).all()
    assert [tuple(t) for t in triggers] == [
        ("catalog_item", "govflow_evidence_parent"),
        ("catalog_item", "govflow_evidence_parent_truncate"),
        ("delivery_evidence", "govflow_evidence_parents_insert"),
        ("delivery_evidence", "govflow_evidence_parents_update"),
        ("department", "govflow_evidence_parent"),
        ("department", "govflow_evidence_parent_truncate"),
        ("project", "govflow_evidence_parent"),
        ("project", "govflow_evidence_parent_truncate"),
    ]


@pytest.mark.parametrize("parent", ["project", "catalog_item", "department"])
def test_a_copy_naming_a_missing_parent_is_refused_and_nothing_is_written(
    app: App, parents: Parents, parent: str
) -> None:
    """``COPY`` straight into ``delivery_evidence`` is how the evidence import writes new keys on PostgreSQL: the
    statement-level parent checks run for it as for an ``INSERT``."""
    _require_pg(app.engine, "COPY is PostgreSQL's; SQLite's import inserts, checked by its foreign keys")
    before = evidence_rows(app.engine)
    good = parents.evidence()
    bad = parents.evidence("2026-11-21", **{BIND[parent]: MISSING})
    raw: Any = app.engine.raw_connection()
    try:
        copying = "COPY delivery_evidence (project_id, catalog_item_id, consumer_id, day, records) FROM STDIN"
        cur = raw.driver_connection.cursor()
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as exc, cur.copy(copying) as copy:
            for row in (good, bad):
                copy.write_row((row["p"], row["i"], row["c"], row["day"], 3))
        cur.close()
        raw.rollback()
    finally:
        raw.close()
    orig: Any = exc.value
    assert orig.sqlstate == "23503" and orig.diag.constraint_name == FK_NAMES[parent]
    assert evidence_rows(app.engine) == before


def test_postgresql_refuses_to_truncate_a_parent_while_evidence_is_on_record(app: App) -> None:
    """TRUNCATE … CASCADE no longer reaches delivery_evidence (no foreign key leads there): it is refused while
    evidence is left, and passes with delivery_evidence truncated in the same statement."""
    _require_pg(app.engine, "SQLite has no TRUNCATE, and keeps its foreign keys")
    assert evidence_rows(app.engine) > 0
    with pytest.raises(IntegrityError) as exc, app.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE catalog_item CASCADE")
    orig: Any = exc.value.orig
    assert orig.sqlstate == "23503" and 'cannot truncate table "catalog_item"' in str(orig)
    with app.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE catalog_item, delivery_evidence CASCADE")
    assert evidence_rows(app.engine) == 0

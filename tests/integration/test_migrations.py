"""The migrations, on SQLite and PostgreSQL: they go up and down, they are atomic and idempotent, and the schema
they build is the one ``models/tables.py`` describes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Date, Engine, Integer, MetaData, event, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

import govflow.models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from govflow.models.db import SCHEMA_HEAD, make_engine, require_schema
from govflow.models.migrate import (
    NotInitialised,
    current,
    downgrade,
    head,
    include_object,
    make_config,
    pending,
    upgrade,
)

REPO = Path(__file__).resolve().parents[2]
MODEL_TABLES = set(SQLModel.metadata.tables)
COMPARE_OPTS = {"compare_type": True, "render_as_batch": True}  # and include_object, per database (below)


@pytest.fixture
def empty_engine(empty_db_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_db_url)
    yield engine
    engine.dispose()


def tables_seen_afresh(url: str) -> set[str]:
    """The tables as a brand-new engine sees them: proves the DDL was committed, not just run."""
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def schema_diffs(engine: Engine, metadata: MetaData) -> list[Any]:
    with engine.connect() as conn:
        opts = {**COMPARE_OPTS, "include_object": include_object(engine.dialect.name)}
        return list(compare_metadata(MigrationContext.configure(conn, opts=opts), metadata))


def test_upgrade_downgrade_upgrade(empty_engine: Engine, empty_db_url: str) -> None:
    upgrade(empty_engine)
    assert tables_seen_afresh(empty_db_url) == MODEL_TABLES | {"alembic_version"}

    downgrade(empty_engine)
    assert tables_seen_afresh(empty_db_url) == {"alembic_version"}
    assert current(empty_engine) is None

    upgrade(empty_engine)
    assert tables_seen_afresh(empty_db_url) == MODEL_TABLES | {"alembic_version"}
    assert current(empty_engine) == head()


def test_every_revision_steps_down_and_up_again(empty_engine: Engine) -> None:
    """The "stairway": each migration's downgrade undoes exactly its upgrade, one step at a time."""
    revisions = list(reversed(list(ScriptDirectory.from_config(make_config()).walk_revisions())))
    for script in revisions:
        upgrade(empty_engine, script.revision)
        downgrade(empty_engine, "-1")
        assert current(empty_engine) == script.down_revision
        upgrade(empty_engine, script.revision)
        assert current(empty_engine) == script.revision


def test_the_schema_check_names_the_newest_migration() -> None:
    """``models.db`` recognises a database at the head without loading Alembic; a new migration moves it."""
    assert head() == SCHEMA_HEAD


def test_the_schema_check_without_alembic_accepts_the_head_only(empty_engine: Engine) -> None:
    with pytest.raises(NotInitialised):
        require_schema(empty_engine)
    upgrade(empty_engine, "0006")
    with pytest.raises(NotInitialised):
        require_schema(empty_engine)
    upgrade(empty_engine)
    require_schema(empty_engine)


def test_current_head_and_pending(empty_engine: Engine) -> None:
    assert current(empty_engine) is None
    assert pending(empty_engine)

    upgrade(empty_engine)
    assert current(empty_engine) == head()
    assert not pending(empty_engine)

    downgrade(empty_engine)
    assert current(empty_engine) is None
    assert pending(empty_engine)


def test_upgrade_on_an_up_to_date_database_changes_nothing(engine: Engine) -> None:
    assert current(engine) == head()
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    upgrade(engine)

    assert statements, "the listener saw nothing, so the check below would prove nothing"
    writes = [
        s
        for s in statements
        if s.split(None, 1)[0].upper() in {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"}
    ]
    assert writes == []
    assert current(engine) == head()


def test_models_match_migrations(engine: Engine) -> None:
    assert schema_diffs(engine, SQLModel.metadata) == []


def test_a_drifted_column_type_would_be_reported(engine: Engine) -> None:
    """Guards the test above against passing vacuously: compare_type sees through Money and UTCDateTime."""
    drifted = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["project"].c.om_budget.type = Integer()
    drifted.tables["project"].c.created_at.type = Date()

    # Column-level differences come grouped in a list per column.
    column_diffs = [d for group in schema_diffs(engine, drifted) if isinstance(group, list) for d in group]
    changed = {(d[2], d[3]) for d in column_diffs if d[0] == "modify_type"}
    assert changed == {("project", "om_budget"), ("project", "created_at")}


def test_a_failed_migration_leaves_nothing_behind(empty_engine: Engine, empty_db_url: str) -> None:
    """All of a migration run is one transaction, DDL included, on SQLite as on PostgreSQL."""
    with empty_engine.begin() as conn:  # the initial migration creates this table last, so it fails late
        conn.exec_driver_sql("CREATE TABLE review_judgment (x INTEGER)")

    with pytest.raises(DBAPIError, match="review_judgment"):
        upgrade(empty_engine)

    assert tables_seen_afresh(empty_db_url) == {"review_judgment"}
    assert current(empty_engine) is None


_UPGRADE_WHEN_TOLD = """
import sys
from govflow.models.db import make_engine
from govflow.models.migrate import upgrade

engine = make_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
upgrade(engine)
"""


def test_concurrent_upgrades_are_serialized(empty_db_url: str) -> None:
    """Two processes starting at once (API and worker, say): one migrates, the other then finds nothing to do.

    Processes, not threads: within one process :mod:`models.migrate` serializes with a plain lock.
    """
    if empty_db_url.startswith("sqlite"):
        # A new file is switched to WAL on first connect (models.db), and that switch fails at once instead of
        # waiting if another connection holds a lock; that is a models.db matter, not a migration one.
        engine = make_engine(empty_db_url)
        engine.connect().close()
        engine.dispose()

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _UPGRADE_WHEN_TOLD, empty_db_url],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:  # as close to simultaneous as two pipes allow
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    assert tables_seen_afresh(empty_db_url) == MODEL_TABLES | {"alembic_version"}


def test_migrating_leaves_sqlite_foreign_keys_enforced(tmp_path: Path) -> None:
    """Migrations switch enforcement off on their connection; it must be back on when the pool hands it out."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_alembic_command_line(tmp_path: Path) -> None:
    """``alembic.ini`` and env.py's URL fallback, run from another directory as an operator would.

    SQLite only: past the URL, the command line takes the same path as :mod:`models.migrate`, tested above.
    """
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "GOVFLOW_DATABASE_URL": url}

    def alembic(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    alembic("upgrade", "head")
    assert "No new upgrade operations detected" in alembic("check")
    engine = make_engine(url)
    try:
        assert current(engine) == head()
    finally:
        engine.dispose()


def test_0008_keeps_pending_deadlines_and_will_not_drop_them(engine: Engine, db_url: str) -> None:
    """0008 lets a deadline be pending (期限待定, NULL): going below it while such an order exists would have to
    guess a deadline, so the downgrade refuses; once the year is imported and the orders dated it steps down and
    up again, the orders intact."""
    from datetime import date

    from govflow.demo import demo_portfolio
    from govflow.governance.calendar_years import import_calendar
    from govflow.governance.rectification import list_orders, run_deadlines
    from govflow.governance.sweep import run_sweep
    from govflow.lifecycle import services
    from govflow.settings import Settings

    app = services.App(Settings(database_url=db_url), engine)
    services.load_portfolio(app, demo_portfolio(), None)
    run_sweep(app, date(2026, 12, 10))
    assert run_deadlines(app, date(2026, 12, 10)).pending > 0
    with pytest.raises(RuntimeError, match="期限待定"):
        downgrade(engine, "0007")
    assert current(engine) == head()
    assert all(o.deadline is None for o in list_orders(app, "wang"))

    import_calendar(app, REPO / "tests" / "data" / "calendar-2027-fictional.yaml", "admin")
    assert run_deadlines(app, date(2026, 12, 11)).dated > 0
    downgrade(engine, "0007")
    columns = {c["name"]: c for c in inspect(engine).get_columns("rectification_order")}
    assert "pending_from" not in columns and columns["deadline"]["nullable"] is False
    upgrade(engine)
    assert current(engine) == head()
    assert all(o.deadline == date(2027, 1, 8) for o in list_orders(app, "wang"))


def test_0014_derives_the_last_delivery_of_the_evidence_on_record(engine: Engine, db_url: str) -> None:
    """A database with evidence, stepped down below 0014 and up again, holds each (item, consumer)'s last day with
    records as the evidence says — the chart reads it from the first request after the upgrade."""
    from govflow.demo import demo_portfolio
    from govflow.lifecycle import services
    from govflow.models import deliveries
    from govflow.settings import Settings

    app = services.App(Settings(database_url=db_url), engine)
    services.load_portfolio(app, demo_portfolio(), None)
    with engine.connect() as conn:
        before = deliveries.held(conn)
    assert before
    downgrade(engine, "0013")
    assert "last_delivery" not in inspect(engine).get_table_names()
    upgrade(engine)
    with engine.connect() as conn:
        assert deliveries.held(conn) == deliveries.derived(conn) == before


def test_0015_trades_the_evidence_foreign_keys_for_triggers_on_postgresql_only(engine: Engine) -> None:
    """Below 0015 ``delivery_evidence`` has its three foreign keys (the downgrade puts them back, under their
    names); at 0015 PostgreSQL has the parent-check triggers instead, SQLite keeps the keys."""
    names = {
        "fk_delivery_evidence_project_id_project",
        "fk_delivery_evidence_catalog_item_id_catalog_item",
        "fk_delivery_evidence_consumer_id_department",
    }

    def foreign_keys() -> set[str | None]:
        return {fk["name"] for fk in inspect(engine).get_foreign_keys("delivery_evidence")}

    def triggers() -> int:
        if engine.dialect.name != "postgresql":
            return 0
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'govflow_evidence%'"
                )
            )
            return int(found.scalar_one())

    downgrade(engine, "0014")
    assert foreign_keys() == names and triggers() == 0
    upgrade(engine)
    if engine.dialect.name == "postgresql":
        assert foreign_keys() == set() and triggers() == 8
    else:
        assert foreign_keys() == names
    assert schema_diffs(engine, SQLModel.metadata) == []

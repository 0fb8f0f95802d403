"""Run the Alembic migrations from Python: no ``alembic.ini``, no dependency on the working directory.

Every function builds its own :class:`~alembic.config.Config` and hands ``alembic/env.py`` an open connection
(``config.attributes["connection"]``), so a migration runs in exactly one transaction that this module commits:
DDL is transactional on PostgreSQL and, because :mod:`models.db` turns pysqlite's own transaction handling off,
on SQLite too. A failed migration therefore leaves the database as it was.

Concurrent callers are serialized, so the second finds the database at head and does nothing: across processes
(the API and a worker starting together) by ``BEGIN IMMEDIATE`` on SQLite and a transaction-scoped advisory
lock on PostgreSQL; within a process by a plain lock, because Alembic keeps the running migration's context in
module globals (``alembic.context``, ``alembic.op``) and two threads migrating at once would share it.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

# Private on purpose in models.db; a migration is a write, so it must take SQLite's write lock up front.
from govflow.models.db import write_intent
from govflow.states.errors import UsageError

# The migrations ship inside the package: govflow/migrations is the repository's alembic/ folder.
ALEMBIC_DIR = Path(__file__).parent.parent / "migrations"

#: pg_advisory_xact_lock key shared by every govflow migration run (any fixed bigint would do).
_PG_LOCK_KEY = zlib.crc32(b"govflow.migrate")
_IN_PROCESS = threading.Lock()


class MigrationError(RuntimeError):
    """A migration left the database inconsistent (it has been rolled back)."""


class NotInitialised(UsageError):
    """The database was never migrated by ``govflow init``, or is behind the installed migrations."""

    code = "NOT_INITIALISED"


def make_config(connection: Connection | None = None) -> Config:
    """An Alembic config for ``alembic/``; with *connection*, env.py migrates through it and commits nothing."""
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside one write transaction, committed when the block exits cleanly.

    On SQLite, foreign-key enforcement is switched off for the duration: batch mode rebuilds a table by
    create-copy-drop-rename, and with enforcement on, dropping a referenced table fails or cascades (see
    "Making Other Kinds Of Table Schema Changes" in the SQLite docs). The pragma is a no-op inside a
    transaction, so it is set on the raw connection before BEGIN, and ``PRAGMA foreign_key_check`` must come
    back empty before the commit.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
                yield conn
            return

        _raw_sqlite_pragma(conn, "foreign_keys=OFF")
        try:
            with write_intent(), conn.begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise MigrationError(f"migration broke foreign keys (rolled back): {broken[:10]}")
        finally:
            if not conn.invalidated:
                _raw_sqlite_pragma(conn, "foreign_keys=ON")


def _raw_sqlite_pragma(conn: Connection, pragma: str) -> None:
    # Straight to the DBAPI connection: going through SQLAlchemy would emit BEGIN first.
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate up to *revision*; a database already there is left untouched."""
    with _IN_PROCESS, migration_connection(engine) as conn:
        command.upgrade(make_config(conn), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate down to *revision* (``"base"``: drop every govflow table)."""
    with _IN_PROCESS, migration_connection(engine) as conn:
        command.downgrade(make_config(conn), revision)


def current(engine: Engine) -> str | None:
    """The database's revision, or ``None`` when it has never been migrated (or was downgraded to base)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    """The newest revision in ``alembic/versions``."""
    rev = ScriptDirectory.from_config(make_config()).get_current_head()
    if rev is None:
        raise MigrationError(f"no migrations found in {ALEMBIC_DIR / 'versions'}")
    return rev


def pending(engine: Engine) -> bool:
    """Whether :func:`upgrade` has anything to do."""
    return current(engine) != head()


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that ``govflow init`` has not brought to the installed schema.

    Without this, the first query of a command on a fresh database fails deep inside SQLAlchemy with "no such
    table". A SQLite file that does not exist is not created by asking.
    """
    where = engine.url.render_as_string(hide_password=True)
    database = engine.url.database
    if (
        engine.dialect.name == "sqlite"
        and database not in (None, "", ":memory:")
        and not Path(database).exists()
    ):
        found: str | None = None
    else:
        found = current(engine)
    if found is None:
        raise NotInitialised(
            f"数据库尚未初始化（{where}）：请先运行 govflow init",
            f"the database has not been initialised ({where}): run `govflow init` first",
        )
    wanted = head()
    if found != wanted:
        raise NotInitialised(
            f"数据库结构版本 {found} 与本程序的 {wanted} 不一致（{where}）：请运行 govflow init 升级",
            f"the database schema is at {found}, this govflow needs {wanted} ({where}): run `govflow init`",
        )


#: the foreign keys that migration 0015 replaced on PostgreSQL by statement-level parent checks (triggers on
#: ``delivery_evidence`` and on the three parents, see that migration); SQLite keeps them
_CHECKED_BY_TRIGGERS = frozenset(
    {
        "fk_delivery_evidence_project_id_project",
        "fk_delivery_evidence_catalog_item_id_catalog_item",
        "fk_delivery_evidence_consumer_id_department",
    }
)


def include_object(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's ``include_object`` for comparing the models with a ``dialect`` database (env.py's autogenerate,
    the schema tests): on PostgreSQL it leaves out ``delivery_evidence``'s three foreign keys, which the models
    declare (they are SQLite's schema) and which triggers stand in for there (migration 0015: a check per
    statement instead of per row, same integrity). Everything else is compared."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        return not (
            dialect == "postgresql" and type_ == "foreign_key_constraint" and name in _CHECKED_BY_TRIGGERS
        )

    return include

"""Engines and the unit of work.

SQLite: WAL, foreign keys on, and a write unit of work starts with ``BEGIN IMMEDIATE`` so that writers queue
on the busy timeout instead of failing on a stale snapshot. PostgreSQL: READ COMMITTED; the optimistic version
check and a row lock on the audit head serialize what must be serialized.
"""

from __future__ import annotations

import contextvars
import sqlite3
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("govflow_write_intent", default=False)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=NullPool if u.database in (None, "", ":memory:") else None,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own transaction handling is off).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        _ensure_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_ONE_STATEMENT):
            return  # a lone SELECT is its own snapshot (:func:`unit_of_work` with ``one_statement``)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def _ensure_wal(cur: Any) -> None:
    """Switch a new database file to WAL once. The switch needs a moment without other connections and does
    not wait on the busy timeout, so two processes opening a fresh file at once retry instead of failing."""
    for attempt in range(50):
        if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            time.sleep(0.01 * (attempt + 1))
    cur.execute("PRAGMA journal_mode=WAL")


@contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside take SQLite's write lock up front (``BEGIN IMMEDIATE``)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


@contextmanager
def read_intent() -> Iterator[None]:
    """Transactions begun inside are plain reads (``BEGIN``), even while this thread holds a write transaction
    on another connection: a side read (the calendar years, the schema check) must not queue for that lock."""
    token = _write_intent.set(False)
    try:
        yield
    finally:
        _write_intent.reset(token)


_READ_BINDS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_ONE_STATEMENT_BINDS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
#: the execution option of a SQLite read that runs one statement and so needs no BEGIN
_ONE_STATEMENT = "govflow_one_statement"


def _read_bind(engine: Engine, *, one_statement: bool = False) -> Engine:
    """What a read-only unit of work runs on. PostgreSQL: autocommit. Under READ COMMITTED every statement takes
    its own snapshot inside a transaction too, so a read loses nothing by it, and saves the BEGIN and ROLLBACK
    round trips (two of the eight an API read made). SQLite: the engine itself — its BEGIN holds one WAL snapshot
    for the whole read, and costs no round trip — unless the read is ``one_statement``: a lone SELECT reads one
    snapshot without BEGIN, so the BEGIN is left out."""
    options: dict[str, Any]
    if engine.dialect.name == "postgresql":
        binds, options = _READ_BINDS, {"isolation_level": "AUTOCOMMIT"}
    elif one_statement:
        binds, options = _ONE_STATEMENT_BINDS, {_ONE_STATEMENT: True}
    else:
        return engine
    bind = binds.get(engine)
    if bind is None:
        bind = binds[engine] = engine.execution_options(**options)
    return bind


@contextmanager
def unit_of_work(engine: Engine, *, write: bool = True, one_statement: bool = False) -> Iterator[Session]:
    """One use case, one transaction: commit on success, roll back on any error. A read-only one (``write=False``)
    never commits; on PostgreSQL it reads in autocommit mode (:func:`_read_bind`). A read that runs a single
    statement says so (``one_statement``): on SQLite it then runs without BEGIN, as its own snapshot (a second
    statement in it would read a snapshot of its own).

    The first unit of work on an engine checks that ``govflow init`` brought the database to the installed
    schema (``NotInitialised``, exit 2, otherwise): after a use case has validated its input, before any query
    could fail with "no such table"."""
    require_schema(engine)
    token = _write_intent.set(write)
    try:
        bind = engine if write else _read_bind(engine, one_statement=one_statement)
        with Session(bind, expire_on_commit=False) as session:
            try:
                yield session
                if write:
                    session.commit()
                else:
                    session.rollback()
            except BaseException:
                session.rollback()
                raise
    finally:
        _write_intent.reset(token)


#: engines whose database was found at the installed schema (checked once per engine and process)
_SCHEMA_CHECKED: weakref.WeakSet[Engine] = weakref.WeakSet()

#: the newest revision in ``alembic/versions``: the schema this govflow needs (a test keeps it equal to Alembic's
#: head, so a new migration cannot forget it)
SCHEMA_HEAD = "0015"


def require_schema(engine: Engine) -> None:
    """Raise ``NotInitialised`` unless the database is at the installed migrations' head; cheap after the first
    success for an engine.

    A database at the head is recognised by one query, without loading Alembic (8 MiB and a tenth of a second
    or more of every command, for reading its script directory); any other answer goes to
    :func:`govflow.models.migrate.require_current`, which says what is wrong."""
    if engine in _SCHEMA_CHECKED:
        return
    if not _at_head(engine):
        from govflow.models.migrate import require_current  # migrate builds on this module

        with read_intent():
            require_current(engine)
    _SCHEMA_CHECKED.add(engine)


def _at_head(engine: Engine) -> bool:
    database = engine.url.database
    if is_sqlite(engine) and database not in (None, "", ":memory:") and not Path(database).exists():
        return False  # asking would create the file
    try:
        with read_intent(), engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:  # no such table: never migrated
        return False
    return found == [SCHEMA_HEAD]


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def without_jit(session: Session) -> None:
    """PostgreSQL: no JIT compilation for the rest of this write transaction (``SET LOCAL``; SQLite has none).

    For the set-based runs over a whole chunk (sweep, cuts): their statements probe an index once per agreement
    item, which the planner costs as if each probe were a page read. Over a portfolio the estimate passes
    ``jit_above_cost`` and ``jit_optimize_above_cost``, and compiling the plan then takes longer than running
    it (0.5 s of a 0.9 s sweep of 5,000 projects). Nothing in these plans gains from JIT: no long scans of
    computed expressions."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))

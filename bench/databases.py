"""Throwaway benchmark databases: SQLite files in a temp directory, PostgreSQL databases on a local server.

A loaded database is copied so that each measured path starts from the same state: SQLite with the online
backup API (a consistent copy even if a WAL file is still around), PostgreSQL with ``CREATE DATABASE …
TEMPLATE`` (which needs nobody connected to the source: dispose engines first).
"""

from __future__ import annotations

import secrets
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Database:
    backend: str  # "sqlite" | "postgresql"
    url: str  # SQLAlchemy URL
    #: SQLite: the file; PostgreSQL: the database name
    name: str

    @property
    def dbapi_target(self) -> str:
        """What the DBAPI connects to: the SQLite path, or a libpq URI for psycopg."""
        if self.backend == "sqlite":
            return self.name
        return libpq_uri(self.url)


def libpq_uri(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class SqliteFiles:
    """SQLite databases as files in ``directory``."""

    backend = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def create(self, label: str = "govflow") -> Database:
        path = self.directory / f"{label}.db"
        return Database("sqlite", f"sqlite:///{path}", str(path))

    def copy(self, source: Database, label: str) -> Database:
        target = self.create(label)
        with closing(sqlite3.connect(source.name)) as src, closing(sqlite3.connect(target.name)) as dst:
            src.backup(dst)
        return target

    def drop(self, db: Database) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(db.name + suffix).unlink(missing_ok=True)


class PgServer:
    """Creates and drops ``govflow_bench_<hex>`` databases through the admin database (autocommit)."""

    backend = "postgresql"

    def __init__(self, admin_url: str = DEFAULT_PG_ADMIN_URL) -> None:
        self.admin_url = admin_url
        self.prefix = f"govflow_bench_{secrets.token_hex(4)}"

    def unreachable(self) -> str | None:
        """None when the server answers, else why not."""
        try:
            with psycopg.connect(libpq_uri(self.admin_url), connect_timeout=3):
                return None
        except psycopg.Error as exc:
            return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

    def _execute(self, sql: str) -> None:
        with psycopg.connect(libpq_uri(self.admin_url), autocommit=True) as conn:
            conn.execute(sql.encode())

    def _database(self, name: str) -> Database:
        url = make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
        return Database("postgresql", url, name)

    def create(self, label: str = "") -> Database:
        db = self._database(f"{self.prefix}_{label}" if label else self.prefix)
        self._execute(f'CREATE DATABASE "{db.name}" TEMPLATE template0')
        return db

    def copy(self, source: Database, label: str) -> Database:
        db = self._database(f"{self.prefix}_{label}")
        self._execute(f'CREATE DATABASE "{db.name}" TEMPLATE "{source.name}"')
        return db

    def drop(self, db: Database) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')

    @property
    def where(self) -> str:
        return make_url(self.admin_url).render_as_string(hide_password=True)


def settle(db: Database) -> None:
    """Bring a freshly loaded PostgreSQL database to the steady state a running system is in: statistics gathered
    and the visibility map set, as autovacuum would have done. Without it autovacuum works through the millions of
    generated evidence rows while the load runs, and the planner guesses without statistics. (SQLite is measured
    as loaded: it has no autovacuum, and govflow does not run ANALYZE on it.)"""
    if db.backend == "postgresql":
        with psycopg.connect(db.dbapi_target, autocommit=True) as conn:
            conn.execute(b"VACUUM (ANALYZE)")
            # and write out what that dirtied now, not in a checkpoint in the middle of the measured load
            conn.execute(b"CHECKPOINT")

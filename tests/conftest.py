"""Database fixtures shared by the whole suite: every database test runs on SQLite and on PostgreSQL.

``db_url``
    A fresh, fully migrated, empty database for this test (ids ``sqlite`` and ``pg``). SQLite: a copy of a
    template file migrated once per session. PostgreSQL: ``CREATE DATABASE ... TEMPLATE`` of a template database
    migrated once per session, dropped (in the background) after the test.
``engine``
    :func:`models.db.make_engine` on ``db_url``, disposed after the test.
``empty_db_url``
    Like ``db_url`` but with no tables at all, for migration tests.

PostgreSQL comes from ``GOVFLOW_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
that database is only used to create and drop throwaway ``govflow_tpl_*`` / ``govflow_t_*`` databases. If the
server cannot be reached the ``pg`` tests are skipped, unless ``GOVFLOW_REQUIRE_PG=1`` (CI), which makes them
fail instead. Select or deselect them with ``-m pg`` / ``-m "not pg"``.

Heavy imports happen inside the fixtures so that the pure unit tests do not pay for them.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy import Engine

PG_ADMIN_URL = os.environ.get("GOVFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("GOVFLOW_REQUIRE_PG") == "1"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="pg", marks=pytest.mark.pg),
]


class PgServer:
    """Creates and drops throwaway databases through an autocommit connection to the admin database.

    Empty databases are copied from ``template0``: unlike ``template1``, nobody can be connected to it (which
    would make CREATE DATABASE fail) and nothing can have been added to it. Names are random, so concurrent
    sessions on one server (other developers, xdist workers) do not collide.

    Per-test databases are dropped on a background thread: even WITH (FORCE), DROP DATABASE polls every 100 ms
    until the test's just-closed backends have exited, and no test needs to wait for that.
    """

    def __init__(self, admin: Engine) -> None:
        self.admin = admin
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-drop")
        self._drops: list[Future[None]] = []

    def url(self, database: str) -> str:
        return self.admin.url.set(database=database).render_as_string(hide_password=False)

    def create(self, prefix: str, template: str) -> str:
        name = f"{prefix}_{secrets.token_hex(6)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop(self, name: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_later(self, name: str) -> None:
        self._drops.append(self._dropper.submit(self.drop, name))

    def close(self) -> None:
        """Finish the pending drops (raising the first failure), then let go of the admin connection."""
        self._dropper.shutdown(wait=True)
        try:
            for done in self._drops:
                done.result()
        finally:
            self.admin.dispose()

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(sql)


def _migrate(url: str) -> None:
    from govflow.models.db import make_engine
    from govflow.models.migrate import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _pg_server() -> Iterator[PgServer]:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except OperationalError as exc:
        admin.dispose()
        where = admin.url.render_as_string(hide_password=True)
        reason = f"PostgreSQL is not reachable at {where}: {' '.join(str(exc.orig).split())}"
        if REQUIRE_PG:
            pytest.fail(f"{reason} (GOVFLOW_REQUIRE_PG=1, so this is an error)", pytrace=False)
        pytest.skip(f"{reason} (set GOVFLOW_REQUIRE_PG=1 to make this an error)")
    server = PgServer(admin)
    yield server
    server.close()


@pytest.fixture(scope="session")
def _pg_template(_pg_server: PgServer) -> Iterator[str]:
    name = _pg_server.create("govflow_tpl", template="template0")
    try:
        _migrate(_pg_server.url(name))  # disposes its engine: CREATE ... TEMPLATE needs no one connected
        yield name
    finally:
        _pg_server.drop(name)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "govflow.db"
    _migrate(f"sqlite:///{path}")
    # Closing the last connection checkpoints the WAL into the main file and deletes it; copying the main
    # file alone is then a complete copy.
    assert not path.with_name(path.name + "-wal").exists(), "template WAL not checkpointed"
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, fully migrated, empty database for this test."""
    if request.param == "sqlite":
        path = tmp_path / "govflow.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: PgServer = request.getfixturevalue("_pg_server")
    name = server.create("govflow_t", template=request.getfixturevalue("_pg_template"))
    try:
        yield server.url(name)
    finally:
        server.drop_later(name)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with no tables at all (not even ``alembic_version``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PgServer = request.getfixturevalue("_pg_server")
    name = server.create("govflow_t", template="template0")
    try:
        yield server.url(name)
    finally:
        server.drop_later(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The application's engine on ``db_url``; disposed before the database is dropped."""
    from govflow.models.db import make_engine

    engine = make_engine(db_url)
    yield engine
    engine.dispose()

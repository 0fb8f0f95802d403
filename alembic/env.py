"""Alembic environment for govflow.

Two ways in:

* programmatic (``models.migrate``, the tests): ``config.attributes["connection"]`` is an open connection already
  inside a transaction; we migrate through it, and the caller commits. Logging is left alone.
* the ``alembic`` command line: the URL is ``sqlalchemy.url`` if set, else ``GOVFLOW_DATABASE_URL``, else
  ``sqlite:///govflow.db``; the engine is :func:`models.db.make_engine` (so SQLite gets the same pragmas as the
  application) and the transaction is :func:`models.migrate.migration_connection`'s.
"""

from __future__ import annotations

import os
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.operations import MigrationScript
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, make_url
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import govflow.models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from govflow.models.db import make_engine
from govflow.models.migrate import include_object, migration_connection
from govflow.models.types import Money, UTCDateTime

config = context.config
target_metadata = SQLModel.metadata

DEFAULT_URL = "sqlite:///govflow.db"


def _database_url() -> str:
    # An entry point, like the CLI: reading the environment here is where configuration enters.
    return config.get_main_option("sqlalchemy.url") or os.environ.get("GOVFLOW_DATABASE_URL") or DEFAULT_URL


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """How autogenerate spells our column types in a migration.

    SQLModel's ``AutoString`` becomes plain ``sa.String`` (same DDL; migrations need not know sqlmodel), and our
    own types are rendered without arguments: the default would be ``UTCDateTime(timezone=True)``, copied from
    the impl, which the TypeDecorator ignores and a reader would take for an option.
    """
    if type_ != "type":
        return False
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length is not None else "sa.String()"
    if isinstance(obj, Money | UTCDateTime):
        autogen_context.imports.add("import govflow.models.types")
        return f"govflow.models.types.{type(obj).__name__}()"
    return False


def _skip_empty_revision(
    context_: MigrationContext, revision: Any, directives: list[MigrationScript]
) -> None:
    """``alembic revision --autogenerate`` with nothing to do writes no file."""
    cmd_opts = config.cmd_opts
    if cmd_opts is not None and getattr(cmd_opts, "autogenerate", False):
        script = directives[0]
        if script.upgrade_ops is not None and script.upgrade_ops.is_empty():
            directives[:] = []
            print("No changes in schema detected; no revision written.")


def _configure_kwargs(dialect: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        # PostgreSQL checks delivery_evidence's parents by triggers, not its foreign keys (migration 0015)
        "include_object": include_object(dialect),
        "render_as_batch": True,  # SQLite can only ALTER by rebuilding the table
        "compare_type": True,
        "render_item": _render_item,
        "process_revision_directives": _skip_empty_revision,
    }


def run_migrations_offline() -> None:
    """``alembic upgrade --sql``: emit the SQL instead of running it."""
    url = _database_url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_configure_kwargs(make_url(url).get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    # transactional_ddl: true on SQLite too, since models.db leaves BEGIN/COMMIT to SQLAlchemy (Alembic's
    # SQLite default assumes pysqlite's own handling, which commits before DDL).
    context.configure(
        connection=connection, transactional_ddl=True, **_configure_kwargs(connection.dialect.name)
    )
    # The connection is already in a transaction, so this is a no-op and whoever opened it commits.
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return

    engine = make_engine(_database_url())
    try:
        with migration_connection(engine) as conn:
            _run(conn)
    finally:
        engine.dispose()


# Logging setup is the command line's business; a program that passes its own connection keeps its own logging.
if config.attributes.get("connection") is None and config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

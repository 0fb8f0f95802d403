"""Fixtures for the Prefect flow tests.

``prefect_api``
    ONE temporary Prefect server for the whole session (``prefect.testing.utilities.prefect_test_harness``, with
    its own SQLite database), with flow heartbeats off (each would add a second to every flow run); yields the
    server's API URL so that subprocesses can use it too instead of starting their own.
``portfolio_url``
    ``db_url`` (SQLite and PostgreSQL) with the demo portfolio loaded: projects in construction and in operation
    with missed milestones, a stale delivery and an agreement about to expire, so every flow has work to do.
``clone``
    ``clone(url)`` copies a database (file copy / ``CREATE DATABASE … TEMPLATE``), for comparing two runs.
``look``
    reads what the runs left in a database: ``snapshot(url)``, ``flow_runs(url)``, ``count(url, Model)``.
``clean_env``
    ``clean_env(extra)``: the environment of a govflow or Prefect subprocess, without inherited PREFECT_* and
    GOVFLOW_* settings.

Prefect's home is a temporary directory set before Prefect is first imported; nothing of the developer's own
Prefect profile (``~/.prefect``, ``PREFECT_API_URL``) is used.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

for _key in [k for k in os.environ if k.startswith(("PREFECT_", "GOVFLOW_"))]:
    del os.environ[_key]
PREFECT_HOME = Path(tempfile.mkdtemp(prefix="govflow-test-prefect-"))
os.environ.update(
    {"PREFECT_HOME": str(PREFECT_HOME), "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
)
atexit.register(shutil.rmtree, PREFECT_HOME, True)

#: the demo portfolio's "today" (tests/cli uses the same day)
AS_OF = date(2026, 11, 26)
#: the tables a governance run writes (besides flow_run and the audit trail)
RUN_TABLES = ("finding", "rectification_order", "order_step", "cut_recommendation", "outbox_message")


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=90),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def portfolio_url(db_url: str) -> str:
    from govflow.demo import demo_portfolio
    from govflow.lifecycle.services import App, load_portfolio
    from govflow.settings import Settings

    app = App.from_settings(Settings(database_url=db_url))
    try:
        load_portfolio(app, demo_portfolio(), None)
    finally:
        app.engine.dispose()
    return db_url


@pytest.fixture
def clone(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """Copy a database nobody is connected to (dispose engines first)."""
    made = iter(range(1, 1000))

    def copy(url: str) -> str:
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            target = tmp_path / f"clone-{next(made)}.db"
            shutil.copyfile(str(u.database), target)
            return f"sqlite:///{target}"
        server = request.getfixturevalue("_pg_server")
        name = server.create("govflow_t", template=str(u.database))
        request.addfinalizer(lambda: server.drop_later(name))
        return str(server.url(name))

    return copy


# ---------------------------------------------------------------------------------------------- reading results


class Look:
    """What the runs left in a database, read through a short-lived engine."""

    @staticmethod
    def snapshot(url: str) -> dict[str, list[str]]:
        """Every row of :data:`RUN_TABLES`, comparable across databases: without its surrogate id and its
        wall-clock timestamps, foreign keys to findings and orders replaced by their keys and codes."""
        from govflow.models.facts import t
        from govflow.models.tables import (
            CutRecommendation,
            Finding,
            OrderStep,
            OutboxMessage,
            RectificationOrder,
        )

        tables = dict(
            zip(
                RUN_TABLES,
                (t(m) for m in (Finding, RectificationOrder, OrderStep, CutRecommendation, OutboxMessage)),
                strict=True,
            )
        )
        with Look._connect(url) as c:
            f, o = tables["finding"], tables["rectification_order"]
            finding = {int(i): str(k) for i, k in c.execute(select(f.c.id, f.c.key))}
            order = {int(i): str(k) for i, k in c.execute(select(o.c.id, o.c.code))}
            out: dict[str, list[str]] = {}
            for name, table in tables.items():
                rows = []
                for r in c.execute(select(table)).mappings():
                    d = {k: v for k, v in r.items() if k != "id" and not isinstance(v, datetime)}
                    if "finding_id" in d:
                        d["finding_id"] = finding.get(d["finding_id"])
                    if "order_id" in d:
                        d["order_id"] = order.get(d["order_id"])
                    rows.append(json.dumps(d, sort_keys=True, default=str, ensure_ascii=False))
                out[name] = sorted(rows)
            return out

    @staticmethod
    def flow_runs(url: str) -> list[dict[str, Any]]:
        from govflow.models.facts import t
        from govflow.models.tables import FlowRun

        runs = t(FlowRun)
        with Look._connect(url) as c:
            return [dict(r) for r in c.execute(select(runs).order_by(runs.c.id)).mappings()]

    @staticmethod
    def count(url: str, model: Any) -> int:
        from govflow.models.facts import t

        with Look._connect(url) as c:
            return int(c.execute(select(func.count()).select_from(t(model))).scalar_one())

    @staticmethod
    @contextmanager
    def _connect(url: str) -> Iterator[Connection]:
        from govflow.models.db import make_engine

        engine = make_engine(url)
        try:
            with engine.connect() as c:
                yield c
        finally:
            engine.dispose()


@pytest.fixture
def look() -> Look:
    return Look()


#: the ``clean_env`` fixture's type
CleanEnv = Callable[[Mapping[str, str]], dict[str, str]]


@pytest.fixture
def clean_env() -> CleanEnv:
    def env(extra: Mapping[str, str]) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "GOVFLOW_"))}
        base.update(
            {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONUNBUFFERED": "1"}
        )
        base.update(extra)
        return base

    return env

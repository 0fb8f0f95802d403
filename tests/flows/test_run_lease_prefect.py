"""Runs exclude each other on the Prefect path too (issue 13, item 2): ``govflow run`` refuses at once, before it
starts anything on Prefect, while another live run holds the flow and day; and a flow started on Prefect anyway
(a deployment, or a race past that check) fails with the same conflict and writes nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import insert

from govflow.flows.governance import flow_of
from govflow.governance.flowruns import RUNS
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.types import utcnow
from govflow.settings import Settings
from govflow.states.errors import RunInProgress

if TYPE_CHECKING:  # fixtures come from conftest.py; only their types are imported
    from tests.flows.conftest import CleanEnv, Look

ROOT = Path(__file__).resolve().parents[2]
ELSEWHERE = "worker-2.example:4242:1"
AS_OF = date(2026, 11, 26)


def hold(url: str, flow: str) -> None:
    """A live run of ``flow`` for AS_OF on another host (its heartbeat fresh)."""
    app = App.from_settings(Settings(database_url=url))
    try:
        with unit_of_work(app.engine) as s:
            s.execute(
                insert(RUNS).values(
                    flow=flow,
                    as_of=AS_OF,
                    started_at=utcnow(),
                    status="running",
                    stats={},
                    holder=ELSEWHERE,
                    heartbeat_at=utcnow() - timedelta(seconds=5),
                )
            )
    finally:
        app.engine.dispose()


def written(look: Look, url: str) -> dict[str, int]:
    return {table: len(rows) for table, rows in look.snapshot(url).items()}


def test_the_command_refuses_before_starting_prefect(
    portfolio_url: str, prefect_api: str, clean_env: CleanEnv, look: Look, tmp_path: Path
) -> None:
    hold(portfolio_url, "sweep")
    before = written(look, portfolio_url)
    env = clean_env(
        {
            "GOVFLOW_DATABASE_URL": portfolio_url,
            "PREFECT_API_URL": prefect_api,
            "PREFECT_HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT),
        }
    )
    command = [
        sys.executable,
        "-c",
        "import sys; from govflow.cli import app; sys.exit(app())",
        "run",
        "sweep",
    ]
    done = subprocess.run(
        [*command, "--as-of", AS_OF.isoformat(), "--lang", "en"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 5, done
    assert "another run of obligation sweep for 2026-11-26 is in progress" in done.stderr
    assert ELSEWHERE in done.stderr and "Traceback" not in done.stderr + done.stdout
    assert [r["status"] for r in look.flow_runs(portfolio_url)] == ["running"]
    assert written(look, portfolio_url) == before


def test_a_flow_started_on_prefect_anyway_fails_with_the_conflict(
    portfolio_url: str, prefect_api: str, look: Look
) -> None:
    hold(portfolio_url, "sweep")
    before = written(look, portfolio_url)
    with pytest.raises(RunInProgress):
        flow_of("sweep")(AS_OF, portfolio_url)
    assert [r["status"] for r in look.flow_runs(portfolio_url)] == ["running"]
    assert written(look, portfolio_url) == before

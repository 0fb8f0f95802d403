"""A new scheduled check is one registry entry: ``govflow run`` gains its command, ``govflow schedule`` its
deployment (cron from ``GOVFLOW_SCHEDULE_<NAME>``), and ``run all`` runs it in its place — with no other file
touched. The fake check is added to :data:`govflow.governance.checks.REGISTRY` by ``monkeypatch`` only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import govflow.cli
from govflow.cli import run as run_cli
from govflow.flows import deployments
from govflow.governance import checks, scheduling
from govflow.lifecycle.services import App
from govflow.settings import Settings
from govflow.states.phases import Phase

AS_OF = date(2026, 11, 26)
SEEN: list[tuple[date, tuple[int, int] | None]] = []


@dataclass
class TallyResult:
    as_of: date
    chunk: tuple[int, int] | None
    tallied: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": "tally",
            "as_of": self.as_of.isoformat(),
            "chunk": self.chunk,
            "tallied": self.tallied,
        }


def run_tally(app: App, as_of: date, chunk: tuple[int, int] | None) -> TallyResult:
    SEEN.append((as_of, chunk))
    return TallyResult(as_of, chunk, 1)


TALLY = checks.Check(
    "tally",
    "项目计数",
    "project tally",
    run_tally,
    phases=frozenset(Phase),
    default_cron="30 2 * * *",
    counts={"tallied": ("已计数", "tallied")},
)


@pytest.fixture
def tally(monkeypatch: pytest.MonkeyPatch) -> checks.Check:
    """The registry with ``tally`` between cuts and dispatch."""
    registry = list(checks.REGISTRY)
    registry.insert(checks.names().index("dispatch"), TALLY)
    monkeypatch.setattr(checks, "REGISTRY", tuple(registry))
    SEEN.clear()
    return TALLY


def root() -> typer.Typer:
    """``govflow`` with its ``run`` group built from the registry as it is now."""
    cli = typer.Typer()
    cli.callback()(govflow.cli.main)
    cli.add_typer(run_cli.build_app(), name="run")
    cli.command("schedule")(run_cli.schedule)
    return cli


def test_a_registered_check_becomes_a_run_command(tally: checks.Check) -> None:
    listing = CliRunner().invoke(root(), ["run", "--help"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    assert "tally" in listing.stdout and "项目计数 / project tally" in listing.stdout
    helped = CliRunner().invoke(root(), ["run", "tally", "--help"], env={"COLUMNS": "200"})
    assert helped.exit_code == 0 and "--as-of" in helped.stdout
    assert (
        "calendar → sweep → deadlines → cuts → tally → dispatch"
        in CliRunner().invoke(root(), ["run", "all", "--help"], env={"COLUMNS": "200"}).stdout
    )


def test_without_it_there_is_no_such_command() -> None:
    res = CliRunner().invoke(root(), ["run", "tally", "--help"])
    assert res.exit_code == 2


def test_a_registered_check_is_deployed_on_its_schedule(tally: checks.Check) -> None:
    planned = {p.spec.flow: p for p in deployments.build(Settings())}
    assert list(planned) == ["all", "calendar", "sweep", "deadlines", "cuts", "tally", "dispatch", "anchor"]
    mine = planned["tally"]
    assert mine.name == "govflow-tally/govflow"
    assert mine.deployment.entrypoint == "govflow.flows.governance.tally"
    assert (mine.spec.cron, mine.spec.setting) == ("30 2 * * *", "GOVFLOW_SCHEDULE_TALLY")

    res = CliRunner().invoke(root(), ["schedule", "--json"], env={"GOVFLOW_SCHEDULE_TALLY": ""})
    assert res.exit_code == 0, res.output
    rows = {r["flow"]: r for r in json.loads(res.stdout)["deployments"]}
    assert rows["tally"]["cron"] is None  # the setting overrides the registry's default


def test_the_entrypoint_resolves_to_its_flow(tally: checks.Check) -> None:
    import govflow.flows.governance as flows

    assert flows.tally.name == "govflow-tally"
    with pytest.raises(AttributeError):
        _ = flows.no_such_check


def test_run_all_runs_it_in_its_place(db_url: str, tally: checks.Check) -> None:
    settings = Settings(database_url=db_url)
    result = scheduling.run_direct(settings, checks.ALL, AS_OF)
    assert list(result["results"]) == [
        "calendar",
        "sweep",
        "deadlines",
        "cuts",
        "tally",
        "dispatch",
        "anchor",
    ]
    assert result["results"]["tally"] == {"flow": "tally", "as_of": "2026-11-26", "tallied": 1, "chunks": 1}
    assert SEEN == [(AS_OF, None)]  # an empty database: one chunk, every project

    shown = CliRunner().invoke(
        root(),
        ["run", "tally", "--no-prefect", "--as-of", "2026-11-26"],
        env={"GOVFLOW_DATABASE_URL": db_url},
    )
    assert shown.exit_code == 0, shown.output
    assert "项目计数：截至 2026-11-26" in shown.stdout and "已计数" in shown.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_prefect_run_all_runs_it_too(prefect_api: str, db_url: str, tally: checks.Check) -> None:
    import govflow.flows.governance as flows

    result = flows.run_all(AS_OF, db_url)
    assert list(result["results"]) == [
        "calendar",
        "sweep",
        "deadlines",
        "cuts",
        "tally",
        "dispatch",
        "anchor",
    ]
    assert result["results"]["tally"]["tallied"] == 1 and SEEN == [(AS_OF, None)]

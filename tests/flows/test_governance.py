"""The governance flows on Prefect (issue 4 part 6): same results as the direct path, named and recorded runs,
idempotent reruns, chunks that add up, and the calendar alarm.

Every test runs on SQLite and PostgreSQL against the session's one temporary Prefect server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from prefect import State
from prefect.client.orchestration import get_client
from typer.testing import CliRunner

from govflow.cli import app as cli_app
from govflow.flows.governance import BY_NAME, run_all
from govflow.governance import checks, scheduling
from govflow.governance.scheduling import ALL, FLOWS, run_direct
from govflow.lifecycle.services import App, verify_audit
from govflow.models.tables import AuditEvent, OutboxMessage
from govflow.settings import Settings

if TYPE_CHECKING:  # fixtures come from conftest.py; only their types are imported
    from tests.flows.conftest import CleanEnv, Look

FICTIONAL_2027 = Path(__file__).resolve().parents[1] / "data" / "calendar-2027-fictional.yaml"
#: the demo portfolio's "today" (tests/cli uses the same day)
AS_OF = date(2026, 11, 26)
#: what must have run before a flow for it to have work (calendar → sweep → deadlines → cuts → dispatch → anchor)
BEFORE = {
    "calendar": (),
    "sweep": (),
    "deadlines": ("sweep",),
    "cuts": ("sweep", "deadlines"),
    "dispatch": ("sweep", "deadlines", "cuts"),
    "anchor": ("sweep", "deadlines", "cuts"),
}


def run_flow(flow: str, url: str, as_of: date = AS_OF) -> State[Any]:
    """Run a flow through Prefect in this process; its final state (raises nothing)."""
    fn = BY_NAME[flow]
    state: State[Any] = (
        fn(as_of, url, return_state=True)
        if flow == ALL or checks.get(flow).chunked
        else fn(None, url, return_state=True)
    )
    return state


def prefect_names(ids: list[str]) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        return {i: client.read_flow_run(i).name for i in ids}  # type: ignore[arg-type]


def without_chunks(result: dict[str, Any]) -> dict[str, Any]:
    return {flow: {k: v for k, v in res.items() if k != "chunks"} for flow, res in result["results"].items()}


@pytest.mark.parametrize("flow", [*FLOWS, ALL])
def test_a_flow_gives_what_the_direct_path_gives(
    flow: str, portfolio_url: str, clone: Callable[[str], str], look: Look, prefect_api: str
) -> None:
    twin = clone(portfolio_url)
    for url in (portfolio_url, twin):
        for step in BEFORE.get(flow, ()):
            run_direct(Settings(database_url=url), step, AS_OF)

    state = run_flow(flow, portfolio_url)
    assert state.is_completed(), state
    expected = run_direct(Settings(database_url=twin), flow, AS_OF)

    assert state.result() == expected
    assert look.snapshot(portfolio_url) == look.snapshot(twin)
    via_prefect, direct = look.flow_runs(portfolio_url), look.flow_runs(twin)
    assert [(r["flow"], r["as_of"], r["status"], r["stats"]) for r in via_prefect] == [
        (r["flow"], r["as_of"], r["status"], r["stats"]) for r in direct
    ]
    # the runs of this flow (and, for all, of its subflows) carry their Prefect flow run and its name
    mine = via_prefect[len(BEFORE.get(flow, ())) :]
    assert {r["flow"] for r in mine} == ({*FLOWS, ALL} if flow == ALL else {flow})
    # the unchunked checks judge no day: their Prefect runs are named by the time they ran
    recorded = [r for r in mine if r["flow"] == ALL or checks.get(r["flow"]).chunked]
    names = prefect_names([str(r["prefect_flow_run_id"]) for r in recorded])
    assert [names[str(r["prefect_flow_run_id"])] for r in recorded] == [
        f"{r['flow']}-{AS_OF.isoformat()}" for r in recorded
    ]
    assert all(r["status"] == "completed" for r in mine)


def test_the_flows_have_work_to_do(portfolio_url: str, look: Look, prefect_api: str) -> None:
    """The demo portfolio on 2026-11-26 exercises every flow (so the comparisons above compare something)."""
    res = run_all(AS_OF, portfolio_url)["results"]
    assert res["sweep"]["findings_opened"] == 3
    assert res["sweep"]["expiry_notices"] == 1
    assert res["deadlines"]["orders_issued"] == 3
    assert res["cuts"]["proposed"] == 1
    assert res["dispatch"]["waiting"] == look.count(portfolio_url, OutboxMessage) > 0


def test_running_all_twice_creates_nothing_new(portfolio_url: str, look: Look, prefect_api: str) -> None:
    run_all(AS_OF, portfolio_url)
    before, audits = look.snapshot(portfolio_url), look.count(portfolio_url, AuditEvent)

    again = run_all(AS_OF, portfolio_url)["results"]

    assert look.snapshot(portfolio_url) == before
    assert look.count(portfolio_url, AuditEvent) == audits
    assert again["sweep"]["findings_opened"] == again["sweep"]["findings_closed"] == 0
    assert again["sweep"]["expiry_notices"] == 0
    assert again["deadlines"]["orders_issued"] == again["deadlines"]["reminders"] == 0
    assert again["cuts"]["proposed"] == again["cuts"]["notified"] == 0
    assert again["cuts"]["unchanged"] == 1
    runs = look.flow_runs(portfolio_url)
    assert len(runs) == 14 and all(r["status"] == "completed" for r in runs)


def test_chunks_add_up_to_one_run(
    portfolio_url: str,
    clone: Callable[[str], str],
    look: Look,
    prefect_api: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One project per chunk, three chunks at a time, gives what one chunk for everything gives."""
    twin = clone(portfolio_url)
    monkeypatch.setenv("GOVFLOW_FLOW_CHUNK_SIZE", "1")
    monkeypatch.setenv("GOVFLOW_FLOW_CHUNK_WORKERS", "3")
    chunked = run_all(AS_OF, portfolio_url)
    whole = run_direct(Settings(database_url=twin, flow_chunk_size=10**6), ALL, AS_OF)

    assert chunked["results"]["sweep"]["chunks"] == 2  # one project in construction, one in operation
    assert chunked["results"]["cuts"]["chunks"] == 1  # one project in operation
    assert whole["results"]["sweep"]["chunks"] == 1
    assert without_chunks(chunked) == without_chunks(whole)
    assert look.snapshot(portfolio_url) == look.snapshot(twin)


@pytest.mark.parametrize("path", ["prefect", "no-prefect"])
def test_a_year_without_calendar_data_stops_nothing_else(
    path: str, portfolio_url: str, look: Look, prefect_api: str
) -> None:
    """Orders issued on 2026-12-20 fall due in 2027, a year the calendar data does not cover: they are issued
    with their deadline pending (期限待定), every flow completes (exit 0), an alarm goes to admin. The first run
    after the year is imported dates them from their notice date and sends their notices."""
    env = {"GOVFLOW_DATABASE_URL": portfolio_url}
    no_prefect = ["--no-prefect"] if path == "no-prefect" else []
    res = CliRunner().invoke(cli_app, ["run", "all", "--as-of", "2026-12-20", *no_prefect, "--json"], env=env)

    assert res.exit_code == 0, res.output
    deadlines = json.loads(res.stdout)["results"]["deadlines"]
    assert deadlines["orders_issued"] > 0 and deadlines["pending"] == deadlines["orders_issued"]
    runs = {r["flow"]: r for r in look.flow_runs(portfolio_url)}
    assert {r["status"] for r in runs.values()} == {"completed"}
    assert set(runs) == {"all", "calendar", "sweep", "deadlines", "cuts", "dispatch", "anchor"}
    keys = look.snapshot(portfolio_url)["outbox_message"]
    assert sum('"key": "alarm/calendar/2027"' in k for k in keys) == 1
    # and the daily reminder to import it, to the administrator and the program office
    assert sum('"key": "alarm/calendar-upcoming/2027/2026-12-20/' in k for k in keys) == 2
    orders = json.loads(CliRunner().invoke(cli_app, ["order", "list", "--json"], env=env).stdout)
    pending = [o for o in orders if o["notice_date"] == "2026-12-20"]
    assert pending and all(o["deadline"] is None and o["deadline_pending"] for o in pending)
    table = CliRunner().invoke(cli_app, ["order", "list"], env={**env, "COLUMNS": "200"})
    assert table.exit_code == 0 and "期限待定" in table.stdout

    imported = CliRunner().invoke(
        cli_app, ["calendar", "import", str(FICTIONAL_2027), "--as", "admin"], env=env
    )
    assert imported.exit_code == 0, imported.output
    again = CliRunner().invoke(
        cli_app, ["run", "all", "--as-of", "2026-12-21", *no_prefect, "--json"], env=env
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["results"]["deadlines"]["dated"] == len(pending)
    orders = json.loads(CliRunner().invoke(cli_app, ["order", "list", "--json"], env=env).stdout)
    dated = [o for o in orders if o["notice_date"] == "2026-12-20"]
    # 2026-12-20 (a Sunday) + 20 working days: 9 left in December, 2027-01-01..03 off, then 11 → 2027-01-18
    assert {o["deadline"] for o in dated} == {"2027-01-18"}
    keys = look.snapshot(portfolio_url)["outbox_message"]
    assert sum("/dated@2027-01-18/department" in k for k in keys) == len(pending)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_summary_table(portfolio_url: str) -> None:
    env = {"GOVFLOW_DATABASE_URL": portfolio_url, "COLUMNS": "200"}  # rich tables: no folded words
    zh = CliRunner().invoke(cli_app, ["run", "sweep", "--as-of", "2026-11-26", "--no-prefect"], env=env)
    assert zh.exit_code == 0, zh.output
    assert "共享义务清单扫描：截至 2026-11-26" in zh.stdout
    assert "新发现问题" in zh.stdout and "MILESTONE_MISSED 2" in zh.stdout
    en = CliRunner().invoke(
        cli_app, ["run", "cuts", "--as-of", "2026-11-26", "--no-prefect", "--lang", "en"], env=env
    )
    assert en.exit_code == 0, en.output
    assert "O&M cut recommendations as of 2026-11-26" in en.stdout
    assert "proposed" in en.stdout and "budget period" in en.stdout
    every = CliRunner().invoke(cli_app, ["run", "all", "--as-of", "2026-11-26", "--no-prefect"], env=env)
    assert every.exit_code == 0, every.output
    assert [line for line in every.stdout.splitlines() if "：截至 2026-11-26" in line] == [
        "工作日历年份检查：截至 2026-11-26",
        "共享义务清单扫描：截至 2026-11-26",
        "整改期限：截至 2026-11-26",
        "运维经费削减建议：截至 2026-11-26",
        "通知发送：截至 2026-11-26",
        "审计链锚点：截至 2026-11-26",
    ]
    dispatch = CliRunner().invoke(cli_app, ["run", "dispatch", "--no-prefect"], env=env)
    assert dispatch.exit_code == 0, dispatch.output
    assert "通知发送" in dispatch.stdout and "未配置渠道而待发送" in dispatch.stdout
    bad = CliRunner().invoke(cli_app, ["run", "sweep", "--as-of", "26.11.2026", "--no-prefect"], env=env)
    assert bad.exit_code == 2


# ---------------------------------------------------------------------------------------------- pure parts


def test_tiles_cover_every_project_id() -> None:
    assert scheduling.tile([], None) == [None]
    assert scheduling.tile([], (1, 9)) == [(1, 9)]
    assert scheduling.tile([(3, 4), (7, 8)], (1, 12)) == [(1, 4), (5, 12)]
    assert scheduling.tile([(3, 3)], (3, 3)) == [(3, 3)]


def test_merge_adds_counts_and_keeps_what_chunks_agree_on() -> None:
    parts = [
        {"flow": "sweep", "as_of": "x", "chunk": [1, 2], "n": 1, "by": {"A": 1}, "v": "2026.1", "ok": True},
        {
            "flow": "sweep",
            "as_of": "x",
            "chunk": [3, 9],
            "n": 2,
            "by": {"A": 2, "B": 1},
            "v": "2026.2",
            "ok": True,
        },
    ]
    assert scheduling.merge("sweep", AS_OF, parts) == {
        "flow": "sweep",
        "as_of": "2026-11-26",
        "n": 3,
        "by": {"A": 3, "B": 1},
        "v": ["2026.1", "2026.2"],
        "ok": True,
        "chunks": 2,
    }


# ---------------------------------------------------------------------------------------------- crash safety

GOVFLOW = str(Path(sys.executable).parent / "govflow")
KILL_POINT = Path(__file__).parent / "killpoint"


def test_a_run_killed_twice_completes_on_the_third_try(
    portfolio_url: str,
    clone: Callable[[str], str],
    look: Look,
    clean_env: CleanEnv,
    prefect_api: str,
    tmp_path: Path,
) -> None:
    """``govflow run all`` killed with SIGKILL as its sweep begins, run again and killed as its deadlines begin
    (the sweep committed), then run to the end, leaves exactly what one clean run on a copy leaves: no duplicate
    finding, order, step, recommendation or message, nothing lost, the audit chain intact."""
    reference = clone(portfolio_url)
    command = [GOVFLOW, "run", "all", "--as-of", AS_OF.isoformat(), "--json"]
    env = clean_env(
        {"GOVFLOW_DATABASE_URL": portfolio_url, "PREFECT_API_URL": prefect_api, "PREFECT_HOME": str(tmp_path)}
    )
    for attempt, flow in enumerate(("sweep", "deadlines"), start=1):
        # the run kills itself once its ``flow`` run row is committed (tests/flows/killpoint/sitecustomize.py)
        killed_env = {**env, "PYTHONPATH": str(KILL_POINT), "GOVFLOW_TEST_KILL_AT": flow}
        with (tmp_path / f"killed-{attempt}.log").open("wb") as log:
            proc = subprocess.Popen(command, env=killed_env, stdout=log, stderr=log, start_new_session=True)
            try:
                proc.wait(timeout=300)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)  # the group this test started
                    proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, (tmp_path / f"killed-{attempt}.log").read_text()
        assert has_run(look, portfolio_url, flow)
        if flow == "deadlines":  # the sweep before it committed
            assert [r["status"] for r in look.flow_runs(portfolio_url) if r["flow"] == "sweep"][
                -1
            ] == "completed"
        # the killed run is left running; the next run marks the one before it crashed (its process is gone)
        assert [r["status"] for r in look.flow_runs(portfolio_url) if r["flow"] == ALL] == [
            *["crashed"] * (attempt - 1),
            "running",
        ]

    last = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert last.returncode == 0, last.stderr
    assert [r["status"] for r in look.flow_runs(portfolio_url) if r["flow"] == ALL] == [
        "crashed",
        "crashed",
        "completed",
    ]
    assert not [r for r in look.flow_runs(portfolio_url) if r["status"] == "running"]
    clean = subprocess.run(
        [*command, "--no-prefect"],
        env=clean_env({"GOVFLOW_DATABASE_URL": reference, "PREFECT_HOME": str(tmp_path)}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert clean.returncode == 0, clean.stderr
    assert json.loads(last.stdout)["results"]["cuts"] == json.loads(clean.stdout)["results"]["cuts"]

    killed, clean_run = look.snapshot(portfolio_url), look.snapshot(reference)
    for table in killed:
        extra, missing = (
            set(killed[table]) - set(clean_run[table]),
            set(clean_run[table]) - set(killed[table]),
        )
        assert killed[table] == clean_run[table], f"{table}: extra {extra}, missing {missing}"
    app = App.from_settings(Settings(database_url=portfolio_url))
    try:
        assert verify_audit(app).ok
    finally:
        app.engine.dispose()


def has_run(look: Look, url: str, flow: str) -> bool:
    return any(r["flow"] == flow for r in look.flow_runs(url))

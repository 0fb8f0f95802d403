"""`govflow schedule` and running for real: the deployments and their cron schedules, a scheduled run fired by a
real ``prefect server start``, and ``govflow run all`` as an operator types it (its own temporary Prefect).

These tests start their own Prefect servers (none uses the session's test harness).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest
import typer
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

import govflow.cli
from govflow.cli import run as run_cli
from govflow.governance.scheduling import FLOWS

if TYPE_CHECKING:  # fixtures come from conftest.py; only their types are imported
    from tests.flows.conftest import CleanEnv, Look

BIN = Path(sys.executable).parent
SHANGHAI = ZoneInfo("Asia/Shanghai")


def schedule_cli() -> typer.Typer:
    """The root of ``govflow`` with the ``schedule`` command (registered in govflow/cli/__init__.py by the lead)."""
    root = typer.Typer()
    root.callback()(govflow.cli.main)
    root.command("schedule")(run_cli.schedule)
    return root


def test_schedule_lists_the_seven_deployments_in_beijing_time() -> None:
    res = CliRunner().invoke(schedule_cli(), ["schedule", "--json"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    rows = {r["flow"]: r for r in json.loads(res.stdout)["deployments"]}
    assert {f: r["cron"] for f, r in rows.items()} == {
        "all": "0 1 * * *",
        "calendar": None,
        "sweep": None,
        "deadlines": None,
        "cuts": None,
        "dispatch": "*/5 * * * *",
        "anchor": None,
    }
    assert {r["timezone"] for r in rows.values()} == {"Asia/Shanghai"}
    assert rows["all"]["deployment"] == "govflow-all/govflow"
    nightly = datetime.fromisoformat(rows["all"]["next_run"])
    assert nightly.utcoffset() == timedelta(hours=8) and (nightly.hour, nightly.minute) == (1, 0)
    assert rows["sweep"]["next_run"] is None

    text = CliRunner().invoke(schedule_cli(), ["schedule"], env={"COLUMNS": "200"})
    assert text.exit_code == 0
    assert "按需运行（无定时计划）" in text.stdout and "GOVFLOW_SCHEDULE_DISPATCH" in text.stdout


def test_schedules_come_from_the_settings() -> None:
    env = {"GOVFLOW_SCHEDULE_CUTS": "0 2 1 * *", "GOVFLOW_SCHEDULE_ALL": "", "GOVFLOW_DEPLOYMENT_NAME": "zj"}
    res = CliRunner().invoke(schedule_cli(), ["schedule", "--json"], env=env)
    assert res.exit_code == 0, res.output
    rows = {r["flow"]: r for r in json.loads(res.stdout)["deployments"]}
    assert rows["cuts"]["cron"] == "0 2 1 * *" and rows["all"]["cron"] is None
    assert rows["cuts"]["deployment"] == "govflow-cuts/zj"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GOVFLOW_SCHEDULE_SWEEP": "every night"}, "GOVFLOW_SCHEDULE_SWEEP"),
        ({"GOVFLOW_SCHEDULE_TZ": "Mars/Base"}, "GOVFLOW_SCHEDULE_TZ"),
    ],
)
def test_a_bad_schedule_is_a_usage_error(env: dict[str, str], named: str) -> None:
    res = CliRunner().invoke(schedule_cli(), ["schedule"], env=env)
    assert res.exit_code == 2
    assert named in res.stderr


def test_serving_needs_a_prefect_server() -> None:
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        res = CliRunner().invoke(schedule_cli(), ["schedule", "--serve"])
    assert res.exit_code == 2
    assert "未设置 PREFECT_API_URL" in res.stderr and "prefect server start" in res.stderr


def test_schedule_registers_the_deployments_on_a_work_pool(prefect_api: str) -> None:
    """Scale-out: the same deployments on a work pool, for Prefect workers (here the session's test server)."""
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="govflow-test", type="process"))
    res = CliRunner().invoke(schedule_cli(), ["schedule", "--work-pool", "govflow-test", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["work_pool"] == "govflow-test" and len(body["registered"]) == 8
    with get_client(sync_client=True) as client:
        found = [client.read_deployment(UUID(i)) for i in body["registered"]]
    assert {d.entrypoint for d in found} == {
        f"govflow.flows.governance.{f}" for f in (*FLOWS, "run_all", "chunk")
    }
    assert {d.work_pool_name for d in found} == {"govflow-test"}
    nightly = next(d for d in found if d.entrypoint == "govflow.flows.governance.run_all")
    assert [s.schedule.model_dump(include={"cron", "timezone"}) for s in nightly.schedules] == [
        {"cron": "0 1 * * *", "timezone": "Asia/Shanghai"}
    ]

    missing = CliRunner().invoke(schedule_cli(), ["schedule", "--work-pool", "no-such-pool"])
    assert missing.exit_code == 2
    assert "prefect work-pool create no-such-pool --type process" in missing.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_govflow_run_all_as_an_operator_types_it(
    portfolio_url: str, clone: Callable[[str], str], look: Look, clean_env: CleanEnv, tmp_path: Path
) -> None:
    """No Prefect set up at all: the command starts its own temporary Prefect server (its home in ./.prefect),
    and prints the same JSON as the direct path."""
    twin = clone(portfolio_url)

    def govflow(url: str, *extra: str) -> Any:
        res = subprocess.run(
            [str(BIN / "govflow"), "run", "all", "--as-of", "2026-11-26", "--json", *extra],
            env=clean_env({"GOVFLOW_DATABASE_URL": url}),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 0, res.stderr
        assert "Traceback" not in res.stderr
        return json.loads(res.stdout)

    via_prefect = govflow(portfolio_url)
    assert (tmp_path / ".prefect").is_dir()
    assert via_prefect == govflow(twin, "--no-prefect")
    assert via_prefect["results"]["sweep"]["findings_opened"] == 3
    # every run, dispatch and anchor included, names the Prefect flow run it belongs to
    assert [r["prefect_flow_run_id"] is not None for r in look.flow_runs(portfolio_url)] == [True] * 7


# ---------------------------------------------------------------------------------------------- for real


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_cron_schedule_fires_a_scheduled_run_on_a_prefect_server(
    db_url: str, look: Look, clean_env: CleanEnv, tmp_path: Path
) -> None:
    """``prefect server start`` (own home and database) + the served deployments with the sweep on cron
    ``* * * * *`` (Asia/Shanghai): within the next minute the *scheduler* creates a run, the served process runs
    it with ``as_of`` = today in Beijing, and govflow records it with its Prefect flow run id."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    base = clean_env(
        {
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}",
            "PREFECT_SERVER_UI_ENABLED": "false",
        }
    )
    served_env = base | {
        "PREFECT_API_URL": api,
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",  # look for due runs every 2 s instead of 10
        "GOVFLOW_DATABASE_URL": db_url,
        "GOVFLOW_SCHEDULE_ALL": "",
        "GOVFLOW_SCHEDULE_DISPATCH": "",
        "GOVFLOW_SCHEDULE_SWEEP": "* * * * *",
    }
    server = start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        base,
        tmp_path / "server.log",
    )
    served: subprocess.Popen[bytes] | None = None
    try:
        wait(lambda: healthy(api), server, 120, "the Prefect server to answer")
        served = start(
            [sys.executable, "-m", "govflow.flows.deployments"],
            served_env,
            tmp_path / "served.log",
            cwd=tmp_path,
        )
        wait(
            lambda: any(r["status"] == "completed" for r in look.flow_runs(db_url)),
            served,
            150,
            "a scheduled sweep",
        )
        run = look.flow_runs(db_url)[0]
        flow_run = httpx.get(f"{api}/flow_runs/{run['prefect_flow_run_id']}", timeout=10).json()
    finally:
        for proc in (served, server):
            if proc is not None:
                stop(proc)

    assert run["flow"] == "sweep"
    assert flow_run["auto_scheduled"] is True  # made by the scheduler, not by hand
    assert flow_run["created_by"]["type"] == "SCHEDULE"
    assert flow_run["parameters"] == {}  # as_of is decided when the run starts
    expected = datetime.fromisoformat(flow_run["expected_start_time"])
    assert expected.second == 0 and expected.microsecond == 0
    beijing_day = expected.astimezone(SHANGHAI).date()
    assert run["as_of"] == beijing_day
    assert flow_run["name"] == f"sweep-{beijing_day.isoformat()}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    argv: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group this test started, SIGKILL if it lingers."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the whole group: the runner's flow-run subprocesses too
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait(condition: Callable[[], bool], proc: subprocess.Popen[bytes], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"{proc.args!r} exited with {proc.returncode} while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.5)

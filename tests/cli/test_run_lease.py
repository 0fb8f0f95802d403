"""Two runs of one governance flow for one day exclude each other, and a killed run is marked crashed (issue 13,
item 2; ``govflow/governance/flowruns.py``), with real ``govflow`` processes on SQLite and PostgreSQL.

The first run is held in the middle of its work without a transaction open: its dispatch step posts to a local
webhook that answers only when the test lets it. While it waits, its ``all`` row is the lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from govflow.demo import demo_portfolio

from .harness import Cli
from .test_cli import process_env, sql

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-11-26"
FLOWS = ("all", "calendar", "sweep", "deadlines", "cuts", "dispatch", "anchor")


class HeldHook:
    """A webhook on 127.0.0.1 that holds every request until :meth:`release` (or 60 s)."""

    def __init__(self) -> None:
        self.arrived, self.released = threading.Event(), threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.arrived.set()
                hook.released.wait(60)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def release(self) -> None:
        self.released.set()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def held() -> Iterator[HeldHook]:
    h = HeldHook()
    yield h
    h.release()
    h.stop()


@pytest.fixture
def demo_db(cli: Cli) -> str:
    cli("load", demo_portfolio()).expect(0)
    assert cli.db_url is not None
    return cli.db_url


def start(db_url: str, tmp_path: Path, hook: HeldHook, *args: str) -> subprocess.Popen[str]:
    url = f"json://127.0.0.1:{hook.port}/hook?cto=2&rto=90"
    roles = {r: [url] for r in ("program_office", "audit", "finance", "admin", "review_agency")}
    notify = tmp_path / "notify.yaml"
    notify.write_text(
        yaml.safe_dump({"roles": {**roles, "department": {"default": [url]}}, "lease_seconds": 600})
    )
    env = process_env(db_url, GOVFLOW_NOTIFY_FILE=str(notify), PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from govflow.cli import app; sys.exit(app())", "run", *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def runs(db_url: str) -> list[tuple[str, str, str | None]]:
    rows = sql(db_url, "SELECT flow, status, error FROM flow_run ORDER BY id")
    return [(str(f), str(s), e) for f, s, e in rows]


def wait_until_held(proc: subprocess.Popen[str], hook: HeldHook) -> None:
    """The first run is inside its dispatch step, its send held by the webhook."""
    if not hook.arrived.wait(90):
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the first run never reached the webhook: exit {proc.returncode}\n{out}\n{err}")


def test_a_second_run_of_the_same_flow_and_day_exits_5_and_the_first_completes(
    demo_db: str, tmp_path: Path, held: HeldHook
) -> None:
    first = start(demo_db, tmp_path, held, "all", "--as-of", DAY, "--no-prefect")
    wait_until_held(first, held)

    second = start(demo_db, tmp_path, held, "all", "--as-of", DAY, "--no-prefect")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 5, (out, err)
    assert (
        "「全部治理流程」（依据日期 2026-11-26）已有一次运行正在进行" in err and "Traceback" not in err + out
    )
    assert f"{os.uname().nodename}:{first.pid}:" in err  # names who holds it

    english = start(demo_db, tmp_path, held, "all", "--as-of", DAY, "--no-prefect", "--lang", "en")
    out, err = english.communicate(timeout=120)
    assert english.returncode == 5, (out, err)
    assert "another run of all governance flows for 2026-11-26 is in progress" in err
    assert "Traceback" not in err + out

    held.release()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, (out, err)
    # one complete run: each flow once, all completed; the refused runs left no row
    assert sorted((f, s) for f, s, _ in runs(demo_db)) == sorted((f, "completed") for f in FLOWS)


def test_a_run_left_running_by_a_killed_process_is_marked_crashed_by_the_next_run(
    demo_db: str, tmp_path: Path, held: HeldHook
) -> None:
    first = start(demo_db, tmp_path, held, "all", "--as-of", DAY, "--no-prefect")
    wait_until_held(first, held)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    left = {f: s for f, s, _ in runs(demo_db)}
    assert left["all"] == left["dispatch"] == "running"

    held.release()
    time.sleep(0.1)
    nxt = start(demo_db, tmp_path, held, "all", "--as-of", DAY, "--no-prefect", "--json")
    out, err = nxt.communicate(timeout=120)
    assert nxt.returncode == 0, (out, err)
    after = runs(demo_db)
    crashed = [(f, e) for f, s, e in after if s == "crashed"]
    assert sorted(f for f, _ in crashed) == ["all", "dispatch"]
    assert all(e and f":{first.pid}:" in e and "运行进程已不在" in e for _, e in crashed)
    assert [s for _, s, _ in after].count("running") == 0
    assert sorted(f for f, s, _ in after if s == "completed") == sorted(
        ["calendar", "sweep", "deadlines", "cuts", *FLOWS]
    )

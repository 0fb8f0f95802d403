"""`govflow notify status|test|retry|check` in-process (typer's CliRunner) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from govflow.cli import app
from govflow.governance.outbox import enqueue
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import AuditEvent, OutboxMessage
from govflow.settings import Settings

from .harness import NOW, Cli, make_cli

OUTBOX = t(OutboxMessage)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Hook:
    """A local HTTP endpoint recording what apprise's json:// posts."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook?cto=2&rto=3"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def application(db_url: str, engine: Engine) -> App:
    application = App(Settings(database_url=db_url), engine, clock=lambda: NOW)
    services.add_user(application, None, name="admin", role="admin", department=None, display_name=None)
    services.add_user(application, None, name="zheng", role="audit", department=None, display_name=None)
    return application


@pytest.fixture
def cli(db_url: str, application: App, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The harness with its clock standing still at NOW, on a database with an admin and an auditor."""
    runner = make_cli(db_url, monkeypatch, tick=False)
    yield runner
    runner.close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.stop()


def channels(cli: Cli, tmp_path: Path, roles: dict[str, Any]) -> Path:
    path = tmp_path / "notify.yaml"
    path.write_text(yaml.safe_dump({"roles": roles}), encoding="utf-8")
    cli.env["GOVFLOW_NOTIFY_FILE"] = str(path)
    return path


def put(application: App, key: str, topic: str, status: str = "pending", error: str | None = None) -> None:
    with unit_of_work(application.engine) as s:
        enqueue(s, key, topic, "program_office", {"project": "ZJ-2026-001"}, project_code="ZJ-2026-001")
        s.execute(update(OUTBOX).where(OUTBOX.c.key == key).values(status=status, last_error=error))


def audit_actions(application: App) -> list[tuple[str, str, str]]:
    ae: Any = t(AuditEvent)
    with unit_of_work(application.engine, write=False) as s:
        return [(r.action, r.actor, r.outcome) for r in s.execute(select(ae).order_by(ae.c.seq))]


# ---------------------------------------------------------------------------------------------- help


def _notify_paths() -> list[tuple[str, ...]]:
    group: Any = typer.main.get_command(app).commands["notify"]  # type: ignore[attr-defined]
    return [("notify",), *[("notify", name) for name in sorted(group.commands)]]


@pytest.mark.parametrize("path", _notify_paths(), ids=lambda p: " ".join(p))
def test_every_notify_command_has_chinese_help(path: tuple[str, ...], tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, [*path, "--help"], env={"GOVFLOW_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert res.exit_code == 0 and "Usage" in res.stdout
    assert any("\u4e00" <= ch <= "\u9fff" for ch in res.stdout.split("Options")[0])
    assert {"status", "test", "retry", "check"} <= {p[-1] for p in _notify_paths()}


# ---------------------------------------------------------------------------------------------- status


def test_status_counts_by_status_and_topic(cli: Cli, application: App) -> None:
    put(application, "a", "overdue")
    put(application, "b", "overdue", "delivered")
    put(application, "c", "reminder", "failed", "json://127.0.0.1:1（ch-x）：FAILURE")
    put(application, "d", "escalation", "skipped", "no_channel: 角色「审计监察」")
    rep = cli("notify", "status", "--json").json()
    assert rep["configured"] is False and rep["total"] == 4
    assert rep["counts"] == {"pending": 1, "sending": 0, "delivered": 1, "failed": 1, "skipped": 1}
    assert {t["topic"]: (t["pending"], t["delivered"], t["total"]) for t in rep["topics"]} == {
        "escalation": (0, 0, 1),
        "overdue": (1, 1, 2),
        "reminder": (0, 0, 1),
    }
    assert rep["oldest_pending"]["key"] == "a"
    assert [p["key"] for p in rep["problems"]] == ["d", "c"]

    text = cli("notify", "status").stdout
    assert "未配置通知渠道文件" in text and "待发送" in text and "发送失败" in text
    assert "最早的待发送消息：a（overdue" in text and "no_channel" in text


def test_status_needs_the_notify_admin_permission(cli: Cli, application: App) -> None:
    res = cli("notify", "status", "--as", "zheng")
    assert res.exit_code == 3 and "无权管理通知渠道" in res.stderr
    assert ("notify.admin", "zheng", "denied") in audit_actions(application)


# ---------------------------------------------------------------------------------------------- test


def test_test_sends_a_notice_to_the_role_channels_and_audits_it(
    cli: Cli, application: App, tmp_path: Path, hook: Hook
) -> None:
    channels(cli, tmp_path, {"program_office": [hook.url]})
    res = cli("notify", "test", "program_office", "--as", "admin", "--json")
    assert res.exit_code == 0, res
    body = res.json()
    assert body["ok"] is True and body["delivered"] == body["channels"]
    assert body["channels"][0].startswith("json://127.0.0.1:")
    [posted] = hook.bodies
    assert posted["title"] == "【测试】govflow 通知渠道测试" and "致：项目审批部门" in posted["message"]
    assert ("notify.test", "admin", "recorded") in audit_actions(application)

    text = cli("notify", "test", "program_office").stdout
    assert "已送达" in text and len(hook.bodies) == 2


def test_test_reports_a_channel_that_is_down(cli: Cli, application: App, tmp_path: Path) -> None:
    port = free_port()
    channels(cli, tmp_path, {"audit": [f"json://127.0.0.1:{port}/hook?cto=1&rto=1"]})
    res = cli("notify", "test", "audit")
    assert res.exit_code == 1 and "失败原因" in res.stdout and f"127.0.0.1:{port}" in res.stdout
    assert ("notify.test", "operator", "failed") in audit_actions(application)


def test_test_refuses_what_it_cannot_do(cli: Cli, tmp_path: Path) -> None:
    res = cli("notify", "test", "audit")
    assert res.exit_code == 2 and "GOVFLOW_NOTIFY_FILE" in res.stderr
    channels(cli, tmp_path, {"program_office": ["json://127.0.0.1:9/x"]})
    res = cli("notify", "test", "finance")
    assert res.exit_code == 2 and "角色「财政部门」未配置通知渠道" in res.stderr
    res = cli("notify", "test", "mayor")
    assert res.exit_code == 2 and "角色 mayor 无效" in res.stderr


# ---------------------------------------------------------------------------------------------- retry


def test_retry_requeues_failed_messages_only(cli: Cli, application: App) -> None:
    put(application, "f1", "overdue", "failed", "boom")
    put(application, "f2", "overdue", "failed", "boom")
    put(application, "s1", "overdue", "skipped", "no_channel")
    put(application, "ok", "overdue", "delivered")

    assert cli("notify", "retry", "--key", "f1", "--as", "admin", "--json").json() == {
        "requeued": 1,
        "keys": ["f1"],
    }
    res = cli("notify", "retry", "--all-failed")
    assert res.exit_code == 0 and "已重新置为待发送：1 条" in res.stdout and "f2" in res.stdout
    assert cli("notify", "retry", "--all-skipped", "--json").json()["keys"] == ["s1"]
    with unit_of_work(application.engine, write=False) as s:
        got = {r.key: (r.status, r.attempts) for r in s.execute(select(OUTBOX))}
    assert got == {"f1": ("pending", 0), "f2": ("pending", 0), "s1": ("pending", 0), "ok": ("delivered", 0)}

    res = cli("notify", "retry", "--key", "ok", "--json")
    assert res.exit_code == 3
    assert res.json()["reasons"][0]["code"] == "NOT_RETRYABLE" and "不再重复发送" in res.stdout
    assert cli("notify", "retry", "--key", "nope").exit_code == 4
    assert cli("notify", "retry").exit_code == 2
    assert cli("notify", "retry", "--all-failed", "--as", "zheng").exit_code == 3
    assert [a for a in audit_actions(application) if a[0] == "notify.retry"] == [
        ("notify.retry", "admin", "recorded"),
        ("notify.retry", "operator", "recorded"),
        ("notify.retry", "operator", "recorded"),
    ]


# ---------------------------------------------------------------------------------------------- check


def test_check_lists_masked_channels_or_refuses_a_bad_file(cli: Cli, tmp_path: Path) -> None:
    assert cli("notify", "check", "--json").json() == {"configured": False}
    path = channels(
        cli,
        tmp_path,
        {
            "audit": [
                "mailtos://govflow:Pa55word@smtp.example.gov.cn?from=govflow@example.gov.cn&to=sj@example.gov.cn"
            ],
            "department": {"default": ["dingtalk://abc123token/"]},
        },
    )
    rep = cli("notify", "check", "--json").json()
    assert rep["configured"] is True and rep["file"] == str(path)
    assert rep["channels"]["audit"][0].startswith("mailtos://smtp.example.gov.cn（ch-")
    assert rep["channels"]["department.default"][0].startswith("dingtalk://***（ch-")
    assert "Pa55word" not in json.dumps(rep, ensure_ascii=False) and "abc123token" not in str(rep)

    path.write_text("roles: {audit: ['ftp://x/y'], auditor: []}", encoding="utf-8")
    res = cli("notify", "check")
    assert res.exit_code == 2
    assert (
        "通知渠道配置文件" in res.stderr
        and "不支持的渠道类型 ftp://" in res.stderr
        and "未知角色" in res.stderr
    )
    path.write_text("roles: {audit: ['dingtalk://bad_token!']}", encoding="utf-8")
    res = cli("notify", "check")
    assert res.exit_code == 2 and "apprise 无法识别渠道地址" in res.stderr

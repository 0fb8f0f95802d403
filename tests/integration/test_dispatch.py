"""Notification dispatch against real channels on SQLite and PostgreSQL (SPEC §4.4, govflow/governance/dispatch.py).

The channels are real: an HTTP endpoint (``json://``) and an SMTP server (``mailto://``, plain SMTP with
AUTH) run in threads of this test process on 127.0.0.1, on ports from :func:`free_port`; a "down" channel is a
free port nobody listens on. apprise sends to them exactly as it would to DingTalk or a mail relay. Every
socket has a timeout of a few seconds, so a broken test fails instead of hanging.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, insert, select

from govflow.governance import dispatch
from govflow.governance.dispatch import DispatchResult, retry_messages, run_dispatch
from govflow.governance.outbox import enqueue
from govflow.lifecycle.services import App
from govflow.models.db import make_engine, unit_of_work
from govflow.models.facts import t
from govflow.models.tables import Department, FlowRun, OutboxMessage, Project
from govflow.notifications.apprise_notifier import AppriseNotifier, header_value
from govflow.notifications.base import DeliveryFailed, Notice, channel_id
from govflow.notifications.config import load_config, parse_config
from govflow.notifications.fake import FakeNotifier
from govflow.settings import Settings
from govflow.states.errors import NotFound, RuleRefused, UsageError

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
EXAMPLE = Path(__file__).resolve().parents[2] / "govflow" / "data" / "notify.example.yaml"
OUTBOX = t(OutboxMessage)
DEPT_A = "11330000GF00000027"  # 浙江省大数据发展管理局 (demo data)
DEPT_B = "11330000GF0000003A"  # 浙江省市场监督管理局


# ---------------------------------------------------------------------------------------------- local channels


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _HttpServer(ThreadingHTTPServer):
    allow_reuse_address = True  # a channel brought back up on the port it was "down" on
    daemon_threads = True


class _TcpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class _Server:
    """A server thread on 127.0.0.1 that is stopped (and its port released) by :meth:`stop`."""

    server: socketserver.BaseServer

    def __init__(self, port: int | None) -> None:
        self.port = port or free_port()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class Hook(_Server):
    """An HTTP endpoint that records every request body (what apprise's json:// posts)."""

    def __init__(self, port: int | None = None, *, delay: float = 0.0, status: int = 200) -> None:
        super().__init__(port)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        #: each request's message key header and arrival (monotonic seconds), in the order of ``requests``
        self.key_headers: list[str | None] = []
        self.arrivals: list[float] = []
        self.status = status
        #: set: the next request is held (after it was recorded) until ``release`` is set
        self.hold, self.held, self.release = threading.Event(), threading.Event(), threading.Event()
        lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if delay:
                    threading.Event().wait(delay)
                form = "x-www-form-urlencoded" in self.headers.get("Content-Type", "")
                with lock:
                    hook.requests.append((self.path, _form(body) if form else json.loads(body or b"{}")))
                    hook.key_headers.append(self.headers.get("X-Govflow-Message-Key"))
                    hook.arrivals.append(time.monotonic())
                    holding = hook.hold.is_set()
                    hook.hold.clear()
                if holding:
                    hook.held.set()
                    hook.release.wait(60)
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _HttpServer(("127.0.0.1", self.port), Handler)
        self.start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/govflow/hook?cto=2&rto=3"

    def keys(self) -> list[str]:
        """The message key of every notice received (from the footer govflow adds)."""
        found = []
        for _, body in self.requests:
            m = re.search(r"消息编号 (\S+?)）|message key (\S+?)\)", str(body.get("message", "")))
            assert m, body
            found.append(m.group(1) or m.group(2))
        return found


def _form(body: bytes) -> dict[str, Any]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}


class Smtp(_Server):
    """A minimal SMTP server: EHLO with AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, QUIT; keeps every message."""

    def __init__(self) -> None:
        super().__init__(None)
        self.messages: list[email.message.EmailMessage] = []
        self.logins: list[str] = []
        smtp = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 5

            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 127.0.0.1 govflow-test ESMTP")
                while line := self.rfile.readline(65536):
                    cmd = line.decode(errors="replace").strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.wfile.write(b"250-127.0.0.1\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                    elif verb == "HELO":
                        self.reply("250 127.0.0.1")
                    elif verb == "AUTH":
                        self.auth(cmd.split(" ")[1:])
                    elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        self.data()
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

            def auth(self, args: list[str]) -> None:
                if args[0].upper() == "PLAIN":
                    token = args[1] if len(args) > 1 else self.ask("")
                    smtp.logins.append(base64.b64decode(token).split(b"\0")[1].decode())
                else:
                    smtp.logins.append(base64.b64decode(self.ask("VXNlcm5hbWU6")).decode())
                    self.ask("UGFzc3dvcmQ6")
                self.reply("235 authenticated")

            def ask(self, prompt: str) -> str:
                self.reply(f"334 {prompt}")
                return self.rfile.readline(65536).decode().strip()

            def data(self) -> None:
                lines = []
                while (line := self.rfile.readline(1 << 20)) not in (b".\r\n", b".\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                msg = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                smtp.messages.append(msg)
                self.reply("250 queued")

        self.server = _TcpServer(("127.0.0.1", self.port), Handler)
        self.start()

    def url(self, to: str) -> str:
        return (
            f"mailto://govflow:s3cret-pass@127.0.0.1:{self.port}?mode=insecure"
            f"&from=govflow@example.gov.cn&to={to}&cto=3"
        )


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.stop()


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    s = Smtp()
    yield s
    s.stop()


# ---------------------------------------------------------------------------------------------- helpers


def channel_file(tmp_path: Path, roles: dict[str, Any], name: str = "notify.yaml", **extra: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"roles": roles, **extra}, allow_unicode=True), encoding="utf-8")
    return path


def make_app(db_url: str, engine: Engine, notify_file: Path | None) -> App:
    return App(Settings(database_url=db_url, notify_file=notify_file), engine, clock=lambda: NOW)


def put(
    app: App,
    key: str,
    *,
    topic: str = "overdue",
    role: str = "program_office",
    payload: dict[str, Any] | None = None,
    project: str | None = None,
) -> None:
    body = payload or {"order": f"RO-{key}", "project": "ZJ-2026-003", "deadline": "2026-11-20"}
    with unit_of_work(app.engine) as s:
        assert enqueue(s, key, topic, role, body, project_code=project)


def rows(app: App) -> dict[str, Any]:
    with unit_of_work(app.engine, write=False) as s:
        return {r.key: r for r in s.execute(select(OUTBOX).order_by(OUTBOX.c.id))}


def status_of(app: App) -> dict[str, str]:
    return {k: r.status for k, r in rows(app).items()}


def flow_runs(app: App) -> list[Any]:
    runs = t(FlowRun)
    with unit_of_work(app.engine, write=False) as s:
        return list(s.execute(select(runs).where(runs.c.flow == "dispatch").order_by(runs.c.id)))


RETRY = {"max_attempts": 4, "base_seconds": 60, "max_seconds": 3600}


# ---------------------------------------------------------------------------------------------- delivery


def test_delivers_to_a_real_webhook_and_a_real_mail_server(
    db_url: str, engine: Engine, tmp_path: Path, hook: Hook, smtp: Smtp
) -> None:
    path = channel_file(
        tmp_path, {"program_office": [hook.url], "audit": [smtp.url("sj@example.gov.cn")]}, retry=RETRY
    )
    app = make_app(db_url, engine, path)
    put(app, "overdue/RO-1/program_office", role="program_office")
    put(app, "overdue/RO-1/audit", role="audit")

    result = run_dispatch(app, dispatch.default_notifier(app.settings), now=NOW)

    assert (result.claimed, result.delivered, result.retrying) == (2, 2, 0)
    assert hook.keys() == ["overdue/RO-1/program_office"]
    path_, posted = hook.requests[0]
    assert path_.startswith("/govflow/hook")
    assert "【整改逾期】RO-overdue/RO-1/program_office" in posted["title"]
    assert "733号文 第十一条" in posted["message"] and "致：项目审批部门" in posted["message"]
    [mail] = smtp.messages
    assert smtp.logins == ["govflow"]
    assert mail["To"] == "sj@example.gov.cn" and "govflow@example.gov.cn" in mail["From"]
    assert str(mail["Subject"]).startswith("【整改逾期】")
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "致：审计监察" in text and "消息编号 overdue/RO-1/audit" in text
    final = rows(app)
    assert {r.status for r in final.values()} == {"delivered"}
    assert all(r.delivered_at == NOW and r.attempts == 0 for r in final.values())
    [run] = flow_runs(app)
    assert run.status == "completed" and run.stats["delivered"] == 2


def test_every_notice_carries_its_message_key_in_header_payload_and_text(
    db_url: str, engine: Engine, tmp_path: Path, hook: Hook, smtp: Smtp
) -> None:
    """A receiver can drop a repeat by the message key: webhooks get it as a header and a payload field (json://
    and form://), mail as a header, every channel in the text."""
    form = Hook()
    try:
        form_url = hook.url.replace(
            f"json://127.0.0.1:{hook.port}/govflow/hook", f"form://127.0.0.1:{form.port}/f"
        )
        roles = {"program_office": [hook.url, form_url], "audit": [smtp.url("sj@example.gov.cn")]}
        app = make_app(db_url, engine, channel_file(tmp_path, roles, retry=RETRY))
        key = "overdue/RO-1/第1次&b+c%41"  # not ASCII, and characters a URL or a header would mangle
        put(app, key, role="program_office")
        put(app, "overdue/RO-1/audit", role="audit")

        assert run_dispatch(app, dispatch.default_notifier(app.settings), now=NOW).delivered == 2

        for receiver in (hook, form):
            [(_, posted)] = receiver.requests
            assert posted["govflow_message_key"] == key
            [header] = receiver.key_headers
            assert header is not None and header.isascii() and urllib.parse.unquote(header) == key
            assert receiver.keys() == [key]  # the text's last line
        assert (
            hook.key_headers == [header_value(key)]
            and header_value("overdue/RO-1/audit") == "overdue/RO-1/audit"
        )
        [mail] = smtp.messages
        assert mail["X-Govflow-Message-Key"] == "overdue/RO-1/audit"
    finally:
        form.stop()


ROOT = Path(__file__).resolve().parents[2]
GOVFLOW_RUN = [sys.executable, "-c", "import sys; from govflow.cli import app; sys.exit(app())", "run"]


def dispatch_process(db_url: str, notify_file: Path, cwd: Path) -> subprocess.Popen[str]:
    """``govflow run dispatch --json`` as a real process of this tree's govflow, on the real clock."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVFLOW_")}
    env.update(GOVFLOW_DATABASE_URL=db_url, GOVFLOW_NOTIFY_FILE=str(notify_file), PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [*GOVFLOW_RUN, "dispatch", "--no-prefect", "--json"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out, err)
    result: dict[str, Any] = json.loads(out)
    return result


def test_a_dispatch_killed_mid_delivery_repeats_one_message_once_with_the_same_key_after_the_lease(
    db_url: str, engine: Engine, tmp_path: Path, hook: Hook
) -> None:
    """The duplicate window (README, notifications): a dispatcher SIGKILLed while a receiver holds a message makes
    that one message arrive twice, the second time when its lease has expired, both with the same key; nothing
    else repeats."""
    lease = 10
    notify_file = channel_file(
        tmp_path, {"program_office": [hook.url]}, lease_seconds=lease, timeout_seconds=3, retry=RETRY
    )
    app = make_app(db_url, engine, notify_file)
    keys = [f"overdue/RO-{i}/program_office" for i in range(1, 6)]
    for k in keys:
        put(app, k)

    hook.hold.set()  # the first message reaches the receiver, and its sender is killed before the answer
    killed = dispatch_process(db_url, notify_file, tmp_path)
    if not hook.held.wait(90):
        killed.kill()
        pytest.fail(f"the dispatcher never reached the receiver: {killed.communicate()}")
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=30)
    hook.release.set()
    first = keys[0]
    assert status_of(app)[first] == "sending"

    # at once: nothing; the killed dispatcher's claims (its whole batch) are leased until the lease expires
    assert finish(dispatch_process(db_url, notify_file, tmp_path))["claimed"] == 0
    assert hook.keys() == [first]

    lease_until = rows(app)[first].next_attempt_at
    time.sleep(max(0.0, (lease_until - datetime.now(UTC)).total_seconds()) + 0.5)
    late = finish(dispatch_process(db_url, notify_file, tmp_path))
    assert (late["claimed"], late["reclaimed"], late["delivered"]) == (len(keys), len(keys), len(keys))

    seen = Counter(hook.keys())
    assert seen == Counter([*keys, first])  # one repeat, of the message in flight; the rest came late, once
    repeats = [i for i, (_, body) in enumerate(hook.requests) if body["govflow_message_key"] == first]
    assert [hook.key_headers[i] for i in repeats] == [first, first]
    window = hook.arrivals[repeats[1]] - hook.arrivals[repeats[0]]
    assert lease <= window < lease + 60, window
    assert set(status_of(app).values()) == {"delivered"}
    # and the killed dispatcher's run is no longer "running" (issue 13, item 2)
    assert [r.status for r in flow_runs(app)] == ["crashed", "completed", "completed"]
    assert [r.attempts for r in rows(app).values()] == [1] * len(keys)


def test_a_channel_that_is_down_loses_nothing_and_delivers_once_it_is_up(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    port = free_port()  # nobody listens here yet
    down = f"json://127.0.0.1:{port}/govflow/hook?cto=2&rto=3"
    app = make_app(db_url, engine, channel_file(tmp_path, {"program_office": [down]}, retry=RETRY))
    notifier = dispatch.default_notifier(app.settings)
    put(app, "m1")
    put(app, "m2")

    first = run_dispatch(app, notifier, now=NOW)
    assert (first.claimed, first.retrying, first.delivered) == (2, 2, 0)
    for r in rows(app).values():
        assert (r.status, r.attempts, r.next_attempt_at) == ("pending", 1, NOW + timedelta(seconds=60))
        assert "127.0.0.1" in r.last_error and "FAILURE" in r.last_error

    assert run_dispatch(app, notifier, now=NOW + timedelta(seconds=59)).claimed == 0  # backoff holds

    second = run_dispatch(app, notifier, now=NOW + timedelta(seconds=60))
    assert second.retrying == 2
    r = rows(app)["m1"]
    assert (r.attempts, r.next_attempt_at) == (2, NOW + timedelta(seconds=60 + 120))  # base · 2^1

    hook = Hook(port)
    try:
        third = run_dispatch(app, notifier, now=NOW + timedelta(seconds=180))
        assert (third.claimed, third.delivered) == (2, 2)
        for k in range(1, 6):  # rerunning never sends a delivered message again
            assert run_dispatch(app, notifier, now=NOW + timedelta(hours=k)).claimed == 0
        assert sorted(hook.keys()) == ["m1", "m2"]
    finally:
        hook.stop()
    assert status_of(app) == {"m1": "delivered", "m2": "delivered"}
    assert rows(app)["m1"].attempts == 2


def test_an_endpoint_answering_500_is_a_failed_attempt(db_url: str, engine: Engine, tmp_path: Path) -> None:
    hook = Hook(status=500)
    try:
        app = make_app(db_url, engine, channel_file(tmp_path, {"program_office": [hook.url]}, retry=RETRY))
        put(app, "m1")
        res = run_dispatch(app, dispatch.default_notifier(app.settings), now=NOW)
        assert (res.retrying, res.delivered) == (1, 0)
        assert len(hook.requests) == 1 and rows(app)["m1"].status == "pending"
        hook.status = 200
        res = run_dispatch(app, dispatch.default_notifier(app.settings), now=NOW + timedelta(minutes=1))
        assert res.delivered == 1 and len(hook.requests) == 2
    finally:
        hook.stop()


def test_gives_up_after_max_attempts_and_an_operator_can_retry(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    retry = {"max_attempts": 3, "base_seconds": 10, "max_seconds": 15}
    app = make_app(
        db_url, engine, channel_file(tmp_path, {"program_office": ["json://127.0.0.1:9/x"]}, retry=retry)
    )
    fake = FakeNotifier()
    fake.fail("通道故障 / outage")
    put(app, "m1")
    waits = []
    at = NOW
    for _ in range(3):
        run_dispatch(app, fake, now=at)
        r = rows(app)["m1"]
        waits.append(None if r.next_attempt_at is None else (r.next_attempt_at - at).total_seconds())
        at = r.next_attempt_at or at
    assert waits == [10, 15, None]  # 10 · 2^0, min(10 · 2^1, 15), then given up
    r = rows(app)["m1"]
    assert (r.status, r.attempts) == ("failed", 3) and "通道故障" in r.last_error
    assert run_dispatch(app, fake, now=NOW + timedelta(days=1)).claimed == 0  # failed stays failed

    assert retry_messages(app, None, all_failed=True) == ["m1"]
    fake.heal()
    assert run_dispatch(app, fake, now=NOW + timedelta(days=1)).delivered == 1
    assert fake.keys() == ["m1"] and rows(app)["m1"].status == "delivered"
    with pytest.raises(RuleRefused, match="已送达的消息不再重复发送"):
        retry_messages(app, None, key="m1")
    with pytest.raises(NotFound):
        retry_messages(app, None, key="nope")
    with pytest.raises(UsageError):
        retry_messages(app, None, key="m1", all_failed=True)


def test_a_role_without_a_channel_is_skipped_visibly_and_not_retried_by_itself(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    path = channel_file(tmp_path, {"program_office": ["json://127.0.0.1:9/po"]})
    app = make_app(db_url, engine, path)
    fake = FakeNotifier()
    put(app, "to-audit", role="audit")
    put(app, "to-po", role="program_office")

    res = run_dispatch(app, fake, now=NOW)
    assert (res.skipped, res.delivered) == (1, 1)
    r = rows(app)["to-audit"]
    assert (
        r.status == "skipped" and r.attempts == 0 and r.last_error.startswith("no_channel: 角色「审计监察」")
    )
    assert run_dispatch(app, fake, now=NOW + timedelta(days=1)).claimed == 0

    channel_file(tmp_path, {"program_office": ["json://127.0.0.1:9/po"], "audit": ["json://127.0.0.1:9/au"]})
    assert retry_messages(app, None, all_skipped=True) == ["to-audit"]
    assert run_dispatch(app, fake, now=NOW + timedelta(days=1)).delivered == 1
    assert fake.keys("json://127.0.0.1:9/au") == ["to-audit"] and fake.keys() == ["to-po", "to-audit"]


def test_without_a_channel_file_messages_stay_pending(
    db_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(db_url, engine, None)
    put(app, "m1")
    put(app, "m2")
    fake = FakeNotifier()
    res = run_dispatch(app, fake, now=NOW)
    assert res == DispatchResult(configured=False, waiting=2)
    assert fake.attempts == [] and status_of(app) == {"m1": "pending", "m2": "pending"}
    assert all(r.attempts == 0 and r.delivered_at is None for r in rows(app).values())
    assert "未配置通知渠道文件（GOVFLOW_NOTIFY_FILE）：2 条到期消息保持待发送" in caplog.text
    assert flow_runs(app)[0].stats["waiting"] == 2


def test_department_messages_go_to_the_lead_department_channel(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    own, default = "json://127.0.0.1:9/dsj", "json://127.0.0.1:9/default"
    app = make_app(
        db_url, engine, channel_file(tmp_path, {"department": {"default": [default], DEPT_A: [own]}})
    )
    with unit_of_work(app.engine) as s:
        ids = {}
        for code in (DEPT_A, DEPT_B):
            ids[code] = s.execute(
                insert(t(Department))
                .values(code=code, name=code, region="330000", level="provincial")
                .returning(t(Department).c.id)
            ).scalar_one()
        for code, lead in (("P-A", DEPT_A), ("P-B", DEPT_B)):
            s.execute(
                insert(t(Project)).values(
                    code=code,
                    name=code,
                    lead_department_id=ids[lead],
                    phase="operation",
                    om_budget=Decimal("0.00"),
                    created_at=NOW,
                    last_event_at=NOW,
                )
            )
    put(app, "a-by-payload", role="department", payload={"project": "P-B", "department": DEPT_A})
    put(app, "b-by-payload", role="department", payload={"project": "P-A", "department": DEPT_B})
    put(app, "a-by-project", role="department", payload={"order": "RO-P-A-01"}, project="P-A")
    put(app, "b-by-project", role="department", payload={"order": "RO-P-B-01"}, project="P-B")
    put(app, "nobody", role="department", payload={"order": "x"})
    fake = FakeNotifier()
    assert run_dispatch(app, fake, now=NOW).delivered == 5
    assert fake.keys(own) == ["a-by-payload", "a-by-project"]
    assert fake.keys(default) == ["b-by-payload", "b-by-project", "nobody"]


# ---------------------------------------------------------------------------------------------- never twice


def test_two_concurrent_dispatchers_send_each_message_once(db_url: str, tmp_path: Path) -> None:
    hook = Hook(delay=0.01)
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        path = channel_file(tmp_path, {"program_office": [hook.url]})
        apps = [App(Settings(database_url=db_url, notify_file=path), e, clock=lambda: NOW) for e in engines]
        keys = [f"m{i:03d}" for i in range(60)]
        for k in keys:
            put(apps[0], k)
        start = threading.Barrier(2, timeout=10)
        results: list[DispatchResult] = []
        errors: list[BaseException] = []

        def work(app: App) -> None:
            try:
                notifier = dispatch.default_notifier(app.settings)
                start.wait()
                results.append(run_dispatch(app, notifier, now=NOW))
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(a,)) for a in apps]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        assert not errors, errors
        assert sorted(hook.keys()) == keys, Counter(hook.keys()).most_common(3)
        assert all(r.claimed > 0 for r in results), f"the dispatchers did not overlap: {results}"
        assert sum(r.delivered for r in results) == 60 and all(r.duplicates == 0 for r in results)
        assert set(status_of(apps[0]).values()) == {"delivered"}
        for app in apps:  # and again, both at once, much later: nothing is sent twice
            run_dispatch(app, dispatch.default_notifier(app.settings), now=NOW + timedelta(days=1))
        assert len(hook.requests) == 60
    finally:
        hook.stop()
        for e in engines:
            e.dispose()


class CrashAfterSend:
    """Sends for real, then the process "dies" before the outcome is written."""

    def __init__(self, inner: AppriseNotifier) -> None:
        self.inner = inner

    def send(self, message: Notice, channels: Sequence[str]) -> None:
        self.inner.send(message, channels)
        raise KeyboardInterrupt("simulated crash between send and mark")


def test_a_crash_between_send_and_mark_resends_once_after_the_lease(
    db_url: str, engine: Engine, tmp_path: Path, hook: Hook
) -> None:
    app = make_app(db_url, engine, channel_file(tmp_path, {"program_office": [hook.url]}, lease_seconds=300))
    put(app, "m1")
    notifier = dispatch.default_notifier(app.settings)
    assert isinstance(notifier, AppriseNotifier)
    with pytest.raises(KeyboardInterrupt):
        run_dispatch(app, CrashAfterSend(notifier), now=NOW)
    r = rows(app)["m1"]
    assert (r.status, r.attempts, r.next_attempt_at) == ("sending", 0, NOW + timedelta(seconds=300))
    assert flow_runs(app)[-1].status == "failed"

    assert run_dispatch(app, notifier, now=NOW + timedelta(seconds=299)).claimed == 0  # the lease holds
    assert hook.keys() == ["m1"]

    res = run_dispatch(app, notifier, now=NOW + timedelta(seconds=300))
    assert (res.reclaimed, res.delivered) == (1, 1)
    assert hook.keys() == ["m1", "m1"]  # at least once: the crash made it twice, and no more
    r = rows(app)["m1"]
    assert (r.status, r.attempts) == ("delivered", 1) and "租约过期" in r.last_error
    run_dispatch(app, notifier, now=NOW + timedelta(days=1))
    assert len(hook.requests) == 2


def test_an_expired_lease_counts_as_an_attempt_and_can_exhaust_them(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    retry = {"max_attempts": 2, "base_seconds": 1, "max_seconds": 1}
    app = make_app(db_url, engine, channel_file(tmp_path, {"audit": ["json://127.0.0.1:9/a"]}, retry=retry))
    put(app, "poison", role="audit")
    with unit_of_work(app.engine) as s:  # a sender died holding it, twice over
        s.execute(OUTBOX.update().values(status="sending", attempts=1, next_attempt_at=NOW))
    res = run_dispatch(app, FakeNotifier(), now=NOW)
    assert (res.reclaimed, res.failed, res.claimed) == (1, 1, 0)
    assert rows(app)["poison"].status == "failed"


def test_a_partial_outage_does_not_notify_the_working_channel_twice(
    db_url: str, engine: Engine, tmp_path: Path, hook: Hook
) -> None:
    port = free_port()
    down = f"json://127.0.0.1:{port}/second?cto=2&rto=3"
    app = make_app(db_url, engine, channel_file(tmp_path, {"program_office": [hook.url, down]}, retry=RETRY))
    notifier = dispatch.default_notifier(app.settings)
    put(app, "m1")
    assert run_dispatch(app, notifier, now=NOW).retrying == 1
    r = rows(app)["m1"]
    assert r.payload["_dispatch"] == {"delivered": [channel_id(hook.url)]}
    assert "s3cret" not in r.last_error and f"127.0.0.1:{port}" in r.last_error
    second = Hook(port)
    try:
        assert run_dispatch(app, notifier, now=NOW + timedelta(minutes=1)).delivered == 1
        assert hook.keys() == ["m1"] and second.keys() == ["m1"]
    finally:
        second.stop()


def test_a_send_the_lease_could_not_cover_is_handed_back_unsent(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    app = make_app(
        db_url, engine, channel_file(tmp_path, {"audit": ["json://127.0.0.1:9/a"]}, lease_seconds=300)
    )
    ticks = iter(NOW + timedelta(seconds=290 * i) for i in range(100))
    app.clock = lambda: next(ticks)  # every reading 290 s later: the claim's lease runs out before the send
    put(app, "slow", role="audit")
    fake = FakeNotifier()
    res = run_dispatch(app, fake)
    assert (res.claimed, res.released) == (1, 1)
    r = rows(app)["slow"]
    assert (r.status, r.attempts, r.next_attempt_at) == ("pending", 0, None) and fake.attempts == []


def test_limit_bounds_one_run(db_url: str, engine: Engine, tmp_path: Path) -> None:
    app = make_app(db_url, engine, channel_file(tmp_path, {"audit": ["json://127.0.0.1:9/a"]}))
    for i in range(45):
        put(app, f"m{i:02d}", role="audit")
    fake = FakeNotifier()
    assert run_dispatch(app, fake, now=NOW, limit=25).delivered == 25
    assert fake.keys() == [f"m{i:02d}" for i in range(25)]
    assert run_dispatch(app, fake, now=NOW).delivered == 20
    with pytest.raises(UsageError):
        run_dispatch(app, fake, now=NOW, limit=0)


# ---------------------------------------------------------------------------------------------- channel file


BAD_FILES: dict[str, tuple[str, str]] = {
    "unknown-role": ("roles: {auditor: ['json://h/p']}", "roles.auditor：未知角色"),
    "scheme": ("roles: {audit: ['ftp://h/p']}", "不支持的渠道类型 ftp://"),
    "not-a-url": ("roles: {audit: ['just text']}", "不是渠道地址"),
    "optional": ("roles: {audit: ['json://h/p?optional=yes']}", "optional=yes：发送失败会被当作成功"),
    "retry-param": ("roles: {audit: ['json://h/p?retry=3']}", "重试由 govflow 发件箱负责"),
    "placeholder": ("roles: {audit: ['dingtalk://CHANGE-ME-TOKEN']}", "仍是示例占位符"),
    "dept-code": ("roles: {department: {'123': ['json://h/p']}}", "统一社会信用代码“123”无效"),
    "not-a-list": ("roles: {audit: 'json://h/p'}", "roles.audit：须为列表"),
    "attempts": ("retry: {max_attempts: 0}", "retry.max_attempts：须 ≥ 1"),
    "retry-order": ("retry: {base_seconds: 100, max_seconds: 10}", "retry.max_seconds 不得小于"),
    "lease": ("lease_seconds: 5", "lease_seconds：须 ≥ 10"),
    "lease-vs-timeout": ("lease_seconds: 20\ntimeout_seconds: 30", "lease_seconds 须大于 timeout_seconds"),
    "lease-vs-channels": (
        "lease_seconds: 50\ntimeout_seconds: 20\nroles: {audit: ['json://a/1', 'json://b/2', 'json://c/3']}",
        "20 × 3",
    ),
    "lang": ("lang: fr", "lang：取值无效"),
    "top-level": ("- a\n- b", "须为映射"),
    "unknown-key": ("channels: {}", "channels：不允许的字段"),
    "broken-yaml": ("roles: {audit: [", "无法读取通知渠道配置文件"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_channel_file_is_refused_with_a_chinese_message(case: str, tmp_path: Path) -> None:
    text, expected = BAD_FILES[case]
    path = tmp_path / "notify.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as err:
        load_config(path)
    assert expected in err.value.message, err.value.message
    assert err.value.exit_code == 2 and err.value.message_en != err.value.message


def test_refusals_never_print_a_secret(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text(
        "roles: {audit: ['mailto://u:TopSecret42@mail.example.gov.cn?optional=yes', 'dingtalk://abcdef0123?retry=2']}"
    )
    with pytest.raises(UsageError) as err:
        load_config(path)
    text = err.value.message + err.value.message_en
    assert "mailto://mail.example.gov.cn（ch-" in text and "dingtalk://***（ch-" in text
    assert "TopSecret42" not in text and "abcdef0123" not in text


def test_a_url_apprise_cannot_build_is_refused_before_anything_is_claimed(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    app = make_app(db_url, engine, channel_file(tmp_path, {"audit": ["dingtalk://not_a_token!"]}))
    put(app, "m1", role="audit")
    with pytest.raises(UsageError, match="apprise 无法识别渠道地址 dingtalk://"):
        dispatch.default_notifier(app.settings)
    app.settings.notify_file.write_text("roles: {audit: [", encoding="utf-8")  # type: ignore[union-attr]
    with pytest.raises(UsageError):
        run_dispatch(app, FakeNotifier(), now=NOW)
    assert rows(app)["m1"].status == "pending" and rows(app)["m1"].attempts == 0
    [run] = flow_runs(app)
    assert run.status == "failed" and "UsageError" in run.error


def test_the_example_file_documents_every_channel_kind_and_refuses_its_placeholders() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for scheme in (
        "dingtalk://",
        "wecombot://",
        "feishu://",
        "mailto://",
        "mailtos://",
        "jsons://",
        "forms://",
    ):
        assert scheme in text
    with pytest.raises(UsageError, match="仍是示例占位符"):
        load_config(EXAMPLE)
    filled = re.sub(r"CHANGE-ME[A-Z-]*", "abc123def456", text)
    config = parse_config(yaml.safe_load(filled), "filled example")
    AppriseNotifier.from_config(config)  # apprise accepts every channel once the placeholders are replaced
    assert config.channels_for("department", DEPT_A) != config.channels_for("department", DEPT_B)
    assert (config.retry.max_attempts, config.lease_seconds, config.lang) == (8, 300, "zh")


def test_the_apprise_notifier_reports_which_channels_accepted(hook: Hook) -> None:
    notifier = AppriseNotifier(timeout_seconds=5)
    down = f"json://127.0.0.1:{free_port()}/x?cto=1&rto=1"
    message = Notice("k1", "test", "audit", "【测试】标题", "正文（govflow 自动通知，消息编号 k1）")
    with pytest.raises(DeliveryFailed) as err:
        notifier.send(message, [hook.url, down])
    assert err.value.delivered == (hook.url,)
    assert err.value.reason.startswith(f"json://127.0.0.1:{down.split(':')[2].split('/')[0]}（ch-")
    notifier.send(message, [hook.url])  # the cached Apprise object is reused
    assert hook.keys() == ["k1", "k1"]

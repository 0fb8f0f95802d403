"""The in-process ``govflow`` harness every CLI test uses (fixtures in ``conftest.py``): ``cli("project", "show", "X", "--json")``.

:func:`make_cli` (and the ``cli`` fixture, on ``db_url``: SQLite and PostgreSQL)

* pins the application clock: each reading is ``cli.start`` plus one second more than the last (``tick=False``:
  always ``cli.start``), so that date-dependent rules do not drift with the wall clock; ``cli.pin = False`` gives
  the real clock back, for data that real processes then act on;
* gives each command its own engine on SQLite, disposed after it, and one engine per test on PostgreSQL (a new
  server connection per command costs more than the command);
* shortens SQLite's busy timeout from 30 s to 0.3 s: in-process commands never contend, so any wait on the lock
  is a transaction waiting for itself, which should fail fast instead of hanging for half a minute;
* builds typer's click command once (typer's ``CliRunner`` rebuilds it on every call: 4/5 of a run's time);
* re-raises an exception a command did not turn into an exit code: a traceback is a defect, never an outcome.

``cli.env`` adds settings to every command (``GOVFLOW_NOTIFY_FILE`` …); ``prefix`` puts a command group in front
of every call (``Cli(url, prefix=("order",))``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
import typer.testing
from sqlalchemy import Engine, event
from typer.testing import CliRunner

from govflow.cli import app as govflow_app
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import make_engine
from govflow.settings import Settings

#: the demo portfolio's "today": 2026-11-26 09:00 in Beijing
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@dataclass
class Run:
    """What one command did: its exit code and its two streams."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:  # pragma: no cover - shown when a test fails
            raise AssertionError(f"not JSON: {self}") from exc

    def expect(self, code: int) -> Run:
        assert self.exit_code == code, f"expected exit {code}: {self}"
        return self

    def __str__(self) -> str:
        return (
            f"govflow {' '.join(self.args)} -> exit {self.exit_code}\n--- stdout:\n{self.stdout}"
            f"\n--- stderr:\n{self.stderr}"
        )


@dataclass
class Cli:
    """``govflow`` in-process on one database."""

    db_url: str | None
    start: datetime = NOW
    tick: bool = True
    pin: bool = True
    prefix: tuple[str, ...] = ()
    env: dict[str, str | None] = field(default_factory=dict)
    runner: CliRunner = field(default_factory=CliRunner)
    engines: list[Engine] = field(default_factory=list)
    server: Engine | None = None
    ticks: int = 0

    def now(self) -> datetime:
        if not self.tick:
            return self.start
        self.ticks += 1
        return self.start + timedelta(seconds=self.ticks)

    def __call__(self, *args: str | Path, lang: str | None = None) -> Run:
        argv = (*self.prefix, *(str(a) for a in args))
        env = {"GOVFLOW_DATABASE_URL": self.db_url, "GOVFLOW_LANG": lang, "GOVFLOW_CALENDAR_FILE": None}
        try:
            res = self.runner.invoke(govflow_app, list(argv), env=env | self.env)
        finally:
            while self.engines:
                self.engines.pop().dispose()
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            raise res.exception
        return Run(argv, res.exit_code, res.stdout, res.stderr)

    def json(self, *args: str | Path, code: int = 0, lang: str | None = None) -> Any:
        return self(*args, "--json", lang=lang).expect(code).json()

    def app(self) -> App:
        """An application object on the same database and clock, for a second actor inside one test."""
        application = App(Settings(database_url=self.db_url or ""), make_engine(self.db_url or ""), self.now)
        self.engines.append(application.engine)
        return application

    def close(self) -> None:
        if self.server is not None:
            self.server.dispose()


def _short_busy_timeout(dbapi_connection: Any, connection_record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA busy_timeout=300")
    cur.close()


@functools.cache
def click_command(typer_app: typer.Typer) -> Any:
    """The click command typer builds from the app: building it takes 4/5 of an in-process run, and the app
    does not change, so it is built once (typer's CliRunner would rebuild it for every invocation)."""
    return typer.main.get_command(typer_app)


def make_cli(db_url: str | None, monkeypatch: pytest.MonkeyPatch, **options: Any) -> Cli:
    """A :class:`Cli` on ``db_url``; every ``App.from_settings`` of the test gets its clock and engine policy."""
    runner = Cli(db_url, **options)
    monkeypatch.setattr(typer.testing, "_get_command", click_command, raising=False)
    original = services.App.from_settings

    def from_settings(cls: type[App], settings: Settings) -> App:
        application = original(settings)
        if runner.pin:
            application.clock = runner.now
        if application.engine.dialect.name == "sqlite":
            runner.engines.append(application.engine)
            # listeners run in registration order: this one after models.db's 30 s busy_timeout
            event.listen(application.engine, "connect", _short_busy_timeout)
        else:
            # a new server connection per command costs more than the command: one engine per test
            application.engine.dispose()
            if runner.server is None:
                runner.server = make_engine(settings.database_url)
            application.engine = runner.server
        return application

    monkeypatch.setattr(services.App, "from_settings", classmethod(from_settings))
    return runner

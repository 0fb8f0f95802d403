"""What every CLI command shares: settings and language, output for people (rich) and machines (--json),
and the mapping of govflow errors onto the exit codes of SPEC §5."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from govflow.lifecycle.services import App
from govflow.settings import Settings
from govflow.states.errors import GovflowError, RuleRefused

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class State:
    settings: Settings
    lang: str
    _app: App | None = None

    @property
    def app(self) -> App:
        """The app of the command. Its first unit of work refuses (exit 2, naming `govflow init`) a database that
        was never initialised or is behind the installed migrations; ``init`` and ``demo`` migrate first."""
        if self._app is None:
            self._app = App.from_settings(self.settings)
        return self._app

    def close(self) -> None:
        """Return the database connections when the command ends (a long-lived caller may run many)."""
        if self._app is not None:
            self._app.engine.dispose()

    def tr(self, zh: str, en: str) -> str:
        return en if self.lang == "en" else zh


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("CLI state missing")
    return obj


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, Enum):
        return o.value
    if isinstance(o, set | frozenset | tuple):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_default)


def emit_json(data: Any) -> None:
    sys.stdout.write(dumps(data) + "\n")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    tab = Table(title=title, show_lines=False)
    for c in columns:
        tab.add_column(c, overflow="fold")
    for r in rows:
        tab.add_row(*["" if v is None else str(v) for v in r])
    out.print(tab)


def print_reasons(st: State, reasons: Any, *, to_err: bool = True) -> None:
    console = err if to_err else out
    for r in reasons:
        where = f" [{r.path}]" if getattr(r, "path", None) else ""
        console.print(f"  - {r.text(st.lang)}{where}  ({r.clause})", markup=False)


def fail(st: State, exc: GovflowError, as_json: bool) -> NoReturn:
    if as_json:
        body: dict[str, Any] = {"error": exc.code, "message": exc.text(st.lang)}
        if isinstance(exc, RuleRefused):
            body = {"refused": True, "error": exc.code, "reasons": [r.to_dict(st.lang) for r in exc.reasons]}
        emit_json(body)
    else:
        if isinstance(exc, RuleRefused):
            err.print(st.tr("被规则拒绝：", "Refused:"), style="bold red")
            print_reasons(st, exc.reasons)
        else:
            err.print(exc.text(st.lang), style="bold red", markup=False)
    raise typer.Exit(exc.exit_code)


@contextmanager
def guarded(ctx: typer.Context, as_json: bool = False) -> Iterator[State]:
    """Run a command body; turn govflow errors into messages and exit codes."""
    st = state(ctx)
    try:
        yield st
    except GovflowError as exc:
        fail(st, exc, as_json)


JsonOpt = typer.Option(False, "--json", help="输出 JSON（供程序使用） / machine-readable JSON output")
AsOpt = typer.Option(None, "--as", help="以该用户身份操作（权限按其角色判断） / act as this user")


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{option} 须为 YYYY-MM-DD 日期 / must be YYYY-MM-DD: {value}") from exc


Command = Callable[..., Any]

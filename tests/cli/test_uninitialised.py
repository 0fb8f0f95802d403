"""Every command on a database that `govflow init` never prepared says so (exit 2) — never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from govflow.cli import app

#: one invocation of every command that reads or writes govflow's tables (init, demo, schema, diagram and
#: calendar arithmetic do not need an initialised database)
COMMANDS: list[list[str]] = [
    ["project", "list"],
    ["project", "show", "ZJ-2026-001", "--json"],
    ["project", "history", "ZJ-2026-001"],
    ["event", "ZJ-2026-001", "intake", "--as", "wang"],
    ["load", "{file}"],
    ["audit", "verify"],
    ["review", "add", "ZJ-2026-001", "--as", "p", "--stage", "proposal", "-j", "agreement=met"],
    ["opinion", "add", "ZJ-2026-001", "--as", "wang", "--department", "x", "--verdict", "agree"],
    ["user", "add", "zhao", "--role", "audit"],
    ["user", "deactivate", "zhao", "--reason", "调离"],
    ["catalog", "import", "ZJ-2026-001", "{catalog}", "--as", "li"],
    ["evidence", "import", "{file}"],
    ["agreement", "add", "ZJ-2026-001", "{file}", "--as", "li"],
    [
        "needs",
        "set",
        "ZJ-2026-001",
        "--as",
        "li",
        "--internal",
        "a",
        "--external",
        "b",
        "--central-local",
        "c",
    ],
    ["run", "sweep", "--as-of", "2026-11-26", "--no-prefect"],
    ["run", "all", "--as-of", "2026-11-26", "--no-prefect", "--json"],
    ["order", "list", "--json"],
    ["order", "show", "RO-1"],
    ["cuts", "list", "--period", "2026"],
    ["report", "overdue", "--as-of", "2026-11-26", "--format", "json"],
    ["report", "portfolio", "--as-of", "2026-11-26"],
    ["policy", "show"],
    ["notify", "status"],
    ["serve", "--port", "8765"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_command_on_an_uninitialised_database_asks_for_init(
    command: list[str], empty_db_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "input.yaml"
    file.write_text("departments: []\n", encoding="utf-8")
    catalog = (
        Path(__file__).resolve().parents[1] / "data" / "catalog.csv"
    )  # a valid file: input is checked first
    args = [a.replace("{file}", str(file)).replace("{catalog}", str(catalog)) for a in command]
    result = CliRunner().invoke(app, args, env={"GOVFLOW_DATABASE_URL": empty_db_url, "GOVFLOW_LANG": "zh"})
    output = result.output
    assert result.exit_code == 2, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "govflow init" in output and "Traceback" not in output, output
    assert "数据库尚未初始化" in output or "尚未初始化" in output, output


def test_english_and_no_file_left_behind(tmp_path: Path) -> None:
    """On SQLite, asking does not create the database file a mistyped path would otherwise leave behind."""
    url = f"sqlite:///{tmp_path / 'nowhere.db'}"
    result = CliRunner().invoke(app, ["--lang", "en", "project", "list"], env={"GOVFLOW_DATABASE_URL": url})
    assert result.exit_code == 2, result.output
    assert "has not been initialised" in result.output and "govflow init" in result.output
    assert not (tmp_path / "nowhere.db").exists()


def test_a_database_behind_the_installed_migrations_asks_for_init(db_url: str) -> None:
    from govflow.models import migrate
    from govflow.models.db import make_engine

    engine = make_engine(db_url)
    try:
        migrate.downgrade(engine, "0005")
    finally:
        engine.dispose()
    result = CliRunner().invoke(app, ["project", "list"], env={"GOVFLOW_DATABASE_URL": db_url})
    assert result.exit_code == 2, result.output
    assert "0005" in result.output and "govflow init" in result.output
    assert CliRunner().invoke(app, ["init"], env={"GOVFLOW_DATABASE_URL": db_url}).exit_code == 0
    assert CliRunner().invoke(app, ["project", "list"], env={"GOVFLOW_DATABASE_URL": db_url}).exit_code == 0

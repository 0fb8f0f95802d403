"""`govflow report …` through typer's CliRunner on SQLite and PostgreSQL: shapes of SPEC §7, formats, exit codes.

The shared harness (``tests/cli/harness.py``) pins the application clock, so that the default ``--as-of`` — today
in Beijing — is known.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pandas as pd  # type: ignore[import-untyped]
import pytest
from sqlalchemy import insert, select

from govflow.demo import demo_portfolio
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import make_engine, unit_of_work
from govflow.models.facts import t
from govflow.models.tables import CutRecommendation, Project, RectificationOrder
from govflow.settings import Settings

from .harness import NOW, Cli, make_cli


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The harness on a seeded database, its clock standing still at ``cli.start`` (NOW unless a test moves it)."""
    runner = make_cli(db_url, monkeypatch, tick=False)
    engine = make_engine(db_url)
    try:
        seed(App(Settings(database_url=db_url), engine, clock=lambda: NOW))
    finally:
        engine.dispose()
    yield runner
    runner.close()


def seed(app: App) -> None:
    """The demo portfolio, two overdue orders and two cut recommendations of 2026."""
    services.load_portfolio(app, demo_portfolio(), None)
    p, ro, cut = t(Project), t(RectificationOrder), t(CutRecommendation)
    with unit_of_work(app.engine) as s:
        ids = {str(c): int(i) for i, c in s.execute(select(p.c.id, p.c.code))}
        s.execute(
            insert(ro),
            [
                order(ids["ZJ-2026-005"], "RO-ZJ-2026-005-01", date(2026, 9, 1), date(2026, 9, 30)),
                order(ids["ZJ-2026-004"], "RO-ZJ-2026-004-01", date(2026, 10, 29), date(2026, 11, 26)),
            ],
        )
        s.execute(
            insert(cut),
            [
                recommendation(ids["ZJ-2026-005"], "10.00", "800000.00", "80000.00"),
                recommendation(ids["ZJ-2026-004"], "5.00", "900000.00", "45000.00"),
            ],
        )


def order(project_id: int, code: str, notice: date, deadline: date) -> dict[str, Any]:
    return {
        "code": code,
        "project_id": project_id,
        "origin": "finding",
        "reasons": [],
        "notice_date": notice,
        "workdays": 20,
        "deadline": deadline,
        "status": "overdue",
        "policy_version": "2026.1",
    }


def recommendation(project_id: int, percent: str, base: str, amount: str) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "period": "2026",
        "as_of": date(2026, 11, 2),
        "policy_version": "2026.1",
        "percent": Decimal(percent),
        "base_budget": Decimal(base),
        "amount": Decimal(amount),
        "reasons": [],
        "evidence": {"coverage": "0.50", "orders": []},
        "status": "proposed",
    }


def test_the_cli_offers_exactly_the_formats_render_knows() -> None:
    from govflow.cli.report import Fmt
    from govflow.reads.reports import Format

    assert [f.value for f in Fmt] == [f.value for f in Format]


def has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


# ---------------------------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", [[], ["overdue"], ["cuts"], ["portfolio"]])
def test_every_report_command_has_zh_help(cli: Cli, command: list[str]) -> None:
    res = cli("report", *command, "--help").expect(0)
    assert has_cjk(res.stdout) and "Usage" in res.stdout
    if command:
        assert "--as-of" in res.stdout and "--format" in res.stdout and "--output" in res.stdout


# ---------------------------------------------------------------------------------------------- shapes


def test_overdue_json_is_the_spec_shape(cli: Cli) -> None:
    rows = cli("report", "overdue", "--as-of", "2026-10-20", "--format", "json").expect(0).json()
    assert rows == [
        {
            "project": "ZJ-2026-005",
            "project_name": "浙江省公共信用信息平台（升级改造）",
            "department": "11330000GF00000014",
            "department_name": "浙江省发展和改革委员会",
            "order": "RO-ZJ-2026-005-01",
            "origin": "finding",
            "notice_date": "2026-09-01",
            "deadline": "2026-09-30",
            "overdue_workdays": 10,  # 国庆 10-1 … 10-7 off, Saturday 10-10 worked
            "escalation_level": 2,
            "escalation": "督办",
            "status": "overdue",
            "clause": "733号文 第十一条",
        }
    ]
    assert cli("report", "overdue", "--as-of", "2026-10-20", "--json").expect(0).json() == rows


def test_as_of_defaults_to_today_in_beijing(cli: Cli) -> None:
    cli.start = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # already Friday 11-27, 01:00 in Beijing
    rows = cli("report", "overdue", "--json").expect(0).json()
    assert [(r["order"], r["overdue_workdays"]) for r in rows] == [
        ("RO-ZJ-2026-005-01", 38),  # 18 working days in October after 国庆, 20 in November
        ("RO-ZJ-2026-004-01", 1),  # due 11-26: overdue on Beijing's 11-27, not yet on UTC's 11-26
    ]
    assert (
        cli("report", "overdue", "--as-of", "2026-11-26", "--json").expect(0).json()[-1]["order"]
        == "RO-ZJ-2026-005-01"
    )


def test_cuts_json_is_the_spec_shape(cli: Cli) -> None:
    rows = cli("report", "cuts", "--period", "2026", "--format", "json").expect(0).json()
    assert [(r["project"], r["percent"], r["amount"]) for r in rows] == [
        ("ZJ-2026-005", "10.00", "80000.00"),
        ("ZJ-2026-004", "5.00", "45000.00"),
    ]
    assert all(r["clause"] == "733号文 第十一条" and isinstance(r["evidence"], dict) for r in rows)
    assert rows[0]["status"] == "proposed" and rows[0]["base_budget"] == "800000.00"
    assert cli("report", "cuts", "--json").expect(0).json() == rows  # the period defaults to this year
    assert cli("report", "cuts", "--period", "2026", "--as-of", "2026-11-01", "--json").expect(0).json() == []
    assert cli("report", "cuts", "--period", "2025", "--json").expect(0).json() == []


def test_portfolio_json_table_and_english(cli: Cli) -> None:
    rows = cli("report", "portfolio", "--as-of", "2026-11-26", "--json").expect(0).json()
    assert (rows[-1]["department"], rows[-1]["department_name"]) == (None, "total")
    assert (rows[-1]["draft"], rows[-1]["construction"], rows[-1]["operation"], rows[-1]["total"]) == (
        3,
        1,
        1,
        5,
    )
    table = cli("report", "portfolio", "--as-of", "2026-11-26").expect(0).stdout
    assert "项目组合（截至 2026-11-26）" in table and "合计" in table and "编制中" in table
    assert "建议书评审中" not in table  # phases nobody is in stay out of the terminal table
    english = cli("--lang", "en", "report", "portfolio", "--as-of", "2026-11-26").expect(0).stdout
    assert "Portfolio as of 2026-11-26" in english and "Total" in english and "Draft" in english
    assert cli("report", "portfolio", "--as-of", "2026-11-25", "--json").expect(0).json()[-1]["total"] == 0


# ---------------------------------------------------------------------------------------------- files


def test_json_csv_and_xlsx_from_the_cli_carry_the_same_numbers(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = cli("report", "overdue", "--as-of", "2026-11-27", "--json").expect(0).json()
    csv_text = cli("report", "overdue", "--as-of", "2026-11-27", "--format", "csv").expect(0).stdout
    assert not csv_text.startswith("\ufeff")  # stdout: no BOM (it would corrupt the first header in a pipe)
    csv = pd.read_csv(io.StringIO(csv_text), dtype=str)
    assert list(csv.columns[:4]) == ["项目编号", "项目名称", "牵头部门代码", "牵头部门"]
    assert csv["逾期工作日数"].astype(int).tolist() == [r["overdue_workdays"] for r in rows]
    assert csv["整改期限"].tolist() == [r["deadline"] for r in rows]
    assert set(csv["状态"]) == {"已逾期"}

    res = cli(
        "report", "overdue", "--as-of", "2026-11-27", "-f", "csv", "-o", str(tmp_path / "o.csv")
    ).expect(0)
    assert str(tmp_path / "o.csv") in res.stdout
    assert (tmp_path / "o.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    monkeypatch.chdir(tmp_path)
    res = cli("report", "cuts", "--period", "2026", "--as-of", "2026-11-20", "--format", "xlsx").expect(0)
    default = tmp_path / "govflow-cuts-2026-2026-11-20.xlsx"
    assert default.name in res.stdout and default.exists()
    ws = openpyxl.load_workbook(default).active
    heads = [c.value for c in ws[1]]
    amounts = [ws.cell(row=r, column=heads.index("建议削减金额（元）") + 1).value for r in (2, 3)]
    assert [Decimal(str(a)) for a in amounts] == [Decimal("80000"), Decimal("45000")]

    cli("--lang", "en", "report", "overdue", "--as-of", "2026-11-27", "-f", "xlsx", "-o", "en.xlsx").expect(0)
    back = pd.read_excel(tmp_path / "en.xlsx")
    assert back["Working days overdue"].tolist() == [r["overdue_workdays"] for r in rows]
    assert [d.date().isoformat() for d in back["Deadline"]] == [r["deadline"] for r in rows]


# ---------------------------------------------------------------------------------------------- exit codes


def test_a_department_user_is_refused_with_exit_3(cli: Cli) -> None:
    res = cli("report", "overdue", "--as-of", "2026-10-20", "--json", "--as", "li").expect(3)
    body = res.json()
    assert body["refused"] is True and body["reasons"][0]["code"] == "PERMISSION_DENIED"
    assert cli("report", "cuts", "--as", "chen").expect(3).stderr
    assert cli("report", "portfolio", "--as", "zheng").expect(0).stdout  # audit reads the portfolio


def test_unknown_user_bad_options_and_missing_calendar_data(cli: Cli) -> None:
    assert cli("report", "overdue", "--as", "nobody", "--json").expect(4).json()["error"] == "NOT_FOUND"
    assert "YYYY-MM-DD" in cli("report", "overdue", "--as-of", "2026-13-01").expect(2).stderr
    cli("report", "overdue", "--format", "pdf").expect(2)
    cli("report", "overdue", "--json", "--format", "csv").expect(2)
    cli("report", "cuts", "--period", "26").expect(2)
    res = cli("report", "overdue", "--as-of", "2027-01-05", "--json").expect(3)
    assert res.json()["error"] == "CALENDAR_DATA_MISSING" and "2027" in res.json()["message"]

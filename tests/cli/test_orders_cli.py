"""``govflow order …`` in-process through typer's CliRunner, on SQLite and PostgreSQL.

The database holds the demo portfolio and the orders the deadlines run issued on 2026-09-28 (due 2026-10-30,
over 国庆). Commands run through the shared harness (``tests/cli/harness.py``) on 2026-10-27, 10:00 in Beijing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from govflow.cli import app as cli_app
from govflow.demo import demo_portfolio
from govflow.governance.rectification import run_deadlines
from govflow.governance.sweep import run_sweep
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.settings import Settings
from tests.rectified import deliver_for

from .harness import Cli, make_cli

ORDER = "RO-ZJ-2026-004-01"  # ZJ-2026-004 (lead 人社厅: chen), due 2026-10-30
COMMANDS = ["list", "show", "evidence", "verify", "reject", "reopen", "extend"]


#: every command runs on 2026-10-27 at 10:00 in Beijing (a second later each time)
TODAY = datetime(2026, 10, 27, 2, tzinfo=UTC)
Orders = Cli


@pytest.fixture
def orders(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Orders]:
    """``govflow order …`` on the demo portfolio with the five orders the deadlines run issued on 2026-09-28."""
    clock = iter(datetime(2026, 11, 26, 2, tzinfo=UTC) + timedelta(seconds=i) for i in range(10_000))
    setup = App(Settings(database_url=db_url), engine, clock=lambda: next(clock))
    services.load_portfolio(setup, demo_portfolio(), None)
    run_sweep(setup, date(2026, 9, 28))
    assert run_deadlines(setup, date(2026, 9, 28)).orders_issued == 5
    deliver_for(setup, ORDER, date(2026, 10, 26))  # C-002 delivered at last: the order can be verified
    runner = make_cli(db_url, monkeypatch, start=TODAY, prefix=("order",))
    yield runner
    runner.close()


def has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_order_command_has_zh_cn_help(command: str) -> None:
    res = CliRunner().invoke(cli_app, ["order", command, "--help"])
    assert res.exit_code == 0 and has_cjk(res.stdout), res.output
    group = CliRunner().invoke(cli_app, ["order", "--help"])
    assert group.exit_code == 0 and "整改通知" in group.stdout and command in group.stdout


def test_list_and_show_as_json_and_as_tables(orders: Orders) -> None:
    rows = orders.json("list", "--as", "wang")
    assert rows[0]["code"] == ORDER and len(rows) == 5
    assert {r["status"] for r in rows} == {"open"} and rows[0]["deadline"] == "2026-10-30"
    assert [r["code"] for r in orders.json("list", "--project", "ZJ-2026-004", "--as", "li")] == [ORDER]
    assert orders.json("list", "--status", "closed", "--as", "wang") == []
    shown = orders.json("show", ORDER, "--as", "chen")
    assert shown["clause"] == "733号文 第十一条" and [s["kind"] for s in shown["steps"]] == ["issued"]
    text = orders("list", "--as", "wang")
    assert text.exit_code == 0 and ORDER in text.stdout and "整改中" in text.stdout
    text = orders("show", ORDER, "--as", "wang")
    assert text.exit_code == 0 and "2026-10-30" in text.stdout and "下达整改通知" in text.stdout


def test_the_order_lifecycle_through_the_cli(orders: Orders) -> None:
    d = orders.json("evidence", ORDER, "--as", "chen", "--note", "照片共享接口已上线")
    assert (d["status"], d["version"]) == ("evidence_submitted", 2)
    d = orders.json("reject", ORDER, "--as", "wang", "--reason", "缺少交付记录")
    assert d["status"] == "open"
    orders.json("evidence", ORDER, "--as", "chen", "--note", "补充交付记录", "--version", "3")
    d = orders.json("verify", ORDER, "--as", "wang", "--note", "核验通过")
    assert (d["status"], d["closed_late"], d["closed_reason"]) == ("closed", False, "verified")
    d = orders.json("reopen", ORDER, "--as", "wang", "--reason", "抽查发现再次中断")
    assert d["status"] == "open" and d["closed_on"] is None
    d = orders.json("extend", ORDER, "--as", "wang", "--reason", "协调公安厅", "--workdays", "5")
    assert (d["deadline"], d["original_deadline"]) == ("2026-11-06", "2026-10-30")
    d = orders.json("extend", ORDER, "--as", "wang", "--reason", "再延", "--to", "2026-11-13")
    assert d["deadline"] == "2026-11-13"
    assert [s["kind"] for s in d["steps"]] == [
        "issued", "evidence", "reject", "evidence", "verify", "reopen", "extend", "extend",
    ]  # fmt: skip
    text = orders("extend", ORDER, "--as", "wang", "--reason", "再延", "--to", "2026-11-20")
    assert text.exit_code == 0 and "已延长整改期限" in text.stdout


def test_exit_codes_usage_refused_not_found_conflict(orders: Orders) -> None:
    assert orders("evidence", ORDER, "--as", "chen").exit_code == 2  # --note is required
    # neither --to nor --workdays, then both, then a malformed date
    assert orders("extend", ORDER, "--as", "wang", "--reason", "x").exit_code == 2
    both = orders("extend", ORDER, "--as", "wang", "--reason", "x", "--to", "2026-11-06", "--workdays", "3")
    assert both.exit_code == 2
    assert orders("extend", ORDER, "--as", "wang", "--reason", "x", "--to", "6.11.2026").exit_code == 2
    assert orders("list", "--status", "done", "--as", "wang").exit_code == 2
    refused = orders.json("evidence", ORDER, "--as", "li", "--note", "x", code=3)
    assert refused["refused"] is True and refused["reasons"][0]["code"] == "OUT_OF_DEPARTMENT"
    refused = orders.json("verify", ORDER, "--as", "wang", code=3)  # nothing submitted yet
    assert refused["reasons"][0] == {
        "code": "ORDER_STATUS",
        "clause": "733号文 第十一条",
        "message": f"整改通知 {ORDER} 当前为「整改中」，不能核验通过（须为「已提交整改材料」）",
        "detail": {"order": ORDER, "status": "open"},
    }
    text = orders("verify", ORDER, "--as", "wang")
    assert text.exit_code == 3 and "733号文 第十一条" in text.stderr
    assert orders("show", "RO-NOPE-01", "--as", "wang").exit_code == 4
    orders.json("evidence", ORDER, "--as", "chen", "--note", "x")
    stale = orders.json("evidence", ORDER, "--as", "chen", "--note", "y", "--version", "1", code=5)
    assert stale["error"] == "CONFLICT"


def test_every_order_action_takes_the_expected_version(orders: Orders) -> None:
    """``--expect-version`` on evidence, verify, reject, reopen and extend: a stale one is exit 5, nothing done."""
    steps: list[tuple[str, list[str], int]] = [  # (command, its options, the version it acts on)
        ("evidence", ["--as", "chen", "--note", "已整改"], 1),
        ("reject", ["--as", "wang", "--reason", "不全"], 2),
        ("evidence", ["--as", "chen", "--note", "补交"], 3),
        ("verify", ["--as", "wang"], 4),
        ("reopen", ["--as", "wang", "--reason", "再次中断"], 5),
        ("extend", ["--as", "wang", "--reason", "协调", "--workdays", "5"], 6),
    ]
    for command, options, version in steps:
        if version > 1:
            stale = orders.json(command, ORDER, *options, "--expect-version", str(version - 1), code=5)
            assert stale["error"] == "CONFLICT" and f"预期版本 {version - 1}" in stale["message"], command
            text = orders(command, ORDER, *options, "--expect-version", str(version - 1))
            assert text.exit_code == 5 and "请刷新后重试" in text.stderr, text.output
        d = orders.json(command, ORDER, *options, "--expect-version", str(version))
        assert d["version"] == version + 1 and d["steps"][-1]["kind"] == command, command
    assert orders("verify", ORDER, "--as", "wang", "--expect-version", "0").exit_code == 2


def test_extending_into_2027_is_refused_with_exit_3(orders: Orders) -> None:
    res = orders("extend", ORDER, "--as", "wang", "--reason", "跨年", "--to", "2027-01-08")
    assert res.exit_code == 3 and "2027" in res.stderr


def test_english_output(orders: Orders) -> None:
    d = orders.json("show", ORDER, "--as", "wang", lang="en")
    assert d["status_label"] == "open" and d["steps"][0]["kind_label"] == "order issued"

"""`govflow cuts …` and `govflow policy …` as finance and the operator use them, on SQLite and PostgreSQL.

The recommendations are made by calling :func:`govflow.governance.cuts.run_cuts` on the same database (``govflow run
cuts`` is another module's command); everything else goes through the CLI in-process (typer's CliRunner),
through the shared harness (``tests/cli/harness.py``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from govflow.demo import demo_portfolio
from govflow.governance.cuts import run_cuts as run_cuts_on

from .harness import Cli

AS_OF = date(2026, 11, 26)
POLICY_DATA = Path(__file__).resolve().parents[1] / "data" / "policy"
P5 = "ZJ-2026-005"


def run_cuts(cli: Cli) -> None:
    """What ``govflow run cuts`` does on the demo's day (another module's command), on the harness's clock."""
    application = cli.app()
    run_cuts_on(application, AS_OF)


@pytest.fixture
def proposed(cli: Cli) -> Cli:
    """The demo portfolio loaded and one cut run made: ZJ-2026-005 has a proposed 5 % recommendation."""
    # COLUMNS: rich reads it at each print; wide enough that no table folds a word in the captured output
    cli.env["COLUMNS"] = "200"
    cli("load", demo_portfolio()).expect(0)
    run_cuts(cli)
    return cli


# ---------------------------------------------------------------------------------------------- help


@pytest.mark.parametrize(
    "command",
    [
        ("cuts",),
        ("cuts", "list"),
        ("cuts", "show"),
        ("cuts", "decide"),
        ("policy",),
        ("policy", "show"),
        ("policy", "load"),
        ("policy", "check"),
    ],
)
def test_every_command_has_help(cli: Cli, command: tuple[str, ...]) -> None:
    out = cli(*command, "--help").expect(0).stdout
    assert any("\u4e00" <= ch <= "\u9fff" for ch in out), out


# ---------------------------------------------------------------------------------------------- cuts


def test_list_shows_the_recommendations_of_a_period(proposed: Cli) -> None:
    rows = proposed("cuts", "list", "--period", "2026", "--as", "qian", "--json").expect(0).json()
    (r,) = rows
    assert (r["project"], r["status"], r["percent"], r["amount"], r["policy_version"]) == (
        P5,
        "proposed",
        "5.00",
        "40000.00",
        "2026.1",
    )
    assert r["clause"] == "733号文 第十一条"
    assert r["evidence"]["coverage"]["value"] == "0.7500"
    assert [x["code"] for x in r["reasons"]] == ["LOW_COVERAGE"]
    text = proposed("cuts", "list", "--period", "2026", "--as", "zheng").expect(0).stdout
    assert P5 in text and "待财政部门决定" in text and "733号文 第十一条" in text
    assert (
        proposed("cuts", "list", "--period", "2026", "--status", "accepted", "--json").expect(0).json() == []
    )


def test_show_prints_the_evidence(proposed: Cli) -> None:
    text = proposed("cuts", "show", P5, "--period", "2026", "--as", "qian").expect(0).stdout
    assert "40000.00" in text and "A-001/C-002" in text and "2026-10-30" in text
    data = proposed("cuts", "show", P5, "--period", "2026", "--json").expect(0).json()
    assert data["evidence"]["trail"][0]["event"] == "proposed"


def test_finance_accepts_once_and_a_second_decision_is_a_conflict(proposed: Cli) -> None:
    args = ("cuts", "decide", P5, "--period", "2026", "--as", "qian")
    res = proposed(*args, "--accept", "--reason", "共享覆盖率不足，同意削减", "--json").expect(0).json()
    assert (res["status"], res["decided_by"], res["decision_reason"]) == (
        "accepted",
        "qian",
        "共享覆盖率不足，同意削减",
    )
    again = proposed(*args, "--decline", "--reason", "改变主意").expect(5)
    assert "不能重复决定" in again.stderr
    assert (
        proposed(*args, "--decline", "--reason", "改变主意", "--json").expect(5).json()["error"] == "CONFLICT"
    )
    rows = proposed("cuts", "list", "--period", "2026", "--json").expect(0).json()
    assert rows[0]["status"] == "accepted"


def test_a_decline_prints_what_was_decided(proposed: Cli) -> None:
    out = proposed(
        "cuts",
        "decide",
        P5,
        "--period",
        "2026",
        "--decline",
        "--reason",
        "已在年度预算中统筹",
        "--as",
        "qian",
    ).expect(0)
    assert "未采纳" in out.stdout and "已在年度预算中统筹" in out.stdout


@pytest.mark.parametrize("who", ["zheng", "wang", "admin"])
def test_only_finance_may_decide(proposed: Cli, who: str) -> None:
    res = proposed(
        "cuts", "decide", P5, "--period", "2026", "--accept", "--reason", "同意", "--as", who, "--json"
    ).expect(3)
    body = res.json()
    assert body["refused"] is True and body["reasons"][0]["code"] == "PERMISSION_DENIED"


def test_a_reason_is_required(proposed: Cli) -> None:
    res = proposed("cuts", "decide", P5, "--period", "2026", "--accept", "--as", "qian").expect(3)
    assert "须说明理由" in res.stderr and "733号文 第十一条" in res.stderr
    res = proposed(
        "cuts", "decide", P5, "--period", "2026", "--decline", "--reason", " ", "--as", "qian", "--json"
    )
    assert res.expect(3).json()["reasons"][0]["code"] == "REASON_REQUIRED"
    en = proposed(
        "--lang", "en", "cuts", "decide", P5, "--period", "2026", "--accept", "--as", "qian"
    ).expect(3)
    assert "give a reason" in en.stderr


def test_usage_errors_and_unknown_projects(proposed: Cli) -> None:
    base = ("cuts", "decide", P5, "--reason", "同意", "--as", "qian")
    assert (
        "--accept" in proposed(*base, "--period", "2026").expect(2).stderr
    )  # neither --accept nor --decline
    proposed(*base, "--accept").expect(2)  # no --period
    proposed(*base, "--accept", "--period", "26").expect(2)
    proposed("cuts", "decide", P5, "--period", "2026", "--accept", "--reason", "同意").expect(2)  # no --as
    proposed("cuts", "list", "--period", "2026", "--status", "approved").expect(2)
    proposed(
        "cuts", "decide", "ZJ-1999-999", "--period", "2026", "--accept", "--reason", "x", "--as", "qian"
    ).expect(4)
    proposed("cuts", "show", P5, "--period", "2025").expect(4)
    proposed("cuts", "list", "--period", "2026", "--as", "li").expect(3)  # a department may not see cuts


# ---------------------------------------------------------------------------------------------- policy


def test_policy_show(proposed: Cli) -> None:
    data = proposed("policy", "show", "--json").expect(0).json()
    assert data["version"] == "2026.1" and len(data["digest"]) == 64
    assert data["policy"]["cuts"]["coverage_threshold"] == "0.9"
    assert [t["percent"] for t in data["policy"]["cuts"]["tiers"]] == ["5", "10", "20"]
    assert [h["version"] for h in data["history"]] == ["2026.1"]
    text = proposed("policy", "show").expect(0).stdout
    assert "2026.1" in text and "削减档位" in text and "733号文 第十一条" in text


def test_an_invalid_policy_is_refused_with_each_reason_and_path_and_the_old_one_stays(proposed: Cli) -> None:
    bad = POLICY_DATA / "policy-invalid.yaml"
    res = proposed("policy", "load", bad, "--as", "admin").expect(3)
    for path in (
        "cuts.tiers.1.percent",
        "cuts.tiers",
        "rectification.escalation.0.notify.1",
        "agreement_expiry_notice_day",
    ):
        assert f"[{path}]" in res.stderr
    assert "原策略继续有效" in res.stderr
    body = proposed("policy", "load", bad, "--as", "admin", "--json").expect(3).json()
    assert body["refused"] is True
    assert {r["path"] for r in body["reasons"]} == {
        "cuts.tiers.1.percent",
        "cuts.tiers",
        "rectification.escalation.0.notify.1",
        "agreement_expiry_notice_day",
    }
    assert all(r["code"] == "POLICY_INVALID" for r in body["reasons"])
    data = proposed("policy", "show", "--json").expect(0).json()
    assert data["version"] == "2026.1" and len(data["history"]) == 1
    proposed("policy", "load", POLICY_DATA / "policy-duplicate-key.yaml", "--as", "admin").expect(3)
    proposed("policy", "load", POLICY_DATA / "missing.yaml", "--as", "admin").expect(2)


def test_loading_a_policy_activates_it_and_later_runs_cite_it(proposed: Cli) -> None:
    proposed("policy", "load", POLICY_DATA / "policy-2026.2.yaml", "--as", "qian").expect(3)  # admin only
    out = proposed("policy", "load", POLICY_DATA / "policy-2026.2.yaml", "--as", "admin").expect(0).stdout
    assert "2026.2" in out and "已生效" in out
    data = proposed("policy", "show", "--json").expect(0).json()
    assert data["version"] == "2026.2"
    assert [(h["version"], h["active"]) for h in data["history"]] == [("2026.2", True), ("2026.1", False)]
    run_cuts(proposed)
    (r,) = proposed("cuts", "list", "--period", "2026", "--json").expect(0).json()
    assert (r["policy_version"], r["percent"], r["amount"]) == ("2026.2", "8.00", "64000.00")


def test_policy_check_validates_without_loading(proposed: Cli) -> None:
    ok = proposed("policy", "check", POLICY_DATA / "policy-2026.3.json", "--json").expect(0).json()
    assert ok == {"valid": True, "version": "2026.3", "digest": ok["digest"]}
    assert "削减档位" in proposed("policy", "check", POLICY_DATA / "policy-2026.3.json").expect(0).stdout
    proposed("policy", "check", POLICY_DATA / "policy-invalid.yaml").expect(3)
    assert proposed("policy", "show", "--json").expect(0).json()["version"] == "2026.1"

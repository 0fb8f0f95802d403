"""Opinions (733号文 第九条; issue 10, 6), on SQLite and PostgreSQL through the CLI (and the API at the end): the
providers among the parties are asked as well as the related departments; an ``agree_with_changes`` opinion
carries its conditions, which the lead department answers before approval."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from .harness import Cli
from .test_cli import ALL_MET, HRSS, audit_count, demo_document, variant_document, write_document

CODE = "ZJ-2026-140"


def opinions_with(hrss: dict[str, Any] | None) -> list[dict[str, Any]]:
    """ZJ-2026-001's opinions, 人社厅's replaced by ``hrss`` (or dropped)."""
    ops = [o for o in copy.deepcopy(demo_document()["projects"][0]["opinions"]) if o["department"] != HRSS]
    return ops + ([hrss] if hrss else [])


def test_a_provider_among_the_parties_is_asked_too(cli: Cli, tmp_path: Path) -> None:
    project = demo_document()["projects"][0]
    related = [d for d in project["departments"] if d != HRSS]  # 人社厅 provides C-003 and is party to A-002
    doc = variant_document({CODE: {"departments": related, "opinions": opinions_with(None)}})
    cli("load", write_document(tmp_path / "p.json", doc)).expect(0)
    cli("event", CODE, "submit_proposal", "--as", "li").expect(0)
    refused = cli.json("event", CODE, "intake", "--as", "wang", code=3)
    missing = [
        (r["code"], r["detail"]["department"], r["detail"]["as"], r["clause"]) for r in refused["reasons"]
    ]
    assert missing == [("OPINION_MISSING", HRSS, "provider", "733号文 第十条第二款、第九条")]
    assert "提供部门" in refused["reasons"][0]["message"]
    # the program office records the provider's opinion: the resubmitted proposal passes intake
    cli("opinion", "add", CODE, "--as", "wang", "--department", HRSS, "--verdict", "agree").expect(0)
    cli("event", CODE, "submit_proposal", "--as", "li").expect(0)
    cli("event", CODE, "intake", "--as", "wang").expect(0)


def test_agree_with_changes_lists_its_conditions(cli: Cli, tmp_path: Path) -> None:
    doc = variant_document(
        {
            CODE: {
                "opinions": opinions_with(
                    {"department": HRSS, "date": "2026-02-11", "verdict": "agree_with_changes"}
                )
            }
        }
    )
    res = cli.json("load", write_document(tmp_path / "p.json", doc), code=3)
    assert [(r["code"], r["path"]) for r in res["reasons"]] == [
        ("CONDITIONS_NOT_LISTED", "projects[0].opinions[2].conditions")
    ]
    cli("load", write_document(tmp_path / "ok.json", variant_document({CODE: {}}))).expect(0)
    before = audit_count(cli)
    said = cli.json(
        "opinion",
        "add",
        CODE,
        "--as",
        "wang",
        "--department",
        HRSS,
        "--verdict",
        "agree_with_changes",
        code=3,
    )
    assert said["reasons"][0]["code"] == "CONDITIONS_NOT_LISTED" and audit_count(cli) == before


def test_an_unanswered_condition_refuses_approval_until_the_lead_answers(cli: Cli, tmp_path: Path) -> None:
    hrss = {
        "department": HRSS,
        "date": "2026-02-11",
        "verdict": "agree_with_changes",
        "conditions": [{"condition": "参保登记核验接口须支持批量查询"}],
    }
    cli(
        "load",
        write_document(
            tmp_path / "p.json", variant_document({CODE: {"reviews": None, "opinions": opinions_with(hrss)}})
        ),
    ).expect(0)
    cli("event", CODE, "submit_proposal", "--as", "li").expect(0)
    cli("event", CODE, "intake", "--as", "wang").expect(0)
    cli("review", "add", CODE, "--as", "pingshen", "--stage", "proposal", *ALL_MET).expect(0)
    refused = cli.json("event", CODE, "approve", "--as", "wang", code=3)
    [why] = [r for r in refused["reasons"] if r["code"] == "OPINION_CONDITION_UNANSWERED"]
    assert (
        why["clause"] == "733号文 第十条第二款、第九条" and "参保登记核验接口须支持批量查询" in why["message"]
    )
    assert why["detail"] == {"department": HRSS, "condition": 1}
    # only the lead answers; a wrong number is refused naming the conditions there are
    cli(
        "opinion", "answer", CODE, "--as", "chen", "--department", HRSS, "--condition", "1", "--answer", "好"
    ).expect(3)
    wrong = cli.json(
        "opinion",
        "answer",
        CODE,
        "--as",
        "li",
        "--department",
        HRSS,
        "--condition",
        "2",
        "--answer",
        "好",
        code=3,
    )
    assert wrong["reasons"][0]["code"] == "CONDITION_ANSWER_INVALID"
    cli(
        "opinion",
        "answer",
        CODE,
        "--as",
        "li",
        "--department",
        HRSS,
        "--condition",
        "1",
        "--answer",
        "已按批量查询设计接口",
    ).expect(0)
    cli("event", CODE, "approve", "--as", "wang").expect(0)
    assert cli.json("project", "show", CODE)["phase"] == "proposal_approved"


def test_a_review_concluding_against_approval_refuses_it_unless_overridden(cli: Cli, tmp_path: Path) -> None:
    """第十条第一款: a conclusion against approval counts like a focus point judged not met."""
    cli("load", write_document(tmp_path / "p.json", variant_document({CODE: {"reviews": None}}))).expect(0)
    cli("event", CODE, "submit_proposal", "--as", "li").expect(0)
    cli("event", CODE, "intake", "--as", "wang").expect(0)
    review = ["review", "add", CODE, "--as", "pingshen", "--stage", "proposal", *ALL_MET]
    cli(*review, "--against", "--conclusion", "建设必要性不足，不同意批复").expect(0)
    refused = cli.json("event", CODE, "approve", "--as", "wang", code=3)
    [why] = refused["reasons"]
    assert (why["code"], why["clause"]) == ("REVIEW_AGAINST_APPROVAL", "733号文 第十条第一款")
    assert "建设必要性不足" in why["message"]
    cli(
        "event", CODE, "approve", "--as", "wang", "--override", "经部门联席会议研究，建设必要性已补充论证"
    ).expect(0)
    last = cli.json("project", "history", CODE)[-1]
    assert [r["code"] for r in last["reasons"]] == ["REVIEW_OVERRIDDEN"]
    assert "不同意批复的评审结论" in last["reasons"][0]["message"]

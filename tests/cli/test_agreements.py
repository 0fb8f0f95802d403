"""Agreements consistent (733号文 第八条, 第二条第三款; issue 10, 1): an agreement that says what it cannot is
refused by ``govflow load`` and by ``govflow agreement add`` alike, every breach listed at once with its row
path, and nothing is written."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from .harness import Cli
from .test_cli import (
    BIGDATA,
    HRSS,
    POLICE,
    SAMR,
    audit_count,
    demo_document,
    variant_document,
    write_document,
)

#: (code, path under the agreement) of every breach the bad agreements below hold
EXPECTED = {
    ("AGREEMENT_SIGNED_IN_FUTURE", "[0].signed_on"),
    ("AGREEMENT_TERM_MISSES_DUE", "[0].items[0].due"),
    ("AGREEMENT_TERM_MISSES_DUE", "[0].items[1].due"),
    ("SECRET_CONSUMER_NOT_AUTHORIZED", "[0].items[2].consumer"),
    ("AGREEMENT_PROVIDER_NOT_PARTY", "[0].items[3].catalog"),
    ("AGREEMENT_LEAD_NOT_PARTY", "[1].parties"),
    ("AGREEMENT_CONSUMER_NOT_PARTY", "[1].items[0].consumer"),
    ("CONDITIONAL_CONSUMER_NOT_AUTHORIZED", "[1].items[1].consumer"),
}


def bad_agreements(project: dict[str, Any]) -> list[dict[str, Any]]:
    """The demo project's two agreements, each made to say what it cannot (the harness's today is 2026-11-26)."""
    a1, a2 = copy.deepcopy(project["agreements"])
    a1["code"], a2["code"] = "A-101", "A-102"
    a1["signed_on"] = "2026-12-20"  # after the day it is recorded
    a1["term"] = {"start": "2026-03-01", "end": "2026-12-30"}  # C-001/C-002 fall due on 2026-12-31
    a1["items"] = a1["items"][:3]
    a1["items"][0]["due"] = a1["items"][1]["due"] = "2026-12-31"
    a1["items"][2]["due"] = "2026-12-01"
    a1["items"][2]["consumer"] = SAMR  # C-004 is secret, authorized for BIGDATA only
    # C-003's provider (HRSS) is not a party of A-101
    a1["items"].append({**a2["items"][1], "catalog": "C-003", "consumer": SAMR, "due": "2026-12-01"})
    a2["parties"] = [HRSS, SAMR, POLICE]  # a joint document without the lead department
    a2["items"] = [
        {**a2["items"][0], "consumer": BIGDATA},  # BIGDATA is no longer a party
        {**a2["items"][1], "consumer": POLICE},  # C-003 is conditional, authorized for BIGDATA and SAMR
    ]
    return [a1, a2]


def breaches(reasons: list[dict[str, Any]], prefix: str) -> set[tuple[str, str]]:
    return {(r["code"], r["path"].removeprefix(prefix)) for r in reasons if r["path"].startswith(prefix)}


def test_load_refuses_an_agreement_that_says_what_it_cannot(cli: Cli, tmp_path: Path) -> None:
    project = demo_document()["projects"][0]
    doc = variant_document({"ZJ-2026-101": {"agreements": bad_agreements(project)}})
    res = cli.json("load", write_document(tmp_path / "bad.json", doc), code=3)
    found = breaches(res["reasons"], "projects[0].agreements")
    assert found == EXPECTED, found
    clauses = {r["code"]: r["clause"] for r in res["reasons"]}
    assert clauses["AGREEMENT_TERM_MISSES_DUE"] == "733号文 第八条"
    assert clauses["CONDITIONAL_CONSUMER_NOT_AUTHORIZED"] == "733号文 第二条第三款"
    assert cli.json("project", "list") == []  # all or nothing


def test_agreement_add_refuses_the_same_agreements_with_the_same_reasons(cli: Cli, tmp_path: Path) -> None:
    doc = demo_document()
    cli("load", write_document(tmp_path / "demo.json", doc)).expect(0)
    before, version = audit_count(cli), cli.json("project", "show", "ZJ-2026-001")["version"]
    path = tmp_path / "agreements.yaml"
    path.write_text(
        yaml.safe_dump({"agreements": bad_agreements(doc["projects"][0])}, allow_unicode=True),
        encoding="utf-8",
    )
    res = cli.json("agreement", "add", "ZJ-2026-001", str(path), "--as", "li", code=3)
    assert breaches(res["reasons"], "agreements") == EXPECTED
    assert audit_count(cli) == before
    assert cli.json("project", "show", "ZJ-2026-001")["version"] == version

    # a consistent one is taken: signed, within its term, between parties, within the items' scope
    good = copy.deepcopy(doc["projects"][0]["agreements"][0])
    good["code"] = "A-103"
    path.write_text(json.dumps({"agreements": [good]}, ensure_ascii=False), encoding="utf-8")
    path = path.rename(tmp_path / "good.json")
    assert cli.json("agreement", "add", "ZJ-2026-001", str(path), "--as", "li")["agreements"] == 1


# ---------------------------------------------------------------------------------------------- renewal (issue 10, 2)


def test_agreement_renew_is_a_new_audited_version_and_refusals_change_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    cli("load", write_document(tmp_path / "demo.json", demo_document())).expect(0)
    before = audit_count(cli)
    late = cli.json(
        "agreement", "renew", "ZJ-2026-005", "A-002", "--until", "2026-12-01", "--as", "xu", code=3
    )
    assert [(r["code"], r["clause"]) for r in late["reasons"]] == [
        ("AGREEMENT_RENEWAL_NOT_LATER", "733号文 第八条")
    ]
    assert audit_count(cli) == before and cli.json("agreement", "versions", "ZJ-2026-005", "A-002") == []
    res = cli.json(
        "agreement",
        "renew",
        "ZJ-2026-005",
        "A-002",
        "--until",
        "2027-12-31",
        "--as",
        "xu",
        "--reason",
        "续签一年",
    )
    assert (res["version"], res["term_end"], res["signed_on"]) == (2, "2027-12-31", "2026-11-26")
    assert audit_count(cli) == before + 1
    rows = cli.json("agreement", "versions", "ZJ-2026-005", "A-002", "--as", "wang")
    assert [(r["version"], r["kind"], r["after"]["term_end"], r["reason"]) for r in rows] == [
        (2, "renewed", "2027-12-31", "续签一年")
    ]
    table = cli("agreement", "versions", "ZJ-2026-005", "A-002").expect(0).stdout
    assert "续签" in table and "2026-12-20 → 2027-12-31" in table
    said = (
        cli("agreement", "renew", "ZJ-2026-005", "A-002", "--until", "2028-06-30", "--as", "xu")
        .expect(0)
        .stdout
    )
    assert "已续签至 2028-06-30（第 3 版）" in said


def test_agreement_amend_replaces_a_signed_agreement_as_a_new_version(cli: Cli, tmp_path: Path) -> None:
    doc = demo_document()
    cli("load", write_document(tmp_path / "demo.json", doc)).expect(0)
    a1 = copy.deepcopy(doc["projects"][0]["agreements"][0])  # ZJ-2026-001's A-001: C-001, C-002, C-004
    path = tmp_path / "amend.yaml"
    bad = copy.deepcopy(a1) | {"term": {"start": "2026-03-01", "end": "2026-12-30"}}
    path.write_text(
        yaml.safe_dump({"agreements": [bad, {**a1, "code": "A-404"}]}, allow_unicode=True), encoding="utf-8"
    )
    before = audit_count(cli)
    refused = cli.json("agreement", "amend", "ZJ-2026-001", path, "--as", "li", code=3)
    codes = {(r["code"], r["path"]) for r in refused["reasons"]}
    assert ("AGREEMENT_NOT_SIGNED", "agreements[1].code") in codes
    assert ("AGREEMENT_TERM_MISSES_DUE", "agreements[0].items[0].due") in codes
    assert audit_count(cli) == before and cli.json("agreement", "versions", "ZJ-2026-001", "A-001") == []
    a1["items"] = [i for i in a1["items"] if i["catalog"] != "C-004"]
    path.write_text(yaml.safe_dump({"agreements": [a1]}, allow_unicode=True), encoding="utf-8")
    res = cli.json("agreement", "amend", "ZJ-2026-001", path, "--as", "li", "--reason", "C-004 不再共享")
    assert res["amended"][0]["agreement"] == "A-001" and res["amended"][0]["version"] == 2
    [version] = cli.json("agreement", "versions", "ZJ-2026-001", "A-001")
    assert version["kind"] == "amended" and version["reason"] == "C-004 不再共享"
    assert [i["catalog"] for i in version["before"]["items"]] == ["C-001", "C-002", "C-004"]
    assert [i["catalog"] for i in version["after"]["items"]] == ["C-001", "C-002"]
    assert audit_count(cli) == before + 1


def test_catalog_authorize_lists_the_agreements_outside_the_new_scope(cli: Cli, tmp_path: Path) -> None:
    cli("load", write_document(tmp_path / "demo.json", demo_document())).expect(0)
    out = (
        cli("catalog", "authorize", "ZJ-2026-005", "C-002", "--as", "chen", "--reason", "收紧")
        .expect(0)
        .stdout
    )
    assert ("超出新范围的协定条目 1 个" in out and "A-001" in out) or "C-002" in out
    denied = cli.json("catalog", "authorize", "ZJ-2026-005", "C-002", "--as", "zhao", code=3)
    assert (
        denied["reasons"][0]["code"] == "NOT_THE_PROVIDER"
        and denied["reasons"][0]["clause"] == "733号文 第八条"
    )


def test_agreement_terminate_through_the_cli(cli: Cli, tmp_path: Path) -> None:
    cli("load", write_document(tmp_path / "demo.json", demo_document())).expect(0)
    said = (
        cli("agreement", "terminate", "ZJ-2026-005", "A-002", "--as", "wang", "--reason", "统一提供")
        .expect(0)
        .stdout
    )
    assert "自 2026-11-26 起终止（第 2 版）" in said
    table = cli("agreement", "versions", "ZJ-2026-005", "A-002").expect(0).stdout
    assert "终止" in table
    refused = cli.json(
        "agreement", "terminate", "ZJ-2026-005", "A-002", "--as", "wang", "--reason", "再次", code=3
    )
    assert refused["reasons"][0]["code"] == "AGREEMENT_TERMINATED"

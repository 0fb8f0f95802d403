"""Onboarding cannot skip gates (733号文 第十条第二款、第九条; issue 10, 3): a project loaded at a later phase
carries what the gates it skipped require, or is loaded with a recorded legacy reason whose gaps block its next
approval — on SQLite and PostgreSQL, through the CLI (the API's door is tests/api/test_api_onboarding.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .harness import Cli
from .test_cli import ALL_MET, audit_count, history, variant_document, write_document

BARE: dict[str, Any] = {"catalog": [], "agreements": [], "reviews": None, "phase": "feasibility_review"}


def test_a_project_at_a_later_phase_without_the_gates_materials_is_refused(cli: Cli, tmp_path: Path) -> None:
    doc = variant_document({"ZJ-2026-110": BARE})
    res = cli.json("load", write_document(tmp_path / "bare.json", doc), code=3)
    gates = {(r["code"], r["detail"]["gate"], r["detail"]["rule"]) for r in res["reasons"]}
    assert {
        ("ONBOARDING_GATE_UNMET", "intake", "NO_AGREEMENT"),
        ("ONBOARDING_GATE_UNMET", "intake", "NO_CATALOG"),
    } <= gates
    gate = next(r for r in res["reasons"] if r["code"] == "ONBOARDING_GATE_UNMET")
    assert gate["path"] == "projects[0].phase" and gate["clause"] == "733号文 第十条第二款"
    assert "legacy_reason" in gate["message"] and "可研评审中" in gate["message"]
    assert cli.json("project", "list") == []  # all or nothing


def test_the_same_project_complete_loads_at_a_later_phase(cli: Cli, tmp_path: Path) -> None:
    doc = variant_document({"ZJ-2026-111": {"phase": "construction"}})
    cli("load", write_document(tmp_path / "full.json", doc)).expect(0)
    assert cli.json("project", "show", "ZJ-2026-111")["phase"] == "construction"


def test_a_legacy_project_is_loaded_with_its_gaps_recorded_and_cannot_be_approved(
    cli: Cli, tmp_path: Path
) -> None:
    doc = variant_document({"ZJ-2026-112": {**BARE, "legacy_reason": "2012年建成的存量项目，协定与目录待补"}})
    cli("load", write_document(tmp_path / "legacy.json", doc)).expect(0)
    onboard = history(cli, "ZJ-2026-112")[0]
    assert "2012年建成的存量项目" in onboard["note"]
    gaps = {(r["code"], r["detail"]["rule"]) for r in onboard["reasons"]}
    assert {("LEGACY_GATE_GAP", "NO_AGREEMENT"), ("LEGACY_GATE_GAP", "NO_CATALOG")} <= gaps
    cli("review", "add", "ZJ-2026-112", "--as", "pingshen", "--stage", "feasibility", *ALL_MET).expect(0)
    before = audit_count(cli)
    refused = cli.json("event", "ZJ-2026-112", "approve", "--as", "wang", code=3)
    missing = {(r["code"], r["detail"].get("rule"), r["clause"]) for r in refused["reasons"]}
    assert ("GATE_MATERIAL_MISSING", "NO_AGREEMENT", "733号文 第十条第二款、第八条") in missing
    assert ("GATE_MATERIAL_MISSING", "NO_CATALOG", "733号文 第十条第二款、第九条") in missing
    assert refused["phase"] == "feasibility_review"
    assert cli.json("project", "show", "ZJ-2026-112")["phase"] == "feasibility_review"
    assert audit_count(cli) == before + 1  # the refusal is in the trail, nothing else changed
    last = history(cli, "ZJ-2026-112")[-1]
    assert last["outcome"] == "refused" and any(r["code"] == "GATE_MATERIAL_MISSING" for r in last["reasons"])


def test_a_legacy_projects_gaps_are_findings_closed_when_the_materials_come(
    cli: Cli, tmp_path: Path, db_url: str
) -> None:
    """ZJ-2026-001 onboarded at feasibility review without its agreements: one finding (NO_AGREEMENT) opens with
    the load and refuses the approval; the agreements added, it closes, and the approval passes."""
    from .test_cli import demo_document, sql

    agreements = demo_document()["projects"][0]["agreements"]
    doc = variant_document(
        {
            "ZJ-2026-113": {
                "agreements": [],
                "reviews": None,
                "phase": "feasibility_review",
                "legacy_reason": "存量项目",
            }
        }
    )
    cli("load", write_document(tmp_path / "legacy.json", doc)).expect(0)
    gaps = "SELECT key, status, clause FROM finding WHERE rule = 'ONBOARDING_GAP' ORDER BY key"
    assert sql(db_url, gaps) == [
        ("ZJ-2026-113/ONBOARDING_GAP/intake/NO_AGREEMENT/-", "open", "733号文 第十条第二款、第八条")
    ]
    cli("review", "add", "ZJ-2026-113", "--as", "pingshen", "--stage", "feasibility", *ALL_MET).expect(0)
    cli("event", "ZJ-2026-113", "approve", "--as", "wang").expect(3)
    cli("run", "sweep", "--as-of", "2026-11-26", "--no-prefect").expect(0)  # not the sweep's to close
    assert sql(db_url, gaps)[0][1] == "open"
    path = tmp_path / "agreements.json"
    path.write_text(json.dumps({"agreements": agreements}, ensure_ascii=False), encoding="utf-8")
    cli("agreement", "add", "ZJ-2026-113", path, "--as", "li").expect(0)
    assert sql(db_url, "SELECT status, closed_reason FROM finding WHERE rule = 'ONBOARDING_GAP'") == [
        ("closed", "materials_supplied")
    ]
    cli("event", "ZJ-2026-113", "approve", "--as", "wang").expect(0)

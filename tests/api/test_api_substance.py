"""733号文 in substance through the API (issue 10), on SQLite and PostgreSQL: onboarding cannot skip gates (the
portfolio upload refuses a later-phase project without what its passed gates require — 422, the row path,
nothing written; with a legacy reason it loads and its approval is refused until the materials are there);
agreements are renewed as versions; acceptance compares deliveries with a stated number of records."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from govflow.lifecycle.services import App
from tests.cli.test_cli import variant_document

from .support import As

V1 = "/api/v1"
BARE: dict[str, Any] = {"catalog": [], "agreements": [], "reviews": None, "phase": "feasibility_review"}
FIVE = ("agreement", "catalog", "infrastructure", "aggregation", "technical")


def upload(client: TestClient, headers: dict[str, str], doc: dict[str, Any]) -> Any:
    # the demo's departments and users are already there: the document brings only its projects
    body = json.dumps({"projects": doc["projects"]}, ensure_ascii=False).encode()
    return client.post(
        f"{V1}/portfolio", headers=headers, files={"file": ("p.json", body, "application/json")}
    )


def test_the_upload_refuses_a_later_phase_project_without_its_gates_materials(
    client: TestClient, as_: As
) -> None:
    r = upload(client, as_("wang"), variant_document({"ZJ-2026-120": BARE}))
    assert r.status_code == 422, r.text
    gates = [x for x in r.json()["reasons"] if x["code"] == "ONBOARDING_GATE_UNMET"]
    assert {x["detail"]["rule"] for x in gates} >= {"NO_AGREEMENT", "NO_CATALOG"}
    assert all(x["path"] == "projects[0].phase" and x["clause"] == "733号文 第十条第二款" for x in gates)
    assert client.get(f"{V1}/projects/ZJ-2026-120", headers=as_("wang")).status_code == 404


def test_a_legacy_project_loads_and_its_approval_waits_for_the_materials(
    client: TestClient, gov: App, as_: As
) -> None:
    doc = variant_document({"ZJ-2026-121": {**BARE, "legacy_reason": "存量项目，按现有材料纳入"}})
    assert upload(client, as_("wang"), doc).status_code == 200
    review = {"stage": "feasibility", "judgments": {p: {"judgment": "met"} for p in FIVE}}
    assert (
        client.post(f"{V1}/projects/ZJ-2026-121/reviews", headers=as_("pingshen"), json=review).status_code
        == 200
    )
    r = client.post(f"{V1}/projects/ZJ-2026-121/events", headers=as_("wang"), json={"event": "approve"})
    assert r.status_code == 422 and r.json()["error"] == "REFUSED"
    missing = {(x["code"], x["detail"].get("rule")) for x in r.json()["reasons"]}
    assert {("GATE_MATERIAL_MISSING", "NO_AGREEMENT"), ("GATE_MATERIAL_MISSING", "NO_CATALOG")} <= missing
    assert (
        client.get(f"{V1}/projects/ZJ-2026-121", headers=as_("wang")).json()["phase"] == "feasibility_review"
    )


def test_an_agreement_is_renewed_through_the_api_as_a_new_version(client: TestClient, as_: As) -> None:
    url = f"{V1}/projects/ZJ-2026-005/agreements/A-002"
    bad = client.post(f"{url}/renew", headers=as_("xu"), json={"until": "2026-12-01"})
    assert bad.status_code == 422 and bad.json()["reasons"][0]["code"] == "AGREEMENT_RENEWAL_NOT_LATER"
    assert client.post(f"{url}/renew", headers=as_("qian"), json={"until": "2027-12-31"}).status_code == 403
    ok = client.post(f"{url}/renew", headers=as_("xu"), json={"until": "2027-12-31", "reason": "续签"})
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok.json()["term_end"] == "2027-12-31"
    versions = client.get(f"{url}/versions", headers=as_("wang")).json()
    assert [(v["version"], v["kind"], v["before"]["term_end"]) for v in versions] == [
        (2, "renewed", "2026-12-20")
    ]


def test_acceptance_compares_the_last_delivery_with_the_stated_number(client: TestClient, as_: As) -> None:
    from tests.cli.test_acceptance_quantity import CODE, accepting

    doc = accepting(9000)
    body = json.dumps({"projects": doc["projects"], "evidence": doc["evidence"]}, ensure_ascii=False).encode()
    files = {"file": ("p.json", body, "application/json")}
    assert client.post(f"{V1}/portfolio", headers=as_("wang"), files=files).status_code == 200
    r = client.post(f"{V1}/projects/{CODE}/events", headers=as_("wang"), json={"event": "pass_acceptance"})
    assert r.status_code == 422
    [short] = [x for x in r.json()["reasons"] if x["code"] == "DELIVERY_SHORT"]
    assert (short["clause"], short["detail"]["stated"], short["detail"]["delivered"]) == (
        "733号文 第十一条、第八条",
        10000,
        9000,
    )


def test_a_catalog_item_without_its_basis_cites_the_measures_of_2016(client: TestClient, as_: As) -> None:
    """The basis a conditional or 不予共享 item needs comes from 国发〔2016〕51号 (第九条, 第十条), not 733号文."""
    from pathlib import Path

    csv = (Path(__file__).resolve().parents[1] / "data" / "catalog.csv").read_text(encoding="utf-8-sig")
    lines = csv.splitlines()
    conditional = lines[2].replace("《中华人民共和国社会保险法》第七十四条", "")
    withheld = conditional.replace("C-002,", "C-009,", 1).replace(",conditional,", ",none,", 1)
    body = "\n".join([lines[0], conditional, withheld]).encode()
    r = client.post(
        f"{V1}/projects/ZJ-2026-001/catalog", headers=as_("li"), files={"file": ("c.csv", body, "text/csv")}
    )
    assert r.status_code == 422
    cited = {(x["path"], x["clause"]) for x in r.json()["reasons"] if x["code"] == "LEGAL_BASIS_REQUIRED"}
    assert cited == {
        ("rows[1].legal_basis", "国发〔2016〕51号 第九条"),
        ("rows[2].legal_basis", "国发〔2016〕51号 第十条"),
    }


def test_an_opinion_with_conditions_is_answered_through_the_api(client: TestClient, as_: As) -> None:
    from tests.cli.test_cli import HRSS

    url = f"{V1}/projects/ZJ-2026-001/opinions"
    bare = client.post(url, headers=as_("wang"), json={"department": HRSS, "verdict": "agree_with_changes"})
    assert bare.status_code == 422 and bare.json()["reasons"][0]["code"] == "CONDITIONS_NOT_LISTED"
    body = {"department": HRSS, "verdict": "agree_with_changes", "conditions": ["接口须支持批量查询"]}
    assert client.post(url, headers=as_("chen"), json=body).status_code == 200
    answers = f"{url}/{HRSS}/answers"
    assert client.post(answers, headers=as_("chen"), json={"condition": 1, "answer": "好"}).status_code in (
        403,
        404,
    )
    ok = client.post(answers, headers=as_("li"), json={"condition": 1, "answer": "已按批量查询设计"})
    assert ok.status_code == 200, ok.text
    latest = client.get(url, headers=as_("wang")).json()["items"][-1]
    assert latest["conditions"][0]["text"] == "接口须支持批量查询"
    assert (latest["conditions"][0]["answer"], latest["conditions"][0]["answered_by"]) == (
        "已按批量查询设计",
        "li",
    )


def test_the_agreement_listing_shows_a_due_date_moved_off_a_sunday(client: TestClient, as_: As) -> None:
    from tests.cli.test_acceptance_quantity import CODE, accepting

    doc = accepting(10000)
    doc["projects"][0]["agreements"][0]["items"][0]["due"] = "2026-11-22"
    assert upload(client, as_("wang"), doc).status_code == 200
    agreements = client.get(f"{V1}/projects/{CODE}/agreements", headers=as_("wang")).json()["items"]
    dues = {(i["catalog"], i["due"], i["due_effective"]) for a in agreements for i in a["items"]}
    assert ("C-001", "2026-11-22", "2026-11-23") in dues
    assert all(eff is None for c, due, eff in dues if due == "2026-12-31")  # a Thursday stays as agreed


def test_agreements_are_amended_through_the_api(client: TestClient, as_: As) -> None:
    import yaml

    from tests.cli.test_cli import demo_document

    a1 = demo_document()["projects"][0]["agreements"][0]
    a1["items"] = a1["items"][:2]
    body = yaml.safe_dump({"agreements": [a1]}, allow_unicode=True).encode()
    url = f"{V1}/projects/ZJ-2026-001/agreements"
    r = client.post(f"{url}/amend", headers=as_("li"), files={"file": ("a.yaml", body, "application/yaml")})
    assert r.status_code == 200, r.text
    assert r.json()["amended"][0]["version"] == 2
    [v] = client.get(f"{url}/A-001/versions", headers=as_("wang")).json()
    assert (v["kind"], len(v["before"]["items"]), len(v["after"]["items"])) == ("amended", 3, 2)
    denied = client.post(
        f"{url}/amend", headers=as_("qian"), files={"file": ("a.yaml", body, "application/yaml")}
    )
    assert denied.status_code == 403


def test_a_provider_adjusts_the_scope_through_the_api(client: TestClient, as_: As) -> None:
    url = f"{V1}/projects/ZJ-2026-005/catalog/C-002/authorization"
    assert client.put(url, headers=as_("zhao"), json={"departments": []}).status_code == 403
    r = client.put(url, headers=as_("chen"), json={"departments": [], "reason": "收紧"})
    assert r.status_code == 200, r.text
    assert [(o["agreement"], o["consumer"]) for o in r.json()["outside"]] == [("A-001", "11330000GF00000014")]
    bad = client.put(url, headers=as_("chen"), json={"departments": ["91330000MA0000000X"]})
    assert bad.status_code == 422 and bad.json()["reasons"][0]["code"] == "UNKNOWN_DEPARTMENT"


def test_an_agreement_is_terminated_by_the_program_office_through_the_api(
    client: TestClient, as_: As
) -> None:
    url = f"{V1}/projects/ZJ-2026-005/agreements/A-002"
    assert client.post(f"{url}/terminate", headers=as_("xu"), json={"reason": "不再需要"}).status_code == 403
    assert client.post(f"{url}/terminate", headers=as_("wang"), json={}).status_code == 422
    ok = client.post(f"{url}/terminate", headers=as_("wang"), json={"reason": "由省级平台统一提供"})
    assert ok.status_code == 200 and ok.json()["terminated_on"] == "2026-11-26"
    again = client.post(f"{url}/renew", headers=as_("xu"), json={"until": "2027-12-31"})
    assert again.status_code == 422 and again.json()["reasons"][0]["code"] == "AGREEMENT_TERMINATED"


def test_a_review_against_approval_through_the_api(client: TestClient, as_: As) -> None:
    code = "ZJ-2026-001"
    assert (
        client.post(
            f"{V1}/projects/{code}/events", headers=as_("li"), json={"event": "submit_proposal"}
        ).status_code
        == 200
    )
    assert (
        client.post(f"{V1}/projects/{code}/events", headers=as_("wang"), json={"event": "intake"}).status_code
        == 200
    )
    review = {
        "stage": "proposal",
        "judgments": {p: {"judgment": "met"} for p in FIVE},
        "against_approval": True,
    }
    assert (
        client.post(f"{V1}/projects/{code}/reviews", headers=as_("pingshen"), json=review).status_code == 200
    )
    r = client.post(f"{V1}/projects/{code}/events", headers=as_("wang"), json={"event": "approve"})
    assert r.status_code == 422 and [x["code"] for x in r.json()["reasons"]] == ["REVIEW_AGAINST_APPROVAL"]


def test_agreements_added_through_the_api_are_checked_as_load_checks_them(
    client: TestClient, as_: As
) -> None:
    """第八条: the API's door for new agreements refuses what `govflow load` and `agreement add` refuse."""
    from tests.cli.test_agreements import EXPECTED, bad_agreements, breaches
    from tests.cli.test_cli import demo_document

    body = json.dumps(
        {"agreements": bad_agreements(demo_document()["projects"][0])}, ensure_ascii=False
    ).encode()
    url = f"{V1}/projects/ZJ-2026-001/agreements"
    r = client.post(url, headers=as_("li"), files={"file": ("a.json", body, "application/json")})
    assert r.status_code == 422
    assert breaches(r.json()["reasons"], "agreements") == EXPECTED
    assert {a["code"] for a in client.get(url, headers=as_("li")).json()["items"]} == {"A-001", "A-002"}

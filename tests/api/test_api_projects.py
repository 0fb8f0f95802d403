"""Projects and lifecycle events over HTTP: paging and filters, department scope, optimistic locking with
If-Match, refusals with their reasons and clauses, and the language of the answers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from govflow.lifecycle import services
from govflow.lifecycle.services import App

from .support import BIGDATA, LAND, SAMR, As

V1 = "/api/v1"


def event(client: TestClient, code: str, headers: dict[str, str], ev: str, **body: object) -> Any:
    return client.post(f"{V1}/projects/{code}/events", headers=headers, json={"event": ev, **body})


def test_list_pages_and_filters(client: TestClient, as_: As) -> None:
    r = client.get(f"{V1}/projects", headers=as_("wang"))
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 5 and body["page"] == 1 and body["size"] == 50
    assert [p["code"] for p in body["items"]] == [f"ZJ-2026-00{i}" for i in range(1, 6)]
    assert body["items"][0]["phase_label"] == "编制中"

    page2 = client.get(f"{V1}/projects", params={"page": 2, "size": 2}, headers=as_("wang")).json()
    assert [p["code"] for p in page2["items"]] == ["ZJ-2026-003", "ZJ-2026-004"]
    assert (page2["total"], page2["page"], page2["size"]) == (5, 2, 2)
    beyond = client.get(f"{V1}/projects", params={"page": 9, "size": 2}, headers=as_("wang")).json()
    assert beyond["items"] == [] and beyond["total"] == 5

    ops = client.get(f"{V1}/projects", params={"phase": "operation"}, headers=as_("qian")).json()
    assert [p["code"] for p in ops["items"]] == ["ZJ-2026-005"]
    led = client.get(f"{V1}/projects", params={"department": SAMR}, headers=as_("zheng")).json()
    assert [p["code"] for p in led["items"]] == ["ZJ-2026-002"]

    bad = client.get(f"{V1}/projects", params={"phase": "nowhere", "size": 0}, headers=as_("wang"))
    assert bad.status_code == 422 and bad.json()["error"] == "VALIDATION"
    assert {r["path"] for r in bad.json()["reasons"]} == {"query.phase", "query.size"}

    # a filter given twice is ambiguous: refused, never read as its last value
    twice = client.get(f"{V1}/projects?phase=operation&phase=draft", headers=as_("wang"))
    assert twice.status_code == 400 and "phase" in twice.json()["message"]


def test_a_department_sees_only_projects_it_leads_or_takes_part_in(client: TestClient, as_: As) -> None:
    def codes(user: str, **params: str) -> list[str]:
        return [
            p["code"] for p in client.get(f"{V1}/projects", params=params, headers=as_(user)).json()["items"]
        ]

    assert codes("lin") == ["ZJ-2026-003"]
    assert codes("zhao") == ["ZJ-2026-001", "ZJ-2026-002", "ZJ-2026-003", "ZJ-2026-005"]
    assert codes("lin", department=BIGDATA) == []  # a filter cannot widen the scope


def test_another_departments_project_is_the_same_404_as_a_missing_one_whatever_the_way_in(
    client: TestClient, as_: As
) -> None:
    """No existence oracle (issue 9): a department user guessing the code of a project its department neither
    leads nor takes part in gets exactly the answer of a code that does not exist (status, body shape and
    message, but for the code itself), whether it reads or tries to change. The audit trail still records
    every such attempt as a denial."""
    foreign = "ZJ-2026-001"  # led by 大数据局 (li); 自然资源厅 (lin) takes no part
    h = as_("lin")

    def same_as_missing(r: Any, answer_for_missing: Any) -> None:
        assert r.status_code == answer_for_missing.status_code == 404, r.text
        missing_body = answer_for_missing.json()
        assert r.json() == {
            **missing_body,
            "message": missing_body["message"].replace("ZJ-2099-999", foreign),
        }

    reads = ["", "/history", "/catalog", "/agreements", "/opinions", "/reviews"]
    for suffix in reads:
        for lang in ("zh", "en"):
            got = client.get(f"{V1}/projects/{foreign}{suffix}", headers=as_("lin", lang=lang))
            same_as_missing(
                got, client.get(f"{V1}/projects/ZJ-2099-999{suffix}", headers=as_("lin", lang=lang))
            )
    changes = [
        event(client, foreign, h, "submit_proposal"),
        event(client, foreign, h, "withdraw", reason="x"),
        client.post(
            f"{V1}/projects/{foreign}/catalog",
            headers=h,
            files={"file": ("c.csv", b"code,name\n", "text/csv")},
        ),
        client.post(
            f"{V1}/projects/{foreign}/opinions", headers=h, json={"department": LAND, "verdict": "agree"}
        ),
    ]
    for r in changes:
        assert r.status_code == 404 and r.json() == {
            "error": "NOT_FOUND",
            "message": f"项目 {foreign} 不存在",
            "reasons": [],
        }, r.json()
    # a participant may read but not act as the lead
    assert client.get(f"{V1}/projects/{foreign}", headers=as_("zhou")).status_code == 200
    r = event(client, foreign, as_("zhou"), "submit_proposal")
    assert r.status_code == 403 and r.json()["reasons"][0]["code"] == "OUT_OF_DEPARTMENT"
    for user in ("lin", "wang"):
        missing = client.get(f"{V1}/projects/ZJ-2099-999", headers=as_(user))
        assert missing.status_code == 404 and missing.json()["error"] == "NOT_FOUND"
    audit = client.get(
        f"{V1}/audit/events",
        params={"by": "lin", "outcome": "denied", "size": 100},
        headers=as_("zheng"),
    ).json()
    assert audit["total"] == 2 * len(reads) + len(changes)


def test_show_gives_the_version_as_etag(client: TestClient, as_: As) -> None:
    r = client.get(f"{V1}/projects/ZJ-2026-001", headers=as_("li"))
    assert r.status_code == 200
    body = r.json()
    assert r.headers["etag"] == f'"{body["version"]}"'
    assert body["lead_department"] == BIGDATA and body["om_budget"] == "1200000.00"
    assert body["next_events"] == ["submit_proposal", "withdraw"]


def test_an_accepted_event_and_a_stale_if_match(client: TestClient, gov: App, as_: As) -> None:
    code = "ZJ-2026-001"
    etag = client.get(f"{V1}/projects/{code}", headers=as_("li")).headers["etag"]
    r = client.post(
        f"{V1}/projects/{code}/events",
        headers=as_("li", **{"If-Match": etag}),
        json={"event": "submit_proposal"},
    )
    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["accepted"], body["from"], body["to"]) == (True, "draft", "proposal_submitted")
    assert r.headers["etag"] == f'"{body["version"]}"' != etag

    stale = client.post(
        f"{V1}/projects/{code}/events", headers=as_("wang", **{"If-Match": etag}), json={"event": "intake"}
    )
    assert stale.status_code == 409 and stale.json()["error"] == "CONFLICT"
    assert services.show_project(gov, code).phase.value == "proposal_submitted"  # nothing changed
    stale_body = event(client, code, as_("wang"), "intake", expect_version=1)
    assert stale_body.status_code == 409

    garbled = client.post(
        f"{V1}/projects/{code}/events", headers=as_("wang", **{"If-Match": "v2"}), json={"event": "intake"}
    )
    assert garbled.status_code == 422 and garbled.json()["reasons"][0]["path"] == "header.if-match"
    disagree = client.post(
        f"{V1}/projects/{code}/events",
        headers=as_("wang", **{"If-Match": '"2"'}),
        json={"event": "intake", "expect_version": 3},
    )
    assert disagree.status_code == 400


def test_a_refused_intake_is_422_with_reasons_and_clauses_and_is_recorded(
    client: TestClient, gov: App, as_: As
) -> None:
    code = "ZJ-2026-002"  # no agreement and no opinion of 省公安厅
    # the dry run (GET …/precheck) foresees intake's refusal before the department submits, writing nothing
    dry = client.get(f"{V1}/projects/{code}/precheck", headers=as_("zhao"))
    assert dry.status_code == 200
    [submit] = [c for c in dry.json() if c["event"] == "submit_proposal"]
    assert submit["permitted"] and not submit["refused"] and not submit["ready"]
    foreseen = {(x["code"], x["clause"]) for x in submit["then"]["reasons"]}
    assert submit["then"]["event"] == "intake" and not submit["then"]["permitted"]
    assert services.show_project(gov, code).version == 1
    assert client.get(f"{V1}/projects/{code}/precheck", headers=as_("lin")).status_code == 404  # not its own
    assert event(client, code, as_("zhao"), "submit_proposal").status_code == 200
    r = event(client, code, as_("wang"), "intake")
    assert {(x["code"], x["clause"]) for x in r.json()["reasons"]} == foreseen
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "REFUSED" and body["refused"] is True
    clauses = {x["clause"] for x in body["reasons"]}
    assert clauses == {"733号文 第十条第二款、第八条", "733号文 第十条第二款、第九条"}
    assert all(x["message"] and x["code"] for x in body["reasons"])
    assert body["result"]["accepted"] is False and body["result"]["to"] == "draft"  # 不予受理 → 编制中
    assert services.show_project(gov, code).phase.value == "draft"
    history = client.get(f"{V1}/projects/{code}/history", headers=as_("wang")).json()["items"]
    refused = [h for h in history if h["action"] == "intake"]
    assert len(refused) == 1 and refused[0]["outcome"] == "refused"
    assert {x["clause"] for x in refused[0]["reasons"]} == clauses


def test_an_event_the_phase_does_not_allow_is_422_and_not_recorded(client: TestClient, as_: As) -> None:
    r = event(client, "ZJ-2026-001", as_("wang"), "retire")
    assert r.status_code == 422
    assert r.json()["reasons"][0]["code"] == "EVENT_NOT_ALLOWED"
    assert "result" not in r.json()


def test_answers_follow_accept_language(client: TestClient, as_: As) -> None:
    code = "ZJ-2026-002"
    event(client, code, as_("zhao"), "submit_proposal")
    en = event(client, code, as_("wang", lang="en-GB,en;q=0.9,zh;q=0.5"), "intake").json()
    zh = client.get(f"{V1}/projects/{code}/history", headers=as_("wang", lang="zh-CN")).json()["items"]
    assert en["message"].isascii() and all(x["message"].isascii() for x in en["reasons"])
    assert en["result"]["reasons"][0]["message"].isascii()
    assert not zh[-1]["reasons"][0]["message"].isascii()
    assert not client.get(f"{V1}/projects/ZJ-0", headers=as_("wang")).json()["message"].isascii()
    nf = client.get(f"{V1}/projects/ZJ-0", headers=as_("wang", lang="en")).json()
    assert nf == {"error": "NOT_FOUND", "message": "project ZJ-0 does not exist", "reasons": []}
    en_history = client.get(f"{V1}/projects/{code}/history", headers=as_("wang", lang="en")).json()["items"]
    assert en_history[-1]["reasons"][0]["message"].isascii()
    shown = client.get(f"{V1}/projects/{code}", headers=as_("wang", lang="en")).json()
    assert shown["phase_label"] == "Draft"


def test_a_review_then_approval_through_the_api(client: TestClient, as_: As) -> None:
    code = "ZJ-2026-001"
    for user, ev in (("li", "submit_proposal"), ("wang", "intake")):
        assert event(client, code, as_(user), ev).status_code == 200
    points = ("agreement", "catalog", "infrastructure", "aggregation", "technical")
    review = {
        "stage": "proposal",
        "date": "2026-11-26",
        "judgments": {p: {"judgment": "met", "comment": "明确"} for p in points},
        "conclusion": "同意",
    }
    r = client.post(f"{V1}/projects/{code}/reviews", headers=as_("pingshen"), json=review)
    assert r.status_code == 200 and r.json()["stage"] == "proposal"
    reviews = client.get(f"{V1}/projects/{code}/reviews", headers=as_("li")).json()["items"]
    assert reviews[-1]["judgments"]["technical"] == {"judgment": "met", "comment": "明确"}
    assert event(client, code, as_("wang"), "approve").json()["to"] == "proposal_approved"
    wrong_stage = client.post(f"{V1}/projects/{code}/reviews", headers=as_("pingshen"), json=review)
    assert wrong_stage.status_code == 422
    assert wrong_stage.json()["reasons"][0]["clause"] == "733号文 第十条第一款"


def test_a_review_judging_a_point_not_met_refuses_the_approval_unless_overridden(
    client: TestClient, as_: As
) -> None:
    code = "ZJ-2026-001"
    for user, ev in (("li", "submit_proposal"), ("wang", "intake")):
        assert event(client, code, as_(user), ev).status_code == 200
    points = ("agreement", "catalog", "infrastructure", "aggregation", "technical")
    judgments = {p: {"judgment": "met"} for p in points}
    judgments["aggregation"] = {"judgment": "not_met", "comment": "未接入省共享平台"}
    review = {
        "stage": "proposal",
        "date": "2026-11-26",
        "judgments": judgments,
        "conclusion": "建议修改后再报",
    }
    assert (
        client.post(f"{V1}/projects/{code}/reviews", headers=as_("pingshen"), json=review).status_code == 200
    )
    version = client.get(f"{V1}/projects/{code}", headers=as_("wang")).json()["version"]

    refused = event(client, code, as_("wang"), "approve")
    assert refused.status_code == 422
    assert [(r["code"], r["clause"]) for r in refused.json()["reasons"]] == [
        ("REVIEW_NOT_MET", "733号文 第十条第一款")
    ]
    assert client.get(f"{V1}/projects/{code}", headers=as_("wang")).json()["phase"] == "proposal_review"
    not_approve = event(client, code, as_("wang"), "refuse", reason="x", override="y")
    assert not_approve.status_code == 400

    ok = event(client, code, as_("wang"), "approve", override="已承诺建设期内接入省共享平台")
    assert ok.status_code == 200 and ok.json()["to"] == "proposal_approved"
    assert ok.json()["version"] == version + 1  # a refusal leaves the version as it was
    trail = client.get(f"{V1}/audit/events", params={"project": code, "size": 1}, headers=as_("zheng")).json()
    last = trail["items"][0]
    assert last["action"] == "approve" and last["reasons"][0]["code"] == "REVIEW_OVERRIDDEN"
    assert "已承诺建设期内接入省共享平台" in last["reasons"][0]["message"]


def test_times_without_a_utc_equivalent_are_invalid_input_not_a_crash(client: TestClient, as_: As) -> None:
    """Found by the fuzzer: year 1 at +14:00 has no UTC time; it is a 422, never a 500."""
    for at in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        r = event(client, "ZJ-2026-001", as_("li"), "submit_proposal", at=at)
        assert r.status_code == 422 and r.json()["reasons"][0]["path"] == "body.at"
        q = client.get(f"{V1}/audit/events", params={"since": at}, headers=as_("zheng"))
        assert q.status_code == 422

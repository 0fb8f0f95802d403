"""Findings, rectification orders and their use cases over HTTP, the ``overdue`` project filter, and the
offline Swagger UI; on SQLite and PostgreSQL.

The orders come from the sweep and deadlines runs of 2026-09-28 (due 2026-10-30, over 国庆): one on ZJ-2026-004
(lead 人社厅: chen) for the missed photo feed C-002, four on ZJ-2026-005 (lead 发改委: xu). The application's
clock stands at 2026-11-26, after that deadline.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from govflow.api import ApiSettings
from govflow.cli import app as cli_app
from govflow.governance.rectification import run_deadlines
from govflow.governance.sweep import run_sweep
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.states.phases import Event
from tests.rectified import deliver_for

from .support import As

V1 = "/api/v1"
ISSUED_ON = date(2026, 9, 28)
TODAY = date(2026, 11, 26)
ORDER_004 = "RO-ZJ-2026-004-01"
ORDERS_005 = [f"RO-ZJ-2026-005-0{n}" for n in range(1, 5)]
SECRET_NAME = (
    "出入境证件签发记录"  # ZJ-2026-001 C-004: secret, provider 公安厅 (zhou), authorized 大数据局 (li)
)


@pytest.fixture
def orders(gov: App) -> App:
    run_sweep(gov, ISSUED_ON)
    issued = run_deadlines(gov, ISSUED_ON)
    assert sorted(issued.issued_codes) == [ORDER_004, *ORDERS_005]
    return gov


def order(client: TestClient, as_: As, user: str, code: str = ORDER_004) -> Any:
    r = client.get(f"{V1}/orders/{code}", headers=as_(user))
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------------------------------------- orders


def test_one_order_with_its_steps_is_shown_to_its_projects_departments_only(
    client: TestClient, orders: App, as_: As
) -> None:
    shown = order(client, as_, "chen")
    assert shown["status"] == "open" and shown["deadline"] == "2026-10-30" and shown["version"] == 1
    assert shown["clause"] == "733号文 第十一条"
    assert [st["kind"] for st in shown["steps"]] == ["issued"]
    assert shown["reasons"][0]["code"] == "MILESTONE_MISSED" and "C-002" in shown["reasons"][0]["message"]
    assert order(client, as_, "li")["code"] == ORDER_004  # 大数据局 takes part in ZJ-2026-004
    assert order(client, as_, "zheng")["code"] == ORDER_004  # audit reads everything
    en = client.get(f"{V1}/orders/{ORDER_004}", headers=as_("chen", lang="en")).json()
    assert en["status_label"] == "open" and en["steps"][0]["kind_label"] == "order issued"

    # 市场监管局 neither leads nor takes part in ZJ-2026-004: told exactly what a missing order is told
    other = client.get(f"{V1}/orders/{ORDER_004}", headers=as_("zhao"))
    missing = client.get(f"{V1}/orders/RO-NOPE-01", headers=as_("zhao"))
    assert other.status_code == missing.status_code == 404
    assert other.json() == {
        **missing.json(),
        "message": missing.json()["message"].replace("RO-NOPE-01", ORDER_004),
    }
    r = client.post(f"{V1}/orders/{ORDER_004}/evidence", json={"note": "已整改"}, headers=as_("zhao"))
    assert r.status_code == 404 and r.json()["error"] == "NOT_FOUND", r.text
    # evidence is the lead department's: li, who takes part and may read the order, is refused
    r = client.post(f"{V1}/orders/{ORDER_004}/evidence", json={"note": "已整改"}, headers=as_("li"))
    assert r.status_code == 403, r.text
    assert order(client, as_, "wang")["status"] == "open", "a refused request changes nothing"


def test_evidence_then_verification_closes_the_order_and_a_stale_version_is_a_conflict(
    client: TestClient, orders: App, as_: As
) -> None:
    url = f"{V1}/orders/{ORDER_004}"
    sent = client.post(
        f"{url}/evidence",
        json={"note": "照片共享接口已于 11 月上线", "expect_version": 1},
        headers=as_("chen"),
    )
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["status"] == "evidence_submitted" and body["version"] == 2
    assert (
        body["steps"][-1]["kind"] == "evidence" and body["steps"][-1]["note"] == "照片共享接口已于 11 月上线"
    )

    stale = client.post(
        f"{url}/evidence", json={"note": "再次提交", "expect_version": 1}, headers=as_("chen")
    )
    assert stale.status_code == 409 and stale.json()["error"] == "CONFLICT"
    # the department cannot verify its own rectification; the program office can, with or without a note —
    # not while the platform has no delivery of the item (the obligation is still broken), then once it has
    assert client.post(f"{url}/verify", headers=as_("chen")).status_code == 403
    unmet = client.post(f"{url}/verify", headers=as_("wang"))
    assert unmet.status_code == 422 and unmet.json()["reasons"][0]["code"] == "ORDER_NOT_RECTIFIED", (
        unmet.text
    )
    deliver_for(orders, ORDER_004, TODAY - timedelta(days=1))
    verified = client.post(f"{url}/verify", headers=as_("wang"))
    assert verified.status_code == 200, verified.text
    closed = verified.json()
    assert closed["status"] == "closed" and closed["closed_reason"] == "verified"
    assert closed["closed_on"] == TODAY.isoformat() and closed["closed_late"] is True  # due 2026-10-30
    assert [st["kind"] for st in closed["steps"]] == ["issued", "evidence", "verify"]

    again = client.post(f"{url}/verify", json={"note": "重复核验"}, headers=as_("wang"))
    assert again.status_code == 422
    reason = again.json()["reasons"][0]
    assert reason["code"] == "ORDER_STATUS" and reason["clause"] == "733号文 第十一条"
    reopened = client.post(f"{url}/reopen", json={"reason": "照片接口再次中断"}, headers=as_("wang"))
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    assert reopened.json()["closed_on"] is None


def test_rejecting_evidence_needs_a_reason_and_returns_a_late_order_to_overdue(
    client: TestClient, orders: App, as_: As
) -> None:
    url = f"{V1}/orders/{ORDER_004}"
    assert client.post(f"{url}/evidence", json={"note": "已整改"}, headers=as_("chen")).status_code == 200
    for body in ({}, {"reason": "   "}):
        r = client.post(f"{url}/reject", json=body, headers=as_("wang"))
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "VALIDATION"
        assert [x["path"] for x in r.json()["reasons"]] == ["body.reason"]
    blank_evidence = client.post(f"{url}/evidence", json={"note": ""}, headers=as_("chen"))
    assert blank_evidence.status_code == 422 and blank_evidence.json()["reasons"][0]["path"] == "body.note"

    rejected = client.post(f"{url}/reject", json={"reason": "未见交付记录"}, headers=as_("wang"))
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "overdue"  # the deadline (2026-10-30) has passed
    assert rejected.json()["steps"][-1]["note"] == "未见交付记录"


def test_extending_a_deadline_is_refused_with_reasons_unless_it_is_a_later_working_day(
    client: TestClient, orders: App, as_: As
) -> None:
    url = f"{V1}/orders/{ORDER_004}/extend"

    def extend(user: str = "wang", lang: str | None = None, **body: Any) -> Any:
        return client.post(url, json={"reason": "接口改造需要时间", **body}, headers=as_(user, lang=lang))

    earlier = extend(to="2026-10-20")
    assert earlier.status_code == 422
    assert earlier.json()["reasons"][0]["code"] == "EXTENSION_NOT_LATER"
    assert earlier.json()["reasons"][0]["clause"] == "733号文 第十一条"
    both = extend(to="2026-12-28", workdays=3)
    assert both.status_code == 422 and both.json()["error"] == "VALIDATION"
    assert extend(workdays=0).status_code == 422
    assert extend().status_code == 422  # neither
    # 2027 has no official calendar data yet: a new deadline there cannot be checked, refused naming the year
    no_calendar = extend(to="2027-01-15")
    assert no_calendar.status_code == 422 and no_calendar.json()["error"] == "CALENDAR_DATA_MISSING"
    assert "2027" in no_calendar.json()["message"]
    assert extend("qian", to="2026-12-28").status_code == 403  # finance may not
    assert order(client, as_, "wang")["deadline"] == "2026-10-30", "nothing refused was written"

    # a day off as the new deadline: moved to the next working day, and the step says why (民法典 第二百零三条)
    moved = extend(to="2026-12-26")  # a Saturday
    assert moved.status_code == 200, moved.text
    d = moved.json()
    assert d["deadline"] == "2026-12-28" and d["original_deadline"] == "2026-10-30" and d["status"] == "open"
    step = d["steps"][-1]
    assert step["kind"] == "extend" and step["payload"]["previous_deadline"] == "2026-10-30"
    assert step["payload"]["requested"] == "2026-12-26"
    assert "顺延至其后第一个工作日 2026-12-28" in step["note"] and "民法典》第二百零三条" in step["note"]
    by_days = extend(workdays=2)  # 12-29, 12-30
    assert by_days.status_code == 200 and by_days.json()["deadline"] == "2026-12-30"
    # 期限待定: working days that reach into 2027 (no calendar data) leave the deadline pending, not a 503
    pending = extend(workdays=5)
    assert pending.status_code == 200, pending.text
    d = pending.json()
    assert (d["deadline"], d["deadline_pending"], d["deadline_label"]) == (None, True, "期限待定")
    assert (d["pending_from"], d["pending_workdays"], d["status"]) == ("2026-12-30", 5, "open")
    assert extend(lang="en", workdays=1).json()["deadline_label"] == "deadline pending"
    assert order(client, as_, "wang")["pending_workdays"] == 6


@pytest.mark.parametrize(
    ("action", "prepare", "body"),
    [
        ("verify", ["evidence"], {"note": "核验"}),
        ("reject", ["evidence"], {"reason": "未见交付记录"}),
        ("reopen", ["evidence", "verify"], {"reason": "照片接口再次中断"}),
        ("extend", ["extend"], {"reason": "接口改造需要时间", "workdays": 2}),
    ],
)
def test_every_order_action_answers_409_to_a_stale_version(
    client: TestClient, orders: App, as_: As, action: str, prepare: list[str], body: dict[str, Any]
) -> None:
    """verify, reject, reopen and extend take ``expect_version`` as evidence does: the version the client saw."""
    url = f"{V1}/orders/{ORDER_004}"
    deliver_for(orders, ORDER_004, TODAY - timedelta(days=1))  # the obligation is met: it can be verified
    for step in prepare:
        who, payload = {
            "evidence": ("chen", {"note": "已整改"}),
            "verify": ("wang", {}),
            "extend": ("wang", {"reason": "先延期", "workdays": 1}),
        }[step]
        assert client.post(f"{url}/{step}", json=payload, headers=as_(who)).status_code == 200
    seen = order(client, as_, "wang")["version"]
    assert seen == len(prepare) + 1

    stale = client.post(f"{url}/{action}", json={**body, "expect_version": seen - 1}, headers=as_("wang"))
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"] == "CONFLICT" and f"预期版本 {seen - 1}" in stale.json()["message"]
    en = client.post(
        f"{url}/{action}", json={**body, "expect_version": seen + 5}, headers=as_("wang", lang="en")
    )
    assert en.status_code == 409 and "reload and try again" in en.json()["message"]
    unchanged = order(client, as_, "wang")
    assert unchanged["version"] == seen and len(unchanged["steps"]) == len(prepare) + 1
    assert (
        client.post(f"{url}/{action}", json={**body, "expect_version": 0}, headers=as_("wang")).status_code
        == 422
    )

    done = client.post(f"{url}/{action}", json={**body, "expect_version": seen}, headers=as_("wang"))
    assert done.status_code == 200, done.text
    assert done.json()["version"] == seen + 1 and done.json()["steps"][-1]["kind"] == action


def test_the_order_action_bodies_document_the_expected_version(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for action in ("evidence", "verify", "reject", "reopen", "extend"):
        op = doc["paths"][f"/api/v1/orders/{{order}}/{action}"]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]
        ref = next((x for x in ref.get("anyOf", [ref]) if "$ref" in x), ref)["$ref"]
        props = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
        assert "expect_version" in props and "409" in props["expect_version"]["description"], action
        assert {"404", "409", "422"} <= set(op["responses"]), action


# ---------------------------------------------------------------------------------------------- findings


def findings(client: TestClient, as_: As, user: str, **params: Any) -> Any:
    r = client.get(f"{V1}/findings", params=params, headers=as_(user))
    assert r.status_code == 200, r.text
    return r.json()


def test_findings_are_filtered_paged_and_scoped_like_orders(client: TestClient, orders: App, as_: As) -> None:
    every = findings(client, as_, "wang")
    assert every["total"] == 5 and len(every["items"]) == 5
    assert {f["project"] for f in every["items"]} == {"ZJ-2026-004", "ZJ-2026-005"}
    assert {f["order"] for f in every["items"]} == {ORDER_004, *ORDERS_005}
    assert all(f["status"] == "open" and f["opened_on"] == "2026-09-28" for f in every["items"])

    pages = [findings(client, as_, "wang", size=2, page=n) for n in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1] and {p["total"] for p in pages} == {5}
    assert [f["id"] for p in pages for f in p["items"]] == [f["id"] for f in every["items"]]

    (one,) = findings(client, as_, "wang", project="ZJ-2026-004")["items"]
    assert one["rule"] == "MILESTONE_MISSED" and one["clause"] == "733号文 第十一条"
    assert one["basis"] == "733号文 第八条（实现进度）" and one["period"] == "2026-06-30"
    assert one["subject"] == "A-001/C-002/11330000GF0000005G" and one["order"] == ORDER_004
    assert one["order_status"] == "open" and one["masked"] is False and one["closed_on"] is None
    assert (
        "实现进度为 2026-06-30" in one["description"] and "截至 2026-09-28 无交付记录" in one["description"]
    )
    en = client.get(
        f"{V1}/findings", params={"project": "ZJ-2026-004"}, headers=as_("wang", lang="en")
    ).json()
    assert en["items"][0]["description"].startswith("agreement A-001 promised catalog item C-002")
    assert en["items"][0]["rule_label"] == "sharing not realised by its due date"
    assert findings(client, as_, "wang", rule="AGREEMENT_EXPIRED")["total"] == 0
    assert findings(client, as_, "wang", rule="MILESTONE_MISSED", project="ZJ-2026-005")["total"] == 4

    # a later sweep closes what deliveries fixed and opens what broke since (SPEC §4.1)
    swept = run_sweep(orders, TODAY)
    closed = findings(client, as_, "wang", status="closed")
    assert closed["total"] == swept.closed >= 1
    assert all(
        f["closed_on"] == TODAY.isoformat() and f["closed_reason"] == "cause_gone" for f in closed["items"]
    )
    still = findings(client, as_, "wang", status="open")
    assert still["total"] + closed["total"] == findings(client, as_, "wang")["total"]
    assert "DELIVERY_STALE" in {f["rule"] for f in still["items"]}  # C-002 of ZJ-2026-005: weekly, last 10-30

    # 市场监管局 takes part in ZJ-2026-005 only; the review agency reads no findings
    assert {f["project"] for f in findings(client, as_, "zhao")["items"]} == {"ZJ-2026-005"}
    out = client.get(f"{V1}/findings", params={"project": "ZJ-2026-004"}, headers=as_("zhao"))
    nope = client.get(f"{V1}/findings", params={"project": "ZJ-NOPE"}, headers=as_("zhao"))
    assert out.status_code == nope.status_code == 404  # no existence oracle: the same answer as a wrong code
    assert out.json()["message"] == nope.json()["message"].replace("ZJ-NOPE", "ZJ-2026-004")
    assert client.get(f"{V1}/findings", headers=as_("pingshen")).status_code == 403
    assert client.get(f"{V1}/findings", params={"status": "gone"}, headers=as_("wang")).status_code == 422
    assert client.get(f"{V1}/findings", params={"project": "ZJ-NOPE"}, headers=as_("wang")).status_code == 404


def to_construction(gov: App) -> None:
    for event, actor in [
        (Event.SUBMIT_PROPOSAL, "li"),
        (Event.INTAKE, "wang"),
        (Event.APPROVE, "wang"),
        (Event.SUBMIT_FEASIBILITY, "li"),
        (Event.APPROVE, "wang"),
        (Event.SUBMIT_DESIGN, "li"),
        (Event.APPROVE, "wang"),
    ]:
        assert services.fire_event(gov, "ZJ-2026-001", event, actor).accepted, event


def test_a_secret_catalog_item_is_masked_in_findings_and_orders_for_those_who_may_not_see_it(
    client: TestClient, gov: App, engine: Engine, db_url: str, tmp_path: Path, as_: As
) -> None:
    """第二条第三款: C-004 of ZJ-2026-001 is visible to its provider (公安厅, zhou), the department authorized on
    it (大数据局, li) and audit; to 市场监管局 (zhao, taking part in the project) and the program office it is a
    masked finding: its rule, dates and order, not the item, its consumer or its key."""
    to_construction(gov)
    run_sweep(gov, date(2027, 1, 4))  # every item of ZJ-2026-001 was due 2026-12-31, none delivered
    # the deadlines of orders issued in 2027 need that year's calendar: a FICTIONAL one, for this test only
    fictional = tmp_path / "calendar-2027.yaml"
    fictional.write_text(
        "years:\n  '2027':\n    holidays: ['2027-01-01']\n    workdays: []\n", encoding="utf-8"
    )
    later = App(ApiSettings(database_url=db_url, calendar_file=fictional), engine, clock=gov.clock)
    assert run_deadlines(later, date(2027, 1, 4)).orders_issued > 6

    def secret_of(user: str) -> tuple[dict[str, Any], str]:
        r = client.get(f"{V1}/findings", params={"project": "ZJ-2026-001"}, headers=as_(user))
        assert r.status_code == 200 and r.json()["total"] == 6, r.text
        (agreement_a001_c004,) = [
            f for f in r.json()["items"] if f["masked"] or (f["key"] and "/C-004/" in f["key"])
        ]
        return agreement_a001_c004, r.text

    for user in ("zhao", "wang"):
        hidden, text = secret_of(user)
        assert hidden["masked"] is True and hidden["key"] is None and hidden["evidence"] is None
        assert hidden["subject"] == "A-001" and hidden["rule"] == "MILESTONE_MISSED"
        assert "733号文 第二条第三款" in hidden["description"] and hidden["order"]
        assert "C-004" not in text and SECRET_NAME not in text, f"{user} sees the secret item"
        code = hidden["order"]
        shown = client.get(f"{V1}/orders/{code}", headers=as_(user))
        assert shown.status_code == 200 and shown.json()["finding"] is None
        assert "C-004" not in shown.text and SECRET_NAME not in shown.text
        listed = client.get(f"{V1}/orders", params={"project": "ZJ-2026-001"}, headers=as_(user))
        assert listed.json()["total"] == 6 and "C-004" not in listed.text and SECRET_NAME not in listed.text

    for user in ("zhou", "li", "zheng"):
        seen, _ = secret_of(user)
        assert seen["masked"] is False and seen["subject"] == "A-001/C-004/11330000GF00000027"
        assert SECRET_NAME in seen["description"] and seen["evidence"]["catalog"] == "C-004"
        assert order(client, as_, user, seen["order"])["finding"] == seen["key"]


# ---------------------------------------------------------------------------------------------- overdue projects


def test_the_overdue_filter_lists_exactly_the_projects_with_an_overdue_order(
    client: TestClient, orders: App, as_: As, monkeypatch: pytest.MonkeyPatch
) -> None:
    def listed(user: str, **params: Any) -> list[str]:
        r = client.get(f"{V1}/projects", params=params, headers=as_(user))
        assert r.status_code == 200, r.text
        return [p["code"] for p in r.json()["items"]]

    assert listed("wang", overdue="true") == [], "issued, not yet past the deadline by a run"
    assert run_deadlines(orders, TODAY).overdue == 5
    assert listed("wang", overdue="true") == ["ZJ-2026-004", "ZJ-2026-005"]
    # under review is not overdue (an order with evidence submitted is neither marked overdue nor escalated)
    sent = client.post(f"{V1}/orders/{ORDER_004}/evidence", json={"note": "已整改"}, headers=as_("chen"))
    assert sent.status_code == 200 and sent.json()["status"] == "evidence_submitted"
    assert listed("wang", overdue="true") == ["ZJ-2026-005"]
    assert listed("wang", overdue="true", page=2, size=1) == []
    assert len(listed("wang")) == len(listed("wang", overdue="false")) == 5
    assert listed("chen", overdue="true") == ["ZJ-2026-005"]  # 人社厅 takes part in it
    assert listed("li", overdue="true") == []  # 大数据局 takes no part in ZJ-2026-005
    assert listed("wang", overdue="true", phase="construction") == []

    # the CLI: govflow project list --overdue
    monkeypatch.setattr(services.App, "from_settings", classmethod(lambda cls, settings: orders))
    res = CliRunner().invoke(cli_app, ["project", "list", "--overdue", "--json", "--as", "zheng"])
    assert res.exit_code == 0, res.output
    assert [p["code"] for p in json.loads(res.stdout)] == ["ZJ-2026-005"]
    help_text = CliRunner().invoke(cli_app, ["project", "list", "--help"]).stdout
    assert "--overdue" in help_text and "逾期整改通知" in help_text


# ---------------------------------------------------------------------------------------------- docs


def test_swagger_ui_loads_only_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)|url:\s*'([^']+)'""", page.text)
    assets = [a or b for a, b in urls]
    assert len(assets) >= 4 and "/openapi.json" in assets
    assert "http" not in page.text.replace("http-equiv", ""), "no absolute URL: nothing from a CDN"
    for url in assets:
        assert url.startswith("/"), url
        r = client.get(url)
        assert r.status_code == 200 and r.content, url
    js = next(a for a in assets if a.endswith(".js"))
    assert "SwaggerUIBundle" in client.get(js).text
    assert client.get("/redoc").status_code == 404  # not offered

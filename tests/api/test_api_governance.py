"""Orders, cut recommendations with the finance decision, and report downloads through the API."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd  # type: ignore[import-untyped]
from fastapi.testclient import TestClient

from govflow.governance.cuts import run_cuts
from govflow.lifecycle.services import App

from .support import As

V1 = "/api/v1"
AS_OF = date(2026, 11, 26)


def test_finance_decides_a_recommendation_and_audit_downloads_the_reports(
    client: TestClient, gov: App, as_: As
) -> None:
    run_cuts(gov, AS_OF)
    listed = client.get(f"{V1}/cuts", params={"period": "2026"}, headers=as_("qian")).json()
    assert listed["total"] >= 1
    project = listed["items"][0]["project"]
    refused = client.post(
        f"{V1}/cuts/{project}/decision",
        json={"period": "2026", "accept": True, "reason": " "},
        headers=as_("qian"),
    )
    assert refused.status_code == 422 and refused.json()["reasons"][0]["code"] == "REASON_REQUIRED"
    ok = client.post(
        f"{V1}/cuts/{project}/decision",
        json={"period": "2026", "accept": True, "reason": "覆盖率不足，采纳"},
        headers=as_("qian"),
    )
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    again = client.post(
        f"{V1}/cuts/{project}/decision",
        json={"period": "2026", "accept": False, "reason": "x"},
        headers=as_("qian"),
    )
    assert again.status_code == 409
    assert (
        client.post(
            f"{V1}/cuts/{project}/decision",
            json={"period": "2026", "accept": False, "reason": "x"},
            headers=as_("zheng"),
        ).status_code
        == 403
    )  # audit reads, never decides

    as_json = client.get(f"{V1}/reports/cuts", params={"period": "2026"}, headers=as_("zheng")).json()
    xlsx = client.get(f"{V1}/reports/cuts", params={"period": "2026", "format": "xlsx"}, headers=as_("zheng"))
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    sheet = pd.read_excel(io.BytesIO(xlsx.content))
    assert len(sheet) == len(as_json) >= 1
    csv = client.get(
        f"{V1}/reports/overdue", params={"as_of": "2026-11-26", "format": "csv"}, headers=as_("zheng")
    )
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    orders = client.get(f"{V1}/orders", headers=as_("zheng"))
    assert orders.status_code == 200 and "items" in orders.json()


def test_the_policy_in_force_is_readable_by_those_it_concerns(client: TestClient, gov: App, as_: As) -> None:
    from govflow.governance import policy_service

    expected, _ = policy_service.show_policy(gov, None)
    for user in ("wang", "qian", "zheng", "admin"):
        r = client.get(f"{V1}/policy", headers=as_(user))
        assert r.status_code == 200, (user, r.text)
        body = r.json()
        assert body["active"]["version"] == expected.version and body["digest"] == expected.digest()
        assert body["active"]["rectification"]["workdays"] == expected.rectification.workdays
        assert [v["version"] for v in body["versions"] if v["active"]] == [expected.version]
    denied = client.get(f"{V1}/policy", headers=as_("li"))
    assert denied.status_code == 403 and denied.json()["reasons"][0]["code"] == "PERMISSION_DENIED"

"""Sharing materials over HTTP and the read use cases behind them (govflow.reads.queries): secret catalog items
(第二条第三款), agreements, opinions, uploads; the audit trail, users and flow runs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from govflow.api import ApiSettings, create_app
from govflow.governance.flowruns import recorded_run
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import AuditEvent, CatalogAuthorization, CatalogItem, DeliveryEvidence, Department
from govflow.reads import queries
from govflow.states.errors import PermissionDenied

from .support import BIGDATA, NDRC, SAMR, As

V1 = "/api/v1"
DATA = Path(__file__).resolve().parents[1] / "data"
P1 = f"{V1}/projects/ZJ-2026-001"

#: who sees the secret item C-004 of ZJ-2026-001 (provider 省公安厅, authorized 大数据局 only)
SEES_SECRET = {
    "li": True,  # 大数据局: authorized
    "zhou": True,  # 省公安厅: the provider
    "zheng": True,  # audit
    "zhao": False,  # 市场监管局: takes part in the project, not authorized on the item
    "chen": False,
    "wang": False,  # program office: its department (发改委) is not authorized
    "pingshen": False,
    "qian": False,
    "admin": False,  # administrators are not entitled by their role
}


def test_secret_catalog_items_only_for_provider_authorized_and_audit(gov: App) -> None:
    for user, sees in SEES_SECRET.items():
        page = queries.list_catalog(gov, "ZJ-2026-001", user)
        codes = [i["code"] for i in page.items]
        assert ("C-004" in codes) is sees, user
        assert page.total == len(codes) == (5 if sees else 4), user  # not even counted
        agreements = queries.list_agreements(gov, "ZJ-2026-001", user).items
        items = [i["catalog"] for a in agreements for i in a["items"]]
        assert ("C-004" in items) is sees, user
        if sees:
            c004 = next(i for i in page.items if i["code"] == "C-004")
            assert c004["secrecy"] == "secret" and c004["authorized"] == [BIGDATA]


def test_a_department_authorized_later_sees_the_secret_item(gov: App) -> None:
    """Authorization is by department: a program-office user whose department is authorized sees it."""
    ci, auth, dept = t(CatalogItem), t(CatalogAuthorization), t(Department)
    with unit_of_work(gov.engine) as s:
        item = s.execute(select(ci.c.id).where(ci.c.secrecy == "secret")).scalar_one()
        ndrc = s.execute(select(dept.c.id).where(dept.c.code == NDRC)).scalar_one()
        s.execute(insert(auth).values(catalog_item_id=item, department_id=ndrc))
    assert "C-004" in [i["code"] for i in queries.list_catalog(gov, "ZJ-2026-001", "wang").items]


def test_catalog_over_http_hides_secret_items_and_pages(client: TestClient, as_: As) -> None:
    hidden = client.get(f"{P1}/catalog", headers=as_("zhao")).json()
    assert hidden["total"] == 4 and "C-004" not in [i["code"] for i in hidden["items"]]
    only_secret = client.get(f"{P1}/catalog", params={"secrecy": "secret"}, headers=as_("zhao")).json()
    assert only_secret == {"items": [], "total": 0, "page": 1, "size": 50}
    seen = client.get(f"{P1}/catalog", params={"size": 2, "page": 2}, headers=as_("zhou")).json()
    assert [i["code"] for i in seen["items"]] == ["C-003", "C-004"] and seen["total"] == 5
    basic = client.get(f"{P1}/catalog", headers=as_("li")).json()["items"][0]
    assert basic["code"] == "C-001" and basic["authorized"] == "all"


def test_agreements_opinions_and_an_opinion_recorded(client: TestClient, as_: As) -> None:
    agreements = client.get(f"{P1}/agreements", headers=as_("wang")).json()
    assert agreements["total"] == 2
    assert all(a["parties"] and a["items"] for a in agreements["items"])
    before = client.get(f"{P1}/opinions", headers=as_("li")).json()["total"]
    r = client.post(
        f"{P1}/opinions",
        headers=as_("zhao"),
        json={
            "department": SAMR,
            "date": "2026-11-25",
            "verdict": "unmet_needs",
            "unmet_needs": [{"name": "企业年报信息", "catalog": None}],
        },
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    opinions = client.get(f"{P1}/opinions", headers=as_("li")).json()
    assert opinions["total"] == before + 1
    assert opinions["items"][-1]["unmet_needs"] == [{"name": "企业年报信息", "catalog": None}]
    for_other = client.post(
        f"{P1}/opinions", headers=as_("zhao"), json={"department": BIGDATA, "verdict": "agree"}
    )
    assert for_other.status_code == 422 and for_other.json()["reasons"][0]["clause"] == "733号文 第九条"


def test_catalog_upload_refines_and_reports_bad_rows(client: TestClient, as_: As) -> None:
    csv = (DATA / "catalog.csv").read_bytes()
    r = client.post(f"{P1}/catalog", headers=as_("li"), files={"file": ("目录 2026.csv", csv, "text/csv")})
    assert r.status_code == 200, r.json()
    assert r.json() == {"project": "ZJ-2026-001", "added": 0, "refined": 3, "version": 2}
    trail = client.get(f"{V1}/audit/events", params={"action": "catalog.import"}, headers=as_("zheng"))
    assert trail.json()["items"][0]["note"].startswith("目录_2026.csv")  # the client's name, cleaned
    bad = csv.replace(b"basic,unconditional", b"basic,conditional")
    refused = client.post(f"{P1}/catalog", headers=as_("li"), files={"file": ("c.csv", bad, "text/csv")})
    assert refused.status_code == 422
    assert refused.json()["error"] == "INVALID_INPUT" and refused.json()["reasons"][0]["path"]
    wrong_kind = client.post(f"{P1}/catalog", headers=as_("li"), files={"file": ("c.exe", csv, "text/csv")})
    assert wrong_kind.status_code == 400 and wrong_kind.json()["error"] == "USAGE"


def test_uploads_past_the_limit_are_413(gov: App, db_url: str, tokens: dict[str, str]) -> None:
    settings = ApiSettings(database_url=db_url, upload_max_bytes=1024)
    with TestClient(create_app(settings, app=gov)) as c:
        r = c.post(
            f"{V1}/evidence",
            headers={"Authorization": f"Bearer {tokens['admin']}"},
            files={"file": ("e.csv", b"x" * 4096, "text/csv")},
        )
    assert r.status_code == 413 and r.json()["error"] == "UPLOAD_TOO_LARGE"


def test_evidence_upload(client: TestClient, gov: App, as_: As) -> None:
    # a day the demo has not recorded (tests/data/evidence.csv re-exports recorded days: refused as such)
    csv = f"project,catalog,consumer,date,records\nZJ-2026-005,C-001,{NDRC},2026-11-21,5\n".encode()
    r = client.post(f"{V1}/evidence", headers=as_("xu"), files={"file": ("evidence.csv", csv, "text/csv")})
    assert r.status_code == 200, r.json()
    assert r.json()["imported"] >= 1
    again = client.post(
        f"{V1}/evidence", headers=as_("xu"), files={"file": ("evidence.csv", csv, "text/csv")}
    )
    assert again.status_code == 422 and again.json()["reasons"][0]["code"] == "EVIDENCE_FILE_ALREADY_IMPORTED"
    # a corrected export of that day: refused as already recorded, taken with replace=true (replaces, never adds)
    fixed = f"project,catalog,consumer,date,records\nZJ-2026-005,C-001,{NDRC},2026-11-21,7\n".encode()
    overlap = client.post(
        f"{V1}/evidence", headers=as_("xu"), files={"file": ("fixed.csv", fixed, "text/csv")}
    )
    assert overlap.status_code == 422 and overlap.json()["reasons"][0]["code"] == "EVIDENCE_ALREADY_RECORDED"
    replaced = client.post(
        f"{V1}/evidence",
        params={"replace": "true"},
        headers=as_("xu"),
        files={"file": ("fixed.csv", fixed, "text/csv")},
    )
    assert replaced.status_code == 200, replaced.json()
    de = t(DeliveryEvidence)
    with unit_of_work(gov.engine, write=False) as s:
        recorded = s.execute(select(de.c.records).where(de.c.day == date(2026, 11, 21))).scalars().all()
    assert recorded == [7]
    foreign = client.post(f"{V1}/evidence", headers=as_("lin"), files={"file": ("e.csv", csv, "text/csv")})
    # a project lin's department has no part in reads as one that does not exist (no existence oracle)
    assert foreign.status_code == 404 and foreign.json()["error"] == "NOT_FOUND", foreign.json()


def test_audit_trail_filters_pages_and_verifies(client: TestClient, gov: App, as_: As) -> None:
    client.post(f"{P1}/events", headers=as_("li"), json={"event": "submit_proposal"})
    client.post(f"{P1}/events", headers=as_("qian"), json={"event": "intake"})  # denied
    everything = client.get(f"{V1}/audit/events", params={"size": 1}, headers=as_("zheng")).json()
    total = everything["total"]
    assert total >= 3 and len(everything["items"]) == 1
    newest = everything["items"][0]
    assert newest["seq"] == total and newest["outcome"] == "denied" and newest["actor"] == "qian"
    first = client.get(f"{V1}/audit/events", params={"size": 1, "order": "asc"}, headers=as_("wang")).json()[
        "items"
    ][0]
    assert first["seq"] == 1
    decisions = client.get(
        f"{V1}/audit/events",
        params={"project": "ZJ-2026-001", "kind": "decision", "since": "2026-11-26T00:00:00+08:00"},
        headers=as_("zheng"),
    ).json()
    assert [(e["action"], e["actor"]) for e in decisions["items"]] == [("submit_proposal", "li")]
    none_yet = client.get(
        f"{V1}/audit/events", params={"until": "2026-01-01T00:00:00Z"}, headers=as_("zheng")
    ).json()
    assert none_yet["total"] == 0

    ok = client.get(f"{V1}/audit/verify", headers=as_("zheng"), params={}).json()
    assert ok == {
        "ok": True,
        "checked": total,
        "first_bad_seq": None,
        "first_bad_id": None,
        "problem": None,
        "anchors": 0,  # no anchor file configured here (tests/api/test_api_audit_anchor.py has one)
        "anchor_seq": None,
        "anchor_at": None,
    }
    ae = t(AuditEvent)
    with unit_of_work(gov.engine) as s:
        s.execute(update(ae).where(ae.c.seq == 2).values(note="篡改"))
    broken = client.get(f"{V1}/audit/verify", headers=as_("admin", lang="en")).json()
    assert broken["ok"] is False and broken["first_bad_seq"] == 2 and "edited" in broken["problem"]
    with pytest.raises(PermissionDenied):
        queries.verify_audit_chain(gov, "wang")  # the program office reads the trail but does not verify it


def test_users_and_flow_runs(client: TestClient, gov: App, as_: As) -> None:
    r = client.post(
        f"{V1}/users",
        headers=as_("admin"),
        json={"name": "sun", "role": "department", "department": SAMR, "display_name": "孙"},
    )
    assert r.status_code == 201 and r.json()["has_password"] is False
    again = client.post(f"{V1}/users", headers=as_("admin"), json={"name": "sun", "role": "audit"})
    assert again.status_code == 409
    no_dept = client.post(f"{V1}/users", headers=as_("admin"), json={"name": "x1", "role": "department"})
    assert no_dept.status_code == 400
    users = client.get(f"{V1}/users", params={"size": 5}, headers=as_("admin")).json()
    assert users["total"] == 12 and len(users["items"]) == 5

    with recorded_run(gov, "sweep", None) as stats:
        stats["findings"] = 2
    runs = client.get(f"{V1}/flow-runs", headers=as_("zheng")).json()
    assert runs["total"] == 1 and runs["items"][0]["stats"] == {"findings": 2}
    assert runs["items"][0]["status"] == "completed"
    assert (
        client.get(f"{V1}/flow-runs", params={"status": "failed"}, headers=as_("wang")).json()["total"] == 0
    )


@pytest.mark.parametrize("value", ["1664", "1.5", "true", "2026-12-04", "12/04/2026"])
def test_a_time_filter_takes_only_iso_8601_date_times(client: TestClient, as_: As, value: str) -> None:
    """``until=1664`` is not 27 minutes after 1970: a number, a bare date or a local spelling is refused."""
    r = client.get(f"{V1}/audit/events", params={"until": value}, headers=as_("zheng"))
    assert r.status_code == 422, r.json()
    ok = client.get(f"{V1}/audit/events", params={"until": "2026-12-04T09:00:00+08:00"}, headers=as_("zheng"))
    assert ok.status_code == 200

"""Deactivating and reactivating users over HTTP, on SQLite and PostgreSQL: the token and the session of a
deactivated user stop working at the next request; an administrator may not lock itself out, nor deactivate
the last active administrator (GB/T 22239-2019 8.1.4.2: 及时停用多余的、过期的账户)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from govflow.access import auth
from govflow.api.deps import CSRF_HEADER, SESSION_COOKIE
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import AppUser, AuditEvent
from govflow.states.errors import NotFound, RuleRefused, UsageError

from .support import As

V1 = "/api/v1"
ZHAO_PASSWORD = "Min-Gov-2026!x"


def deactivate(
    client: TestClient, headers: dict[str, str], name: str, reason: str = "调岗 / transferred"
) -> Any:
    return client.post(f"{V1}/users/{name}/deactivate", json={"reason": reason}, headers=headers)


def trail(gov: App, action: str) -> list[tuple[str, str, str | None, list[str]]]:
    ae = t(AuditEvent)
    q = select(ae.c.actor, ae.c.outcome, ae.c.note, ae.c.clauses).where(ae.c.action == action)
    with unit_of_work(gov.engine, write=False) as s:
        return [(str(a), str(o), n, list(c or [])) for a, o, n, c in s.execute(q.order_by(ae.c.seq))]


def test_a_deactivated_users_token_is_refused_and_revoked_for_good(
    client: TestClient, gov: App, tokens: dict[str, str], as_: As
) -> None:
    old = {"Authorization": f"Bearer {tokens['xu']}"}
    assert client.get(f"{V1}/projects", headers=old).status_code == 200
    r = deactivate(client, as_("admin"), "xu")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "name": "xu",
        "display_name": "徐立新",
        "role": "department",
        "department": "11330000GF00000014",
        "active": False,
        "has_password": False,
        "has_token": False,  # revoked with the deactivation
        "changed": True,
    }
    refused = client.get(f"{V1}/projects", headers=old)
    assert refused.status_code == 401 and refused.json()["error"] == "UNAUTHENTICATED"
    assert trail(gov, "user.deactivate") == [
        ("admin", "recorded", "xu：调岗 / transferred", ["GB/T 22239-2019 8.1.4.2"])
    ]
    # deactivating again changes nothing and records nothing
    again = deactivate(client, as_("admin"), "xu")
    assert again.status_code == 200 and again.json()["changed"] is False
    assert len(trail(gov, "user.deactivate")) == 1

    back = client.post(f"{V1}/users/xu/activate", headers=as_("admin"))
    assert back.status_code == 200 and back.json()["active"] is True and back.json()["changed"] is True
    assert client.get(f"{V1}/projects", headers=old).status_code == 401, "the old token stays revoked"
    new = client.post(f"{V1}/users/xu/token", headers=as_("admin")).json()["token"]
    assert client.get(f"{V1}/projects", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    assert trail(gov, "user.activate") == [("admin", "recorded", "xu", ["GB/T 22239-2019 8.1.4.2"])]
    listed = client.get(f"{V1}/users", params={"role": "department"}, headers=as_("admin")).json()["items"]
    assert next(u for u in listed if u["name"] == "xu")["active"] is True


def test_a_deactivated_users_session_ends_at_its_next_request(client: TestClient, gov: App, as_: As) -> None:
    auth.set_password(gov, None, "zhao", ZHAO_PASSWORD)
    login = client.post("/api/auth/login", json={"name": "zhao", "password": ZHAO_PASSWORD})
    assert login.status_code == 200
    csrf = login.json()["csrf_token"]
    assert client.get("/api/auth/me").json()["name"] == "zhao"
    cookie = client.cookies.get(SESSION_COOKIE) or ""

    # the administrator acts by token: the TestClient's cookie jar is zhao's, and a bearer token wins
    assert deactivate(client, as_("admin"), "zhao", "离职 / left").status_code == 200
    assert client.get("/api/auth/me").status_code == 401
    assert client.get(f"{V1}/projects").status_code == 401
    opinion = {"department": "11330000GF0000003A", "verdict": "agree"}
    write = client.post(f"{V1}/projects/ZJ-2026-001/opinions", json=opinion, headers={CSRF_HEADER: csrf})
    assert write.status_code == 401, "a change through the old session is refused too"
    assert client.post("/api/auth/login", json={"name": "zhao", "password": ZHAO_PASSWORD}).status_code == 401

    assert (
        client.post(f"{V1}/users/zhao/activate", json={"reason": "返岗"}, headers=as_("admin")).status_code
        == 200
    )
    # reactivated: the password works again, but a session cookie from before the deactivation never does (the
    # deactivation raised the user's session epoch); a new sign-in gives a new session
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    assert client.get("/api/auth/me").status_code == 401
    client.cookies.clear()
    assert client.post("/api/auth/login", json={"name": "zhao", "password": ZHAO_PASSWORD}).status_code == 200
    assert client.get("/api/auth/me").json()["name"] == "zhao"


def test_an_administrator_may_not_deactivate_itself_nor_the_last_administrator(
    client: TestClient, gov: App, as_: As
) -> None:
    alone = deactivate(client, as_("admin", lang="en"), "admin")
    assert alone.status_code == 422
    reasons = alone.json()["reasons"]
    assert [r["code"] for r in reasons] == ["CANNOT_DEACTIVATE_SELF", "LAST_ACTIVE_ADMIN"]
    assert {r["clause"] for r in reasons} == {"govflow 用户管理"}
    assert "own account" in reasons[0]["message"] and "last active administrator" in reasons[1]["message"]

    services.add_user(gov, None, name="admin2", role="admin", department=None, display_name=None)
    token2 = {"Authorization": f"Bearer {auth.issue_token(gov, None, 'admin2')}"}
    own = deactivate(client, token2, "admin2")
    assert own.status_code == 422 and [r["code"] for r in own.json()["reasons"]] == ["CANNOT_DEACTIVATE_SELF"]
    assert "不能停用自己" in own.json()["reasons"][0]["message"]
    # with two administrators, one may deactivate the other; then the remaining one is the last
    assert deactivate(client, token2, "admin").status_code == 200
    assert client.get(f"{V1}/users", headers=as_("admin")).status_code == 401
    with pytest.raises(RuleRefused) as exc:  # the local operator is no user: only the last-admin rule applies
        auth.set_active(gov, None, "admin2", False, "x")
    assert [r.code for r in exc.value.reasons] == ["LAST_ACTIVE_ADMIN"]
    assert client.get(f"{V1}/users", headers=token2).status_code == 200
    assert trail(gov, "user.deactivate") == [
        ("admin2", "recorded", "admin：调岗 / transferred", ["GB/T 22239-2019 8.1.4.2"])
    ]


def test_only_an_administrator_may_and_the_reason_is_required(client: TestClient, gov: App, as_: As) -> None:
    for who in ("wang", "zheng", "li"):
        r = deactivate(client, as_(who), "xu")
        assert r.status_code == 403, r.text
        reason = r.json()["reasons"][0]
        assert reason["code"] == "PERMISSION_DENIED" and reason["detail"]["action"] == "user.admin"
        assert client.post(f"{V1}/users/xu/activate", headers=as_(who)).status_code == 403
    denied = [(a, o) for a, o, _, _ in trail(gov, "user.admin")]
    assert denied == [(w, "denied") for w in ("wang", "zheng", "li") for _ in range(2)]
    for body in ({}, {"reason": "  "}):
        r = client.post(f"{V1}/users/xu/deactivate", json=body, headers=as_("admin"))
        assert r.status_code == 422 and [x["path"] for x in r.json()["reasons"]] == ["body.reason"]
    assert client.post(f"{V1}/users/xu/deactivate", headers=as_("admin")).status_code == 422  # no body
    assert deactivate(client, as_("admin"), "nobody").status_code == 404
    assert client.post(f"{V1}/users/nobody/activate", headers=as_("admin")).status_code == 404
    with pytest.raises(UsageError):
        auth.set_active(gov, None, "xu", False, " ")
    assert client.get(f"{V1}/projects", headers=as_("xu")).status_code == 200, "nothing refused was written"


def test_two_administrators_deactivating_each_other_at_once_leave_one_active(gov: App) -> None:
    """The active administrators are locked while one is deactivated, so both cannot go (the last-admin rule
    would otherwise be checked by each against a snapshot in which the other is still active)."""
    services.add_user(gov, None, name="admin2", role="admin", department=None, display_name=None)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def run(actor: str, target: str) -> None:
        barrier.wait()
        try:
            auth.set_active(gov, actor, target, False, "互相停用 / each other")
            outcomes[actor] = "done"
        except RuleRefused as exc:
            outcomes[actor] = exc.reasons[0].code
        except NotFound:  # the other won first and this actor is inactive now
            outcomes[actor] = "inactive"

    threads = [threading.Thread(target=run, args=pair) for pair in (("admin", "admin2"), ("admin2", "admin"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(outcomes.values()) in (["LAST_ACTIVE_ADMIN", "done"], ["done", "inactive"]), outcomes
    u = t(AppUser)
    with unit_of_work(gov.engine, write=False) as s:
        active = s.execute(select(u.c.name).where(u.c.role == "admin", u.c.active.is_(True))).scalars().all()
    assert len(active) == 1, active

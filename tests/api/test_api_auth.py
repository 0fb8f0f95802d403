"""Signing in: passwords (argon2), API tokens, session cookies with CSRF protection, and the production guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from pydantic import SecretStr

from govflow.access import auth
from govflow.api import ApiSettings, create_app
from govflow.api.deps import CSRF_HEADER, SESSION_COOKIE
from govflow.api.settings import PLACEHOLDER_SECRET
from govflow.lifecycle.services import App
from govflow.states.errors import PermissionDenied, RuleRefused, UsageError

from .support import As

V1 = "/api/v1"
LI_PASSWORD = "Li-Weidong-2026!"


def login(client: TestClient, name: str, password: str) -> Any:
    return client.post("/api/auth/login", json={"name": name, "password": password})


def test_sign_in_sets_a_session_that_works_and_needs_csrf_to_change(client: TestClient, gov: App) -> None:
    auth.set_password(gov, None, "li", LI_PASSWORD)
    r = client.post("/api/auth/login", json={"name": "li", "password": LI_PASSWORD})
    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["name"], body["role"], body["via"]) == ("li", "department", "session")
    assert body["display_name"] == "李卫东" and body["csrf_token"]
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # development mode

    me = client.get("/api/auth/me").json()
    assert me["name"] == "li" and me["via"] == "session" and me["csrf_token"] == body["csrf_token"]
    assert client.get(f"{V1}/projects").json()["total"] == 3  # leads 001, takes part in 003 and 004

    fire = {"event": "submit_proposal"}
    no_csrf = client.post(f"{V1}/projects/ZJ-2026-001/events", json=fire)
    assert no_csrf.status_code == 403 and no_csrf.json()["error"] == "CSRF_FAILED"
    wrong = client.post(f"{V1}/projects/ZJ-2026-001/events", json=fire, headers={CSRF_HEADER: "x"})
    assert wrong.status_code == 403
    ok = client.post(
        f"{V1}/projects/ZJ-2026-001/events", json=fire, headers={CSRF_HEADER: body["csrf_token"]}
    )
    assert ok.status_code == 200 and ok.json()["accepted"]

    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_wrong_password_unknown_user_and_no_password_are_one_401_and_audited(
    client: TestClient, gov: App, as_: As
) -> None:
    auth.set_password(gov, None, "li", LI_PASSWORD)
    answers = [
        client.post("/api/auth/login", json={"name": "li", "password": "Wrong-password-1"}),
        client.post("/api/auth/login", json={"name": "nobody", "password": LI_PASSWORD}),
        client.post("/api/auth/login", json={"name": "wang", "password": LI_PASSWORD}),  # none set
    ]
    for r in answers:
        assert r.status_code == 401
        assert r.json()["error"] == "UNAUTHENTICATED" and r.headers["www-authenticate"].startswith("Bearer")
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
    assert len({r.json()["message"] for r in answers}) == 1  # never says which
    trail = client.get(
        f"{V1}/audit/events", params={"action": "auth.login", "order": "asc"}, headers=as_("zheng")
    ).json()["items"]
    assert [(e["actor"], e["outcome"]) for e in trail] == [
        ("li", "denied"),
        ("nobody", "denied"),
        ("wang", "denied"),
    ]


def test_no_or_bad_credentials_are_401(client: TestClient, gov: App, as_: As) -> None:
    for headers in ({}, {"Authorization": "Bearer gft_not-a-token"}, {"Authorization": "Basic bGk6eA=="}):
        r = client.get(f"{V1}/projects", headers=headers)
        assert r.status_code == 401 and r.json()["error"] == "UNAUTHENTICATED", headers
    # a bad bearer token is refused even next to a good session
    auth.set_password(gov, None, "li", LI_PASSWORD)
    login(client, "li", LI_PASSWORD)
    assert client.get(f"{V1}/projects", headers={"Authorization": "Bearer gft_x"}).status_code == 401
    assert client.get(f"{V1}/projects").status_code == 200
    # a forged or foreign-key cookie is nobody
    client.cookies.clear()
    forged = URLSafeTimedSerializer("another-key", salt="govflow-session").dumps(
        {"u": "admin", "f": "", "c": ""}
    )
    client.cookies.set(SESSION_COOKIE, forged)
    assert client.get(f"{V1}/users").status_code == 401


def test_a_new_token_replaces_the_old_and_revoked_tokens_stop_working(
    client: TestClient, tokens: dict[str, str], as_: As
) -> None:
    old = tokens["xu"]
    assert client.get(f"{V1}/projects", headers=as_("xu")).status_code == 200
    r = client.post(f"{V1}/users/xu/token", headers=as_("admin"))
    assert r.status_code == 201
    new = r.json()["token"]
    assert new.startswith("gft_") and new != old
    assert client.get(f"{V1}/projects", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get(f"{V1}/projects", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    assert client.delete(f"{V1}/users/xu/token", headers=as_("admin")).status_code == 204
    assert client.get(f"{V1}/projects", headers={"Authorization": f"Bearer {new}"}).status_code == 401
    users = client.get(f"{V1}/users", params={"role": "department"}, headers=as_("admin")).json()["items"]
    xu = next(u for u in users if u["name"] == "xu")
    assert xu["has_token"] is False and "token_hash" not in xu and "password_hash" not in xu


def test_changing_a_password_ends_the_sessions_made_with_the_old_one(client: TestClient, gov: App) -> None:
    auth.set_password(gov, None, "li", LI_PASSWORD)
    csrf = login(client, "li", LI_PASSWORD).json()["csrf_token"]
    stolen = client.cookies.get(SESSION_COOKIE)
    weak = client.post(
        "/api/auth/password",
        json={"current_password": LI_PASSWORD, "new_password": "short"},
        headers={CSRF_HEADER: csrf},
    )
    assert weak.status_code == 422
    assert {r["code"] for r in weak.json()["reasons"]} == {"PASSWORD_LENGTH", "PASSWORD_COMPLEXITY"}
    assert {r["clause"] for r in weak.json()["reasons"]} == {"GB/T 22239-2019 8.1.4.1"}
    r = client.post(
        "/api/auth/password",
        json={"current_password": LI_PASSWORD, "new_password": "Another-Pass-2027"},
        headers={CSRF_HEADER: csrf},
    )
    assert r.status_code == 204
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, stolen or "")
    assert client.get("/api/auth/me").status_code == 401
    assert login(client, "li", "Another-Pass-2027").status_code == 200


def test_password_rules_and_who_may_set_a_password(gov: App) -> None:
    with pytest.raises(RuleRefused) as exc:
        auth.set_password(gov, "admin", "zhao", "zhao-lowercase-only")
    assert {r.code for r in exc.value.reasons} == {"PASSWORD_COMPLEXITY", "PASSWORD_CONTAINS_NAME"}
    with pytest.raises(PermissionDenied):
        auth.set_password(gov, "wang", "li", LI_PASSWORD)
    with pytest.raises(RuleRefused) as own:
        auth.set_password(gov, "li", "li", LI_PASSWORD)  # own password without the current one
    assert own.value.reasons[0].code == "CURRENT_PASSWORD_WRONG"
    auth.set_password(gov, "admin", "li", LI_PASSWORD)
    assert auth.authenticate(gov, "li", LI_PASSWORD).actor.name == "li"
    with pytest.raises(auth.Unauthenticated):
        auth.authenticate(gov, "li", LI_PASSWORD.lower())


#: production needs the audit anchor too (tests/cli/test_audit_anchor.py)
ANCHOR: dict[str, Any] = {
    "anchor_file": Path("/nonexistent/anchors.jsonl"),
    "anchor_key": SecretStr("9c4e1b7a3f5d2e8c0a6b4d1f7e3c9a5b"),
}


def test_production_refuses_a_placeholder_or_short_secret(db_url: str) -> None:
    for secret in (PLACEHOLDER_SECRET, "short", "a" * 64):
        with pytest.raises(UsageError) as exc:
            create_app(ApiSettings(database_url=db_url, production=True, secret_key=secret, **ANCHOR))
        assert "GOVFLOW_SECRET_KEY" in exc.value.message
    good = ApiSettings(database_url=db_url, production=True, secret_key="3f9a1c7e5b2d8f40a6c1e9b7d3f5a2c8")
    with pytest.raises(UsageError) as exc:  # a good secret, but no audit anchor
        create_app(good)
    assert "GOVFLOW_ANCHOR_FILE" in exc.value.message
    with pytest.raises(UsageError) as exc:
        create_app(good.model_copy(update={"anchor_file": Path("/x"), "anchor_key": SecretStr("change-me")}))
    assert "随机的锚点密钥" in exc.value.message
    create_app(good.model_copy(update=ANCHOR))
    create_app(ApiSettings(database_url=db_url))  # development may keep the placeholder


def test_production_cookies_are_secure(gov: App, db_url: str) -> None:
    settings = ApiSettings(
        database_url=db_url,
        production=True,
        secret_key="3f9a1c7e5b2d8f40a6c1e9b7d3f5a2c8",
        **ANCHOR,
    )
    auth.set_password(gov, None, "li", LI_PASSWORD)
    with TestClient(create_app(settings, app=gov), base_url="https://testserver") as c:
        r = c.post("/api/auth/login", json={"name": "li", "password": LI_PASSWORD})
        assert r.status_code == 200 and "Secure" in r.headers["set-cookie"]


def test_five_failed_sign_ins_lock_a_name_for_the_rest_of_fifteen_minutes(
    client: TestClient, gov: App
) -> None:
    """GB/T 22239-2019 8.1.4.1 b) 限制非法登录次数: counted per name from the audit trail; said for any name, so
    it tells nobody whether the user exists; the password is not checked while the lock holds."""
    from datetime import UTC, datetime, timedelta

    auth.set_password(gov, None, "li", LI_PASSWORD)
    start = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    now = [start]
    gov.clock = lambda: now[0]

    def tick(seconds: int = 1) -> None:
        now[0] += timedelta(seconds=seconds)

    for name in ("li", "ghost"):  # an existing user and a name nobody has
        for _ in range(auth.LOCKOUT_FAILURES):
            tick()
            assert login(client, name, "wrong-Passw0rd!").status_code == 401
        tick()
        locked = login(client, name, LI_PASSWORD)  # even the right password: not checked while locked
        assert locked.status_code == 429, locked.json()
        assert locked.json()["error"] == "SIGN_IN_LOCKED" and "15 分钟" in locked.json()["message"]
    assert login(client, "wang", "wrong-Passw0rd!").status_code == 401  # other names are not affected

    en = client.post(
        "/api/auth/login", json={"name": "li", "password": "x"}, headers={"Accept-Language": "en"}
    )
    assert en.status_code == 429 and "try again in" in en.json()["message"]

    now[0] = start + auth.LOCKOUT_WINDOW + timedelta(minutes=1)  # the window has passed
    assert login(client, "li", LI_PASSWORD).status_code == 200
    # a successful sign-in starts the count again
    for _ in range(auth.LOCKOUT_FAILURES - 1):
        tick()
        assert login(client, "li", "wrong-Passw0rd!").status_code == 401
    tick()
    assert login(client, "li", LI_PASSWORD).status_code == 200

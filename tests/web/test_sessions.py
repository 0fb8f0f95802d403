"""Sessions end on the server, on SQLite and PostgreSQL: signing out makes even a copy of the cookie useless,
"sign out everywhere" ends the user's sessions in every browser, and a password change ends every other
session while the browser that changed it stays signed in. The pages and the API share one session mechanism,
so each is checked through both doors."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, ViewportSize, expect
from sqlalchemy import Engine, select

from govflow.access import auth
from govflow.api import ApiSettings
from govflow.api.deps import CSRF_HEADER, SESSION_COOKIE
from govflow.demo import DEMO_NOW, demo_portfolio
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.models.tables import AuditEvent

from .conftest import Site

PASSWORD = "Demo-Passw0rd!2026"
NEW_PASSWORD = "Qz7#Shen-Pi-2027!"


@pytest.fixture
def gov(engine: Engine, db_url: str) -> App:
    ticks = itertools.count()
    app = App(
        ApiSettings(database_url=db_url), engine, clock=lambda: DEMO_NOW + timedelta(seconds=next(ticks))
    )
    services.load_portfolio(app, demo_portfolio(), None)
    for name in ("wang", "admin"):
        auth.set_password(app, None, name, PASSWORD)
    return app


@pytest.fixture
def web_app(gov: App, db_url: str) -> FastAPI:
    from govflow.web.site import create_site

    return create_site(ApiSettings(database_url=db_url), app=gov)


@pytest.fixture
def browsers(web_app: FastAPI) -> Iterator[list[TestClient]]:
    """Three separate browsers (cookie jars) on one server."""
    clients = [TestClient(web_app, headers={"Accept-Language": "zh-CN"}) for _ in range(3)]
    yield clients
    for c in clients:
        c.close()


def sign_in(client: TestClient, name: str = "wang", password: str = PASSWORD) -> str:
    """Sign in on the page; the session cookie's value."""
    client.cookies.clear()
    r = client.post("/web/login", data={"name": name, "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(client.cookies[SESSION_COOKIE])


def holds(client: TestClient, cookie: str) -> bool:
    """Whether ``cookie`` still opens a page (the board) and the API (``/api/auth/me``)."""
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    page = client.get("/web/board", follow_redirects=False)
    api = client.get("/api/auth/me")
    assert (page.status_code == 200) == (api.status_code == 200), (page.status_code, api.status_code)
    return page.status_code == 200


def csrf(client: TestClient, path: str = "/web/account") -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get(path).text)
    assert m, "no CSRF token on the page"
    return m.group(1)


def actions(gov: App, action: str) -> list[tuple[str, str | None]]:
    with unit_of_work(gov.engine, write=False) as s:
        rows = s.execute(
            select(AuditEvent.actor, AuditEvent.note).where(AuditEvent.action == action)  # type: ignore[call-overload]
        ).all()
    return [(str(a), n) for a, n in rows]


def test_a_copied_cookie_is_refused_after_sign_out(browsers: list[TestClient], gov: App) -> None:
    mine, thief, _ = browsers
    cookie = sign_in(mine)
    assert holds(thief, cookie)  # a copy works while the session lives ...
    r = mine.post("/web/logout", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/web/login?signed_out=here"
    assert "本次登录已在服务器上结束" in mine.get(r.headers["location"]).text
    assert not holds(thief, cookie)  # ... and not after sign-out: the session ended on the server
    assert thief.get("/web/board", follow_redirects=False).headers["location"].startswith("/web/login")
    assert actions(gov, "auth.logout") == [("wang", None)]
    assert holds(mine, sign_in(mine))  # signing in again starts a new session


def test_api_sign_out_ends_the_session_too(browsers: list[TestClient]) -> None:
    client, thief, _ = browsers
    r = client.post("/api/auth/login", json={"name": "wang", "password": PASSWORD})
    assert r.status_code == 200
    cookie = str(client.cookies[SESSION_COOKIE])
    assert holds(thief, cookie)
    assert client.post("/api/auth/logout").status_code == 204
    assert not holds(thief, cookie)
    assert thief.get("/api/auth/me").json()["error"] == "UNAUTHENTICATED"


def test_sign_out_everywhere_ends_every_browser_s_session(browsers: list[TestClient], gov: App) -> None:
    office, home, phone = browsers
    at_office, at_home = sign_in(office), sign_in(home)
    page = office.get("/web/account")
    assert "在所有设备上退出" in page.text and 'id="sign-out-everywhere"' in page.text
    r = office.post("/web/account/sessions/end", data={"csrf": csrf(office)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/web/login?signed_out=everywhere"
    assert "已在所有设备和浏览器上退出登录" in office.get(r.headers["location"]).text
    assert not holds(home, at_home)
    assert not holds(office, at_office)
    assert actions(gov, "user.sessions.end") == [("wang", "wang")]
    assert holds(phone, sign_in(phone))  # the account itself works: a new sign-in is a new session


def test_sign_out_everywhere_needs_the_session_s_csrf_token(browsers: list[TestClient]) -> None:
    office, home, _ = browsers
    sign_in(office)
    at_home = sign_in(home)
    r = office.post("/web/account/sessions/end", data={"csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert holds(home, at_home)


def test_api_sign_out_everywhere(browsers: list[TestClient]) -> None:
    api, browser, _ = browsers
    at_browser = sign_in(browser)
    body = api.post("/api/auth/login", json={"name": "wang", "password": PASSWORD}).json()
    assert api.post("/api/auth/logout-everywhere").status_code == 403  # a session request needs CSRF
    r = api.post("/api/auth/logout-everywhere", headers={CSRF_HEADER: body["csrf_token"]})
    assert r.status_code == 204
    assert not holds(browser, at_browser)
    assert api.get("/api/auth/me").status_code == 401


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    browsers: list[TestClient], gov: App
) -> None:
    office, home, thief = browsers
    at_office, at_home = sign_in(office), sign_in(home)
    wrong = office.post(
        "/web/account/password",
        data={"csrf": csrf(office), "current_password": "not-my-Password-1", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 422 and "须提供正确的当前口令" in wrong.text
    assert holds(home, at_home)  # a refused change ends nothing
    r = office.post(
        "/web/account/password",
        data={"csrf": csrf(office), "current_password": PASSWORD, "new_password": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/web/account?done=password"
    renewed = str(office.cookies[SESSION_COOKIE])
    assert renewed != at_office
    assert "口令已修改" in office.get(r.headers["location"]).text  # still signed in, on a new session
    assert holds(thief, renewed)
    assert not holds(home, at_home)
    assert not holds(thief, at_office)  # the changing browser's old cookie, if copied, is dead too
    assert auth.authenticate(gov, "wang", NEW_PASSWORD).actor.name == "wang"


def test_an_administrator_signs_another_user_out_everywhere(browsers: list[TestClient], gov: App) -> None:
    admin, wang, _ = browsers
    sign_in(admin, "admin")
    at_wang = sign_in(wang)
    users = admin.get("/web/admin/users").text
    assert 'action="/web/admin/users/wang/sessions/end"' in users
    assert 'action="/web/admin/users/admin/sessions/end"' not in users  # one's own: the account page
    r = admin.post("/web/admin/users/wang/sessions/end", data={"csrf": csrf(admin, "/web/admin/users")})
    assert r.status_code == 200 and "已结束该用户的全部登录会话：wang（1）" in r.text
    assert not holds(wang, at_wang)
    assert actions(gov, "user.sessions.end") == [("admin", "wang")]
    # nobody else may: the program office is refused, and wang's new session survives the attempt
    at_wang = sign_in(wang)
    denied = wang.post("/web/admin/users/admin/sessions/end", data={"csrf": csrf(wang)})
    assert denied.status_code == 403
    assert holds(wang, at_wang)


def test_the_api_signs_a_user_out_everywhere_for_an_administrator_only(
    browsers: list[TestClient], gov: App
) -> None:
    wang, _, robot = browsers
    at_wang = sign_in(wang)
    token = {"Authorization": f"Bearer {auth.issue_token(gov, None, 'li')}"}  # a department's machine
    assert robot.post("/api/v1/users/wang/sessions/end", headers=token).status_code == 403
    assert holds(wang, at_wang)
    admin = {"Authorization": f"Bearer {auth.issue_token(gov, None, 'admin')}"}
    assert robot.post("/api/v1/users/nobody/sessions/end", headers=admin).status_code == 404
    assert robot.post("/api/v1/users/wang/sessions/end", headers=admin).status_code == 204
    assert not holds(wang, at_wang)
    assert robot.get("/api/auth/me", headers=admin).status_code == 200  # a token is no session: it stays


def test_a_password_reset_by_the_administrator_ends_the_user_s_sessions(
    browsers: list[TestClient], gov: App
) -> None:
    wang, _, _ = browsers
    at_wang = sign_in(wang)
    auth.set_password(gov, "admin", "wang", NEW_PASSWORD)
    assert not holds(wang, at_wang)


# ---------------------------------------------------------------------------------------------- in the browser

PHONE: ViewportSize = {"width": 390, "height": 844}
DESK: ViewportSize = {"width": 1440, "height": 900}


def browser_signed_in(
    browser: Browser, site: Site, viewport: ViewportSize, user: str = "wang"
) -> BrowserContext:
    ctx = browser.new_context(locale="zh-CN", viewport=viewport, base_url=site.base)
    page = ctx.new_page()
    page.goto("/web/login")
    page.fill("#name", user)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_load_state()
    assert "/web/login" not in page.url
    return ctx


def test_in_the_browser_a_copied_cookie_dies_with_the_sign_out(browser: Browser, site: Site) -> None:
    mine = browser_signed_in(browser, site, DESK)
    copy = browser.new_context(locale="zh-CN", viewport=DESK, base_url=site.base)
    session = next(c for c in mine.cookies() if c["name"] == SESSION_COOKIE)
    copy.add_cookies([{"name": SESSION_COOKIE, "value": session["value"], "url": site.base}])
    other = copy.new_page()
    other.goto("/web/board")
    expect(other.locator("h1")).to_contain_text("项目看板")
    page = mine.pages[0]
    page.click("#sign-out")
    page.wait_for_load_state()
    expect(page.locator("#signed-out")).to_contain_text("您已退出登录")
    other.goto("/web/board")
    assert "/web/login" in other.url  # the copy is refused: the session ended on the server
    mine.close()
    copy.close()


def test_in_the_browser_sign_out_everywhere_ends_the_other_browser_s_session(
    browser: Browser, site: Site
) -> None:
    office, home = browser_signed_in(browser, site, PHONE), browser_signed_in(browser, site, DESK)
    page = office.pages[0]
    page.click("#account-link")
    expect(page.locator("h1")).to_have_text("我的账户")
    page.screenshot(path=str(site.artifacts / "50-account-phone.png"), full_page=True)
    page.click("#sign-out-everywhere-submit")
    page.wait_for_load_state()
    expect(page.locator("#signed-out-everywhere")).to_contain_text("已在所有设备和浏览器上退出登录")
    page.screenshot(path=str(site.artifacts / "51-signed-out-everywhere-phone.png"), full_page=True)
    other = home.pages[0]
    other.goto("/web/board")
    assert "/web/login" in other.url
    office.close()
    home.close()

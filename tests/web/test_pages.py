"""The dashboard in process (no browser): sign-in, language, CSRF, who sees which buttons, and that looking at
a page changes nothing. Runs wherever the suite runs, Chromium or not."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from govflow import queries
from govflow.services import App
from govflow.web.text import TEXT

from .conftest import PASSWORD, Clock

USERS = ("wang", "li", "qian", "zheng", "pingshen")


@pytest.fixture(scope="module")
def gov(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    from govflow.api import ApiSettings
    from govflow.demo import DEMO_NOW
    from govflow.services import init_db
    from govflow.web.site import seed_demo
    from models.db import make_engine

    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'pages.db'}"
    app = App(ApiSettings(database_url=url), make_engine(url), clock=Clock(DEMO_NOW))
    init_db(app)
    seed_demo(app, PASSWORD, USERS)
    yield app
    app.engine.dispose()


@pytest.fixture(scope="module")
def clients(gov: App) -> Iterator[dict[str, TestClient]]:
    from govflow.api import ApiSettings
    from govflow.web.site import create_site

    site = create_site(ApiSettings(database_url=str(gov.engine.url)), app=gov)
    out = {}
    for name in USERS:
        c = TestClient(site, headers={"Accept-Language": "zh-CN"})
        r = c.post("/web/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303
        out[name] = c
    yield out
    for c in out.values():
        c.close()


def csrf(page: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert m, "no CSRF field on the page"
    return m.group(1)


def event_buttons(page: str) -> set[str]:
    return set(re.findall(r'id="ev-([a-z_]+)"', page))


def test_not_signed_in_goes_to_sign_in(gov: App) -> None:
    from govflow.api import ApiSettings
    from govflow.web.site import create_site

    with TestClient(create_site(ApiSettings(database_url=str(gov.engine.url)), app=gov)) as c:
        r = c.get("/web/board", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/web/login")
        assert "Sign in" in c.get("/web/login", headers={"Accept-Language": "en"}).text
        assert "登录" in c.get("/web/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
        r = c.get("/web/login?lang=en")
        assert r.cookies.get("govflow_lang") == "en"
        assert "Sign in" in c.get("/web/login", headers={"Accept-Language": "zh"}).text  # the cookie wins
        bad = c.post("/web/login", data={"name": "wang", "password": "nope-Nope-1234"})
        assert bad.status_code == 401


def test_home_leads_each_role_to_its_page(clients: dict[str, TestClient]) -> None:
    where = {"wang": "/web/board", "li": "/web/department", "qian": "/web/finance", "zheng": "/web/audit"}
    for name, path in where.items():
        r = clients[name].get("/web/", follow_redirects=False)
        assert r.headers["location"] == path
        assert clients[name].get(path).status_code == 200


def test_buttons_only_for_events_allowed_now_and_permitted(clients: dict[str, TestClient]) -> None:
    assert event_buttons(clients["li"].get("/web/projects/ZJ-2026-001").text) == {
        "submit_proposal",
        "withdraw",
    }
    assert event_buttons(clients["wang"].get("/web/projects/ZJ-2026-001").text) == {"withdraw"}
    assert event_buttons(clients["qian"].get("/web/projects/ZJ-2026-001").text) == set()
    assert event_buttons(clients["zheng"].get("/web/projects/ZJ-2026-004").text) == set()


def test_a_form_without_the_session_csrf_token_changes_nothing(
    gov: App, clients: dict[str, TestClient]
) -> None:
    li = clients["li"]
    r = li.post("/web/projects/ZJ-2026-001/events/submit_proposal", data={"csrf": "forged"})
    assert r.status_code == 403
    assert 'data-phase="draft"' in li.get("/web/projects/ZJ-2026-001").text


def test_a_refused_event_shows_each_reason_and_clause(clients: dict[str, TestClient]) -> None:
    wang = clients["wang"]
    # finance may not fire anything; asking anyway is refused with the permission table's reason
    page = clients["qian"].get("/web/projects/ZJ-2026-003").text
    r = clients["qian"].post("/web/projects/ZJ-2026-003/events/intake", data={"csrf": csrf(page)})
    assert r.status_code == 422 and "govflow 权限表" in r.text
    # the program office refusing without a reason: the guard says a reason is required
    page = wang.get("/web/projects/ZJ-2026-004").text
    r = wang.post("/web/projects/ZJ-2026-004/events/withdraw", data={"csrf": csrf(page)})
    assert r.status_code == 422
    assert 'id="result"' in r.text and "须说明理由" in r.text


def test_looking_at_pages_writes_nothing(gov: App, clients: dict[str, TestClient]) -> None:
    before = queries.audit_trail(gov, "zheng", size=1).total
    for name, path in [
        ("li", "/web/department"),
        ("pingshen", "/web/projects/ZJ-2026-001"),
        ("wang", "/web/board"),
        ("zheng", "/web/audit"),
        ("qian", "/web/finance"),
        ("pingshen", "/web/review"),
    ]:
        assert clients[name].get(path).status_code == 200, path
    assert queries.audit_trail(gov, "zheng", size=1).total == before


def test_chain_verification(clients: dict[str, TestClient]) -> None:
    assert "审计链完整" in clients["zheng"].get("/web/audit/chain").text
    assert clients["qian"].get("/web/audit/chain").status_code == 403  # finance does not verify the trail


def test_exports(clients: dict[str, TestClient]) -> None:
    r = clients["zheng"].get("/web/reports/overdue.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = clients["zheng"].get("/web/reports/overdue.csv")
    assert r.status_code == 200 and "整改期限" in r.content.decode("utf-8-sig")
    r = clients["qian"].get("/web/reports/cuts-2026.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert clients["li"].get("/web/reports/overdue.csv").status_code == 403


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_renders_in_both_languages(clients: dict[str, TestClient], lang: str) -> None:
    for name, path in [
        ("wang", "/web/board"),
        ("wang", "/web/projects/ZJ-2026-001"),
        ("li", "/web/department"),
        ("zheng", "/web/audit"),
        ("qian", "/web/finance"),
        ("pingshen", "/web/review"),
        ("zheng", "/web/audit/chain"),
    ]:
        r = clients[name].get(f"{path}?lang={lang}")
        assert r.status_code == 200, (path, r.text[:300])
        key = "chain" if path.endswith("/chain") else "app"
        assert TEXT[key][1 if lang == "en" else 0] in r.text
    clients["wang"].get("/web/board?lang=zh")
    for c in clients.values():
        c.cookies.delete("govflow_lang")


#: clauses are cited as written in the guidance, in English text too (``733号文 第十条第一款``)
CITATION = re.compile(
    r"第[一二三四五六七八九十]+条(第[一二三四五六七八九十]+款)?|发改高技〔2013〕733号|733号文?"
)


def test_every_text_has_both_languages() -> None:
    for key, (zh, en) in TEXT.items():
        assert zh.strip() and en.strip(), key
        assert not re.search(r"[\u4e00-\u9fff]", CITATION.sub("", en)), f"{key}: Chinese in the English text"

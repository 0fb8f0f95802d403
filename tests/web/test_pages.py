"""The dashboard in process (no browser): sign-in, language, CSRF, who sees which buttons, and that looking at
a page changes nothing. Runs wherever the suite runs, Chromium or not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from govflow.lifecycle.services import App
from govflow.reads import queries
from govflow.web.text import TEXT

from .conftest import PASSWORD, Clock

USERS = ("wang", "li", "qian", "zheng", "pingshen", "zhou", "chen", "admin")


@pytest.fixture(scope="module")
def gov(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    from govflow.api import ApiSettings
    from govflow.demo import DEMO_NOW
    from govflow.lifecycle.services import init_db
    from govflow.models.db import make_engine
    from govflow.web.site import seed_demo

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


def cites_the_permission_table(page: str) -> bool:
    """A refusal cites the permission table, by its name in the page's language."""
    return ("govflow permission table" if '<html lang="en"' in page else "govflow 权限表") in page


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


def test_the_sign_in_page_says_when_a_name_is_locked(gov: App) -> None:
    from govflow.access import auth
    from govflow.api import ApiSettings
    from govflow.web.site import create_site

    with TestClient(create_site(ApiSettings(database_url=str(gov.engine.url)), app=gov)) as c:
        for _ in range(auth.LOCKOUT_FAILURES):
            assert c.post("/web/login", data={"name": "nobody-here", "password": "x"}).status_code == 401
        r = c.post("/web/login", data={"name": "nobody-here", "password": "x"})
        assert r.status_code == 429 and 'id="login-locked"' in r.text and "暂时锁定" in r.text
        r = c.post("/web/login?lang=en", data={"name": "nobody-here", "password": "x"})
        assert r.status_code == 429 and "try again in" in r.text


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
    assert r.status_code == 403 and cites_the_permission_table(r.text)  # 403, as the API answers
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


def test_pages_write_days_money_and_percentages_as_people_do(clients: dict[str, TestClient]) -> None:
    wang = clients["wang"]
    zh = wang.get("/web/projects/ZJ-2026-004?lang=zh").text
    assert "900,000.00 元" in zh and "2026年1月12日" in zh  # the budget, an opinion's date
    assert "2026-01-12" not in zh and "900000.00" not in zh
    en = wang.get("/web/projects/ZJ-2026-004?lang=en").text
    assert "CNY 900,000.00" in en and "12 Jan 2026" in en and "2026-01-12" not in en
    wang.get("/web/board?lang=zh")
    wang.cookies.delete("govflow_lang")


def test_every_text_has_both_languages() -> None:
    for key, (zh, en) in TEXT.items():
        assert zh.strip() and en.strip(), key
        assert not re.search(r"[\u4e00-\u9fff]", CITATION.sub("", en)), f"{key}: Chinese in the English text"


# ---------------------------------------------------------------------------------------------- opinions


def test_a_related_department_records_its_opinion(clients: dict[str, TestClient]) -> None:
    zhou, li = clients["zhou"], clients["li"]
    page = zhou.get("/web/projects/ZJ-2026-002").text
    assert 'id="opinion-form"' in page and "浙江省公安厅" in page.split('id="awaiting"')[1][:400]
    # the lead department gives no opinion on its own project: no form, and a forged post is denied
    assert 'id="opinion-form"' not in li.get("/web/projects/ZJ-2026-001").text
    r = li.post(
        "/web/projects/ZJ-2026-001/opinions",
        data={"csrf": csrf(page_of(li)), "department": "11330000GF00000027", "verdict": "agree"},
    )
    assert r.status_code == 403 and cites_the_permission_table(r.text)
    # a department speaks only for itself (第九条)
    r = zhou.post(
        "/web/projects/ZJ-2026-002/opinions",
        data={"csrf": csrf(page), "department": "11330000GF0000005G", "verdict": "agree"},
    )
    assert r.status_code == 422 and "733号文 第九条" in r.text
    r = zhou.post(
        "/web/projects/ZJ-2026-002/opinions",
        data={"csrf": csrf(page), "department": "11330000GF0000004D", "verdict": "agree", "on": "2026-13-01"},
    )
    assert r.status_code == 400 and "YYYY-MM-DD" in r.text
    r = zhou.post(
        "/web/projects/ZJ-2026-002/opinions",
        data={"csrf": "forged", "department": "11330000GF0000004D", "verdict": "agree"},
    )
    assert r.status_code == 403
    r = zhou.post(
        "/web/projects/ZJ-2026-002/opinions",
        data={
            "csrf": csrf(page),
            "department": "11330000GF0000004D",
            "verdict": "unmet_needs",
            "need_name": ["人口户籍信息", ""],
            "need_catalog": ["", ""],
            "comment": "需共享户籍信息用于企业开办核验",
        },
    )
    assert r.status_code == 200, r.text[-2000:]
    assert 'id="message"' in r.text
    row = r.text.split('data-department="11330000GF0000004D"')[1].split("</tr>")[0]
    assert "需求未满足" in row and "人口户籍信息" in row
    assert 'id="awaiting"' not in r.text


def page_of(client: TestClient, path: str = "/web/department") -> str:
    return client.get(path).text


def test_a_corrected_evidence_export_replaces_only_when_asked(clients: dict[str, TestClient]) -> None:
    li = clients["li"]

    def upload(records: int, replace: bool) -> Any:
        body = f"project,catalog,consumer,date,records\nZJ-2026-001,C-001,11330000GF00000027,2026-11-20,{records}\n"
        data = {"csrf": csrf(page_of(li)), **({"replace": "1"} if replace else {})}
        return li.post("/web/evidence", data=data, files={"file": ("export.csv", body.encode(), "text/csv")})

    assert 'name="replace"' in page_of(li)
    assert upload(10, replace=False).status_code == 200
    refused = upload(12, replace=False)  # the same day again, without the box ticked
    assert refused.status_code == 422 and "已在库中" in refused.text
    assert upload(12, replace=True).status_code == 200


# ---------------------------------------------------------------------------------------------- orders


@pytest.fixture(scope="module")
def order(gov: App) -> str:
    """ZJ-2026-004 fails acceptance: rectification order RO-ZJ-2026-004-01 (open)."""
    from govflow.lifecycle.services import fire_event

    fire_event(gov, "ZJ-2026-004", "request_acceptance", "chen")
    res = fire_event(gov, "ZJ-2026-004", "fail_acceptance", "wang", reason="C-001、C-002 到期未交付")
    assert res.order
    return res.order


def order_forms(page: str, code: str) -> set[str]:
    card = page.split(f'id="order-{code}"')[1].split("</section>")[0]
    return set(re.findall(r'class="act-([a-z]+)"', card))


def test_the_orders_page_offers_only_what_the_user_may_do_now(
    gov: App, clients: dict[str, TestClient], order: str
) -> None:
    from govflow.governance import rectification

    wang, li = clients["wang"], clients["li"]
    assert order_forms(wang.get("/web/orders").text, order) == {"extend"}
    assert order_forms(li.get("/web/orders").text, order) == set()  # a participant reads it, acts on nothing
    assert clients["pingshen"].get("/web/orders").status_code == 403  # review agency: no order.read
    rectification.submit_evidence(gov, order, "chen", "已恢复 C-001、C-002 每日交换")
    page = wang.get("/web/orders?status=evidence_submitted").text
    assert order_forms(page, order) == {"verify", "reject", "extend"}
    assert set(re.findall(r'class="card order"[^>]*data-status="([a-z_]+)"', page)) == {"evidence_submitted"}
    # a deadline extension to a day before the current deadline is refused with its reason and clause
    r = wang.post(f"/web/orders/{order}/extend", data={"csrf": csrf(page), "to": "2026-12-01", "reason": "x"})
    assert r.status_code == 422 and "须晚于" in r.text and "733号文 第十一条" in r.text
    r = wang.post(f"/web/orders/{order}/reject", data={"csrf": csrf(page), "reason": ""})
    assert r.status_code == 400 and "退回理由" in r.text  # a usage error: 400, as the API answers
    r = clients["zheng"].post(
        f"/web/orders/{order}/verify", data={"csrf": csrf(page_of(clients["zheng"], "/web/orders"))}
    )
    assert r.status_code == 403 and cites_the_permission_table(r.text)  # audit changes nothing
    assert wang.post(f"/web/orders/{order}/verify", data={"csrf": "forged"}).status_code == 403
    r = wang.post(f"/web/orders/{order}/verify", data={"csrf": csrf(page), "note": "抽查交换日志"})
    assert r.status_code == 200 and 'id="message"' in r.text
    assert rectification.show_order(gov, order, "wang").status is rectification.OrderStatus.CLOSED
    assert order_forms(r.text, order) == {"reopen"}
    steps = r.text.split(f'id="order-{order}"')[1].split("</section>")[0]
    assert "核验通过" in steps and "抽查交换日志" in steps


def order_card(page: str, code: str) -> str:
    return page.split(f'id="order-{code}"')[1].split("</section>")[0]


def test_a_stale_orders_page_gets_a_conflict_instead_of_acting_on_a_changed_order(
    gov: App, clients: dict[str, TestClient], order: str
) -> None:
    """Every action form carries the version the page showed; an order changed since is not acted on: the page
    comes back up to date with a conflict message (409), and the fresh page's form then works."""
    from govflow.governance import rectification

    if rectification.show_order(gov, order, "wang").status is not rectification.OrderStatus.CLOSED:
        if (
            rectification.show_order(gov, order, "wang").status
            is not rectification.OrderStatus.EVIDENCE_SUBMITTED
        ):
            rectification.submit_evidence(gov, order, "chen", "已恢复交换")
        rectification.verify_order(gov, order, "wang", None)
    wang = clients["wang"]
    stale = wang.get("/web/orders").text
    seen = rectification.show_order(gov, order, "wang").version
    card = order_card(stale, order)
    assert f'data-version="{seen}"' in stale
    assert re.findall(r'name="version" value="(\d+)"', card) == [str(seen)]  # the reopen form
    # meanwhile a colleague reopens it and extends the deadline
    rectification.reopen_order(gov, order, "wang", "同事先重新打开")
    rectification.extend_order(gov, order, "wang", "同事延期", workdays=3)
    r = wang.post(
        f"/web/orders/{order}/reopen",
        data={"csrf": csrf(stale), "reason": "基于旧页面", "version": str(seen)},
    )
    assert r.status_code == 409 and 'id="error"' in r.text
    assert TEXT["order_stale"][0] in r.text and order in r.text
    fresh = order_card(r.text, order)
    assert f'data-version="{seen + 2}"' in r.text and order_forms(r.text, order) == {"extend"}
    assert rectification.show_order(gov, order, "wang").version == seen + 2, "nothing was done"
    assert set(re.findall(r'name="version" value="(\d+)"', fresh)) == {str(seen + 2)}
    en = wang.post(
        f"/web/orders/{order}/extend?lang=en",
        data={"csrf": csrf(stale), "to": "2027-01-08", "reason": "x", "version": str(seen)},
    )
    assert en.status_code == 409 and TEXT["order_stale"][1] in en.text
    ok = wang.post(
        f"/web/orders/{order}/extend",
        data={"csrf": csrf(stale), "to": "2026-12-31", "reason": "按最新页面延期", "version": str(seen + 2)},
    )
    assert ok.status_code == 200 and 'id="message"' in ok.text, ok.text[:2000]
    assert rectification.show_order(gov, order, "wang").deadline == date(2026, 12, 31)
    # odd numbers in a form or the address are no number (not a server error): "²" passes str.isdigit
    odd = wang.post(
        f"/web/orders/{order}/extend", data={"csrf": csrf(stale), "version": "²", "back_page": "²"}
    )
    assert odd.status_code == 400 and wang.get("/web/orders?page=²").status_code == 200
    assert clients["admin"].get("/web/admin/users?page=²").status_code == 200


def test_a_pending_deadline_reads_as_pending_on_every_page(
    gov: App, clients: dict[str, TestClient], order: str
) -> None:
    """期限待定: an extension by working days into 2027 (no calendar data) leaves the deadline pending; the orders
    page and the department's page say so, in both languages."""
    from govflow.governance import rectification

    wang = clients["wang"]
    page = wang.get("/web/orders").text
    bad = wang.post(
        f"/web/orders/{order}/extend", data={"csrf": csrf(page), "workdays": "十", "reason": "跨年割接"}
    )
    assert bad.status_code == 400 and "十" in bad.text  # named in the message, in either language
    # extended on the page by working days, into a year without calendar data: pending, not refused
    r = wang.post(
        f"/web/orders/{order}/extend", data={"csrf": csrf(page), "workdays": "10", "reason": "跨年割接"}
    )
    assert r.status_code == 200, r.text
    view = rectification.show_order(gov, order, "wang")
    assert view.deadline is None and view.pending_workdays == 10
    # and a pending order can be extended again by working days (a date cannot be checked yet)
    r = wang.post(
        f"/web/orders/{order}/extend", data={"csrf": csrf(r.text), "workdays": "5", "reason": "再延"}
    )
    assert r.status_code == 200 and rectification.show_order(gov, order, "wang").pending_workdays == 15
    card = order_card(clients["wang"].get("/web/orders?lang=zh").text, order)
    assert '<dd class="deadline pending">期限待定' in card
    assert "deadline pending" in order_card(clients["wang"].get("/web/orders?lang=en").text, order)
    department = clients["chen"].get("/web/department?lang=zh").text
    assert order in department and "期限待定" in department


# ---------------------------------------------------------------------------------------------- admin


@pytest.mark.parametrize(
    ("user", "path"),
    [
        ("wang", "/web/admin/users"),
        ("li", "/web/admin/policy"),
        ("pingshen", "/web/admin/runs"),
        ("zheng", "/web/admin/outbox"),
        ("qian", "/web/admin/runs"),
    ],
)
def test_admin_pages_are_denied_unless_the_table_allows(
    clients: dict[str, TestClient], user: str, path: str
) -> None:
    r = clients[user].get(path)
    assert r.status_code == 403 and cites_the_permission_table(r.text)


def test_admin_adds_a_user_who_can_then_sign_in(gov: App, clients: dict[str, TestClient]) -> None:
    from govflow.api import ApiSettings
    from govflow.web.site import create_site

    admin = clients["admin"]
    page = admin.get("/web/admin/users").text
    assert 'data-user="wang"' in page and "项目审批部门" in page
    form = {
        "csrf": csrf(page),
        "name": "sun",
        "display_name": "孙审批",
        "role": "program_office",
        "department": "11330000GF00000014",
        "password": "short",
    }
    r = admin.post("/web/admin/users", data=form)
    assert r.status_code == 422 and "GB/T 22239-2019 8.1.4.1" in r.text
    assert 'data-user="sun"' not in r.text  # a weak password adds nobody
    # only an administrator: the program office is denied (and nothing is added)
    r = clients["wang"].post(
        "/web/admin/users", data={**form, "csrf": csrf(page_of(clients["wang"], "/web/board"))}
    )
    assert r.status_code == 403 and cites_the_permission_table(r.text)
    new_password = "Qz7#Shen-Pi-2026"
    r = admin.post("/web/admin/users", data={**form, "password": new_password})
    assert r.status_code == 200 and 'data-user="sun"' in r.text and "孙审批" in r.text
    assert (
        admin.post("/web/admin/users", data={**form, "password": new_password}).status_code == 409
    )  # the name is taken: 409 as on the API
    with TestClient(create_site(ApiSettings(database_url=str(gov.engine.url)), app=gov)) as c:
        signed = c.post("/web/login", data={"name": "sun", "password": new_password}, follow_redirects=False)
        assert signed.status_code == 303 and signed.headers["location"] == "/web/board"
    r = admin.post("/web/admin/users/sun/token", data={"csrf": csrf(page)})
    assert r.status_code == 200 and re.search(r'<span class="token">gft_[\w-]+</span>', r.text)
    r = admin.post("/web/admin/users/sun/token/revoke", data={"csrf": csrf(page)})
    assert r.status_code == 200 and 'id="message"' in r.text
    assert (
        admin.post("/web/admin/users/sun/password", data={"csrf": "forged", "password": "x"}).status_code
        == 403
    )


def test_admin_deactivates_a_user_whose_session_ends_then_reactivates_them(
    gov: App, clients: dict[str, TestClient]
) -> None:
    admin, zhou = clients["admin"], clients["zhou"]
    assert zhou.get("/web/department").status_code == 200
    page = admin.get("/web/admin/users").text
    row = page.split('data-user="zhou"')[1].split("</tr>")[0]
    assert 'class="act-deactivate"' in row and 'name="reason"' in row and f'value="{csrf(page)}"' in row
    own = page.split('data-user="admin"')[1].split("</tr>")[0]
    assert 'class="act-deactivate"' not in own and TEXT["this_is_you"][0] in own
    assert TEXT["deactivate_rule"][0] in page

    assert (
        admin.post("/web/admin/users/zhou/deactivate", data={"csrf": "forged", "reason": "x"}).status_code
        == 403
    )
    r = admin.post("/web/admin/users/zhou/deactivate", data={"csrf": csrf(page), "reason": " "})
    assert r.status_code == 400 and "停用用户须填写理由" in r.text
    r = clients["wang"].post(
        "/web/admin/users/zhou/deactivate",
        data={"csrf": csrf(page_of(clients["wang"], "/web/board")), "reason": "x"},
    )
    assert r.status_code == 403 and cites_the_permission_table(r.text)
    # the administrator itself, by a crafted form: refused with both reasons
    r = admin.post("/web/admin/users/admin/deactivate", data={"csrf": csrf(page), "reason": "x"})
    assert r.status_code == 422 and "不能停用自己" in r.text and "最后一名启用的系统管理员" in r.text
    assert zhou.get("/web/department").status_code == 200, "nothing refused was written"

    r = admin.post("/web/admin/users/zhou/deactivate", data={"csrf": csrf(page), "reason": "调离本单位"})
    assert r.status_code == 200 and TEXT["user_deactivated"][0] in r.text
    row = r.text.split('data-user="zhou"')[1].split("</tr>")[0]
    assert TEXT["user_inactive"][0] in row and 'class="act-activate"' in row and "act-deactivate" not in row
    gone = zhou.get("/web/department", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/web/login")
    assert not next(u for u in queries.list_users(gov, "admin").items if u["name"] == "zhou")["active"]

    r = admin.post("/web/admin/users/zhou/activate?lang=en", data={"csrf": csrf(page)})
    assert r.status_code == 200 and TEXT["user_activated"][1] in r.text
    row = r.text.split('data-user="zhou"')[1].split("</tr>")[0]
    assert 'class="act-deactivate"' in row
    # the session from before the deactivation never holds again (auth.set_active raised the session epoch)
    stale = zhou.get("/web/department", follow_redirects=False)
    assert stale.status_code == 303 and stale.headers["location"].startswith("/web/login")
    signed = zhou.post("/web/login", data={"name": "zhou", "password": PASSWORD}, follow_redirects=False)
    assert signed.status_code == 303 and zhou.get("/web/department").status_code == 200


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_new_pages_render_in_both_languages(clients: dict[str, TestClient], lang: str) -> None:
    han = re.compile(r"[\u4e00-\u9fff]")
    for name, path, key in [
        ("wang", "/web/orders", "orders_page"),
        ("admin", "/web/admin/users", "users"),
        ("admin", "/web/admin/policy", "policy"),
        ("admin", "/web/admin/runs", "runs"),
        ("admin", "/web/admin/outbox", "outbox"),
        ("zhou", "/web/projects/ZJ-2026-002", "opinions"),
    ]:
        r = clients[name].get(f"{path}?lang={lang}")
        assert r.status_code == 200, (path, r.text[:300])
        assert TEXT[key][1 if lang == "en" else 0] in r.text
        if lang == "en":  # every <th> of the new pages is English
            heads = re.findall(r"<th>([^<]*)</th>", r.text)
            assert heads and not [h for h in heads if han.search(CITATION.sub("", h))], (path, heads)
    for c in clients.values():
        c.cookies.delete("govflow_lang")

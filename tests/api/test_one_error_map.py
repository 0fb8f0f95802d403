"""One error map (issue 9): the CLI, the API and the dashboard answer the same error alike — the exit code and
the HTTP status each error class carries — and a department user learns nothing about a project or order
outside its scope: it gets exactly what a code that does not exist gets. On SQLite and PostgreSQL.

Demo portfolio: 自然资源厅 (lin) takes no part in ZJ-2026-001 (lead 大数据局) nor in ZJ-2026-004 (lead 人社厅,
whose order RO-ZJ-2026-004-01 the sweep and deadlines runs of 2026-09-28 issue).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from govflow.access import auth
from govflow.api import ApiSettings
from govflow.cli import app as cli_app
from govflow.governance.rectification import run_deadlines
from govflow.governance.sweep import run_sweep
from govflow.lifecycle.services import App
from govflow.web.site import create_site

from .support import As

V1 = "/api/v1"
PASSWORD = "Demo-Passw0rd!2026"
FOREIGN, MISSING = "ZJ-2026-001", "ZJ-2099-999"
ORDER, NO_ORDER = "RO-ZJ-2026-004-01", "RO-ZJ-2099-999-01"


@pytest.fixture
def with_order(gov: App) -> App:
    run_sweep(gov, date(2026, 9, 28))
    assert ORDER in run_deadlines(gov, date(2026, 9, 28)).issued_codes
    return gov


@pytest.fixture
def web(gov: App, settings: ApiSettings) -> Iterator[dict[str, TestClient]]:
    """Signed-in dashboard clients (zh-CN) of lin (department), wang (program office), pingshen (review)."""
    site = create_site(settings, app=gov)
    out: dict[str, TestClient] = {}
    for name in ("lin", "wang", "pingshen"):
        auth.set_password(gov, None, name, PASSWORD)
        c = TestClient(site, headers={"Accept-Language": "zh-CN"})
        r = c.post("/web/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303
        out[name] = c
    yield out
    for c in out.values():
        c.close()


@pytest.fixture(autouse=True)
def cli_on_gov(gov: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI acts on the test's application (its engine and pinned clock), as the API and the pages do."""
    monkeypatch.setattr(App, "from_settings", classmethod(lambda cls, settings: gov))


def cli(gov: App, *argv: str, lang: str = "zh") -> Result:
    env = {"GOVFLOW_DATABASE_URL": str(gov.settings.database_url), "GOVFLOW_LANG": lang}
    return CliRunner().invoke(cli_app, list(argv), env=env)


def csrf(page: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert m
    return m.group(1)


def main_of(page: str) -> str:
    """The page's <main>: what it says, without the session's CSRF token in the header."""
    return page[page.index("<main") : page.index("</main>")]


def test_another_departments_project_and_order_read_as_missing_ones_on_api_web_and_cli(
    with_order: App, client: TestClient, as_: As, web: dict[str, TestClient]
) -> None:
    gov = with_order
    for lang in ("zh", "en"):
        # API: status and the whole body, but for the code asked about
        for foreign, missing, url in [
            (FOREIGN, MISSING, f"{V1}/projects/{{}}"),
            (FOREIGN, MISSING, f"{V1}/projects/{{}}/history"),
            (ORDER, NO_ORDER, f"{V1}/orders/{{}}"),
        ]:
            got = client.get(url.format(foreign), headers=as_("lin", lang=lang))
            nope = client.get(url.format(missing), headers=as_("lin", lang=lang))
            assert got.status_code == nope.status_code == 404
            assert got.json() == json.loads(nope.text.replace(missing, foreign))
            assert got.json()["error"] == "NOT_FOUND" and foreign in got.json()["message"]
        # CLI: exit 4 and the same message
        for argv, foreign, missing in [
            (["project", "show", "{}", "--as", "lin"], FOREIGN, MISSING),
            (["order", "show", "{}", "--as", "lin"], ORDER, NO_ORDER),
        ]:
            got_cli = cli(gov, *[a.format(foreign) for a in argv], lang=lang)
            nope_cli = cli(gov, *[a.format(missing) for a in argv], lang=lang)
            assert got_cli.exit_code == nope_cli.exit_code == 4, got_cli.output
            assert got_cli.stderr == nope_cli.stderr.replace(missing, foreign) and foreign in got_cli.stderr

    # the dashboard: the same 404 page
    lin = web["lin"]
    got_page, nope_page = lin.get(f"/web/projects/{FOREIGN}"), lin.get(f"/web/projects/{MISSING}")
    assert got_page.status_code == nope_page.status_code == 404
    assert got_page.headers["content-type"].startswith("text/html")
    assert main_of(got_page.text) == main_of(nope_page.text).replace(MISSING, FOREIGN)
    assert f"项目 {FOREIGN} 不存在" in got_page.text and "没有找到" in got_page.text
    token = csrf(lin.get("/web/department").text)
    form = {"csrf": token, "note": "已整改"}
    got_post = lin.post(f"/web/orders/{ORDER}/evidence", data=form)
    nope_post = lin.post(f"/web/orders/{NO_ORDER}/evidence", data=form)
    assert got_post.status_code == nope_post.status_code == 404
    assert main_of(got_post.text) == main_of(nope_post.text).replace(NO_ORDER, ORDER)
    fired = lin.post(f"/web/projects/{FOREIGN}/events/withdraw", data={"csrf": token, "reason": "x"})
    assert fired.status_code == 404 and f"项目 {FOREIGN} 不存在" in fired.text

    # nothing changed, and the audit trail still knows every attempt on what exists was a denial
    assert client.get(f"{V1}/projects/{FOREIGN}", headers=as_("li")).json()["phase"] == "draft"
    denied = client.get(
        f"{V1}/audit/events", params={"by": "lin", "outcome": "denied", "size": 100}, headers=as_("zheng")
    ).json()
    assert denied["total"] >= 2 * 3 + 2 * 2 + 3  # API reads ×2 languages, CLI ×2 languages, the pages


def test_the_same_error_gets_the_same_status_on_api_and_web_and_its_exit_code_on_the_cli(
    with_order: App, client: TestClient, as_: As, web: dict[str, TestClient]
) -> None:
    gov = with_order
    wang, pingshen = web["wang"], web["pingshen"]
    # 403: the review agency may not verify an order (the role × action table)
    api = client.post(f"{V1}/orders/{ORDER}/verify", json={}, headers=as_("pingshen"))
    page = pingshen.post(f"/web/orders/{ORDER}/verify", data={"csrf": csrf(pingshen.get("/web/review").text)})
    assert api.status_code == page.status_code == 403 and api.json()["error"] == "PERMISSION_DENIED"
    assert "无权访问" in page.text or "govflow 权限表" in page.text
    assert cli(gov, "order", "verify", ORDER, "--as", "pingshen").exit_code == 3

    # 409: a stale version of the order
    token = csrf(wang.get("/web/orders").text)
    api = client.post(
        f"{V1}/orders/{ORDER}/extend",
        json={"to": "2027-01-29", "reason": "x", "expect_version": 99},
        headers=as_("wang"),
    )
    page = wang.post(
        f"/web/orders/{ORDER}/extend",
        data={"csrf": token, "to": "2027-01-29", "reason": "x", "version": "99"},
    )
    assert api.status_code == page.status_code == 409 and api.json()["error"] == "CONFLICT"
    stale = cli(
        gov,
        "order",
        "extend",
        ORDER,
        "--to",
        "2027-01-29",
        "--reason",
        "x",
        "--expect-version",
        "99",
        "--as",
        "wang",
    )
    assert stale.exit_code == 5, stale.output

    # 422: a rule refuses (an extension to a day before the deadline, 第十一条)
    api = client.post(
        f"{V1}/orders/{ORDER}/extend", json={"to": "2026-10-01", "reason": "x"}, headers=as_("wang")
    )
    page = wang.post(f"/web/orders/{ORDER}/extend", data={"csrf": token, "to": "2026-10-01", "reason": "x"})
    assert api.status_code == page.status_code == 422 and api.json()["error"] == "REFUSED"
    assert "733号文 第十一条" in page.text
    refused = cli(gov, "order", "extend", ORDER, "--to", "2026-10-01", "--reason", "x", "--as", "wang")
    assert refused.exit_code == 3, refused.output


@pytest.mark.parametrize(
    ("headers", "query", "title", "message"),
    [
        ({"Accept-Language": "zh-CN"}, "", "没有找到", "没有这个页面"),
        ({"Accept-Language": "en"}, "", "Not found", "there is no such page"),
        ({"Accept-Language": "zh-CN"}, "?lang=en", "Not found", "there is no such page"),
    ],
)
def test_a_wrong_address_under_web_is_an_html_404_page_while_the_api_stays_json(
    web: dict[str, TestClient],
    client: TestClient,
    headers: dict[str, str],
    query: str,
    title: str,
    message: str,
) -> None:
    for c in (web["wang"], TestClient(web["wang"].app)):  # signed in or not
        r = c.get(f"/web/no/such/page{query}", headers=headers)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), r.text
        assert f'<h1 id="error-title" data-status="404">{title}</h1>' in r.text and message in r.text
    pdf = web["wang"].get(f"/web/reports/overdue.pdf{query}", headers=headers)
    assert pdf.status_code == 404 and f'data-status="404">{title}</h1>' in pdf.text
    api = client.get(f"{V1}/no/such/thing")
    assert api.status_code == 404 and api.json()["error"] == "NOT_FOUND"

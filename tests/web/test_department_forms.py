"""The department's forms in process (no browser), on SQLite and PostgreSQL: preparing a proposal through the
use cases the CLI and the API call, the pre-check (dry run) that says what intake will refuse before the
department submits, buttons that say why they would be refused, and a rectification order's page.

A refused form answers 422 with each reason's field or row and clause, and changes nothing: neither the project
(its version), nor its materials, nor the audit trail."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from govflow.lifecycle.services import App
from tests.rectified import deliver_for

from .conftest import PASSWORD, Clock

CODE = "ZJ-2026-002"  # lead: 省市场监管局 (zhao); no agreement, no opinion of 省公安厅: intake refuses it
ZHAO_DEPT = "11330000GF0000003A"
POLICE = "11330000GF0000004D"
USERS = ("zhao", "wang", "chen")


@pytest.fixture
def gov(db_url: str) -> Iterator[App]:
    from govflow.api import ApiSettings
    from govflow.demo import DEMO_NOW
    from govflow.models.db import make_engine
    from govflow.web.site import seed_demo

    app = App(ApiSettings(database_url=db_url), make_engine(db_url), clock=Clock(DEMO_NOW))
    seed_demo(app, PASSWORD, USERS)
    yield app
    app.engine.dispose()


@pytest.fixture
def web(gov: App) -> Iterator[dict[str, TestClient]]:
    from govflow.api import ApiSettings
    from govflow.web.site import create_site

    site = create_site(ApiSettings(database_url=str(gov.engine.url)), app=gov)
    out = {}
    for name in USERS:
        c = TestClient(site, headers={"Accept-Language": "zh-CN"})
        assert c.post("/web/login", data={"name": name, "password": PASSWORD}).status_code == 200
        out[name] = c
    yield out
    for c in out.values():
        c.close()


def csrf(page: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert m
    return m.group(1)


def state(gov: App) -> tuple[int, int, int, int]:
    """What a refused form must leave alone: the project's version, its catalog, its agreements, the trail."""
    from govflow.lifecycle import services
    from govflow.reads import queries

    view = services.show_project(gov, CODE, "wang")
    catalog = queries.list_catalog(gov, CODE, "wang").total
    agreements = queries.list_agreements(gov, CODE, "wang").total
    trail = queries.audit_trail(gov, "wang", size=1).total
    return view.version, catalog, agreements, trail


AGREEMENT: dict[str, Any] = {
    "code": "A-101",
    "form": "agreement",
    "parties": [ZHAO_DEPT, POLICE],
    "signed_on": "2026-10-20",
    "term_start": "2026-11-01",
    "term_end": "2029-12-31",
    "basis": "《浙江省公共数据条例》",
    "item_catalog": "C-002",
    "item_consumer": ZHAO_DEPT,
    "item_quality": "备案信息字段完整",
    "item_quantity": "全省印章刻制备案全量",
    "item_update_frequency": "realtime",
    "item_scope": "企业开办联办核验",
    "item_usage": "接口调用",
    "item_due": "2027-03-31",
}


def test_the_precheck_says_what_intake_will_refuse_before_the_department_submits(
    gov: App, web: dict[str, TestClient]
) -> None:
    from govflow.lifecycle import services

    page = web["zhao"].get("/web/department").text
    row = page[page.index(f'href="/web/projects/{CODE}"') :].split("</tr>")[0]
    assert "条件已满足" not in row  # the proposal would be refused at intake
    assert "受理时将不予通过" in row and "未提供信息共享协定或联合发文" in row and "第十条第二款" in row
    # the dry run says exactly what intake then answers
    [submit] = [c for c in services.dry_run(gov, CODE, "zhao") if c.event.value == "submit_proposal"]
    assert submit.then is not None and not submit.ready
    foreseen = sorted((r.code, r.message) for r in submit.then.reasons)
    before = state(gov)
    assert before == state(gov)  # the dry run wrote nothing
    assert services.fire_event(gov, CODE, "submit_proposal", "zhao").accepted
    refused = services.fire_event(gov, CODE, "intake", "wang")
    assert not refused.accepted
    assert sorted((r.code, r.message) for r in refused.reasons) == foreseen


def test_a_refused_catalog_form_shows_each_field_and_clause_and_changes_nothing(
    gov: App, web: dict[str, TestClient]
) -> None:
    c = web["zhao"]
    token = csrf(c.get(f"/web/projects/{CODE}/prepare").text)
    before = state(gov)
    bad = {
        "csrf": token,
        "code": "C-009",
        "name": "企业年报信息",
        "provider": ZHAO_DEPT,
        "category": "basic",
        "share_type": "conditional",  # basic information is shared unconditionally (第三条)
        "method": "query",
        "update_frequency": "daily",
        "secrecy": "public",
    }
    r = c.post(f"/web/projects/{CODE}/catalog", data=bad)
    assert r.status_code == 422
    error = r.text[r.text.index('id="error"') :].split("</div>")[0]
    # each reason names the form's field, as the form labels it, and its clause
    assert '<strong class="path">共享类型</strong>' in error and "733号文 第三条" in error
    assert '<strong class="path">法律依据</strong>' in error and "rows[1]" not in error
    assert 'value="C-009"' in r.text and 'value="conditional" selected' in r.text  # kept for correcting
    assert state(gov) == before
    good = {**bad, "share_type": "unconditional", "authorized": "all"}
    r = c.post(f"/web/projects/{CODE}/catalog", data=good)
    assert r.status_code == 200 and "新增 1 条" in r.text
    assert state(gov) == (before[0] + 1, before[1] + 1, before[2], before[3] + 1)


def test_an_agreement_form_is_checked_as_load_checks_it_and_then_intake_no_longer_misses_it(
    gov: App, web: dict[str, TestClient]
) -> None:
    from govflow.lifecycle import services

    c = web["zhao"]
    token = csrf(c.get(f"/web/projects/{CODE}/prepare").text)
    before = state(gov)
    # a term that ends before the item's due date: refused by the load's consistency check (第八条)
    r = c.post(
        f"/web/projects/{CODE}/agreements", data={**AGREEMENT, "csrf": token, "term_end": "2027-01-31"}
    )
    assert r.status_code == 422
    error = r.text[r.text.index('id="error"') :].split("</div>")[0]
    assert '<strong class="path">实现进度</strong>' in error and "733号文 第八条" in error
    assert 'value="2027-01-31"' in r.text
    assert state(gov) == before
    r = c.post(f"/web/projects/{CODE}/agreements", data={**AGREEMENT, "csrf": token})
    assert r.status_code == 200, r.text
    assert "协定 A-101 已登记（1 个条目）" in r.text
    [submit] = [x for x in services.dry_run(gov, CODE, "zhao") if x.event.value == "submit_proposal"]
    assert submit.then is not None
    assert "NO_AGREEMENT" not in {r.code for r in submit.then.reasons}


def test_needs_and_an_excel_catalog_from_the_template_go_through_the_use_cases(
    gov: App, web: dict[str, TestClient]
) -> None:
    import openpyxl  # type: ignore[import-untyped]

    c = web["zhao"]
    token = csrf(c.get(f"/web/projects/{CODE}/prepare").text)
    r = c.post(
        f"/web/projects/{CODE}/needs",
        data={"csrf": token, "internal": "内部", "external": "外部", "central_local": "央地"},
    )
    assert r.status_code == 200 and "需求分析已保存" in r.text
    template = c.get("/web/templates/catalog.xlsx")
    assert template.status_code == 200 and template.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    wb = openpyxl.load_workbook(io.BytesIO(template.content))
    sheet = wb.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    row = {
        "code": "C-010",
        "name": "企业注销登记信息",
        "provider": ZHAO_DEPT,
        "category": "business",
        "share_type": "unconditional",
        "method": "exchange",
        "update_frequency": "daily",
        "secrecy": "public",
    }
    sheet.append([row.get(str(h)) for h in header])
    assert len(wb.worksheets) == 2  # the column notes travel with the template
    out = io.BytesIO()
    wb.save(out)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = c.post(
        f"/web/projects/{CODE}/catalog/import",
        data={"csrf": token},
        files={"file": ("目录.xlsx", out.getvalue(), xlsx)},
    )
    assert r.status_code == 200 and "新增 1 条" in r.text
    # a bad file: the row and the sheet are named, nothing is written
    before = state(gov)
    sheet.append(
        [
            {**row, "code": "C-011", "category": "basic", "share_type": "conditional"}.get(str(h))
            for h in header
        ]
    )
    out = io.BytesIO()
    wb.save(out)
    r = c.post(
        f"/web/projects/{CODE}/catalog/import",
        data={"csrf": token},
        files={"file": ("目录.xlsx", out.getvalue(), xlsx)},
    )
    assert r.status_code == 422 and "工作表「data」第 3 行" in r.text and "第三条" in r.text
    assert state(gov) == before


def test_a_department_prepares_only_its_own_projects(gov: App, web: dict[str, TestClient]) -> None:
    chen = web["chen"]  # 省人社厅: a related department of ZJ-2026-002, not its lead
    assert chen.get(f"/web/projects/{CODE}/prepare").status_code == 403
    token = csrf(chen.get("/web/department").text)
    before = state(gov)
    r = chen.post(f"/web/projects/{CODE}/agreements", data={**AGREEMENT, "csrf": token})
    assert r.status_code == 403 and "无权" in r.text
    assert state(gov)[:3] == before[:3]
    # no CSRF token: refused before anything is read
    assert (
        web["zhao"].post(f"/web/projects/{CODE}/needs", data={"csrf": "x", "internal": "y"}).status_code
        == 403
    )


def test_buttons_say_why_they_would_be_refused(gov: App, web: dict[str, TestClient]) -> None:
    from govflow.lifecycle import services

    services.fire_event(gov, CODE, "submit_proposal", "zhao")
    page = web["wang"].get(f"/web/projects/{CODE}").text
    button = re.search(r'<button[^>]*id="ev-intake"[^>]*>', page)
    # a refused intake returns the proposal to draft (不予受理): the office may choose it, so the button is live
    # and says, before it is pressed, that it would be refused, where the project goes and why
    assert button and "disabled" not in button.group(0)
    assert 'aria-describedby="why-intake"' in button.group(0)
    why = page[page.index('id="why-intake"') :].split("</div>")[0]
    assert "将被拒绝" in why and "退回「编制中」" in why
    assert "未提供信息共享协定或联合发文" in why and "第十条第二款" in why
    # withdraw asks for a reason, which the form requires: not refused beforehand
    withdraw = re.search(r'<button[^>]*id="ev-withdraw"[^>]*>', page)
    assert withdraw and "disabled" not in withdraw.group(0)


def test_the_order_page_tells_what_is_owed_the_deadline_and_working_days_left(
    gov: App, web: dict[str, TestClient]
) -> None:
    from govflow.governance.rectification import list_orders, run_deadlines
    from govflow.governance.sweep import run_sweep

    today = gov.today()
    run_sweep(gov, today)
    run_deadlines(gov, today)
    order = next(o for o in list_orders(gov, "chen") if o.department == "11330000GF0000005G")
    assert order.deadline is not None
    left = gov.calendar.workdays_after(today, order.deadline)
    page = web["chen"].get(f"/web/orders/{order.code}")
    assert page.status_code == 200
    text = page.text
    assert f"{order.deadline.year}年{order.deadline.month}月{order.deadline.day}日" in text
    assert re.search(rf'id="workdays-left"><strong>{left}</strong>', text)
    assert 'href="/web/templates/evidence.xlsx"' in text and "records" in text
    submit = re.search(r'<button[^>]*id="evidence-submit"[^>]*>', text)
    assert submit and "disabled" not in submit.group(0)
    assert 'id="order-decisions"' not in text  # the program office's decisions are not the department's
    # the program office: verifying needs evidence first, said next to the disabled button; extending is open
    office = web["wang"].get(f"/web/orders/{order.code}").text
    verify = re.search(r'<button[^>]*id="order-verify"[^>]*>', office)
    assert verify and "disabled" in verify.group(0) and 'aria-describedby="why-verify"' in verify.group(0)
    assert "不能核验" in office[office.index('id="why-verify"') :].split("</div>")[0]
    extend = re.search(r'<button[^>]*id="order-extend"[^>]*>', office)
    assert extend and "disabled" not in extend.group(0)
    assert 'id="evidence-submit"' not in office
    r = web["chen"].post(
        f"/web/orders/{order.code}/evidence",
        data={"csrf": csrf(text), "note": "已补交交付记录", "back": "order"},
    )
    assert r.status_code == 200 and 'id="order-status"' in r.text and "已提交整改材料" in r.text
    # materials submitted, but the platform has no delivery yet: verifying is still refused, and says why
    office = web["wang"].get(f"/web/orders/{order.code}").text
    verify = re.search(r'<button[^>]*id="order-verify"[^>]*>', office)
    assert verify and "disabled" in verify.group(0)
    why = office[office.index('id="why-verify"') :].split("</div>")[0]
    assert "仍然存在" in why and "交付记录" in why
    listed = web["wang"].get("/web/orders", params={"q": order.code}).text  # the list offers no verify form
    card = listed[listed.index(order.code) :]
    assert f'action="/web/orders/{order.code}/verify"' not in listed and "仍然存在" in card
    assert f'action="/web/orders/{order.code}/reject"' in listed
    deliver_for(gov, order.code, today)  # then the exchange platform's export shows the delivery
    office = web["wang"].get(f"/web/orders/{order.code}").text
    verify = re.search(r'<button[^>]*id="order-verify"[^>]*>', office)
    assert verify and "disabled" not in verify.group(0)
    assert (
        f'action="/web/orders/{order.code}/verify"'
        in web["wang"].get("/web/orders", params={"q": order.code}).text
    )
    # another department reads the order (a related one) but its button says why it may not act
    other = web["zhao"].get(f"/web/orders/{order.code}")
    if other.status_code == 200:
        button = re.search(r'<button[^>]*id="evidence-submit"[^>]*>', other.text)
        assert button and "disabled" in button.group(0)
    assert today == date(2026, 11, 26)


def test_the_lead_department_answers_a_condition_and_an_empty_answer_changes_nothing(
    gov: App, web: dict[str, TestClient]
) -> None:
    from govflow.lifecycle import services
    from govflow.reads import queries

    services.record_opinion(
        gov,
        CODE,
        "wang",
        department=POLICE,
        on=date(2026, 11, 20),
        verdict="agree_with_changes",
        unmet_needs=[],
        comment=None,
        conditions=["印章刻制备案信息仅用于企业开办核验"],
    )
    c = web["zhao"]
    page = c.get(f"/web/projects/{CODE}/prepare").text
    assert f'id="answer-{POLICE}-1"' in page and "未答复" in page
    before = state(gov)
    url = f"/web/projects/{CODE}/opinions/{POLICE}/answers"
    r = c.post(url, data={"csrf": csrf(page), "condition": "1", "answer": "  "})
    assert r.status_code == 422 and "733号文 第九条" in r.text
    assert state(gov) == before
    r = c.post(url, data={"csrf": csrf(page), "condition": "1", "answer": "已在协定中限定使用范围"})
    assert r.status_code == 200 and "答复已保存" in r.text and "已答复" in r.text
    [opinion] = [o for o in queries.list_opinions(gov, CODE, "zhao").items if o["department"] == POLICE]
    assert opinion["conditions"][0]["answer"] == "已在协定中限定使用范围"


def test_the_department_page_pages_and_filters_its_projects_like_the_board(
    gov: App, web: dict[str, TestClient]
) -> None:
    """Each project on the page is judged by the dry run, so the page holds one page of them (searched, filtered
    by phase, sorted, paged in SQL): a department with hundreds of projects stays within the page budget."""
    from govflow.lifecycle import services
    from govflow.web import routes

    mine = {p["code"]: p["phase"] for p in services.list_projects(gov, "zhao")}
    assert CODE in mine and len(set(mine.values())) > 1
    page = web["zhao"].get("/web/department").text
    listed = set(re.findall(r'<a href="/web/projects/([A-Z0-9-]+)">', page))
    assert listed == set(mine) and len(mine) <= routes.DEPARTMENT_PAGE_SIZE

    draft = web["zhao"].get("/web/department", params={"phase": mine[CODE]}).text
    listed = set(re.findall(r'<a href="/web/projects/([A-Z0-9-]+)">', draft))
    assert listed == {c for c, ph in mine.items() if ph == mine[CODE]}
    assert 'id="list-filter"' in draft and 'action="/web/department"' in draft

    found = web["zhao"].get("/web/department", params={"q": CODE}).text
    assert set(re.findall(r'<a href="/web/projects/([A-Z0-9-]+)">', found)) == {CODE}

    # a page past the last shows no project but still the pager back
    beyond = web["zhao"].get("/web/department", params={"page": "9"}).text
    assert not re.findall(r'<a href="/web/projects/([A-Z0-9-]+)">', beyond.split('id="orders"')[0])
    assert 'rel="prev"' in beyond


def test_what_an_order_owes_reads_as_people_write_it_on_the_order_and_department_pages(
    gov: App, web: dict[str, TestClient]
) -> None:
    """The sentence of each finding an order is about (stored with ISO days and department codes, as the trail
    keeps it) reads with 2026年10月30日 and the department's name on the pages the department works from."""
    from govflow.governance.rectification import list_orders, run_deadlines
    from govflow.governance.sweep import run_sweep

    today = gov.today()
    run_sweep(gov, today)
    run_deadlines(gov, today)
    order = next(o for o in list_orders(gov, "chen") if o.department == "11330000GF0000005G")
    stored = " ".join(str(r.get("message", "")) for r in order.reasons)
    assert re.search(r"\d{4}-\d{2}-\d{2}", stored), "the stored sentence keeps ISO days"
    iso_or_code = re.compile(r"\d{4}-\d{2}-\d{2}|（11330000[0-9A-Z]{10}）")
    for path in (f"/web/orders/{order.code}", "/web/department"):
        page = web["chen"].get(path).text
        owed = page[page.index(order.code) :]
        owed = owed[: owed.index("</table>")] if "</table>" in owed else owed
        assert not iso_or_code.search(owed.split('id="evidence')[0]), path
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", owed), path

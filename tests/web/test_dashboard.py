"""The dashboard in a real browser, one role after another, in the order a project lives (tests share a server
and run in file order: each walks on from where the previous left the demo portfolio).

Walked through the buttons: ZJ-2026-002's intake refused (不予受理, 第十条第二款) and returned to draft;
ZJ-2026-001 from draft to operation, with the review agency's five-point form on the way; ZJ-2026-004's
acceptance refused (第十一条) and failed into 限期整改. Then the flows run a month later so that audit sees
overdue orders and finance a cut to decide. Each role's main page is saved to ``test-artifacts/web/``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from .conftest import PASSWORD, Site

VIEWPORT: ViewportSize = {"width": 1366, "height": 900}
NEW_PASSWORD = "Qz7#Shen-Pi-2026"
HAN = re.compile(r"[\u4e00-\u9fff]")
#: clauses are cited as written in the guidance, in English text too
CITATION = re.compile(
    r"第[一二三四五六七八九十]+条(第[一二三四五六七八九十]+款)?|发改高技〔2013〕733号|733号文?"
)


def as_(browser: Browser, site: Site, user: str) -> Page:
    """A signed-in page for ``user`` (one browser context each: their own session cookie)."""
    if user not in site.pages:
        ctx = browser.new_context(locale="zh-CN", viewport=VIEWPORT, base_url=site.base)
        page = ctx.new_page()
        page.goto("/web/login")
        page.fill("#name", user)
        page.fill("#password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_load_state()
        assert "/web/login" not in page.url, f"{user} could not sign in"
        site.pages[user] = page
    signed: Page = site.pages[user]
    return signed


def fire(page: Page, code: str, event: str, reason: str | None = None) -> str:
    """Press the event's button on the project page; returns the phase shown afterwards."""
    page.goto(f"/web/projects/{code}")
    if reason is not None:
        page.locator(f"form:has(#ev-{event}) input[name=reason]").fill(reason)
    page.click(f"#ev-{event}")
    page.wait_for_load_state()
    expect(page.locator("#result")).to_be_visible()
    return str(page.locator("#phase").get_attribute("data-phase"))


def buttons(page: Page, code: str) -> set[str]:
    page.goto(f"/web/projects/{code}")
    ids = page.locator("#actions button").evaluate_all("els => els.map(e => e.id)")
    return {str(i).removeprefix("ev-") for i in ids}


def fits(page: Page) -> None:
    """Nothing wider than the window: a table that overflows scrolls inside its own box, not the page."""
    extra = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert extra <= 0, f"{page.url} is {extra}px wider than the window"


def labelled(page: Page) -> None:
    """No raw code where people read words: event columns of the timeline and the audit trail."""
    cells = page.locator("#timeline tr td:nth-child(2), #trail tr td:nth-child(4)").all_inner_texts()
    raw = [c for c in cells if re.fullmatch(r"[a-z_.]+", c.strip())]
    assert not raw, f"untranslated actions on {page.url}: {sorted(set(raw))}"


def shot(page: Page, site: Site, name: str) -> None:
    fits(page)
    labelled(page)
    page.screenshot(path=str(site.artifacts / f"{name}.png"), full_page=True)


def test_sign_in_page_zh_first_with_english_switch(browser: Browser, site: Site) -> None:
    ctx = browser.new_context(locale="zh-CN", viewport=VIEWPORT, base_url=site.base)
    page = ctx.new_page()
    page.goto("/web/board")
    assert "/web/login" in page.url
    expect(page.locator("h1")).to_have_text("登录")
    page.fill("#name", "wang")
    page.fill("#password", "wrong-Passw0rd!")
    page.click("#sign-in")
    expect(page.locator("#login-failed")).to_be_visible()
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.goto("/web/login")  # the choice is remembered in a cookie
    expect(page.locator("h1")).to_have_text("Sign in")
    shot(page, site, "00-sign-in-en")
    ctx.close()


def test_refused_intake_returns_to_draft_with_reasons(browser: Browser, site: Site) -> None:
    zhao, wang = as_(browser, site, "zhao"), as_(browser, site, "wang")
    assert buttons(zhao, "ZJ-2026-002") == {"submit_proposal", "withdraw"}
    assert fire(zhao, "ZJ-2026-002", "submit_proposal") == "proposal_submitted"
    # the department sees, before the program office tries, what intake would refuse
    zhao.goto("/web/department")
    row = zhao.locator("#projects tr", has_text="ZJ-2026-002")
    expect(row).to_contain_text("第十条第二款")
    assert buttons(zhao, "ZJ-2026-002") == {"withdraw"}  # intake is not the department's to fire
    assert "intake" in buttons(wang, "ZJ-2026-002")
    # the program office's button says so before it is pressed: pressing it refuses the proposal (不予受理) and
    # returns it to draft — an outcome the office chooses, so the button stays live
    expect(wang.locator("#ev-intake")).to_be_enabled()
    expect(wang.locator("#why-intake")).to_contain_text("退回「编制中」")
    expect(wang.locator("#why-intake")).to_contain_text("733号文 第十条第二款")
    shot(wang, site, "10-program-office-intake-would-return")
    assert fire(wang, "ZJ-2026-002", "intake") == "draft"
    expect(wang.locator("#result")).to_contain_text("被拒绝")
    expect(wang.locator("#result")).to_contain_text("733号文 第十条第二款")
    refused = wang.locator("#timeline tr.refused")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("第八条")
    shot(wang, site, "10-program-office-refused-intake")


def switch_to_english(page: Page, site: Site, name: str, heading: str) -> None:
    """The language switch on the page shown: English headings, no Chinese in the page's own words (its
    headings, labels and buttons; data such as names, marked ``.data``, stays as recorded), a screenshot, then
    back to zh."""
    page.click("#lang-switch")
    page.wait_for_load_state()
    expect(page.locator("h1")).to_contain_text(heading)
    chrome = page.locator("h1, h2, h3, th, label, button, nav a, dt").evaluate_all(
        "els => els.map(e => { const c = e.cloneNode(true);"
        " c.querySelectorAll('.data, option, select').forEach(d => d.remove()); return c.textContent; })"
    )
    leaked = [c for c in chrome if HAN.search(CITATION.sub("", c))]
    assert not leaked, f"Chinese on the English {page.url}: {leaked}"
    shot(page, site, name)
    page.click("#lang-switch")
    page.wait_for_load_state()
    expect(page.locator("#lang-switch")).to_have_text("English")


def test_a_related_department_records_its_opinion(browser: Browser, site: Site) -> None:
    """ZJ-2026-002 was refused intake for, among others, the missing opinion of 浙江省公安厅 (第九条)."""
    zhou = as_(browser, site, "zhou")
    zhou.goto("/web/projects/ZJ-2026-002")
    expect(zhou.locator("#awaiting")).to_contain_text("浙江省公安厅")
    form = zhou.locator("#opinion-form")
    form.locator("select[name=verdict]").select_option("unmet_needs")
    form.locator("input[name=need_name]").first.fill("人口户籍信息核验")
    form.locator("textarea[name=comment]").fill("企业开办须核验法定代表人户籍信息，目录中尚无该条目")
    form.locator("#opinion-submit").click()
    zhou.wait_for_load_state()
    expect(zhou.locator("#message")).to_contain_text("已登记意见")
    row = zhou.locator("#opinions tr[data-department='11330000GF0000004D']")
    expect(row).to_contain_text("需求未满足")
    expect(row).to_contain_text("人口户籍信息核验")
    expect(zhou.locator("#awaiting")).to_have_count(0)
    shot(zhou, site, "13-department-opinion")
    switch_to_english(zhou, site, "13-department-opinion-en", "ZJ-2026-002")
    # the lead department gives no opinion on its own project
    zhao = as_(browser, site, "zhao")
    zhao.goto("/web/projects/ZJ-2026-002")
    expect(zhao.locator("#opinion-form")).to_have_count(0)
    expect(zhao.locator("#opinions")).to_contain_text("人口户籍信息核验")


def test_walk_to_operation_through_the_buttons(browser: Browser, site: Site) -> None:
    li, wang, ping = as_(browser, site, "li"), as_(browser, site, "wang"), as_(browser, site, "pingshen")
    code = "ZJ-2026-001"
    assert fire(li, code, "submit_proposal") == "proposal_submitted"
    assert fire(wang, code, "intake") == "proposal_review"
    # the review agency's queue and its five-point form
    ping.goto("/web/review")
    form = ping.locator(f"#review-{code}")
    shot(ping, site, "12-review-agency-queue")
    for select in form.locator("select").all():
        select.select_option("met")
    form.locator("input[name=conclusion]").fill("同意通过建议书评审")
    form.locator("button[type=submit]").click()
    ping.wait_for_load_state()
    expect(ping.locator("#message")).to_contain_text(code)
    assert buttons(ping, code) == set()  # a review agency fires no lifecycle event
    for actor, event, phase in [
        (wang, "approve", "proposal_approved"),
        (li, "submit_feasibility", "feasibility_review"),
        (wang, "approve", "feasibility_approved"),
        (li, "submit_design", "design_review"),
        (wang, "approve", "construction"),
        (li, "request_acceptance", "acceptance_review"),
        (wang, "pass_acceptance", "operation"),
    ]:
        assert fire(actor, code, event) == phase, f"{event} did not reach {phase}"
    assert buttons(wang, code) == {"retire"}
    expect(wang.locator("#timeline tr.accepted")).to_have_count(9)
    shot(wang, site, "11-program-office-project-in-operation")


def test_failed_acceptance_opens_an_order(browser: Browser, site: Site) -> None:
    chen, wang = as_(browser, site, "chen"), as_(browser, site, "wang")
    code = "ZJ-2026-004"
    assert fire(chen, code, "request_acceptance") == "acceptance_review"
    # passing acceptance would be refused (deliveries missing): the button is disabled and says why
    wang.goto(f"/web/projects/{code}")
    expect(wang.locator("#ev-pass_acceptance")).to_be_disabled()
    expect(wang.locator("#why-pass_acceptance")).to_contain_text("733号文 第十一条")
    wang.locator("form:has(#ev-fail_acceptance) input[name=reason]").fill("C-001、C-002 到期未实现共享")
    wang.click("#ev-fail_acceptance")
    wang.wait_for_load_state()
    expect(wang.locator("#phase")).to_have_attribute("data-phase", "rectification")
    expect(wang.locator("#result")).to_contain_text(f"RO-{code}-01")
    chen.goto("/web/department")
    order = chen.locator("#orders tr", has_text=f"RO-{code}-01")
    expect(order).to_contain_text("整改中")
    order.locator("textarea[name=note]").fill("已完成 C-001、C-002 接口联调并恢复每日交换")
    # the exchange platform's delivery records that show the fix, through the file input
    records = site.artifacts / "exchange-ZJ-2026-004.csv"
    records.write_text(
        "project,catalog,consumer,date,records\n"
        f"{code},C-001,11330000GF00000027,2026-11-25,1200\n"
        f"{code},C-002,11330000GF0000005G,2026-11-25,860\n",
        encoding="utf-8",
    )
    order.locator("input[type=file]").set_input_files(str(records))
    order.locator("button").click()
    chen.wait_for_load_state()
    expect(chen.locator("#message")).to_contain_text(f"RO-{code}-01")
    expect(chen.locator("#orders tr", has_text=f"RO-{code}-01")).to_contain_text("已提交整改材料")
    chen.goto(f"/web/projects/{code}")
    expect(chen.locator("#coverage")).to_contain_text("100%")


def test_program_office_verifies_the_order_after_a_refused_extension(browser: Browser, site: Site) -> None:
    wang, code = as_(browser, site, "wang"), "RO-ZJ-2026-004-01"
    wang.goto("/web/board")
    wang.click("header nav a[href='/web/orders']")
    wang.click("#status-filter a[data-status='evidence_submitted']")
    wang.wait_for_load_state()
    card = wang.locator(f"#order-{code}")
    expect(card).to_have_attribute("data-status", "evidence_submitted")
    assert set(card.locator(".order-actions form").evaluate_all("fs => fs.map(f => f.className)")) == {
        "act-verify",
        "act-reject",
        "act-extend",
    }
    expect(card.locator("table.steps")).to_contain_text("提交整改材料")
    expect(card.locator("table.steps")).to_contain_text("附交付记录")
    # the deadline is Thursday 2026-12-24; a new deadline before it is refused, with the reason
    card.locator(".act-extend input[name=to]").fill("2026-12-22")
    card.locator(".act-extend input[name=reason]").fill("部门申请延期至月底")
    card.locator(".act-extend button").click()
    wang.wait_for_load_state()
    expect(wang.locator("#error")).to_contain_text("须晚于")
    expect(wang.locator("#error")).to_contain_text("733号文 第十一条")
    expect(wang.locator(f"#order-{code} .deadline")).to_have_text(
        "2026年12月24日"
    )  # a day as people write it
    shot(wang, site, "30-program-office-orders-extension-refused")
    card = wang.locator(f"#order-{code}")
    card.locator(".act-verify input[name=note]").fill("已抽查交换平台日志，C-001、C-002 恢复每日交换")
    card.locator(".act-verify button").click()
    wang.wait_for_load_state()
    expect(wang.locator("#message")).to_contain_text(code)
    wang.goto("/web/orders?status=closed")
    card = wang.locator(f"#order-{code}")
    expect(card).to_have_attribute("data-status", "closed")
    expect(card).to_contain_text("整改已核验")
    expect(card.locator("table.steps")).to_contain_text("核验通过")
    assert card.locator(".order-actions form").evaluate_all("fs => fs.map(f => f.className)") == [
        "act-reopen"
    ]
    shot(wang, site, "31-program-office-orders-closed")
    switch_to_english(wang, site, "31-program-office-orders-closed-en", "Rectification orders")


def test_a_month_later_audit_and_finance(browser: Browser, site: Site) -> None:
    from govflow.governance.cuts import run_cuts
    from govflow.governance.flowruns import recorded_run
    from govflow.governance.rectification import run_deadlines
    from govflow.governance.sweep import run_sweep

    first, later = date(2026, 11, 26), date(2026, 12, 30)
    for flow, run in (("sweep", run_sweep), ("deadlines", run_deadlines), ("cuts", run_cuts)):
        with recorded_run(site.gov, flow, first) as stats:  # as the scheduled flows record their runs
            stats.update(run(site.gov, first).to_dict())
    # 10:00 in Beijing; the clock must read UTC (a +08:00 reading breaks the audit chain's hashes: reported)
    site.clock.move_to(datetime(2026, 12, 30, 2, 0, tzinfo=UTC))
    # a month later every sign-in of November has expired on the server (sessions last hours): sign in again
    stale = site.pages["wang"]
    stale.goto("/web/board")
    assert "/web/login" in stale.url
    for signed in site.pages.values():
        signed.context.close()
    site.pages.clear()
    with recorded_run(site.gov, "deadlines", later) as stats:
        stats.update(run_deadlines(site.gov, later).to_dict())
        assert stats["overdue"] >= 1
    run_cuts(site.gov, later)

    zheng = as_(browser, site, "zheng")
    zheng.goto("/web/audit")
    expect(zheng.frame_locator("#chain-frame").locator("#chain")).to_contain_text("审计链完整")
    assert zheng.locator("#chart-overdue rect.bar").count() == 12
    days = [int(x) for x in zheng.locator("#overdue td.num").all_inner_texts()]
    assert days and days == sorted(days, reverse=True)
    with zheng.expect_download() as dl:
        zheng.click("#export-xlsx")
    assert dl.value.suggested_filename.endswith(".xlsx")
    zheng.click("#trail-link")
    zheng.fill("#trail-search input[name=project]", "ZJ-2026-002")
    zheng.click("#trail-search button")
    zheng.wait_for_load_state()
    projects = set(zheng.locator("#trail tr td:nth-child(3)").all_inner_texts())
    assert projects == {"ZJ-2026-002"}
    zheng.goto("/web/audit")

    qian = as_(browser, site, "qian")
    qian.goto("/web/finance?period=2026")
    cut = qian.locator("section.cut").first
    expect(cut).to_contain_text("2026.1")  # the policy version
    expect(cut).to_contain_text("第十一条")
    cut.locator("input[name=reason]").fill("整改逾期且共享覆盖率低于阈值，按策略削减")
    cut.locator("button[value=accept]").click()
    qian.wait_for_load_state()
    expect(qian.locator("#message")).to_be_visible()
    expect(qian.locator("section.cut").first).to_contain_text("已采纳")


@pytest.mark.parametrize(
    ("user", "path", "name"),
    [
        ("wang", "/web/board", "20-program-office-board"),
        ("wang", "/web/projects/ZJ-2026-004", "21-program-office-project"),
        ("li", "/web/department", "22-department"),
        ("chen", "/web/department", "23-department-rectification"),
        ("pingshen", "/web/review", "24-review-agency"),
        ("zheng", "/web/audit", "25-audit"),
        ("qian", "/web/finance?period=2026", "26-finance"),
        ("wang", "/web/orders", "28-program-office-orders"),
        ("zheng", "/web/orders?status=overdue", "29-audit-orders-overdue"),
    ],
)
def test_main_pages(browser: Browser, site: Site, user: str, path: str, name: str) -> None:
    page = as_(browser, site, user)
    response = page.goto(path)
    assert response is not None and response.ok
    assert not re.search(r"\{\{|\}\}|\{%", page.content())
    shot(page, site, name)
    if path == "/web/board":
        bars = page.locator("#chart-phase rect.bar")
        assert bars.count() >= 10
        expect(
            page.frame_locator("#coverage-frame").locator("#chart-coverage rect.bar").first
        ).to_be_visible()


def test_english_board(browser: Browser, site: Site) -> None:
    page = as_(browser, site, "wang")
    page.goto("/web/board?lang=en")
    expect(page.locator("h1")).to_contain_text("Pipeline board")
    expect(page.locator("#board")).to_contain_text("Operation")
    shot(page, site, "27-program-office-board-en")
    page.goto("/web/board?lang=zh")


def test_admin_adds_a_user_who_then_signs_in(browser: Browser, site: Site) -> None:
    from govflow.governance.dispatch import run_dispatch
    from govflow.notifications.fake import FakeNotifier

    run_dispatch(site.gov, FakeNotifier())  # no channel file: messages wait, the run is recorded
    admin = as_(browser, site, "admin")
    admin.goto("/web/")
    expect(admin.locator("h1")).to_contain_text("用户管理")
    expect(admin.locator("#users tr[data-user='wang']")).to_contain_text("项目审批部门")
    form = admin.locator("#add-user")
    form.locator("input[name=name]").fill("sun")
    form.locator("input[name=display_name]").fill("孙立")
    form.locator("select[name=role]").select_option("program_office")
    form.locator("select[name=department]").select_option("11330000GF00000014")
    form.locator("input[name=password]").fill("weakpassword")
    form.locator("#add-user-submit").click()
    admin.wait_for_load_state()
    expect(admin.locator("#error")).to_contain_text("GB/T 22239-2019 8.1.4.1")
    expect(admin.locator("#users tr[data-user='sun']")).to_have_count(0)
    form = admin.locator("#add-user")
    form.locator("input[name=name]").fill("sun")
    form.locator("input[name=display_name]").fill("孙立")
    form.locator("select[name=role]").select_option("program_office")
    form.locator("select[name=department]").select_option("11330000GF00000014")
    form.locator("input[name=password]").fill(NEW_PASSWORD)
    form.locator("#add-user-submit").click()
    admin.wait_for_load_state()
    expect(admin.locator("#message")).to_contain_text("sun")
    expect(admin.locator("#users tr[data-user='sun']")).to_contain_text("浙江省发展和改革委员会")
    shot(admin, site, "40-admin-users")
    switch_to_english(admin, site, "40-admin-users-en", "Users")

    ctx = browser.new_context(locale="zh-CN", viewport=VIEWPORT, base_url=site.base)
    sun = ctx.new_page()
    sun.goto("/web/login")
    sun.fill("#name", "sun")
    sun.fill("#password", NEW_PASSWORD)
    sun.click("#sign-in")
    sun.wait_for_load_state()
    assert sun.url.endswith("/web/board")
    expect(sun.locator("header .who")).to_contain_text("孙立（项目审批部门）")
    ctx.close()

    for path, name, heading in [
        ("/web/admin/policy", "41-admin-policy", "Governance policy"),
        ("/web/admin/runs", "42-admin-runs", "Flow runs"),
        ("/web/admin/outbox", "43-admin-outbox", "Notifications"),
    ]:
        admin.goto(path)
        shot(admin, site, name)
        switch_to_english(admin, site, f"{name}-en", heading)
    admin.goto("/web/admin/policy")
    expect(admin.locator("#policy-version")).to_contain_text("2026.1")
    admin.goto("/web/admin/runs")
    expect(admin.locator("#runs")).to_contain_text("共享义务清单扫描")
    expect(admin.locator("#runs")).to_contain_text("通知发送")
    admin.goto("/web/admin/outbox")
    expect(admin.locator("#configured")).to_contain_text("未配置通知渠道")
    # the administrator's pages are not the program office's
    wang = as_(browser, site, "wang")
    response = wang.goto("/web/admin/users")
    assert response is not None and response.status == 403
    expect(wang.locator("#error")).to_contain_text("govflow 权限表")


def test_error_pages_are_html_in_the_readers_language(browser: Browser, site: Site) -> None:
    """Another department's project reads as a missing one (no existence oracle); a wrong address is a 404 page,
    not the API's JSON; both zh-CN first, English with the switch."""
    page = as_(browser, site, "zhao")  # 市场监管局 has no part in ZJ-2026-004
    foreign = page.goto("/web/projects/ZJ-2026-004")
    assert foreign is not None and foreign.status == 404
    expect(page.locator("#error-title")).to_have_text("没有找到")
    expect(page.locator("#error")).to_contain_text("项目 ZJ-2026-004 不存在")
    shown = page.locator("main").inner_text()
    missing = page.goto("/web/projects/ZJ-2099-999")
    assert missing is not None and missing.status == 404
    assert page.locator("main").inner_text() == shown.replace("ZJ-2026-004", "ZJ-2099-999")
    wrong = page.goto("/web/no/such/page?lang=en")
    assert wrong is not None and wrong.status == 404
    expect(page.locator("#error-title")).to_have_text("Not found")
    expect(page.locator("#error")).to_contain_text("there is no such page")
    shot(page, site, "40-wrong-address-en")
    page.goto("/web/department?lang=zh")

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
    assert fire(wang, "ZJ-2026-002", "intake") == "draft"
    expect(wang.locator("#result")).to_contain_text("被拒绝")
    expect(wang.locator("#result")).to_contain_text("733号文 第十条第二款")
    refused = wang.locator("#timeline tr.refused")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("第八条")
    shot(wang, site, "10-program-office-refused-intake")


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
    assert fire(wang, code, "pass_acceptance") == "acceptance_review"
    expect(wang.locator("#result")).to_contain_text("733号文 第十一条")
    wang.locator("form:has(#ev-fail_acceptance) input[name=reason]").fill("C-001、C-002 到期未实现共享")
    wang.click("#ev-fail_acceptance")
    wang.wait_for_load_state()
    expect(wang.locator("#phase")).to_have_attribute("data-phase", "rectification")
    expect(wang.locator("#result")).to_contain_text(f"RO-{code}-01")
    chen.goto("/web/department")
    order = chen.locator("#orders tr", has_text=f"RO-{code}-01")
    expect(order).to_contain_text("整改中")
    order.locator("textarea[name=note]").fill("已完成 C-001、C-002 接口联调并恢复每日交换")
    order.locator("button").click()
    chen.wait_for_load_state()
    expect(chen.locator("#message")).to_contain_text(f"RO-{code}-01")
    expect(chen.locator("#orders tr", has_text=f"RO-{code}-01")).to_contain_text("已提交整改材料")


def test_a_month_later_audit_and_finance(browser: Browser, site: Site) -> None:
    from govflow.cuts import run_cuts
    from govflow.rectification import run_deadlines
    from govflow.sweep import run_sweep

    first, later = date(2026, 11, 26), date(2026, 12, 30)
    run_sweep(site.gov, first)
    run_deadlines(site.gov, first)
    run_cuts(site.gov, first)
    # 10:00 in Beijing; the clock must read UTC (a +08:00 reading breaks the audit chain's hashes: reported)
    site.clock.move_to(datetime(2026, 12, 30, 2, 0, tzinfo=UTC))
    assert run_deadlines(site.gov, later).overdue >= 1
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
        assert page.locator("#chart-coverage rect.bar").count() >= 1


def test_english_board(browser: Browser, site: Site) -> None:
    page = as_(browser, site, "wang")
    page.goto("/web/board?lang=en")
    expect(page.locator("h1")).to_contain_text("Pipeline board")
    expect(page.locator("#board")).to_contain_text("Operation")
    shot(page, site, "27-program-office-board-en")
    page.goto("/web/board?lang=zh")

"""The reviewer's and the list journeys in the browser (issue 12 items 2 and 4), at a desk (1440×900) and on a
phone (390×844): the reviewer records the five judgments with a conclusion against approval and finds them on the
project page and its own page; the program office, audit and finance search, filter, sort and page their lists.
Every page passes axe-core (no serious or critical violation) and fits the window. Screenshots go to
``test-artifacts/web/lists/``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from .conftest import Site
from .test_page_quality import (
    DESK,
    PHONE,
    axe_source,
    overflow,
    serious,
    signed_in,
    with_flows,
    wrong_language,
)

__all__ = ["axe_source", "with_flows"]  # fixtures used by name


def check(page: Page, site: Site, axe: str, name: str, problems: dict[str, Any]) -> None:
    out = site.artifacts / "lists"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    if overflow(page) > 0:
        problems[f"{name}: wider than the window"] = overflow(page)
    found = serious(page, axe)
    if found:
        problems[name] = found
    leaked = wrong_language(page, "zh")
    if leaked:
        problems[f"{name}: English words"] = leaked


@pytest.mark.parametrize(("size", "viewport"), [("desk", DESK), ("phone", PHONE)])
def test_the_reviewer_records_five_judgments_and_finds_them(
    browser: Browser, with_flows: Site, axe_source: str, size: str, viewport: ViewportSize
) -> None:
    problems: dict[str, Any] = {}
    page = signed_in(browser, with_flows, "pingshen", viewport)
    page.goto("/web/review")
    card = page.locator('section[data-project="ZJ-2026-001"]')
    check(page, with_flows, axe_source, f"review-queue-{size}", problems)
    # the portfolio carries an earlier review of this stage: the queue marks it reviewed; a new one is added
    form = card.locator("form")
    for i, point in enumerate(("agreement", "catalog", "infrastructure", "aggregation", "technical")):
        form.locator(f"select[name=j_{point}]").select_option("not_met" if i == 1 else "met")
        form.locator(f"input[name=c_{point}]").fill(f"第{i + 1}项评审说明")
    form.locator("input[name=conclusion]").fill("目录未细化，不同意批复")
    form.locator("input[name=against_approval]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator('section[data-project="ZJ-2026-001"] .reviewed-mark')).to_be_visible()
    page.goto("/web/projects/ZJ-2026-001#reviews")
    review = page.locator("section.review").last
    expect(review.locator(".against")).to_have_text("不同意批复")
    expect(review.locator('tr[data-point="catalog"]')).to_contain_text("不满足")
    check(page, with_flows, axe_source, f"review-project-{size}", problems)
    page.goto("/web/review/mine")
    expect(page.locator('.my-review[data-project="ZJ-2026-001"]').first).to_contain_text("目录未细化")
    check(page, with_flows, axe_source, f"review-mine-{size}", problems)
    page.context.close()
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


@pytest.mark.parametrize(("size", "viewport"), [("desk", DESK), ("phone", PHONE)])
def test_lists_are_searched_filtered_sorted_and_paged(
    browser: Browser, with_flows: Site, axe_source: str, size: str, viewport: ViewportSize
) -> None:
    problems: dict[str, Any] = {}
    site = with_flows
    wang = signed_in(browser, site, "wang", viewport)
    wang.goto("/web/board")
    wang.fill("#f-q", "平台")
    wang.select_option("#f-sort", "name")
    wang.click("#f-apply")
    wang.wait_for_load_state()
    shown = wang.locator("#projects tr[data-project]").evaluate_all("e => e.map(x => x.dataset.project)")
    assert shown and all(code.startswith("ZJ-") for code in shown) and "q=" in wang.url
    check(wang, site, axe_source, f"board-search-{size}", problems)
    wang.goto("/web/orders")
    wang.check("#f-desc")
    wang.select_option("#f-sort", "project")
    wang.click("#f-apply")
    wang.wait_for_load_state()
    codes = wang.locator("section.order").evaluate_all("e => e.map(x => x.dataset.order)")
    assert codes == sorted(codes, key=lambda c: c.rsplit("-", 1)[0], reverse=True)
    check(wang, site, axe_source, f"orders-sorted-{size}", problems)
    wang.context.close()

    zheng = signed_in(browser, site, "zheng", viewport)
    zheng.goto("/web/audit")
    check(zheng, site, axe_source, f"overdue-{size}", problems)
    zheng.goto("/web/audit/trail")
    actions = zheng.locator("#trail tr[data-action]").evaluate_all("e => e.map(x => x.dataset.action)")
    assert "auth.login" not in actions
    check(zheng, site, axe_source, f"trail-{size}", problems)
    zheng.check("#f-sign-ins")
    zheng.click("#f-apply")
    zheng.wait_for_load_state()
    actions = zheng.locator("#trail tr[data-action]").evaluate_all("e => e.map(x => x.dataset.action)")
    assert "auth.login" in actions
    if zheng.locator("nav.pager a.next").count():
        zheng.click("nav.pager a.next")
        zheng.wait_for_load_state()
        expect(zheng.locator("nav.pager .page-of")).to_contain_text("第 2 页")
        assert "sign_ins=1" in zheng.url
    zheng.context.close()

    qian = signed_in(browser, site, "qian", viewport)
    qian.goto("/web/finance")
    qian.select_option("#f-period", "2026")
    qian.click("#f-year")
    qian.wait_for_load_state()
    expect(qian.locator("#total-amount")).to_have_text("160,000.00 元")
    check(qian, site, axe_source, f"finance-{size}", problems)
    qian.context.close()
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)

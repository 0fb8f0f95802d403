"""The department's journeys in Chromium, at a desk (1440×900) and on a phone (390×844): the pre-check that
says what intake will refuse, preparing the proposal on the web (a refused form, then accepted ones), the
program office's intake button that says why it is disabled, and a rectification order's page with its
working days left and evidence upload. Every new page passes axe-core (no serious or critical violation) and
does not scroll sideways. Screenshots go to ``test-artifacts/web/department/``.

Its own module, so its own server: what the journeys write changes no other test's data."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from .conftest import Site
from .test_page_quality import DESK, PHONE, axe_source, overflow, serious, signed_in, wrong_language

__all__ = ["axe_source"]  # the fixture, imported for this module

CODE = "ZJ-2026-002"
SIZES: tuple[tuple[str, ViewportSize], ...] = (("desk", DESK), ("phone", PHONE))


def shoot(page: Page, site: Site, name: str) -> None:
    out = site.artifacts / "department"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)


def check_page(
    page: Page, site: Site, axe: str, name: str, problems: dict[str, Any], lang: str = "zh"
) -> None:
    shoot(page, site, name)
    if overflow(page) > 0:
        problems[f"{name}: {overflow(page)}px wider than the window"] = True
    found = serious(page, axe)
    if found:
        problems[name] = found
    leaked = wrong_language(page, lang)
    if leaked:
        problems[f"{name}: words in the wrong language"] = leaked


@pytest.fixture(scope="module")
def orders(site: Site) -> Site:
    from govflow.governance.rectification import run_deadlines
    from govflow.governance.sweep import run_sweep

    run_sweep(site.gov, date(2026, 11, 26))
    run_deadlines(site.gov, date(2026, 11, 26))
    return site


@pytest.mark.parametrize(("size", "viewport"), SIZES, ids=[s for s, _ in SIZES])
def test_the_department_prepares_its_proposal_and_sees_what_intake_would_refuse(
    browser: Browser, orders: Site, axe_source: str, size: str, viewport: ViewportSize
) -> None:
    site = orders
    problems: dict[str, Any] = {}
    page = signed_in(browser, site, "zhao", viewport)
    page.goto("/web/department")
    row = page.locator("#projects tr", has_text=CODE)
    expect(row).to_contain_text("受理时将不予通过")
    if size == "desk":  # before the agreement below is added
        expect(row).to_contain_text("未提供信息共享协定或联合发文")
    expect(row).not_to_contain_text("条件已满足")
    check_page(page, site, axe_source, f"zhao-{size}-department", problems)

    page.goto(f"/web/projects/{CODE}/prepare")
    expect(page.locator("#precheck")).to_contain_text("未征求相关部门浙江省公安厅")
    check_page(page, site, axe_source, f"zhao-{size}-prepare", problems)

    # a catalog item that breaks 第三条: refused on the page, with field and clause
    page.fill("#ci-code", f"C-0{size[0]}9")
    page.fill("#ci-name", "企业年报信息")
    page.select_option("#ci-category", "basic")
    page.select_option("#ci-share_type", "conditional")
    page.click("#catalog-save")
    expect(page.locator("#error")).to_contain_text("733号文 第三条")
    expect(page.locator("#error .path").first).to_have_text("共享类型")
    expect(page.locator("#ci-name")).to_have_value("企业年报信息")  # kept for correcting
    check_page(page, site, axe_source, f"zhao-{size}-prepare-refused", problems)

    if size == "desk":  # the agreement, once: the phone walk then sees intake no longer missing it
        page.fill("#ag-code", "A-201")
        page.check("#agreement-form input[value='11330000GF0000004D']")
        page.fill("#ag-signed", "2026-10-20")
        page.fill("#ag-start", "2026-11-01")
        page.fill("#ag-end", "2029-12-31")
        page.fill("#ag-basis", "《浙江省公共数据条例》")
        page.select_option("#ag-catalog", "C-002")
        page.select_option("#ag-consumer", "11330000GF0000003A")
        page.fill("#ag-quality", "备案信息字段完整")
        page.fill("#ag-quantity", "全省印章刻制备案全量")
        page.fill("#ag-scope", "企业开办联办核验")
        page.fill("#ag-usage", "接口调用")
        page.fill("#ag-due", "2027-03-31")
        page.click("#agreement-save")
        expect(page.locator("#message")).to_contain_text("协定 A-201 已登记")
    expect(page.locator("#precheck")).not_to_contain_text("未提供信息共享协定或联合发文")
    expect(page.locator("#precheck")).to_contain_text("未征求")  # the police's opinion is still missing
    check_page(page, site, axe_source, f"zhao-{size}-prepare-saved", problems)

    page.goto(f"/web/projects/{CODE}?lang=en")
    check_page(page, site, axe_source, f"zhao-{size}-project-en", problems, lang="en")
    page.goto(f"/web/projects/{CODE}/prepare")
    expect(page.locator("#precheck")).to_contain_text("intake refused")
    check_page(page, site, axe_source, f"zhao-{size}-prepare-en", problems, lang="en")
    page.context.close()
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


@pytest.mark.parametrize(("size", "viewport"), SIZES, ids=[s for s, _ in SIZES])
def test_a_disabled_button_says_why_and_the_order_page_counts_working_days(
    browser: Browser, orders: Site, axe_source: str, size: str, viewport: ViewportSize
) -> None:
    from govflow.governance.rectification import list_orders
    from govflow.lifecycle import services

    site = orders
    problems: dict[str, Any] = {}
    # the proposal submitted, the program office's intake button says what intake would refuse and that the
    # proposal would go back to draft (a refused intake is the office's way to return it)
    if services.show_project(site.gov, CODE, "wang").phase.value == "draft":
        services.fire_event(site.gov, CODE, "submit_proposal", "zhao")
    page = signed_in(browser, site, "wang", viewport)
    page.goto(f"/web/projects/{CODE}")
    expect(page.locator("#ev-intake")).to_be_enabled()
    expect(page.locator("#ev-intake")).to_have_attribute("aria-describedby", "why-intake")
    expect(page.locator("#why-intake")).to_contain_text("退回「编制中」")
    expect(page.locator("#why-intake")).to_contain_text("未征求相关部门浙江省公安厅")
    expect(page.locator("#ev-withdraw")).to_be_enabled()  # asks for its reason in the form
    check_page(page, site, axe_source, f"wang-{size}-project", problems)
    order = next(o for o in list_orders(site.gov, "chen") if o.department == "11330000GF0000005G")
    page.goto(f"/web/orders/{order.code}")  # the program office: verifying waits for the evidence
    expect(page.locator("#order-verify")).to_be_disabled()
    expect(page.locator("#why-verify")).to_contain_text("不能核验通过")
    check_page(page, site, axe_source, f"wang-{size}-order", problems)
    page.context.close()

    page = signed_in(browser, site, "chen", viewport)
    page.goto(f"/web/orders/{order.code}")
    expect(page.locator("#order-deadline")).to_contain_text(f"{order.deadline.year}年")  # type: ignore[union-attr]
    expect(page.locator("#workdays-left")).to_contain_text("个工作日")
    expect(page.locator("#evidence-template")).to_have_attribute("href", "/web/templates/evidence.xlsx")
    check_page(page, site, axe_source, f"chen-{size}-order", problems)
    page.goto(f"/web/orders/{order.code}?lang=en")
    expect(page.locator("#workdays-left")).to_contain_text("working days")
    check_page(page, site, axe_source, f"chen-{size}-order-en", problems, lang="en")
    page.context.close()

    page = signed_in(browser, site, "zhou", viewport)  # 省公安厅: reads the order, may not answer it
    response = page.goto(f"/web/orders/{order.code}")
    if response is not None and response.ok:
        expect(page.locator("#evidence-submit")).to_be_disabled()
        expect(page.locator("#evidence-why")).to_contain_text("无权")
        check_page(page, site, axe_source, f"zhou-{size}-order", problems)
    page.context.close()
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)

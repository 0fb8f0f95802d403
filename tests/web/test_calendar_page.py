"""The working-day calendar in the browser (SPEC §4): from 1 November the administrator and the program office see
a banner until next year's calendar is imported; the administrator imports it on the calendar page, a year that
breaks the regulation is refused whole, and the banner goes.

Its own module, so its own server: importing 2027 here must not change what the other browser tests see.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from playwright.sync_api import Browser, expect

from .conftest import Site
from .test_dashboard import as_, shot

FICTIONAL_2027 = Path(__file__).resolve().parents[1] / "data" / "calendar-2027-fictional.yaml"


def test_the_banner_warns_until_the_administrator_imports_the_year(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    # the site's clock is the demo's today, 2026-11-26: after 1 November, and 2027 has no data yet
    admin = as_(browser, site, "admin")
    admin.goto("/web/admin/users")
    banner = admin.locator("#calendar-banner")
    expect(banner).to_contain_text("尚未导入 2027 年工作日历")
    expect(banner).to_contain_text("期限待定")
    wang = as_(browser, site, "wang")
    wang.goto("/web/board")
    expect(wang.locator("#calendar-banner")).to_contain_text("2027")
    expect(wang.locator("#calendar-banner a")).to_have_count(0)  # the program office cannot import
    li = as_(browser, site, "li")
    li.goto("/web/department")
    expect(li.locator("#calendar-banner")).to_have_count(0)  # a department is not the one to act

    admin.click("#calendar-banner a")
    admin.wait_for_load_state()
    assert admin.url.endswith("/web/admin/calendar")
    expect(admin.locator("h1")).to_have_text("工作日历")
    expect(admin.locator("#calendar-years tr[data-year='2026']")).to_contain_text("随程序发布")
    expect(admin.locator("#calendar-years tr[data-year='2027']")).to_have_count(0)
    shot(admin, site, "60-admin-calendar-banner")

    # a year without 春节 is refused, naming what is missing, and nothing is written
    doc = yaml.safe_load(FICTIONAL_2027.read_text(encoding="utf-8"))
    doc["years"][2027]["holidays"] = [d for d in doc["years"][2027]["holidays"] if d.month != 2]
    bad = tmp_path / "2027-no-spring-festival.json"
    bad.write_text(json.dumps(doc, default=str, ensure_ascii=False), encoding="utf-8")
    admin.set_input_files("#calendar-file", str(bad))
    admin.click("#calendar-import button")
    admin.wait_for_load_state()
    expect(admin.locator("#error")).to_contain_text("缺少春节")
    expect(admin.locator("#calendar-years tr[data-year='2027']")).to_have_count(0)
    expect(admin.locator("#calendar-banner")).to_be_visible()
    shot(admin, site, "61-admin-calendar-refused")

    admin.set_input_files("#calendar-file", str(FICTIONAL_2027))
    admin.click("#calendar-import button")
    admin.wait_for_load_state()
    expect(admin.locator("#message")).to_contain_text("2027")
    row = admin.locator("#calendar-years tr[data-year='2027']")
    expect(row).to_contain_text("管理员导入")
    expect(row).to_contain_text("admin")
    expect(admin.locator("#calendar-banner")).to_have_count(0)
    shot(admin, site, "62-admin-calendar-imported")
    wang.goto("/web/board")
    expect(wang.locator("#calendar-banner")).to_have_count(0)

    admin.goto("/web/admin/calendar?lang=en")
    expect(admin.locator("h1")).to_have_text("Working-day calendar")
    expect(admin.locator("#calendar-years tr[data-year='2027']")).to_contain_text("imported")


def test_only_the_administrator_may_import(browser: Browser, site: Site) -> None:
    wang = as_(browser, site, "wang")
    wang.goto("/web/admin/calendar")
    expect(wang.locator("#calendar-years")).to_be_visible()  # the program office reads the years
    expect(wang.locator("#calendar-import")).to_have_count(0)
    csrf = wang.locator("meta[name=csrf-token]").get_attribute("content")
    answer = wang.request.post(
        "/web/admin/calendar",
        multipart={
            "csrf": str(csrf),
            "file": {"name": "2027.yaml", "mimeType": "text/yaml", "buffer": FICTIONAL_2027.read_bytes()},
        },
    )
    assert answer.status == 403 and "管理工作日历" in answer.text()

"""Every page each role can reach, in the browser at a desk (1440×900) and on a phone (390×844): no sideways
scrolling of the page (a wide table scrolls inside its own box or stacks its rows), a skip link to the content,
and no serious or critical accessibility violation found by axe-core (injected from ``node_modules/axe-core``,
installed by ``npm ci`` in ``scripts/test.sh``). Wrong addresses and pages a role may not open answer as HTML
pages in the reader's language.

Its own module, so its own server: the flows it runs (so that orders and cuts exist) change no other test's
data. Screenshots go to ``test-artifacts/web/quality/``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from .conftest import PASSWORD, REQUIRE_BROWSER, Site
from .test_dashboard import CITATION, HAN

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
DESK: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
ROLES = ("wang", "li", "pingshen", "qian", "zheng", "admin")
#: pages shown inside another page's frame (no menu, no skip link of their own)
FRAMES = frozenset({"/web/audit/chain", "/web/board/coverage"})
#: pages a role reaches outside its menu: a project page, its own account page
EXTRA: dict[str, tuple[str, ...]] = {
    "wang": ("/web/projects/ZJ-2026-004", "/web/board/coverage", "/web/account"),
    "li": ("/web/projects/ZJ-2026-001", "/web/account"),
    "pingshen": ("/web/projects/ZJ-2026-001", "/web/account"),
    "qian": ("/web/account",),
    "zheng": ("/web/projects/ZJ-2026-004", "/web/audit/chain", "/web/account"),
    "admin": ("/web/account",),
}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        if REQUIRE_BROWSER or os.environ.get("GOVFLOW_REQUIRE_AXE") == "1":
            pytest.fail(f"{AXE} is missing: run `npm ci` at the repository root (scripts/test.sh does)")
        pytest.skip(f"{AXE} is missing: run `npm ci` at the repository root")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def with_flows(site: Site) -> Site:
    """A month of governance on the demo portfolio, so that orders are overdue and cuts await finance, and a
    project in review, so that the review agency's five-point form is on its page."""
    from govflow.governance.cuts import run_cuts
    from govflow.governance.rectification import run_deadlines
    from govflow.governance.sweep import run_sweep
    from govflow.lifecycle import services

    services.fire_event(site.gov, "ZJ-2026-001", "submit_proposal", "li")
    assert services.fire_event(site.gov, "ZJ-2026-001", "intake", "wang").accepted

    first = date(2026, 11, 26)
    run_sweep(site.gov, first)
    run_deadlines(site.gov, first)
    site.clock.move_to(datetime(2026, 12, 30, 2, 0, tzinfo=UTC))
    run_deadlines(site.gov, date(2026, 12, 30))
    run_cuts(site.gov, date(2026, 12, 30))
    return site


def signed_in(browser: Browser, site: Site, user: str, viewport: ViewportSize, lang: str = "zh-CN") -> Page:
    ctx: BrowserContext = browser.new_context(locale=lang, viewport=viewport, base_url=site.base)
    page = ctx.new_page()
    page.goto("/web/login")
    page.fill("#name", user)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_load_state()
    assert "/web/login" not in page.url, f"{user} could not sign in"
    return page


def serious(page: Page, axe: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page shown."""
    page.add_script_tag(content=axe)
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return found


def overflow(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def pages_of(page: Page, user: str) -> list[str]:
    """The role's menu, followed from its home page, and the pages it reaches outside the menu."""
    page.goto("/web/")
    menu = page.locator("header nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return list(dict.fromkeys([*menu, *EXTRA[user]]))


#: words people read on a zh-CN page in Latin letters anyway: file formats, standards, the language switch
LATIN_OK = re.compile(r"\b(CSV|Excel|XLSX|YAML|JSON|API|SHA-256|GB/T|YYYY-MM-DD|govflow|English)\b")
LATIN = re.compile(r"[A-Za-z]{2,}")
#: the page's own words: headings, table headers, labels, buttons, the menu, terms (data marked .data is left out)
CHROME = "h1, h2, h3, th, label, button, nav a, dt, .flash strong"


def own_words(page: Page) -> list[str]:
    words: list[str] = page.locator(CHROME).evaluate_all(
        "els => els.map(e => { const c = e.cloneNode(true);"
        " c.querySelectorAll('.data, option, select, input, textarea').forEach(d => d.remove());"
        " return c.textContent.trim(); })"
    )
    labels: list[str] = page.locator("td[data-label]").evaluate_all(
        "els => [...new Set(els.map(e => e.dataset.label))]"
    )
    return [w for w in [*words, *labels] if w]


def wrong_language(page: Page, lang: str) -> list[str]:
    """The page's own words in the other language: English on a zh-CN page, Chinese on an English one
    (clause citations such as 733号文 第十一条 are quoted as written)."""
    if lang == "en":
        return [w for w in own_words(page) if HAN.search(CITATION.sub("", w))]
    return [w for w in own_words(page) if LATIN.search(LATIN_OK.sub("", w))]


def shoot(page: Page, site: Site, name: str) -> None:
    out = site.artifacts / "quality"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("user", ROLES)
def test_every_page_of_every_role_fits_a_phone_and_passes_axe(
    browser: Browser, with_flows: Site, axe_source: str, user: str
) -> None:
    site = with_flows
    problems: dict[str, Any] = {}
    for size, viewport, lang in (("desk", DESK, "zh-CN"), ("phone", PHONE, "zh-CN"), ("desk-en", DESK, "en")):
        page = signed_in(browser, site, user, viewport, lang)
        for path in pages_of(page, user):
            response = page.goto(path)
            assert response is not None and response.ok, (path, response and response.status)
            assert page.locator("html").get_attribute("lang") == ("en" if lang == "en" else "zh-CN")
            name = f"{user}-{size}-{path.strip('/').replace('/', '-')}"
            shoot(page, site, name)
            wide = overflow(page)
            if wide > 0:
                problems[f"{name}: {wide}px wider than the window"] = True
            if path not in FRAMES:  # a frame of a page, which is checked with it
                expect(page.locator("#skip-link")).to_have_attribute("href", "#main")
            leaked = wrong_language(page, "en" if lang == "en" else "zh")
            if leaked:
                problems[f"{name}: words in the wrong language"] = leaked
            found = serious(page, axe_source)
            if found:
                problems[name] = found
        page.context.close()
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


def test_wrong_addresses_and_forbidden_pages_are_html_pages(
    browser: Browser, with_flows: Site, axe_source: str
) -> None:
    """Under /web a wrong address is a 404 page and a page the role may not open a 403 page, in the reader's
    language, fitting a phone and passing axe; the API keeps answering JSON."""
    site = with_flows
    ctx = browser.new_context(locale="zh-CN", viewport=PHONE, base_url=site.base)
    anonymous = ctx.new_page()
    for path in ("/web/no/such/page", "/web/projects/ZJ-2026-001/no-such-tab", "/web/static/none.css"):
        response = anonymous.goto(path)
        assert response is not None and response.status == 404, path
        assert response.headers["content-type"].startswith("text/html")
        expect(anonymous.locator("#error-title")).to_have_text("没有找到")
        assert overflow(anonymous) <= 0 and not serious(anonymous, axe_source)
    shoot(anonymous, site, "anonymous-phone-404")
    for lang in ("zh-CN", "en"):
        anonymous.goto("/web/login" + ("?lang=en" if lang == "en" else "?lang=zh"))
        assert overflow(anonymous) <= 0 and not serious(anonymous, axe_source)
        assert not wrong_language(anonymous, "en" if lang == "en" else "zh")
    api = anonymous.request.get("/api/v1/no-such-thing")
    assert api.status == 404 and api.headers["content-type"].startswith("application/json")
    ctx.close()

    page = signed_in(browser, site, "wang", PHONE)
    response = page.goto("/web/admin/users")
    assert response is not None and response.status == 403
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("#error-title")).to_have_text("无权访问")
    assert overflow(page) <= 0 and not serious(page, axe_source)
    shoot(page, site, "wang-phone-403")
    response = page.goto("/web/no/such/page?lang=en")
    assert response is not None and response.status == 404
    expect(page.locator("#error-title")).to_have_text("Not found")
    assert not wrong_language(page, "en") and not serious(page, axe_source)
    page.goto("/web/board?lang=zh")
    page.context.close()


def test_the_skip_link_is_the_first_stop_of_the_keyboard_and_leads_to_the_content(
    browser: Browser, with_flows: Site
) -> None:
    page = signed_in(browser, with_flows, "zheng", PHONE)
    page.goto("/web/audit")
    link = page.locator("#skip-link")
    box = link.bounding_box()
    assert box is None or box["x"] + box["width"] <= 0  # out of sight until reached
    page.keyboard.press("Tab")
    expect(link).to_be_focused()
    expect(link).to_have_text("跳到正文")
    box = link.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # seen when reached
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.context.close()


@pytest.mark.parametrize(
    ("user", "path"), [("wang", "/web/orders"), ("zheng", "/web/audit"), ("li", "/web/department")]
)
def test_lists_and_orders_print_without_menu_buttons_or_forms(
    browser: Browser, with_flows: Site, user: str, path: str
) -> None:
    page = signed_in(browser, with_flows, user, DESK)
    page.goto(path)
    page.emulate_media(media="print")
    for hidden in ("header.top", "footer", "form", "button", "#skip-link"):
        for element in page.locator(hidden).all():
            expect(element).to_be_hidden()
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("main table, main section.card").first).to_be_visible()
    assert overflow(page) <= 0
    page.pdf(
        path=str(with_flows.artifacts / "quality" / f"{user}-print-{path.strip('/').replace('/', '-')}.pdf")
    )
    page.context.close()


def test_report_files_read_like_the_finance_and_audit_pages(browser: Browser, with_flows: Site) -> None:
    """The cut evidence in a downloaded CSV or Excel file is the sentence a person reads (no JSON object), with
    the page's words; days stay ISO in files (a date Excel sorts), money a number."""
    import csv
    import io

    import openpyxl  # type: ignore[import-untyped]

    page = signed_in(browser, with_flows, "qian", DESK)
    page.goto("/web/finance?period=2026")
    expect(page.locator("section.cut .amount").first).to_have_text(
        re.compile(r"^\d{1,3}(,\d{3})*\.\d{2} 元$")
    )
    expect(page.locator("section.cut .percent").first).to_have_text(re.compile(r"^\d+(\.\d+)?%$"))
    text = page.request.get("/web/reports/cuts-2026.csv").body().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    evidence = rows[0]["证据"]
    assert "{" not in evidence and evidence.startswith("共享覆盖率 ") and "策略阈值 90%" in evidence
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rows[0]["测算日期"])
    book = openpyxl.load_workbook(io.BytesIO(page.request.get("/web/reports/cuts-2026.xlsx").body()))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert sheet.cell(2, header.index("证据") + 1).value == evidence
    english = page.request.get("/web/reports/cuts-2026.csv?lang=en").body().decode("utf-8-sig")
    assert "Evidence" in english.splitlines()[0] and "sharing coverage 0%" in english
    page.goto("/web/finance?lang=zh")
    page.context.close()

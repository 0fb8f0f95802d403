"""Issue 12: no Chinese on English pages and no English on Chinese pages, data aside, after the governance flows
ran (orders overdue and escalated, a cut recommendation proposed and decided, the trail full of the system's
notes). Every page of every role is read in the browser; what is data is decided from the database and the demo
portfolio (names, titles, catalog entries, the policy's level names, the comments people typed), never from how
the page marks it, and taken out of the page's text before looking for the other language.

Its own module, so its own server: the flows and decisions it makes change no other test's data. Screenshots go
to ``test-artifacts/web/words/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page

from .conftest import Site
from .test_page_quality import DESK, signed_in

#: the comments people type in this module (data, shown as typed)
TYPED = {
    "refuse": "信息共享协定不满足省公安厅的共享需求（733号文 第十条第二款）",
    "fail": "C-001、C-002 到期未实现共享",
    "evidence": "已补充交付记录并恢复每日更新",
    "reject": "交付记录不全，请补充十二月的记录",
    "verify": "核验无误",
    "extend": "跨年度系统切换，需延长期限",
    "cut": "整改逾期且覆盖率不足，采纳削减建议",
}
ROLES = ("wang", "li", "chen", "pingshen", "qian", "zheng", "admin")
HAN = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
#: clauses are cited as written in the guidance, in English text too (``733号文 第十条第二款、第九条``)
CITATION = re.compile(
    r"(?:733号文\s?)?(?:、?第[一二三四五六七八九十]+条(?:第[一二三四五六七八九十]+款)?)+|发改高技〔2013〕733号|733号文?"
)
#: Latin letters a zh-CN page shows anyway: file formats and standards, codes (projects, orders, agreements,
#: catalog entries, rule codes, finding keys, credit codes, digests), the language switch
LATIN_OK = re.compile(
    r"govflow [a-z ]+|\{[^。]*\}|\b[a-z]+/\S*|\b(CSV|Excel|XLSX|YAML|JSON|API|SHA-256|GB/T|YYYY-MM-DD|govflow|PDF)\b"
    r"|[A-Z]{1,3}(?:-[A-Z0-9]+)+|\b[A-Z][A-Z0-9_]+\b|\b[0-9A-Z]{18}\b|\b[0-9a-f]{12,64}\b"
    r"|--[a-z-]+|\S+\.(?:yaml|csv|xlsx|json)\b"
)
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


def file_codes() -> re.Pattern[str]:
    """The codes people write in the files they upload, which the upload pages' help names as written: the
    portfolio document's field names and the vocabularies' codes (``update_frequency: daily``)."""
    from govflow.demo import demo_portfolio
    from govflow.states import sharing

    portfolio = yaml.safe_load(demo_portfolio().read_text(encoding="utf-8"))
    words = {*_keys(portfolio)}
    for kind in (
        sharing.Category,
        sharing.ShareType,
        sharing.Method,
        sharing.Frequency,
        sharing.Secrecy,
        sharing.AgreementForm,
    ):
        words |= {str(w.value) for w in kind}
    return re.compile(r"\b(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\b")


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, str):
        yield value


def data_values(site: Site) -> list[str]:
    """What the pages may show as typed: every text of the demo portfolio (departments, people, projects,
    catalog entries, needs, opinions, agreements), the active policy's level names, the comments typed here;
    longest first, so that a name is taken out before a shorter name inside it."""
    from govflow.demo import demo_portfolio
    from govflow.governance.policy_service import show_policy

    portfolio = yaml.safe_load(demo_portfolio().read_text(encoding="utf-8"))
    from govflow.governance.calendar_years import known_years

    policy, _ = show_policy(site.gov)
    sources = (str(y.source or "") for y in known_years(site.gov, "admin"))
    values = {
        *_leaves(portfolio),
        *(e.name for e in policy.rectification.escalation),
        *sources,  # the calendar's source: a notice's title, or the library it came from
        *TYPED.values(),
    }
    return sorted((v for v in values if v.strip()), key=len, reverse=True)


@pytest.fixture(scope="module")
def worked(site: Site) -> Site:
    """The demo's story and a month of governance: refused intake and approval, a failed acceptance, overdue
    and escalated orders (evidence submitted, rejected, verified, a deadline extended), a cut recommendation
    proposed and accepted, a permission denied."""
    from govflow.governance import cuts, rectification
    from govflow.governance.cut_run import run_cuts
    from govflow.governance.flowruns import recorded_run
    from govflow.governance.rectification import run_deadlines
    from govflow.governance.sweep import run_sweep
    from govflow.lifecycle import services
    from govflow.states.errors import PermissionDenied

    gov = site.gov
    for code, event, actor in (
        ("ZJ-2026-001", "submit_proposal", "li"),
        ("ZJ-2026-001", "intake", "wang"),
        ("ZJ-2026-002", "submit_proposal", "zhao"),
        ("ZJ-2026-002", "intake", "wang"),
        ("ZJ-2026-003", "submit_proposal", "lin"),
        ("ZJ-2026-003", "intake", "wang"),
        ("ZJ-2026-003", "approve", "wang"),
    ):
        services.fire_event(gov, code, event, actor)
    services.fire_event(gov, "ZJ-2026-003", "refuse", "wang", reason=TYPED["refuse"])
    services.fire_event(gov, "ZJ-2026-004", "request_acceptance", "chen")
    services.fire_event(gov, "ZJ-2026-004", "pass_acceptance", "wang")
    services.fire_event(gov, "ZJ-2026-004", "fail_acceptance", "wang", reason=TYPED["fail"])
    with pytest.raises(PermissionDenied):
        services.fire_event(gov, "ZJ-2026-003", "approve", "qian")
    first, later = date(2026, 11, 26), date(2026, 12, 30)
    runs: dict[str, Any] = {"sweep": run_sweep, "deadlines": run_deadlines, "cuts": run_cuts}
    for day, flows in ((first, ("sweep", "deadlines")), (later, ("sweep", "deadlines", "cuts"))):
        site.clock.move_to(datetime.combine(day, datetime.min.time(), UTC).replace(hour=2))
        for flow in flows:
            with recorded_run(gov, flow, day) as stats:
                stats.update(runs[flow](gov, day).to_dict())
    orders = {o.code: o for o in rectification.list_orders(gov, None)}
    assert {"RO-ZJ-2026-004-01", "RO-ZJ-2026-005-01"} <= set(orders)
    rectification.submit_evidence(gov, "RO-ZJ-2026-004-01", "chen", TYPED["evidence"])
    rectification.reject_evidence(gov, "RO-ZJ-2026-004-01", "wang", TYPED["reject"])
    rectification.submit_evidence(gov, "RO-ZJ-2026-004-01", "chen", TYPED["evidence"])
    rectification.verify_order(gov, "RO-ZJ-2026-004-01", "wang", TYPED["verify"])
    open_ = [c for c, o in orders.items() if o.deadline is not None and c.startswith("RO-ZJ-2026-005")]
    rectification.extend_order(gov, open_[0], "wang", TYPED["extend"], workdays=5)
    proposed = cuts.list_cuts(gov, 2026)
    assert proposed, "the cut run proposed nothing"
    cuts.decide_cut(gov, proposed[0].project, 2026, "qian", accept=True, reason=TYPED["cut"])
    return site


def pages_of(page: Page, site: Site, user: str) -> list[str]:
    """The role's menu, every project and order page, and the pages reached outside the menu."""
    from govflow.governance import rectification

    page.goto("/web/")
    menu = page.locator("header nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    projects = [f"/web/projects/ZJ-2026-00{n}" for n in range(1, 6)]
    orders = [f"/web/orders/{o.code}" for o in rectification.list_orders(site.gov, None)]
    extra = ["/web/account", "/web/audit/trail?all=1", "/web/orders?status=closed"]
    extra += [f"{p}/prepare" for p in projects] if user in ("li", "chen") else []  # their own projects
    return list(dict.fromkeys([*menu, *projects, *orders, *extra]))


#: each text node of the page and each title people read on hovering, the language switch and the codes
#: (``<code>``: a file's column names) left out
TEXTS = """() => {
  const out = [];
  const skip = e => e.closest('script, style, code, kbd, #lang-switch, option, textarea');
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const t = n.nodeValue.trim();
    if (t && !skip(n.parentElement)) out.push(t);
  }
  document.querySelectorAll('[title], [aria-label], input[placeholder]').forEach(e => {
    if (skip(e)) return;
    for (const a of ['title', 'aria-label', 'placeholder']) { const v = e.getAttribute(a); if (v) out.push(v); }
  });
  return out;
}"""


def wrong_words(page: Page, lang: str, data: list[str], codes: re.Pattern[str]) -> list[str]:
    """The page's texts in the other language once the data is taken out of them (Chinese on an English page,
    English words on a Chinese one, where the codes of the files people upload are no words)."""
    found = []
    for text in page.evaluate(TEXTS):
        rest = text
        for value in data:
            if value in rest:
                rest = rest.replace(value, " ")
        rest = CITATION.sub(" ", rest)
        if lang == "en" and HAN.search(rest):
            found.append(text)
        if lang == "zh" and ENGLISH.search(codes.sub(" ", LATIN_OK.sub(" ", rest))):
            found.append(text)
    return found


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_sentence_of_the_system_in_the_other_language(browser: Browser, worked: Site, lang: str) -> None:
    site = worked
    data, codes = data_values(site), file_codes()
    out = site.artifacts / "words"
    out.mkdir(exist_ok=True)
    problems: dict[str, list[str]] = {}
    for user in ROLES:
        page = signed_in(browser, site, user, DESK, "en" if lang == "en" else "zh-CN")
        for path in pages_of(page, site, user):
            response = page.goto(path)
            assert response is not None
            if response.status in (403, 404):  # not this role's page: the quality test checks those
                continue
            assert response.ok, (user, path, response.status)
            name = f"{user}-{lang}-{path.strip('/').replace('/', '-').replace('?', '-').replace('=', '-')}"
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            leaked = wrong_words(page, lang, data, codes)
            if leaked:
                problems[f"{user} {path}"] = sorted(set(leaked))
        page.context.close()
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


def test_finance_reads_the_departments_of_a_cut_by_name(browser: Browser, worked: Site) -> None:
    """The cut's reasons name the consumers by code when stored (English); finance reads them by name, as every
    other page does — and who decided the cut by name."""
    code = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{18}(?![0-9A-Z])")
    for lang, locale in (("en", "en"), ("zh", "zh-CN")):
        page = signed_in(browser, worked, "qian", DESK, locale)
        page.goto("/web/finance?period=2026")
        reasons = " ".join(page.locator("ul.reasons li").all_inner_texts())
        assert "A-001/C-001→浙江省发展和改革委员会" in reasons, reasons
        assert not code.search(reasons), reasons
        # who decided, by name and role, not by the user name qian signs in with
        decided = page.locator("main").inner_text()
        who = "钱静 (finance bureau)" if lang == "en" else "钱静（财政部门）"
        assert who in decided and " qian " not in decided, decided
        page.screenshot(
            path=str(worked.artifacts / "words" / f"qian-{lang}-finance-reasons.png"), full_page=True
        )
        page.context.close()


def test_the_department_pages_its_open_orders(
    browser: Browser, worked: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The open orders of the department page come a page at a time, like its projects: every open order once
    across the pages, the projects' page kept while the orders' page moves."""
    from govflow.governance import rectification
    from govflow.web import routes

    monkeypatch.setattr(routes, "DEPARTMENT_PAGE_SIZE", 2)
    expected = {
        o.code
        for o in rectification.list_orders(worked.gov, "chen")
        if o.status is not rectification.OrderStatus.CLOSED
    }
    assert len(expected) > 4, expected  # three pages of two
    page = signed_in(browser, worked, "chen", DESK, "zh-CN")
    page.goto("/web/department")
    projects = page.locator("#projects a[href^='/web/projects/ZJ']").all_inner_texts()
    seen: list[str] = []
    for n in range(1, 4):
        codes = page.locator("#orders a[href^='/web/orders/']").all_inner_texts()
        assert 1 <= len(codes) <= 2, codes
        seen += codes
        assert page.locator("#projects a[href^='/web/projects/ZJ']").all_inner_texts() == projects
        page.screenshot(
            path=str(worked.artifacts / "words" / f"chen-department-orders-{n}.png"), full_page=True
        )
        nav = page.locator(".table-wrap:has(#orders) + nav.pager")
        assert f"第 {n} 页，共 3 页" in nav.inner_text()
        following = nav.locator("a.next")
        if n < 3:
            assert "orders_page=" in str(following.get_attribute("href"))
            following.click()
            page.wait_for_load_state()
        else:
            assert following.count() == 0
    assert sorted(seen) == sorted(expected)
    page.context.close()

"""How pages and report files write days, moments, money and percentages (govflow.reads.formats)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from govflow.reads.formats import (
    day_text,
    evidence_text,
    moment_text,
    money_text,
    percent_text,
    prose_text,
)


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (date(2026, 12, 4), "2026年12月4日", "4 Dec 2026"),
        ("2026-01-09", "2026年1月9日", "9 Jan 2026"),
        # a moment is a day in Beijing: 20:30 UTC on the 3rd is the 4th there
        ("2026-12-03T20:30:00+00:00", "2026年12月4日", "4 Dec 2026"),
        (None, "—", "—"),
        ("期限待定", "期限待定", "期限待定"),  # text that is no date is shown as it is
    ],
)
def test_a_day_reads_as_people_write_it(value: object, zh: str, en: str) -> None:
    assert day_text(value, "zh") == zh
    assert day_text(value, "en") == en


def test_a_moment_is_shown_in_beijing_time() -> None:
    at = datetime(2026, 12, 3, 20, 5, tzinfo=UTC)
    assert moment_text(at, "zh") == "2026年12月4日 04:05"
    assert moment_text(at, "en") == "4 Dec 2026 04:05"


def test_money_has_thousands_separators_two_places_and_its_unit() -> None:
    assert money_text(Decimal("40000"), "zh") == "40,000.00 元"
    assert money_text("1234567.5", "en") == "CNY 1,234,567.50"
    assert money_text(None, "zh") == "—"


@pytest.mark.parametrize(
    ("value", "share", "shown"),
    [
        (Decimal("0.7500"), True, "75%"),
        (Decimal("0.125"), True, "12.5%"),
        # rounded down: just below a 90% threshold never reads as 90%
        (Decimal("0.89999"), True, "89.99%"),
        (Decimal("10.00"), False, "10%"),
        ("100", False, "100%"),
    ],
)
def test_percentages_not_decimals(value: object, share: bool, shown: str) -> None:
    assert percent_text(value, share=share) == shown


EVIDENCE = {
    "clause": "733号文 第十一条",
    "coverage": {"value": "0.5000", "covered": 1, "due_items": 2, "threshold": "0.9"},
    "obligations": [
        {
            "agreement": "A-001",
            "catalog": "C-001",
            "catalog_name": "企业登记信息",
            "consumer": "11330000002482285J",
            "consumer_name": "浙江省市场监督管理局",
            "expected": {"due": "2026-06-30", "update_frequency": "daily", "max_gap_days": 3},
            "delivered": {"last_day": None},
            "covered": False,
        },
        {"agreement": "A-001", "catalog": "C-002", "covered": True},
    ],
    "orders": [{"code": "RO-ZJ-2026-004-01", "deadline": "2026-10-30", "workdays_overdue": 12}],
    "tier": {"index": 1, "percent": "20"},
}


def test_the_evidence_reads_as_sentences_not_json() -> None:
    zh = evidence_text(EVIDENCE, "zh")
    assert zh == (
        "共享覆盖率 50%（1/2 个到期条目持续交付），策略阈值 90%；"
        "A-001/C-001 企业登记信息 → 浙江省市场监督管理局：实现进度 2026年6月30日，每日，未交付；"
        "整改通知 RO-ZJ-2026-004-01：期限 2026年10月30日，逾期 12 个工作日；"
        "削减档位：第 2 档（削减 20%）"
    )
    en = evidence_text(EVIDENCE, "en")
    assert "sharing coverage 50% (1 of 2 due items delivered), policy threshold 90%" in en
    assert "due 30 Jun 2026" in en and "deadline 30 Oct 2026, 12 working days overdue" in en
    assert "{" not in zh + en


def test_governance_prose_reads_days_amounts_and_shares_as_people_write_them() -> None:
    from govflow.reads.formats import prose_text

    names = {"11330000GF00000014": "浙江省发展和改革委员会"}
    assert (
        prose_text("40000.00（年度运维经费（元） 800000.00）") == "40,000.00 元（年度运维经费 800,000.00 元）"
    )
    assert (
        prose_text("削减 20.00%，160000.00 元（2026-12-30）") == "削减 20%，160,000.00 元（2026年12月30日）"
    )
    assert prose_text("信息共享覆盖率 0.0000 低于策略阈值 0.9") == "信息共享覆盖率 0% 低于策略阈值 90%"
    assert (
        prose_text("清单扫描 as_of 2026-11-26，项目 id 1–5：新发现 3 项")
        == "清单扫描（2026年11月26日）：新发现 3 项"
    )
    assert (
        prose_text("向 浙江省发展和改革委员会（11330000GF00000014）共享") == "向 浙江省发展和改革委员会共享"
    )
    assert (
        prose_text("coverage 0.7500 to 11330000GF00000014", "en", names)
        == "coverage 75% to 浙江省发展和改革委员会"
    )
    assert prose_text("策略 2026.1，整改通知 RO-ZJ-2026-004-01") == "策略 2026.1，整改通知 RO-ZJ-2026-004-01"


def test_the_trail_names_actors_and_tells_machine_notes() -> None:
    from govflow.reads.trail import actor_text, note_text

    assert actor_text("govflow-sweep", "system", None, "zh") == "系统（夜间巡检）"
    assert actor_text("wang", "program_office", "王建国", "zh") == "王建国（项目审批部门）"
    assert actor_text("wang", "program_office", "王建国", "en") == "王建国 (program office)"
    review = {"action": "review.record", "note": "proposal: agreement=met, catalog=partly; 未判断: technical"}
    assert (
        note_text(review, "zh")
        == "项目建议书：信息共享协定：满足，共享信息目录：部分满足；未判断：信息共享技术条件"
    )
    onboard = {"action": "onboard", "note": "…（construction） / onboarded", "to_phase": "construction"}
    assert note_text(onboard, "zh") == "从项目组合文档按现有阶段「建设实施」纳入管理"
    run = {
        "action": "flow.deadlines",
        "note": "整改期限监测 as_of 2026-12-30：…",
        "reasons": [
            {"code": "DEADLINES_RUN", "detail": {"as_of": "2026-12-30", "overdue": 3, "escalations": 3}}
        ],
    }
    assert note_text(run, "zh").startswith("2026年12月30日整改期限检查：") and "新逾期 3 份" in note_text(
        run, "zh"
    )


#: notes as the code writes them (cut run, finance, deadline run, people's actions around their typed words)
SYSTEM_NOTES = [
    (
        "cuts.propose",
        "2026 年度运维经费削减建议（2026-12-30）：削减 20.00%，160000.00 元（年度运维经费 800000.00 元，策略 2026.1）",
        "O&M cut recommendation for 2026 (30 Dec 2026): cut 20%, CNY 160,000.00 (annual O&M budget CNY 800,000.00, "
        "policy 2026.1)",
    ),
    (
        "cuts.revise",
        "2026 年度运维经费削减建议更新（2026-12-31）：20.00%、160000.00 元（策略 2026.1）→ 30.00%、240000.00 元"
        "（策略 2026.2）",
        "O&M cut recommendation for 2026 revised (31 Dec 2026): 20%, CNY 160,000.00 (policy 2026.1) → 30%, "
        "CNY 240,000.00 (policy 2026.2)",
    ),
    (
        "cuts.withdraw",
        "2026 年度运维经费削减建议撤回（2026-12-31），财政部门尚未决定：项目已不在运行维护阶段（现为「限期整改」）",
        "O&M cut recommendation for 2026 withdrawn (31 Dec 2026) before finance decided: the project left "
        "operation (now 'Rectification')",
    ),
    (
        "cuts.accept",
        "2026 年度运维经费削减建议采纳：20.00%，160000.00 元（策略 2026.1）；理由：整改逾期",
        "O&M cut recommendation for 2026 accepted: 20%, CNY 160,000.00 (policy 2026.1); reason: 整改逾期",
    ),
    (
        "policy.load",
        "policy-2027.yaml: 版本 2027.1（0123456789ab）生效",
        "policy-2027.yaml: version 2027.1 (0123456789ab) in force",
    ),
    (
        "agreement.terminate",
        "终止共享协定 A-001：自 2026-12-01 起终止（第 3 版）；理由：系统下线",
        "agreement A-001 terminated from 1 Dec 2026 (version 3); reason: 系统下线",
    ),
    (
        "evidence.import",
        "export.csv: 12 行, 10 个(条目, 使用部门, 日期), 12 条记录, 项目 ZJ-2026-005; SHA-256 0a1b",
        "export.csv: 12 rows, 10 (item, consumer, day) keys, 12 records, projects ZJ-2026-005; SHA-256 0a1b",
    ),
]


@pytest.mark.parametrize(("action", "note", "english"), SYSTEM_NOTES)
def test_the_system_s_notes_read_in_english_on_english_pages(action: str, note: str, english: str) -> None:
    """A note the trail keeps in Chinese (hash-chained, never rewritten) reads in English by its shape; what a
    person typed in it (a reason) stays as typed; a Chinese page reads it as written."""
    from govflow.reads.trail import note_text

    row = {"action": action, "note": note, "reasons": []}
    assert note_text(row, "en") == english
    assert not re.search(r"[\u4e00-\u9fff]", english.split("reason: ")[0])
    assert note_text(row, "zh") == prose_text(note, "zh")


def test_a_note_stored_with_its_english_reads_in_english() -> None:
    """The deadline run writes an order's overdue and escalation as a reason in both languages and the Chinese
    as the note; an issued order's note is its finding's reason and the term; the secrecy placeholder reads in
    the page's language."""
    from govflow.reads.trail import note_text

    zh = "整改通知 RO-1（项目 ZJ-1 某系统）已逾期：截止日期 2026-12-24，至 2026-12-30 逾期 4 个工作日"
    en = "order RO-1 (project ZJ-1) is overdue: due 2026-12-24, 4 working days overdue on 2026-12-30"
    row = {"action": "order.overdue", "note": zh, "reasons": [{"message": zh, "message_en": en}]}
    assert (
        note_text(row, "en")
        == "order RO-1 (project ZJ-1) is overdue: due 24 Dec 2026, 4 working days overdue on 30 Dec 2026"
    )
    issued = {
        "action": "order.issue",
        "note": "下达整改通知 RO-2：协定 A-001 未交付；请于 2026-12-24 前完成整改（通知日后 20 个工作日，733号文 第十一条）",
        "reasons": [{"message": "协定 A-001 未交付", "message_en": "agreement A-001 not delivered"}],
    }
    assert note_text(issued, "en") == (
        "order RO-2 issued: agreement A-001 not delivered; rectify by 24 Dec 2026 (20 working days after the "
        "notice, 733号文 第十一条)"
    )
    hidden = {"action": "order.evidence", "note": "（内容涉及涉密目录条目，不予显示）"}
    assert note_text(hidden, "en") == "(content concerns a classified catalog item; not shown)"
    assert note_text(hidden, "zh") == "（内容涉及涉密目录条目，不予显示）"

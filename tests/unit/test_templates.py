"""Notice templates: every topic the governance flows produce renders in zh-CN and English, cites its clause,
shows what it was given, and never crashes or leaves a placeholder behind."""

from __future__ import annotations

import re
from typing import Any

import pytest

from govflow.lifecycle.events import _NOTIFY
from govflow.notifications.templates import notice, render
from govflow.states.phases import Event

PLACEHOLDER = re.compile(r"[{}]|\$\{|%\(|%s")
CJK = re.compile(r"[\u4e00-\u9fff]")
DEPT = "11330000GF00000027"

EVIDENCE = {
    "expected": {"due": "2026-06-30", "update_frequency": "daily"},
    "delivered": {"records": 0, "last_day": None},
    "since": "2026-06-30",
}


def decision(event: str, accepted: bool) -> dict[str, Any]:
    """The payload ``govflow.lifecycle.events._notify_decision`` writes."""
    refused = [
        {
            "code": "NO_AGREEMENT",
            "clause": "733号文 第八条",
            "message": "未签订信息共享协定或联合发文",
            "message_en": "no sharing agreement or joint document",
        }
    ]
    return {
        "project": "ZJ-2026-001",
        "project_name": "某省一体化政务服务平台",
        "department": DEPT,
        "event": event,
        "accepted": accepted,
        "from": "acceptance_review" if "acceptance" in event else "proposal_review",
        "to": "rectification" if event == "fail_acceptance" else "proposal_approved",
        "reasons": [] if accepted else refused,
        "order": "RO-ZJ-2026-001-01" if event == "fail_acceptance" else None,
        "deadline": "2026-12-24" if event == "fail_acceptance" else None,
    }


#: rectification order events and what each adds to the payload (govflow.governance.orders.order_message)
ORDER_EXTRAS: list[tuple[str, dict[str, Any]]] = [
    ("issued", {"notice_date": "2026-11-26", "workdays": 20, "finding": "F-1"}),
    ("reminder", {"reminder": 5, "due_on": "2026-12-17", "late": False}),
    ("overdue", {"overdue_since": "2026-12-25", "overdue_workdays": 1}),
    ("escalation", {"level": 1, "name": "逾期通报", "overdue_workdays": 1}),
    (
        "evidence",
        {"from": "open", "to": "evidence_submitted", "actor": "li", "note": "已补交", "late": False},
    ),
    ("verify", {"from": "evidence_submitted", "to": "closed", "actor": "wang", "note": "核验通过"}),
    ("extend", {"from": "open", "to": "open", "previous_deadline": "2026-12-10", "workdays": 10}),
    ("closed", {"closed_on": "2026-12-01", "closed_late": False}),
]

#: id -> (topic, role, payload, clause the notice must cite or None)
CASES: dict[str, tuple[str, str, dict[str, Any], str | None]] = {
    **{
        f"decision-{e.value}-{'accepted' if ok else 'refused'}": (
            f"decision.{e.value}.{'accepted' if ok else 'refused'}",
            "department",
            decision(e.value, ok),
            "733号文 第十" if e in (Event.INTAKE, Event.APPROVE, Event.REFUSE) else "733号文 第十一条",
        )
        for e in sorted(_NOTIFY)
        for ok in (True, False)
    },
    **{
        f"finding-{rule}": (
            "finding",
            "department",
            {
                "rule": rule,
                "clause": clause,
                "project": "ZJ-2026-003",
                "department": DEPT,
                "agreement": "A-003",
                "catalog": "C-010",
                "consumer": "11330000GF0000003A",
                "period": "2026-06-30",
                "evidence": EVIDENCE,
            },
            clause,
        )
        for rule, clause in [
            ("MILESTONE_MISSED", "733号文 第十一条"),
            ("DELIVERY_STALE", "733号文 第十一条"),
            ("AGREEMENT_EXPIRED", "733号文 第八条"),
        ]
    },
    "finding-closed": (
        "finding.closed",
        "department",
        {"rule": "DELIVERY_STALE", "project": "ZJ-2026-003", "closed_reason": "delivered again"},
        "733号文 第十一条",
    ),
    "agreement-expiry": (
        "notice/agreement-expiry",
        "department",
        {
            "project": "ZJ-2026-002",
            "department": DEPT,
            "agreement": "A-002",
            "term_end": "2026-12-20",
            "days_left": 24,
            "clause": "733号文 第八条",
        },
        "733号文 第八条",
    ),
    "reminder": (
        "reminder",
        "department",
        {
            "order": "RO-ZJ-2026-003-01",
            "project": "ZJ-2026-003",
            "deadline": "2026-12-24",
            "workdays_left": 5,
            "notice_date": "2026-11-26",
        },
        "733号文 第十一条",
    ),
    "reminder-late": (
        "order.reminder",
        "department",
        {
            "order": "RO-ZJ-2026-003-01",
            "project": "ZJ-2026-003",
            "deadline": "2026-12-24",
            "reminder": 1,
            "late": True,
        },
        "733号文 第十一条",
    ),
    "overdue": (
        "overdue",
        "audit",
        {
            "order": "RO-ZJ-2026-003-01",
            "project": "ZJ-2026-003",
            "deadline": "2026-12-24",
            "overdue_since": "2026-12-25",
            "workdays_overdue": 1,
        },
        "733号文 第十一条",
    ),
    "escalation": (
        "escalation",
        "finance",
        {
            "order": "RO-ZJ-2026-003-01",
            "project": "ZJ-2026-003",
            "level": 2,
            "name": "督办",
            "workdays_overdue": 10,
            "deadline": "2026-12-24",
            "notify": ["audit", "program_office", "finance"],
        },
        "733号文 第十一条",
    ),
    "cut-proposed": (
        "cut",
        "finance",
        {
            "project": "ZJ-2026-004",
            "period": 2026,
            "percent": "10",
            "amount": "120000.00",
            "coverage": "0.65",
            "clause": "733号文 第十一条",
            "evidence": {"obligations": 4, "orders": ["RO-ZJ-2026-004-01"]},
        },
        "733号文 第十一条",
    ),
    "cut-withdrawn": (
        "cut.withdrawn",
        "finance",
        {"project": "ZJ-2026-004", "period": 2026, "percent": "10", "withdrawn_on": "2026-11-30"},
        "733号文 第十一条",
    ),
    "cut-declined": (
        "cut",
        "department",
        {"project": "ZJ-2026-004", "period": 2026, "percent": "10", "status": "declined", "reason": "已整改"},
        "733号文 第十一条",
    ),
    "alarm-calendar": (
        "alarm/calendar",
        "admin",
        {"year": 2028, "flow": "deadlines", "as_of": "2027-12-20", "error": "no official data for 2028"},
        None,
    ),
    "test": ("test", "program_office", {"sent_by": "admin", "at": "2026-11-26T09:00:00+00:00"}, None),
    # the topics and payloads as govflow.governance.sweep, govflow.governance.rectification and govflow.governance.cuts write them
    "sweep-finding-opened": (
        "finding.opened",
        "department",
        {
            "project": "ZJ-2026-003",
            "project_name": "浙江省不动产登记“一网通办”系统",
            "department": DEPT,
            "finding": "ZJ-2026-003/MILESTONE_MISSED/A-003/C-010/11330000GF0000003A/2026-06-30",
            "rule": "MILESTONE_MISSED",
            "clause": "733号文 第十一条",
            "agreement": "A-003",
            "catalog": "C-010",
            "consumer": "11330000GF0000003A",
            "period": "2026-06-30",
            "since": "2026-06-30",
            "as_of": "2026-11-26",
        },
        "733号文 第十一条",
    ),
    "sweep-agreement-expiry": (
        "notice.agreement_expiry",
        "department",
        {
            "project": "ZJ-2026-002",
            "project_name": "浙江省企业开办“一件事”联办系统",
            "department": DEPT,
            "agreement": "A-002",
            "form": "joint_document",
            "term_end": "2026-12-20",
            "days_left": 24,
            "as_of": "2026-11-26",
            "clause": "733号文 第八条",
            "message": "联合发文 A-002 的共享期限将于 2026-12-20 届满（还有 24 天）；请及时续签",
            "message_en": "the sharing term of joint_document A-002 ends on 2026-12-20 (24 days left); renew it",
        },
        "733号文 第八条",
    ),
    **{
        f"order-{event}": (
            f"order.{event}",
            "department",
            {
                "project": "ZJ-2026-003",
                "project_name": "浙江省不动产登记“一网通办”系统",
                "department": DEPT,
                "order": "RO-ZJ-2026-003-01",
                "event": event,
                "deadline": "2026-12-24",
                "clause": "733号文 第十一条",
                "message": f"整改通知 RO-ZJ-2026-003-01：{event} 说明",
                "message_en": f"order RO-ZJ-2026-003-01: {event} explained",
                **extra,
            },
            "733号文 第十一条",
        )
        for event, extra in ORDER_EXTRAS
    },
    **{
        f"cuts-{state}": (
            f"cuts.{state}",
            "finance",
            {
                "event": state,
                "project": "ZJ-2026-005",
                "project_name": "浙江省公共信用信息平台",
                "department": DEPT,
                "period": "2026",
                "as_of": "2026-11-26",
                "percent": "10",
                "amount": "120000.00",
                "base_budget": "1200000.00",
                "policy_version": "2026.1",
                "coverage": "50.0%",
                "overdue_workdays": 12,
                "clause": "733号文 第十一条",
                "reasons": [
                    {
                        "code": "OVERDUE_ORDER",
                        "clause": "733号文 第十一条",
                        "message": "整改通知 RO-ZJ-2026-005-01 逾期未整改到位",
                        "message_en": "order RO-ZJ-2026-005-01 overdue",
                    }
                ],
            },
            "733号文 第十一条",
        )
        for state in ("proposed", "reproposed", "revised", "withdrawn")
    },
    "cuts-accepted": (
        "cuts.accepted",
        "department",
        {
            "project": "ZJ-2026-005",
            "department": DEPT,
            "period": "2026",
            "percent": "10",
            "amount": "120000.00",
            "policy_version": "2026.1",
            "decided_by": "qian",
            "reason": "逾期属实",
            "clause": "733号文 第十一条",
        },
        "733号文 第十一条",
    ),
    "rectification-alarm": (
        "alarm.calendar",
        "admin",
        {
            "year": "2028",
            "flow": "deadlines",
            "as_of": "2027-12-20",
            "error": "CALENDAR_DATA_MISSING",
            "clause": "733号文 第十一条",
            "message": "整改期限无法计算：工作日历缺少 2028 年数据",
            "message_en": "rectification deadlines cannot be computed: no data for 2028",
            "raised_at": "2027-12-20T01:00:00+00:00",
        },
        "733号文 第十一条",
    ),
    "audit-anchor": (
        "audit.anchor",
        "audit",
        {
            "message": "审计链锚点：截至 2026-11-26T17:00:00+00:00 共 24 条审计事件",
            "message_en": "audit chain anchor: 24 audit events as of 2026-11-26T17:00:00+00:00",
            "seq": 24,
            "head": "22cbe1d605cf0e384ae89c91a057960aeb1ffb11b0f2b7255372988092bf6476",
            "at": "2026-11-26T17:00:00.123456+00:00",
            "key_id": "3f152966f1203f23",
            "mac": "d9ade70970670ef0888a4722f5ee0098f52e705974025ee0e5b4c2d5b830df45",
            "file": "/var/lib/govflow-anchors/anchors.jsonl",
        },
        None,
    ),
    "audit-chain-alarm": (
        "alarm.audit_chain",
        "audit",
        {
            "message": "审计链校验未通过，未写入锚点：第 4–5 号事件被删除，链首被重置",
            "message_en": "the audit chain does not verify, no anchor written: events #4–#5 were deleted",
            "first_bad_seq": 4,
            "raised_at": "2026-11-26T17:00:00+00:00",
        },
        None,
    ),
    "unknown-topic": (
        "something.new",
        "audit",
        {"project": "ZJ-2026-005", "widget": "齿轮", "count": 3, "nested": {"depth": 2, "tags": ["a", "b"]}},
        None,
    ),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_topic_renders_without_placeholders(case: str, lang: str) -> None:
    topic, role, payload, clause = CASES[case]
    r = render(topic, payload, role=role, lang=lang)
    assert r.title.strip() and r.body.strip()
    assert not PLACEHOLDER.search(r.title), r.title
    assert not PLACEHOLDER.search(r.body), r.body
    if clause:
        assert clause in r.body, r.body
    tag = r.title.split("】")[0] if lang == "zh" else r.title.split("]")[0]
    if lang == "zh":
        assert r.title.startswith("【") and CJK.search(tag), r.title
        assert r.body.startswith("致："), r.body
    else:
        assert r.title.startswith("[") and not CJK.search(tag), r.title
        # the template's own words are English; only data (names, clause citations) may be Chinese
        for zh_word in ("致：", "依据", "其他信息", "项目：", "整改期限", "原因："):
            assert zh_word not in r.body, (zh_word, r.body)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_payload_value_is_shown(case: str) -> None:
    """Nothing the producer wrote is dropped: every plain value appears in the zh notice."""
    topic, role, payload, _ = CASES[case]
    body = render(topic, payload, role=role).body

    coded = {
        "event",
        "from",
        "to",
        "rule",
        "notify",
        "status",
        "accepted",
        "update_frequency",
        "code",
        "form",
    }
    coded |= {
        "message_en",
        "late",
        "closed_late",
    }  # the English twin is for English readers; flags read 是/否

    def leaves(v: Any) -> list[str]:
        if isinstance(v, dict):
            return [x for k, item in v.items() if k not in coded for x in leaves(item)]
        if isinstance(v, list):
            return [x for item in v for x in leaves(item)]
        if v is None or isinstance(v, bool):
            return []
        return [str(v)]

    for key, value in payload.items():
        if key in coded:
            continue
        for leaf in leaves(value):
            if isinstance(value, list) and value and isinstance(value[0], dict):
                continue  # reasons: their messages are checked below
            assert leaf in body, (key, leaf, body)


def test_decision_reasons_are_listed_with_their_clauses_in_the_reader_language() -> None:
    payload = decision("intake", False)
    zh = render("decision.intake.refused", payload, role="department").body
    en = render("decision.intake.refused", payload, role="department", lang="en").body
    assert "1. 未签订信息共享协定或联合发文（733号文 第八条）" in zh
    assert "1. no sharing agreement or joint document (733号文 第八条)" in en
    assert "不予受理" in render("decision.intake.refused", payload).title
    assert "733号文 第十条第二款" in zh and "建议书评审中（proposal_review）" in zh


def test_the_decision_topic_wins_over_the_payload_flag() -> None:
    """The topic says accepted/refused; an inconsistent payload flag does not flip the headline."""
    payload = {**decision("pass_acceptance", True), "accepted": False}
    assert "验收通过" in render("decision.pass_acceptance.accepted", payload).title


def test_a_fail_acceptance_notice_carries_the_order_and_its_deadline() -> None:
    body = render("decision.fail_acceptance.accepted", decision("fail_acceptance", True)).body
    assert "整改通知：RO-ZJ-2026-001-01" in body and "整改期限：2026-12-24" in body


@pytest.mark.parametrize("topic", ["reminder", "order.reminder", "order/reminder", "rectification:reminder"])
def test_topic_words_select_the_template(topic: str) -> None:
    assert render(topic, {"order": "RO-1", "deadline": "2026-12-24"}).title.startswith("【整改提醒】")


def test_an_unknown_topic_gets_the_generic_template_with_every_field() -> None:
    topic, role, payload, _ = CASES["unknown-topic"]
    zh = render(topic, payload, role=role)
    en = render(topic, payload, role=role, lang="en")
    assert zh.title == "【govflow 通知】ZJ-2026-005"
    assert (
        "类型：something.new" in zh.body
        and "widget：齿轮" in zh.body
        and "nested：depth：2；tags：a、b" in zh.body
    )
    assert en.title == "[govflow notice] ZJ-2026-005" and "widget: 齿轮" in en.body


@pytest.mark.parametrize("topic", sorted({c[0] for c in CASES.values()}))
@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"project": None, "order": None, "deadline": None, "evidence": None, "reasons": None},
        {"evidence": "not a mapping", "reasons": "not a list", "level": {"odd": True}, "period": []},
        {"reasons": [None, 3, {"message": None}], "accepted": "maybe", "from": "nowhere", "event": 42},
    ],
    ids=["empty", "nulls", "wrong-types", "junk"],
)
def test_odd_payloads_never_crash(topic: str, payload: dict[str, Any]) -> None:
    for lang in ("zh", "en"):
        r = render(topic, payload, role="nobody", lang=lang)
        assert r.title and r.body
        assert not PLACEHOLDER.search(r.title + r.body)


@pytest.mark.parametrize("case", sorted(c for c in CASES if "message_en" in CASES[c][2]))
def test_a_producer_sentence_is_shown_in_the_reader_language_once(case: str) -> None:
    topic, role, payload, _ = CASES[case]
    zh = render(topic, payload, role=role).body
    en = render(topic, payload, role=role, lang="en").body
    assert zh.count(payload["message"]) == 1 and payload["message_en"] not in zh
    assert en.count(payload["message_en"]) == 1 and payload["message"] not in en


def test_order_statuses_and_events_are_labelled() -> None:
    topic, role, payload, _ = CASES["order-evidence"]
    r = render(topic, payload, role=role)
    assert (
        r.title.startswith("【已提交整改材料】RO-ZJ-2026-003-01")
        and "状态：整改中 → 已提交整改材料" in r.body
    )
    en = render(topic, payload, role=role, lang="en")
    assert en.title.startswith("[Evidence submitted]") and "Status: open → evidence submitted" in en.body


def test_dispatcher_bookkeeping_is_not_shown() -> None:
    body = render("something.new", {"a": 1, "_dispatch": {"delivered": ["ch-1"]}}).body
    assert "_dispatch" not in body and "ch-1" not in body


def test_a_notice_names_its_message_key() -> None:
    n = notice(
        "notice/agreement-expiry/P/A/2026-12-20", "notice/agreement-expiry", "department", {"agreement": "A"}
    )
    assert n.body.endswith("（govflow 自动通知，消息编号 notice/agreement-expiry/P/A/2026-12-20）")
    assert n.role == "department" and n.key.startswith("notice/")
    en = notice("k", "test", "admin", {}, lang="en")
    assert en.body.endswith("(sent by govflow, message key k)")

"""How people read dates, times, amounts and percentages, in zh-CN and English: one module for every page and
every report file people open (the API and the JSON/CSV machine formats keep ISO dates and plain decimals).

- a day: ``2026年12月4日`` / ``4 Dec 2026``; a moment (Beijing time): ``2026年12月4日 09:30`` / ``4 Dec 2026 09:30``
- money: ``40,000.00 元`` / ``CNY 40,000.00`` (exact: ``Decimal``, two places, thousands separators)
- a percentage: ``75%`` (whole when whole, else up to two places: ``12.5%``), from a share (``0.75``) or a
  percentage (``75``)
- a cut recommendation's evidence (stored as an object) as a sentence a person reads, for report files
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from govflow.states.sharing import Frequency
from govflow.states.vocabulary import word

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: shown for a missing value
NONE = "—"


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) > 10:  # an ISO moment: its day in Beijing
        try:
            return _as_date(datetime.fromisoformat(value))
        except ValueError:
            return None
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def day_text(value: object, lang: str = "zh") -> str:
    """A day as people write it: ``2026年12月4日`` / ``4 Dec 2026``; text that is no date is shown as it is."""
    d = _as_date(value)
    if d is None:
        return NONE if value is None or value == "" else str(value)
    if lang == "en":
        return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"
    return f"{d.year}年{d.month}月{d.day}日"


def short_day_text(value: object, lang: str = "zh") -> str:
    """A day within a year people know from context (chart axes): ``12月4日`` / ``4 Dec``."""
    d = _as_date(value)
    if d is None:
        return NONE
    return f"{d.day} {MONTHS_EN[d.month - 1]}" if lang == "en" else f"{d.month}月{d.day}日"


def moment_text(value: datetime | None, lang: str = "zh") -> str:
    """A moment in Beijing time: ``2026年12月4日 09:30`` / ``4 Dec 2026 09:30``."""
    if value is None:
        return NONE
    local = value.astimezone(BEIJING) if value.tzinfo else value
    return f"{day_text(local.date(), lang)} {local:%H:%M}"


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def money_text(value: object, lang: str = "zh") -> str:
    """Yuan with two places and thousands separators: ``40,000.00 元`` / ``CNY 40,000.00``."""
    v = _decimal(value)
    if v is None:
        return NONE
    shown = f"{v.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"
    return f"CNY {shown}" if lang == "en" else f"{shown} 元"


def percent_text(value: object, *, share: bool = False) -> str:
    """``75%`` from a percentage (``75``, ``Decimal("75.00")``) or, with ``share``, from a share (``0.75``).
    Whole percentages print whole; others with up to two places, rounded down (so a value just below a
    threshold never prints as the threshold)."""
    v = _decimal(value)
    if v is None:
        return NONE
    p = (v * 100 if share else v).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return f"{p:f}".rstrip("0").rstrip(".") + "%"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list | tuple) else []


def evidence_text(evidence: Mapping[str, Any] | None, lang: str = "zh") -> str:
    """A cut recommendation's evidence as a person reads it in a report file (the facts the finance page shows):
    coverage against the threshold, each obligation not met, each overdue order, the tier. Parts it does not
    recognise are left out: the JSON format carries the object whole."""
    if not evidence:
        return ""
    en = lang == "en"
    parts: list[str] = []
    cover = _mapping(evidence.get("coverage"))
    if cover:
        value, threshold = cover.get("value"), cover.get("threshold")
        covered, due = cover.get("covered"), cover.get("due_items")
        if en:
            parts.append(
                f"sharing coverage {percent_text(value, share=True)} ({covered} of {due} due items delivered), "
                f"policy threshold {percent_text(threshold, share=True)}"
            )
        else:
            parts.append(
                f"共享覆盖率 {percent_text(value, share=True)}（{covered}/{due} 个到期条目持续交付），"
                f"策略阈值 {percent_text(threshold, share=True)}"
            )
    for o in _mappings(evidence.get("obligations")):
        if o.get("covered", False):
            continue
        expected, delivered = _mapping(o.get("expected")), _mapping(o.get("delivered"))
        last = delivered.get("last_day")
        code = expected.get("update_frequency")
        freq = word(Frequency, code, lang) if code else ""
        who = o.get("consumer_name") or o.get("consumer") or ""
        item = " ".join(
            x
            for x in (
                "/".join(str(o[k]) for k in ("agreement", "catalog") if o.get(k)),
                o.get("catalog_name"),
            )
            if x
        )
        due_day = day_text(expected.get("due"), lang)
        if en:
            when = f"last delivered {day_text(last, lang)}" if last else "not delivered"
            parts.append(f"{item} → {who}: due {due_day}, {freq}, {when}")
        else:
            when = f"最近交付 {day_text(last, lang)}" if last else "未交付"
            parts.append(f"{item} → {who}：实现进度 {due_day}，{freq}，{when}")
    for order in _mappings(evidence.get("orders")):
        days = order.get("workdays_overdue", order.get("overdue_workdays"))
        deadline = day_text(order.get("deadline"), lang)
        if en:
            parts.append(f"order {order.get('code')}: deadline {deadline}, {days} working days overdue")
        else:
            parts.append(f"整改通知 {order.get('code')}：期限 {deadline}，逾期 {days} 个工作日")
    tier = _mapping(evidence.get("tier"))
    if tier:
        n = int(tier.get("index", 0)) + 1
        pct = percent_text(tier.get("percent"))
        parts.append(f"tier {n}: cut {pct}" if en else f"削减档位：第 {n} 档（削减 {pct}）")
    return "; ".join(parts) if en else "；".join(parts)


# ---------------------------------------------------------------------------------------------- governance prose

_ISO_DAY = re.compile(r"(?<![\d-])(\d{4}-\d{2}-\d{2})(?![\d-])")
_PERCENT = re.compile(r"(?<![\d.])(\d+\.\d+)\s?%")
_YUAN = re.compile(r"(?<![\d.,])(\d+(?:\.\d{1,2})?)\s?元")
_BUDGET_YUAN = re.compile(r"（元）\s?(\d+(?:\.\d{1,2})?)")
_AMOUNT_BEFORE_BUDGET = re.compile(r"(?<![\d.,])(\d+\.\d{2})(?=（年度运维经费)")
_SHARE = re.compile(r"(覆盖率|阈值|coverage|threshold)\s?(0(?:\.\d+)?|1(?:\.0+)?)(?![\d.%])")
_AS_OF = re.compile(r"\s?as_of\s(\S+?)(?=[：:，,\s]|$)")
_CHUNK = re.compile(r"[，,]\s?(项目 id|project ids?) \d+[–-]\d+")
#: a 统一社会信用代码 (GB 32100-2015) in brackets after a department's name
_CODE_AFTER_NAME = re.compile(r"[（(][0-9A-HJ-NPQRTUWXY]{18}[）)]")
_CODE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{18}(?![0-9A-Z])")


def prose_text(text: str | None, lang: str = "zh", names: Mapping[str, str] | None = None) -> str:
    """A sentence governance wrote (a finding, an order's reasons, a cut's explanation, a run's note) as a page
    shows it: days as people write them, amounts with separators and 元, shares and percentages as ``75%``, no
    internal run ids, and a department's name where the sentence has only its code (``names``: code → name).

    The trail is append-only and hash-chained, so sentences already written keep their words; they are read
    through here, the one place that decides how their numbers look, as every new one is."""
    if not text:
        return ""
    out = _CHUNK.sub("", text)
    out = _AS_OF.sub(
        lambda m: f"（{day_text(m.group(1), lang)}）" if lang != "en" else f" ({day_text(m.group(1), lang)})",
        out,
    )
    out = _ISO_DAY.sub(lambda m: day_text(m.group(1), lang), out)
    out = _PERCENT.sub(lambda m: percent_text(m.group(1)), out)
    out = _BUDGET_YUAN.sub(lambda m: f" {money_text(m.group(1), 'zh')}", out)
    out = _AMOUNT_BEFORE_BUDGET.sub(lambda m: money_text(m.group(1), "zh"), out)
    out = _YUAN.sub(lambda m: money_text(m.group(1), "zh"), out)
    out = _SHARE.sub(lambda m: f"{m.group(1)} {percent_text(m.group(2), share=True)}", out)
    out = _CODE_AFTER_NAME.sub("", out)  # the name before it says who
    if names:
        out = _CODE.sub(lambda m: names.get(m.group(0), m.group(0)), out)
    return out

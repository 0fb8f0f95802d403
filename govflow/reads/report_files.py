"""How a report reads in each format (SPEC §5: table, JSON, CSV, XLSX), from one column registry.

The DataFrames of :mod:`govflow.reads.reports` hold codes and exact values (``date``, ``Decimal`` with two places, ``int``, the evidence
``dict``); :func:`render` turns them into each format from one column registry, so every format carries the
same numbers:

- json: a list of objects with the English column keys; dates ``YYYY-MM-DD``; money and percentages as strings
  with exactly two decimals (``"48000.00"``: exact, no binary floating point); codes (status, origin) as codes;
  the evidence as an object.
- csv: UTF-8 with a BOM when written to a file (so Excel opens the Chinese correctly), zh-CN headers and labels
  (English with ``lang="en"``); money as plain ``48000.00`` (a number to Excel); the evidence as the sentence a
  person reads (:func:`govflow.reads.formats.evidence_text`: coverage, obligations not met, overdue orders, the
  tier), never a JSON object.
- xlsx: one sheet named after the report, bold frozen header row with a filter, real dates
  (``yyyy-mm-dd``), money and percentages as numbers formatted ``#,##0.00``, widths fitted to the content, the
  evidence as in CSV (wrapped).
- table: a rich table on stdout; the evidence column is left out, and so are phase columns in which no project
  is (files keep every phase so that their columns are stable).
"""

from __future__ import annotations

import io
import json
import math
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd  # type: ignore[import-untyped]

from govflow.reads.formats import evidence_text
from govflow.reads.trail import actor_text
from govflow.states.errors import UsageError
from govflow.states.phases import Phase
from govflow.states.vocabulary import CutStatus, OrderOrigin, OrderStatus, Word

#: pandas ships no type information (and pandas-stubs is not a dependency): DataFrames are Any to mypy
DataFrame: TypeAlias = Any

#: the total row of the portfolio report carries this in ``department_name`` (people see 合计 / Total)
TOTAL = "total"


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    DATE = "date"
    MONEY = "money"  # Decimal with two places: yuan, or a percentage
    JSON = "json"


@dataclass(frozen=True)
class Column:
    zh: str
    en: str
    kind: Kind = Kind.TEXT
    #: code -> (zh, en) labels people see in table, CSV and XLSX; JSON keeps the code
    labels: Mapping[str, tuple[str, str]] | None = None
    #: shown in the terminal table (the evidence object is too big, the department code is in the files)
    terminal: bool = True
    #: left out of the terminal table when every row is zero (phase columns)
    sparse: bool = False
    #: how people read an object of this column (CSV, XLSX); JSON keeps the object
    describe: Callable[[Mapping[str, Any], str], str] | None = None

    def header(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def label(self, value: str, lang: str) -> str:
        if self.labels is None or value not in self.labels:
            return value
        zh, en = self.labels[value]
        return en if lang == "en" else zh


def _words(*kinds: type[Word]) -> dict[str, tuple[str, str]]:
    """Code -> (zh, en) of the domain's vocabularies (one place for the words: :mod:`govflow.states.vocabulary`)."""
    return {m.value: (m.zh, m.en) for kind in kinds for m in kind}


#: the status column holds an order's status (overdue report) or a recommendation's (cuts report)
STATUS_LABELS = _words(OrderStatus, CutStatus)
ORIGIN_LABELS = _words(OrderOrigin)


def decider_text(v: Mapping[str, Any], lang: str) -> str:
    """``钱静（财政部门）`` / ``钱静 (Finance)``: who decided a cut, as the finance page names them."""
    return actor_text(str(v["user"]), v.get("role"), v.get("display_name"), lang)


COLUMNS: dict[str, Column] = {
    "project": Column("项目编号", "Project"),
    "project_name": Column("项目名称", "Project name"),
    "department": Column("牵头部门代码", "Lead department code", terminal=False),
    "department_name": Column("牵头部门", "Lead department", labels={TOTAL: ("合计", "Total")}),
    "order": Column("整改通知", "Order"),
    "origin": Column("来源", "Origin", labels=ORIGIN_LABELS),
    "notice_date": Column("通知日期", "Notice date", Kind.DATE),
    "deadline": Column("整改期限", "Deadline", Kind.DATE),
    "overdue_workdays": Column("逾期工作日数", "Working days overdue", Kind.INT),
    "escalation_level": Column("升级级别", "Escalation level", Kind.INT),
    "escalation": Column("升级措施", "Escalation"),
    "status": Column("状态", "Status", labels=STATUS_LABELS),
    "clause": Column("依据", "Clause", terminal=False),  # the terminal shows it once, in the caption
    "period": Column("预算年度", "Budget period"),
    "percent": Column("建议削减比例（%）", "Cut (%)", Kind.MONEY),
    "amount": Column("建议削减金额（元）", "Cut amount (yuan)", Kind.MONEY),
    "base_budget": Column("年度运维经费（元）", "Annual O&M budget (yuan)", Kind.MONEY),
    "policy_version": Column("策略版本", "Policy version"),
    "computed_on": Column("测算日期", "Computed on", Kind.DATE),
    "decided_on": Column("决定日期", "Decided on", Kind.DATE),
    "decided_by": Column("决定人账号", "Decided by (user name)", terminal=False),
    # who decided as the finance page names them (钱静（财政部门）): {"user", "display_name", "role"}
    "decider": Column("决定人", "Decided by", Kind.JSON, describe=decider_text),
    "decision_reason": Column("决定理由", "Decision reason"),
    "withdrawn_on": Column("撤回日期", "Withdrawn on", Kind.DATE),
    "evidence": Column("证据", "Evidence", Kind.JSON, terminal=False, describe=evidence_text),
    **{p.value: Column(p.zh, p.en, Kind.INT, sparse=True) for p in Phase},
    "total": Column("合计", "Total", Kind.INT),
}

OVERDUE_COLUMNS = [
    "project",
    "project_name",
    "department",
    "department_name",
    "order",
    "origin",
    "notice_date",
    "deadline",
    "overdue_workdays",
    "escalation_level",
    "escalation",
    "status",
    "clause",
]
CUTS_COLUMNS = [
    "project",
    "project_name",
    "department",
    "department_name",
    "period",
    "percent",
    "amount",
    "base_budget",
    "policy_version",
    "computed_on",
    "status",
    "decided_on",
    "decider",
    "decided_by",
    "decision_reason",
    "withdrawn_on",
    "clause",
    "evidence",
]
PORTFOLIO_COLUMNS = ["department", "department_name", *(p.value for p in Phase), "total"]

TITLES: dict[str, tuple[str, str]] = {
    "overdue": ("逾期整改", "Overdue rectifications"),
    "cuts": ("运维经费削减建议", "O&M cut recommendations"),
    "portfolio": ("项目组合", "Portfolio"),
}


def _frame(rows: list[dict[str, Any]], columns: list[str], **attrs: Any) -> DataFrame:
    df = pd.DataFrame.from_records(rows, columns=columns)
    df.attrs.update(attrs)
    return df


# ---------------------------------------------------------------------------------------------- rendering


def column(name: str) -> Column:
    return COLUMNS.get(name, Column(name, name))


def headers(df: DataFrame, lang: str = "zh") -> list[str]:
    return [column(c).header(lang) for c in df.columns]


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _date(v: Any) -> date:
    return v.date() if isinstance(v, datetime) else v  # pandas may hand back a Timestamp


def _money(v: Any) -> Decimal:
    return Decimal(str(v)).quantize(Decimal("0.01"))


def _json_value(col: Column, v: Any) -> Any:
    if _missing(v):
        return None
    if col.kind is Kind.INT:
        return int(v)
    if col.kind is Kind.DATE:
        return _date(v).isoformat()
    if col.kind is Kind.MONEY:
        return f"{_money(v):.2f}"
    if col.kind is Kind.JSON:
        return v
    return str(v)


def _cell(col: Column, v: Any, lang: str) -> Any:
    """A value as people read it (table, CSV, XLSX): labels for codes, JSON text for objects."""
    if _missing(v):
        return None
    if col.kind is Kind.INT:
        return int(v)
    if col.kind is Kind.DATE:
        return _date(v)
    if col.kind is Kind.MONEY:
        return _money(v)
    if col.kind is Kind.JSON:
        if col.describe is not None and isinstance(v, Mapping):
            return col.describe(v, lang)
        return json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return col.label(str(v), lang)


def records(df: DataFrame) -> list[dict[str, Any]]:
    """The report as JSON-ready records with the English column keys (see the module docstring)."""
    cols = [(c, column(c)) for c in df.columns]
    return [
        {c: _json_value(col, v) for (c, col), v in zip(cols, row, strict=True)}
        for row in df.itertuples(index=False)
    ]


def _people_rows(df: DataFrame, lang: str) -> list[list[Any]]:
    cols = [column(c) for c in df.columns]
    return [
        [_cell(col, v, lang) for col, v in zip(cols, row, strict=True)] for row in df.itertuples(index=False)
    ]


def to_json(df: DataFrame) -> str:
    return json.dumps(records(df), ensure_ascii=False, indent=2) + "\n"


def to_csv(df: DataFrame, lang: str = "zh") -> str:
    """CSV text (no BOM: :func:`render` adds it when writing a file)."""
    text_rows = [
        ["" if v is None else (v.isoformat() if isinstance(v, date) else str(v)) for v in r]
        for r in _people_rows(df, lang)
    ]
    buf = io.StringIO()
    pd.DataFrame(text_rows, columns=headers(df, lang), dtype=object).to_csv(buf, index=False)
    return buf.getvalue()


def title(df: DataFrame, lang: str = "zh") -> str:
    zh, en = TITLES.get(str(df.attrs.get("report")), ("报表", "Report"))
    period, as_of = df.attrs.get("period"), df.attrs.get("as_of")
    if lang == "en":
        return en + (f" {period}" if period else "") + (f" as of {as_of}" if as_of else "")
    return zh + (f"（{period} 年度）" if period else "") + (f"（截至 {as_of}）" if as_of else "")


def sheet_title(df: DataFrame, lang: str = "zh") -> str:
    zh, en = TITLES.get(str(df.attrs.get("report")), ("报表", "Report"))
    return (en if lang == "en" else zh)[:31]


#: the media types of the report files people download (web pages and API)
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def file_bytes(df: DataFrame, fmt: str, lang: str = "zh") -> bytes:
    """A report rendered as a CSV or XLSX file's bytes (for downloads)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"report.{fmt}"
        render(df, fmt, path, lang)
        return path.read_bytes()


def render(df: DataFrame, fmt: Format | str, path: Path | None = None, lang: str = "zh") -> Path | None:
    """Write the report as ``fmt`` to ``path`` (returned) or, for table/json/csv, to stdout (None)."""
    try:
        f = Format(fmt)
    except ValueError as exc:
        raise UsageError(
            f"未知格式 {fmt}；可选：{', '.join(x.value for x in Format)}",
            f"unknown format {fmt}; one of {', '.join(x.value for x in Format)}",
        ) from exc
    if f is Format.TABLE:
        if path is not None:
            raise UsageError(
                "table 格式只输出到终端；写文件请用 csv、xlsx 或 json",
                "table goes to the terminal; use csv, xlsx or json for a file",
            )
        print_table(df, lang)
        return None
    if f is Format.XLSX:
        if path is None:
            raise UsageError("xlsx 格式须指定输出文件", "xlsx needs an output file")
        write_xlsx(df, path, lang)
        return path
    text = to_json(df) if f is Format.JSON else to_csv(df, lang)
    if path is None:
        sys.stdout.write(text)
        return None
    # utf-8-sig: the BOM makes Excel read the file as UTF-8 instead of the local ANSI code page
    path.write_text(text, encoding="utf-8-sig" if f is Format.CSV else "utf-8", newline="")
    return path


def print_table(df: DataFrame, lang: str = "zh") -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    shown = [
        c
        for c in df.columns
        if column(c).terminal and not (column(c).sparse and not df[c].astype("int64").any())
    ]
    console = Console(highlight=False)
    if df.empty:
        console.print(title(df, lang) + (": none" if lang == "en" else "：无"), markup=False)
        return
    tab = Table(title=Text(title(df, lang)), caption=Text(_caption(df, lang)))
    for c in shown:
        numeric = column(c).kind in (Kind.INT, Kind.MONEY)
        tab.add_column(Text(column(c).header(lang)), justify="right" if numeric else "left", overflow="fold")
    view = df[shown]
    for row in _people_rows(view, lang):
        tab.add_row(*[Text(_text(v)) for v in row])  # Text: a "[" in a project name is not markup
    console.print(tab)


def _caption(df: DataFrame, lang: str) -> str:
    n = len(df) - (1 if df.attrs.get("report") == "portfolio" else 0)
    what = {"portfolio": ("个部门", "departments")}.get(str(df.attrs.get("report")), ("行", "rows"))
    clauses = sorted({str(c) for c in df["clause"]}) if "clause" in df.columns else []
    if lang == "en":
        return f"{n} {what[1]}" + (f"; clause: {', '.join(clauses)}" if clauses else "")
    return f"共 {n} {what[0]}" + (f"；依据：{'、'.join(clauses)}" if clauses else "")


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return f"{v:,.2f}"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


# ---------------------------------------------------------------------------------------------- xlsx

_NUMBER_FORMATS: dict[Kind, str] = {Kind.MONEY: "#,##0.00", Kind.DATE: "yyyy-mm-dd", Kind.INT: "0"}


def _width(v: Any) -> int:
    """Display width in Excel's character units: CJK characters take two."""
    s = _text(v)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def write_xlsx(df: DataFrame, path: Path, lang: str = "zh") -> None:
    import openpyxl  # type: ignore[import-untyped]  # only XLSX output pays for it
    from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet_title(df, lang)
    wb.properties.title = title(df, lang)
    wb.properties.creator = "govflow"
    cols = [column(c) for c in df.columns]
    ws.append(headers(df, lang))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    rows = _people_rows(df, lang)
    for row in rows:
        ws.append(row)
    for j, col in enumerate(cols, start=1):
        fmt = _NUMBER_FORMATS.get(col.kind)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
        widest = max([_width(col.header(lang)), *(_width(r[j - 1]) for r in rows)])
        ws.column_dimensions[get_column_letter(j)].width = min(max(widest + 2, 8), 60)
    ws.freeze_panes = "A2"
    if len(cols):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{max(len(rows) + 1, 1)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)

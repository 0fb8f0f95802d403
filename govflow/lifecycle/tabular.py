"""CSV and XLSX import for the large tables (SPEC §5): sharing catalogs and delivery evidence.

A file is a header row of the portfolio document's keys followed by one data row per item; the rows are
validated with the very models of the document (:class:`~govflow.lifecycle.portfolio.CatalogItemIn`,
:class:`~govflow.lifecycle.portfolio.EvidenceIn`), and every problem is reported at once: a row with the wrong shape is
reported and set aside, the rules (and, given the database, the references) are checked on the rows that parsed,
and all of it comes back in one list in row order (:func:`govflow.lifecycle.portfolio.listed`).

Paths are ``rows[N].field`` where N counts the non-empty data rows from 1 (the header is not a data row); each message also
says which line of the file (CSV) or row of the sheet (XLSX) that is. Problems with the header are reported
as ``columns.NAME``.

Cells that hold lists in the document are encoded in one cell:

``authorized``
    ``all``, or department credit codes separated by ``;`` (``；`` and ``,`` also work). Empty: omitted.
``fields``
    ``name:type:description`` entries separated by ``;``, e.g. ``uscc:char(18):统一社会信用代码;name:varchar:名称``
    (the description may itself contain ``:``), or a JSON list of ``{"name", "type", "description"}`` objects.

CSV files are UTF-8 with or without a byte-order mark (Excel's “CSV UTF-8”). XLSX files are read from their
first sheet. Empty cells count as absent, dates may be written ``2026-07-01`` or ``2026/7/1``.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import json
import re
import warnings
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from govflow.lifecycle.portfolio import (
    DOC_CLAUSE,
    SCHEMA_CODE,
    CatalogItemIn,
    EvidenceIn,
    Loc,
    check_catalog_items,
    check_evidence,
    listed,
    validation_reasons,
)
from govflow.states import inputs
from govflow.states.errors import InvalidInput, UsageError
from govflow.states.verdict import Reason

if TYPE_CHECKING:
    import _csv

M = TypeVar("M", bound=BaseModel)

_SLASH_DATE = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_LIST_SEPARATORS = re.compile(r"[;；,，]")


@dataclass(frozen=True)
class Row:
    """One data row: its 1-based number among data rows, where it is in the file, and its non-empty cells."""

    number: int
    line: int
    cells: dict[str, Any]


@dataclass(frozen=True)
class Table:
    path: Path
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    #: how a position is named in messages: "文件第 {n} 行" for CSV, "工作表「Sheet1」第 {n} 行" for XLSX
    line_zh: str
    line_en: str

    def where(self, row: Row) -> tuple[str, str]:
        return (
            f"（第 {row.number} 条数据，{self.line_zh.format(n=row.line)}）",
            f" (data row {row.number}, {self.line_en.format(n=row.line)})",
        )


def read_table(path: Path) -> Table:
    """Read a CSV or XLSX file: header row, then data rows; entirely empty rows are skipped."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise UsageError(
        f"无法识别文件 {path} 的格式：须为 .csv（UTF-8）或 .xlsx；.xls 请在 Excel 中另存为 .xlsx",
        f"cannot read {path}: use .csv (UTF-8) or .xlsx; save .xls files as .xlsx",
    )


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The data rows of a CSV or XLSX file as dicts of their non-empty cells, keyed by header."""
    return [row.cells for row in read_table(path).rows]


@contextmanager
def csv_reader(path: Path) -> Iterator[_csv.Reader]:
    """A CSV file (UTF-8, with or without BOM) as rows of text; a file that cannot be read or decoded, or is not
    CSV, is a :class:`~govflow.states.errors.UsageError` naming the file and what to do."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            yield csv.reader(f)
    except FileNotFoundError as exc:
        raise UsageError(f"文件 {path} 不存在", f"file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"文件 {path} 不是 UTF-8 编码（第 {exc.start} 字节）：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”，"
            "GBK/GB 18030 编码的文件不能直接导入",
            f"{path} is not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8' (GBK files cannot be imported)",
        ) from exc
    except csv.Error as exc:
        raise UsageError(f"文件 {path} 不是有效的 CSV：{exc}", f"{path} is not valid CSV: {exc}") from exc
    except OSError as exc:
        raise UsageError(
            f"无法读取文件 {path}：{exc.strerror}", f"cannot read {path}: {exc.strerror}"
        ) from exc


def empty_file(path: Path) -> UsageError:
    return UsageError(f"文件 {path} 是空的：第 1 行须为表头", f"{path} is empty: line 1 must be the header")


def _read_csv(path: Path) -> Table:
    header: list[str] | None = None
    rows: list[Row] = []
    with csv_reader(path) as reader:
        start = 1
        for record in reader:
            if header is None:
                header = [h.strip() for h in record]
            else:
                cells = {k: v for k, v in zip(header, record, strict=False) if k and v.strip()}
                if any(v.strip() for v in record):
                    rows.append(Row(len(rows) + 1, start, {k: cell(k, v) for k, v in cells.items()}))
            start = reader.line_num + 1
    if not header or not any(header):
        raise empty_file(path)
    return Table(path, tuple(header), tuple(rows), "文件第 {n} 行", "line {n}")


def _read_xlsx(path: Path) -> Table:
    import openpyxl  # type: ignore[import-untyped]  # only XLSX imports pay for it

    try:
        with warnings.catch_warnings():
            # openpyxl warns about workbook features it ignores (styles, data validation); not our concern.
            warnings.simplefilter("ignore", UserWarning)
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError as exc:
        raise UsageError(f"文件 {path} 不存在", f"file {path} does not exist") from exc
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UsageError(
            f"文件 {path} 不是有效的 XLSX 工作簿：{exc}", f"{path} is not a valid XLSX workbook: {exc}"
        ) from exc
    try:
        sheet = wb.worksheets[0]
        values: Iterator[tuple[Any, ...]] = sheet.iter_rows(values_only=True)
        header: list[str] | None = None
        rows: list[Row] = []
        for line, record in enumerate(values, start=1):
            if header is None:
                header = ["" if h is None else str(h).strip() for h in record]
                continue
            cells = {k: v for k, v in zip(header, record, strict=False) if k and not _blank(v)}
            if cells:
                rows.append(Row(len(rows) + 1, line, {k: cell(k, v) for k, v in cells.items()}))
        title = sheet.title
    finally:
        wb.close()
    if not header or not any(header):
        raise UsageError(
            f"文件 {path} 的第一个工作表是空的：第 1 行须为表头", f"the first sheet of {path} is empty"
        )
    return Table(
        path, tuple(header), tuple(rows), f"工作表「{title}」第 {{n}} 行", f"sheet '{title}' row {{n}}"
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell(column: str, value: Any) -> Any:
    """Normalize a cell: trimmed text, whole floats as ints, midnight datetimes as dates, slashed dates."""
    if isinstance(value, str):
        value = value.strip()
        m = _SLASH_DATE.match(value) if column in ("date", "due", "signed_on") else None
        if m:
            return f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


# --------------------------------------------------------------------------------------------------------------


def header_reasons(table: Table, model: type[BaseModel]) -> list[Reason]:
    allowed = list(model.model_fields)
    reasons = []
    for name in table.columns:
        if name and name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint_zh, hint_en = (f"是否应为 {close[0]}？", f" Did you mean {close[0]}?") if close else ("", "")
            reasons.append(
                Reason(
                    SCHEMA_CODE,
                    DOC_CLAUSE,
                    f"表头列“{name}”（第 1 行）不是可识别的列（可能拼写错误）；{hint_zh}允许的列：{'、'.join(allowed)}",
                    f"header column '{name}' (line 1) is not known (a typo?).{hint_en} Allowed: {', '.join(allowed)}",
                    f"columns.{name}",
                )
            )
    for name, info in model.model_fields.items():
        if info.is_required() and name not in table.columns:
            reasons.append(
                Reason(
                    SCHEMA_CODE,
                    DOC_CLAUSE,
                    f"表头（第 1 行）缺少必填列“{name}”；请添加该列",
                    f"the header (line 1) lacks the required column '{name}'; add it",
                    f"columns.{name}",
                )
            )
    seen: set[str] = set()
    for name in table.columns:
        if name and name in seen:
            reasons.append(
                Reason(
                    SCHEMA_CODE,
                    DOC_CLAUSE,
                    f"表头列“{name}”（第 1 行）重复；每列只能出现一次",
                    f"header column '{name}' (line 1) appears twice",
                    f"columns.{name}",
                )
            )
        seen.add(name)
    return reasons


def _validate_rows(
    table: Table, model: type[M], decode: Callable[[Row], tuple[dict[str, Any], list[Reason]]]
) -> tuple[list[tuple[Row, M]], list[Reason]]:
    """The rows with the right shape, and one reason per shape error of the others (nothing is raised for a
    row; a wrong header raises at once, since no row can be read without it)."""
    header = header_reasons(table, model)
    if header:
        raise InvalidInput(header)
    out: list[tuple[Row, M]] = []
    reasons: list[Reason] = []
    for row in table.rows:
        cells, problems = decode(row)
        reasons += _located(table, problems)
        try:
            value = model.model_validate(cells)
        except ValidationError as exc:

            def where(loc: Loc, row: Row = row) -> tuple[str, str]:
                return table.where(row)

            reasons += validation_reasons(exc, model, prefix=("rows", row.number), where=where)
            continue
        if not problems:
            out.append((row, value))
    return out, reasons


@dataclass(frozen=True)
class Rows(Generic[M]):
    """A table read leniently: the rows that parsed (with where they are) and the shape errors of the others."""

    table: Table
    parsed: tuple[tuple[Row, M], ...]
    #: shape errors, located
    reasons: tuple[Reason, ...]

    @property
    def values(self) -> list[M]:
        return [value for _, value in self.parsed]

    def path_of(self, i: int) -> str:
        """``rows[N]`` of the i-th row that parsed (N counts every data row of the file)."""
        return f"rows[{self.parsed[i][0].number}]"

    def report(self, found: Sequence[Reason]) -> list[Reason]:
        """The shape errors and ``found`` (rule and reference reasons of the parsed rows, with ``rows[N]``
        paths), located in the file, in row order, at most :data:`~govflow.lifecycle.portfolio.MAX_REASONS`."""
        return listed([*self.reasons, *_located(self.table, list(found))])


def _located(table: Table, reasons: list[Reason]) -> list[Reason]:
    """Rules report ``rows[N]…`` paths; add the file position to their messages."""
    by_number = {row.number: row for row in table.rows}
    out = []
    for r in reasons:
        m = re.match(r"^rows\[(\d+)\]", r.path or "")
        row = by_number.get(int(m[1])) if m else None
        if row is None:
            out.append(r)
            continue
        zh, en = table.where(row)
        out.append(
            replace(r, message=f"{r.path}{zh}：{r.message}", message_en=f"{r.path}{en}: {r.message_en}")
        )
    return out


def _decode_catalog(row: Row) -> tuple[dict[str, Any], list[Reason]]:
    cells = dict(row.cells)
    problems: list[Reason] = []
    authorized = cells.get("authorized")
    if isinstance(authorized, str):
        cells["authorized"] = (
            "all"
            if authorized.lower() == "all"
            else [c.strip() for c in _LIST_SEPARATORS.split(authorized) if c.strip()]
        )
    fields = cells.get("fields")
    if isinstance(fields, str):
        decoded, problems = _decode_fields(fields, row)
        if decoded is None:
            del cells["fields"]  # already reported; a second "wrong type" error would only repeat it
        else:
            cells["fields"] = decoded
    return cells, problems


def _decode_fields(text: str, row: Row) -> tuple[Any, list[Reason]]:
    path = f"rows[{row.number}].fields"
    if text.startswith("["):
        try:
            return inputs.loads(text), []
        except inputs.JsonRefused as exc:  # a key given twice, or nesting too deep
            at = (
                f"{path}{exc.path if exc.path.startswith('[') else '.' + exc.path}"
                if exc.path != "$"
                else path
            )
            return None, [Reason(SCHEMA_CODE, DOC_CLAUSE, f"{at}：{exc.zh}", f"{at}: {exc.en}", at)]
        except json.JSONDecodeError as exc:
            return None, [
                Reason(
                    SCHEMA_CODE,
                    DOC_CLAUSE,
                    f"以 [ 开头的 fields 须为 JSON 列表（第 {exc.colno} 个字符处 {exc.msg}）",
                    f"fields starting with [ must be a JSON list ({exc.msg} at character {exc.colno})",
                    path,
                )
            ]
    out, problems = [], []
    for k, entry in enumerate(e.strip() for e in text.split(";")):
        if not entry:
            continue
        parts = [p.strip() for p in entry.split(":", 2)]
        if len(parts) < 2 or not parts[0] or not parts[1]:
            problems.append(
                Reason(
                    SCHEMA_CODE,
                    DOC_CLAUSE,
                    f"字段定义“{entry}”须写成 名称:类型:说明（说明可省略），多个字段以 ; 分隔",
                    f"field '{entry}' must be written name:type:description, entries separated by ;",
                    f"{path}[{k}]",
                )
            )
            continue
        out.append({"name": parts[0], "type": parts[1], "description": parts[2] if len(parts) > 2 else ""})
    return out, problems


def read_catalog(path: Path) -> Rows[CatalogItemIn]:
    """Catalog items from CSV/XLSX, leniently (see :class:`Rows`); check them with :func:`catalog_problems`."""
    table = read_table(path)
    parsed, reasons = _validate_rows(table, CatalogItemIn, _decode_catalog)
    return Rows(table, tuple(parsed), tuple(reasons))


def read_catalog_cells(cells: Mapping[str, Any]) -> Rows[CatalogItemIn]:
    """One catalog item typed into a web form, its fields named as a file's columns, read as a one-row table
    (empty fields count as absent, as empty cells do); check it with :func:`catalog_problems`."""
    kept = {k: cell(k, v) for k, v in cells.items() if not _blank(v)}
    table = Table(Path("form"), tuple(cells), (Row(1, 1, kept),), "网页表单", "web form")
    parsed, reasons = _validate_rows(table, CatalogItemIn, _decode_catalog)
    return Rows(table, tuple(parsed), tuple(reasons))


def catalog_problems(rows: Rows[CatalogItemIn], departments: Collection[str] | None) -> list[Reason]:
    """Every problem of a catalog file at once: shape, unique codes, 第三条 and 第二条第三款 on the rows that
    parsed, and (given ``departments``, the codes in the database) unknown provider or authorized departments."""
    return rows.report(check_catalog_items(rows.values, departments, rows.path_of))


def parse_catalog_rows(path: Path) -> list[CatalogItemIn]:
    """Catalog items from CSV/XLSX, checked for shape, unique codes, 第三条 and 第二条第三款.

    Departments (provider, authorized) are checked against the database by the caller, which knows it
    (:func:`read_catalog` and :func:`catalog_problems` check both in one report).
    """
    rows = read_catalog(path)
    reasons = catalog_problems(rows, None)
    if reasons:
        raise InvalidInput(reasons)
    return rows.values


def parse_evidence_rows(path: Path, *, today: dt.date | None = None) -> list[EvidenceIn]:
    """Delivery evidence from CSV/XLSX: shape, records not negative, and (given ``today``) no future dates.

    Whether the project, item and consumer exist is checked by the caller against the database.
    """
    table = read_table(path)
    parsed, reasons = _validate_rows(table, EvidenceIn, lambda row: (row.cells, []))
    rows = Rows(table, tuple(parsed), tuple(reasons))
    problems = rows.report(check_evidence(rows.values, None, today, path_of=rows.path_of))
    if problems:
        raise InvalidInput(problems)
    return rows.values


#: the files a person can fill in from a template: catalog items and delivery evidence
TEMPLATES: dict[str, type[BaseModel]] = {"catalog": CatalogItemIn, "evidence": EvidenceIn}


def columns_of(model: type[BaseModel], lang: str = "zh") -> list[tuple[str, bool, str]]:
    """The columns of a file of ``model`` rows: (name, required, description in ``lang``). The description is
    the document model's own (``中文 / English``), so the template, the page and the JSON Schema say the same."""
    import enum
    import typing

    out = []
    for name, f in model.model_fields.items():
        zh, _, en = (f.description or "").partition(" / ")
        text = (en.split(":")[0] or zh) if lang == "en" else zh
        kinds = [a for a in (f.annotation, *typing.get_args(f.annotation)) if isinstance(a, enum.EnumMeta)]
        if kinds:
            members: list[Any] = list(kinds[0])
            words = [f"{v.value}（{v.label(lang)}）" if lang != "en" else str(v.value) for v in members]
            text += ("; one of: " + ", ".join(words)) if lang == "en" else "；取值：" + "、".join(words)
        elif f.annotation in (dt.date, dt.date | None):
            text += " (YYYY-MM-DD)" if lang == "en" else "（YYYY-MM-DD）"
        out.append((f.alias or name, f.is_required(), text))
    return out


def template_workbook(model: type[BaseModel], lang: str = "zh") -> bytes:
    """An XLSX template: the header row on the first sheet (the one an import reads), and a second sheet that
    describes each column: whether it is required and what it holds (list cells as the module docstring says)."""
    import io

    import openpyxl
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    wb = openpyxl.Workbook()
    data = wb.active
    data.title = "data"
    cols = columns_of(model, lang)
    data.append([name for name, _, _ in cols])
    for c, (_, required, _) in zip(data[1], cols, strict=True):
        c.font = Font(bold=required)
        data.column_dimensions[c.column_letter].width = 18
    notes = wb.create_sheet("columns" if lang == "en" else "填写说明")
    yes, no = ("required", "optional") if lang == "en" else ("必填", "选填")
    notes.append(["column", "", "description"] if lang == "en" else ["列名", "", "说明"])
    for name, required, text in cols:
        notes.append([name, yes if required else no, text])
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["C"].width = 100
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()

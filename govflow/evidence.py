"""Bulk import of delivery evidence (SPEC §3, §5): exchange-platform exports of millions of rows, all or none.

A file is the header ``project,catalog,consumer,date,records`` (any order) and one row per delivery, as
:mod:`govflow.tabular` reads it: CSV in UTF-8 with or without a byte-order mark, or the first sheet of an XLSX
workbook; empty rows are skipped; dates may be written ``2026-07-01`` or ``2026/7/1``. The rows mean exactly
what :class:`~govflow.portfolio.EvidenceIn` means, and problems are reported in the format of
:func:`govflow.tabular.parse_evidence_rows` (``rows[N].field``, data row N and the file line in the message, and
both in ``detail``) — all kinds at once, not stage by stage — but without a pydantic model per row, which is far
too slow for a file of a million rows:

1. :meth:`References.load` reads, once, every project code, (project, catalog item code) and department code
   with its id;
2. :func:`read_evidence` streams the file. A row whose codes, date and count resolve at once through those
   dictionaries (and a cache of the dates already seen) costs a handful of dictionary lookups; only a row that
   does not (a stray space, a slashed date, a new date, an error) takes the slow path, which applies the very
   pydantic validators of :class:`~govflow.portfolio.EvidenceIn` to it, and only a row that is really wrong is
   explained, with :func:`govflow.portfolio.validation_reasons` and :func:`govflow.portfolio.check_evidence`.
   Every row is checked; after :data:`MAX_REASONS` problems the rest are only counted, and one last reason says
   how many rows were not listed. Good rows are summed per (catalog item, consumer, day) in a dictionary;
3. :func:`write_evidence` adds the sums to what is already recorded, inside the caller's transaction, through
   the DBAPI connection: one ``executemany`` upsert on SQLite, ``COPY`` into a temporary table and one
   ``INSERT … SELECT … ON CONFLICT`` on PostgreSQL.

Validation is all-or-nothing: :class:`EvidenceBatch` carries the reasons, and the caller
(:func:`govflow.services.import_evidence`) checks permissions on the projects the file names before it raises
them, so that the report of a file never tells a department about projects it may not see.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlmodel import Session

from govflow.portfolio import (
    DOC_CLAUSE,
    EvidenceIn,
    Existing,
    check_evidence,
    validation_reasons,
)
from govflow.tabular import Row, Table, _cell, _header_reasons, read_table
from models.facts import DEPT, t
from models.tables import Project, ProjectDepartment
from states.errors import InvalidInput, UsageError
from states.permissions import Role, Scope, allowed_scope, decide
from states.verdict import Reason

if TYPE_CHECKING:
    import _csv

PROJECT, PROJECT_DEPT = t(Project), t(ProjectDepartment)

#: the columns of an evidence file, in the order the fast path reads them
COLUMNS = ("project", "catalog", "consumer", "date", "records")
#: problems listed before the rest are only counted (a file with a wrong column has a million of them)
MAX_REASONS = 1000
#: ``delivery_evidence.records`` is a 32-bit integer on PostgreSQL
MAX_RECORDS = 2**31 - 1

#: (catalog item id, consumer department id, ISO day) → records
Key = tuple[int, int, str]

_DATE: TypeAdapter[dt.date] = TypeAdapter(dt.date)
_INT: TypeAdapter[int] = TypeAdapter(int)
_CODE_FIELDS = ("project", "catalog", "consumer")


# ---------------------------------------------------------------------------------------------- references


@dataclass(frozen=True)
class References:
    """What evidence rows may name, read in bulk: codes to ids."""

    #: project code → id
    projects: dict[str, int]
    #: (project code, catalog item code) → catalog item id
    items: dict[tuple[str, str], int]
    #: catalog item id → project id
    item_project: dict[int, int]
    #: department code (统一社会信用代码) → id
    departments: dict[str, int]

    @classmethod
    def load(cls, session: Session) -> References:
        # plain DBAPI rows: 200,000 catalog items through SQLAlchemy's row objects cost three times as much
        projects: dict[str, int] = {}
        code_of: dict[int, str] = {}
        for id_, code in _fetch(session, "SELECT id, code FROM project"):
            projects[code] = id_
            code_of[id_] = code
        items: dict[tuple[str, str], int] = {}
        item_project: dict[int, int] = {}
        for id_, pid, code in _fetch(session, "SELECT id, project_id, code FROM catalog_item"):
            items[(code_of[pid], code)] = id_  # the project's own code object: one string per project
            item_project[id_] = pid
        departments = {code: id_ for id_, code in _fetch(session, "SELECT id, code FROM department")}
        return cls(projects, items, item_project, departments)


def _fetch(session: Session, sql: str) -> list[tuple[Any, ...]]:
    cur = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


def refused_project(
    session: Session,
    role: Role,
    action: str,
    user: str,
    department: str | None,
    project_ids: Collection[int],
) -> tuple[list[str], str | None]:
    """The codes of the projects, sorted, and the first of them ``role`` may not ``action`` (or None).

    :func:`states.permissions.decide` for every project, with the lead and related departments read in bulk
    (a file of a national exchange platform names thousands of projects); the caller hands a refused
    project to :func:`govflow.services.authorize`, which raises and records the denial.
    """
    scope = allowed_scope(role, action)
    parties = _project_parties(session, project_ids, related=scope not in (None, Scope.ALL))
    codes = sorted(code for code, _, _ in parties.values())
    for code, lead, participants in sorted(parties.values()):
        if decide(role, action, user=user, user_department=department, lead=lead, participants=participants):
            return codes, code
    return codes, None


def _project_parties(
    session: Session, project_ids: Collection[int], *, related: bool
) -> dict[int, tuple[str, str, frozenset[str]]]:
    """project id → (code, lead department code, related department codes if ``related``)."""
    lead = DEPT.alias("lead")
    out: dict[int, tuple[str, str, frozenset[str]]] = {}
    ids = sorted(project_ids)
    for i in range(0, len(ids), 5000):
        part = ids[i : i + 5000]
        others: dict[int, set[str]] = {}
        if related:
            q = (
                select(PROJECT_DEPT.c.project_id, DEPT.c.code)
                .join(DEPT, DEPT.c.id == PROJECT_DEPT.c.department_id)
                .where(PROJECT_DEPT.c.project_id.in_(part))
            )
            for pid, code in session.execute(q):
                others.setdefault(int(pid), set()).add(str(code))
        q = (
            select(PROJECT.c.id, PROJECT.c.code, lead.c.code)
            .join(lead, lead.c.id == PROJECT.c.lead_department_id)
            .where(PROJECT.c.id.in_(part))
        )
        for pid, code, lead_code in session.execute(q):
            out[int(pid)] = (str(code), str(lead_code), frozenset(others.get(int(pid), ())))
    return out


# ---------------------------------------------------------------------------------------------- the batch


@dataclass
class EvidenceBatch:
    """A file read and checked: the sums to write, or the reasons not to."""

    path: Path
    #: non-empty data rows read
    rows: int = 0
    totals: dict[Key, int] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)
    #: rows with problems beyond :data:`MAX_REASONS` (counted, not explained)
    unlisted: int = 0
    #: ids of the known projects the file names, in good rows and bad ones alike (permissions)
    project_ids: set[int] = field(default_factory=set)
    #: catalog item id → project id, for the rows to write
    item_project: Mapping[int, int] = field(default_factory=dict)
    #: SHA-256 of the file's bytes, for the audit trail
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def records(self) -> int:
        return sum(self.totals.values())

    def raise_for_errors(self) -> None:
        if self.reasons:
            raise InvalidInput(self.reasons)


class _Where:
    """How a row's position reads in messages, like :meth:`govflow.tabular.Table.where`."""

    def __init__(self, line_zh: str, line_en: str) -> None:
        self.line_zh, self.line_en = line_zh, line_en

    def __call__(self, number: int, line: int) -> tuple[str, str]:
        return (
            f"（第 {number} 条数据，{self.line_zh.format(n=line)}）",
            f" (data row {number}, {self.line_en.format(n=line)})",
        )


class _Checker:
    """Resolves rows against :class:`References` and explains the ones that do not resolve."""

    def __init__(self, refs: References, today: dt.date, batch: EvidenceBatch, where: _Where) -> None:
        self.refs, self.today, self.batch, self.where = refs, today, batch, where
        #: raw date cell → ISO day, for the dates seen so far that are valid and not after today
        self.days: dict[Any, str] = {}
        self.totals = batch.totals

    # -- the slow path: one row as cells, resolved with pydantic's own validators --------------------

    def resolve(self, cells: Mapping[str, Any]) -> tuple[int, int, str, int] | None:
        """(item, consumer, day, records) of a row that is entirely right, else None."""
        try:
            p, c, d = (_text(cells[name]) for name in _CODE_FIELDS)
        except KeyError:
            return None
        item = self.refs.items.get((p, c))
        consumer = self.refs.departments.get(d)
        if item is None or consumer is None:
            self._saw_project(p)
            return None
        self.batch.project_ids.add(self.refs.item_project[item])
        day = self.day(cells.get("date"))
        records = _records(cells.get("records"))
        if day is None or records is None:
            return None
        return item, consumer, day, records

    def day(self, value: Any) -> str | None:
        if value is None:
            return None
        known = self.days.get(value)
        if known is not None:
            return known
        try:
            parsed = _DATE.validate_python(value)
        except ValidationError:
            return None
        if parsed > self.today:
            return None
        self.days[value] = iso = parsed.isoformat()
        return iso

    def _saw_project(self, code: str) -> None:
        pid = self.refs.projects.get(code)
        if pid is not None:
            self.batch.project_ids.add(pid)

    def add(self, item: int, consumer: int, day: str, records: int) -> None:
        key = (item, consumer, day)
        self.totals[key] = self.totals.get(key, 0) + records

    def problem(self, cells: Mapping[str, Any], number: int, line: int) -> None:
        """A row that did not resolve: explain it, or only count it once enough has been said."""
        batch = self.batch
        if len(batch.reasons) >= MAX_REASONS:
            batch.unlisted += 1
            return
        reasons = self.explain(cells, number, line)
        if not reasons:  # never drop a row silently: whatever kept it from resolving is a problem
            zh, en = self.where(number, line)
            reasons = [
                Reason(
                    "ROW_UNREADABLE",
                    DOC_CLAUSE,
                    f"rows[{number}]{zh}：无法读取该行；请核对各列的内容",
                    f"rows[{number}]{en}: the row cannot be read; check its cells",
                    f"rows[{number}]",
                    {"row": number, "line": line},
                )
            ]
        batch.reasons += reasons

    def explain(self, cells: Mapping[str, Any], number: int, line: int) -> list[Reason]:
        where_zh, where_en = self.where(number, line)
        path = f"rows[{number}]"
        reasons: list[Reason] = []
        values: dict[str, Any] = {}
        try:
            ev = EvidenceIn.model_validate(cells)
            values = ev.model_dump()
        except ValidationError as exc:
            reasons += validation_reasons(
                exc, EvidenceIn, prefix=("rows", number), where=lambda _loc: (where_zh, where_en)
            )
            failed = {err["loc"][0] for err in exc.errors() if err["loc"]}
            values = {k: v for k, v in cells.items() if k in COLUMNS and k not in failed}
            for name, adapter in (("date", _DATE), ("records", _INT)):
                if name in values:
                    values[name] = adapter.validate_python(values[name])
        probe = EvidenceIn.model_construct(
            project=_text(values.get("project", "")),
            catalog=_text(values.get("catalog", "")),
            consumer=_text(values.get("consumer", "")),
            date=values.get("date", dt.date.min),
            records=values.get("records", 0),
        )
        rules = check_evidence([probe], self._known(probe, values), self.today, path_of=lambda _i: path)
        if "records" in values and probe.records > MAX_RECORDS:
            rules.append(_too_large(probe.records, f"{path}.records"))
        for r in rules:
            reasons.append(
                replace(
                    r,
                    message=f"{r.path}{where_zh}：{r.message}",
                    message_en=f"{r.path}{where_en}: {r.message_en}",
                )
            )
        return [replace(r, detail={**r.detail, "row": number, "line": line}) for r in reasons]

    def _known(self, probe: EvidenceIn, values: Mapping[str, Any]) -> Existing:
        """The database as far as this row is concerned: a value that is absent (already reported as missing
        or malformed) counts as known, so that only real unknown references are reported."""
        refs = self.refs
        p, c, d = probe.project, probe.catalog, probe.consumer
        has = {name: name in values for name in _CODE_FIELDS}
        project_ok = not has["project"] or p in refs.projects
        item_ok = not (has["project"] and has["catalog"]) or (p, c) in refs.items or not project_ok
        return Existing(
            departments=frozenset({d}) if not has["consumer"] or d in refs.departments else frozenset(),
            projects=frozenset({p}) if project_ok else frozenset(),
            catalog_items=frozenset({(p, c)}) if item_ok else frozenset(),
        )

    def finish(self) -> None:
        batch = self.batch
        too_big = [(k, n) for k, n in batch.totals.items() if n > MAX_RECORDS]
        for (item, consumer, day), n in too_big[:10]:
            batch.reasons.append(
                _too_large(n, "rows", f"（条目 id {item}，使用部门 id {consumer}，{day} 的合计）")
            )
        if batch.unlisted:
            batch.reasons.append(
                Reason(
                    "TOO_MANY_ERRORS",
                    DOC_CLAUSE,
                    f"另有 {batch.unlisted} 行有误，未逐一列出（只列出前 {MAX_REASONS} 个问题）；"
                    "请先更正以上问题，再重新导入",
                    f"{batch.unlisted} more rows have problems that are not listed (only the first "
                    f"{MAX_REASONS} problems are); correct these and import again",
                    "rows",
                    {"unlisted_rows": batch.unlisted, "listed": MAX_REASONS},
                )
            )
        if batch.reasons:
            batch.totals.clear()  # nothing is written; let the memory go
        batch.item_project = self.refs.item_project


def _text(value: Any) -> str:
    """A code cell as the model reads it (numbers are accepted as codes, whitespace is trimmed)."""
    return value.strip() if isinstance(value, str) else str(value)


def _records(value: Any) -> int | None:
    if value is None:
        return None
    try:
        n = _INT.validate_python(value)
    except ValidationError:
        return None
    return n if 0 <= n <= MAX_RECORDS else None


def _too_large(n: int, path: str, what: str = "") -> Reason:
    return Reason(
        "EVIDENCE_TOO_LARGE",
        DOC_CLAUSE,
        f"交付记录数 {n}{what} 超过上限 {MAX_RECORDS}；请核对数据或按日拆分",
        f"records delivered {n} exceed the limit of {MAX_RECORDS}; check the export",
        path,
        {"records": n, "limit": MAX_RECORDS},
    )


# ---------------------------------------------------------------------------------------------- reading


def read_evidence(path: Path, refs: References, today: dt.date) -> EvidenceBatch:
    """Read and check an evidence file: sums per (catalog item, consumer, day), or the reasons not to write.

    A file that cannot be read raises :class:`~states.errors.UsageError`; a bad header raises
    :class:`~states.errors.InvalidInput` at once (no row can be read without it); bad rows are returned in
    :attr:`EvidenceBatch.reasons` (see the module docstring for why they are not raised here).
    """
    if path.suffix.lower() != ".csv":
        # XLSX (smaller files: openpyxl holds the sheet anyway); any other suffix is refused by read_table
        return _read_table(read_table(path), refs, today)
    batch = EvidenceBatch(path)
    checker = _Checker(refs, today, batch, _Where("文件第 {n} 行", "line {n}"))
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            if not any(header):
                raise UsageError(
                    f"文件 {path} 是空的：第 1 行须为表头", f"{path} is empty: line 1 must be the header"
                )
            _check_header(path, header)
            _read_rows(reader, header, checker)
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
    checker.finish()
    batch.sha256 = _sha256(path)
    return batch


def _check_header(path: Path, header: list[str]) -> None:
    reasons = _header_reasons(Table(path, tuple(header), (), "", ""), EvidenceIn)
    if reasons:
        raise InvalidInput(reasons)


def _read_rows(reader: _csv.Reader, header: list[str], checker: _Checker) -> None:
    """The hot loop: per row a few dictionary lookups; anything unusual goes to :meth:`_Checker.resolve`.

    ``int`` accepts what pydantic's ``int`` accepts from ASCII text (``+5``, ``1_000``, padding) and refuses
    the rest, so the fast path agrees with the slow one; non-ASCII digits (``１２``) take the slow path, which
    refuses them as pydantic does.
    """
    pick: Callable[[list[str]], tuple[str, ...]] = itemgetter(*(header.index(c) for c in COLUMNS))
    items, departments, days = checker.refs.items, checker.refs.departments, checker.days
    totals = checker.totals
    total = totals.get
    index = blank = 0
    for index, record in enumerate(reader, start=1):
        try:
            p, c, d, day, n = pick(record)
            key = (items[p, c], departments[d], days[day])
            if n.isascii() and 0 <= (records := int(n)) <= MAX_RECORDS:
                totals[key] = total(key, 0) + records
                continue
        except (KeyError, ValueError, IndexError):
            pass
        if not any(cell.strip() for cell in record):
            blank += 1  # an empty row is not a data row
            continue
        # the record's first line: the reader is at its last (a quoted cell may hold line breaks)
        line = reader.line_num - sum(v.count("\n") + v.count("\r") - v.count("\r\n") for v in record)
        number = index - blank
        cells = {k: _cell(k, v) for k, v in zip(header, record, strict=False) if k and v.strip()}
        resolved = checker.resolve(cells)
        if resolved is None:
            checker.problem(cells, number, line)
            continue
        checker.add(*resolved)
        with suppress(IndexError):  # the next row with this date cell (say 2026/7/1) takes the fast path
            days[pick(record)[3]] = resolved[2]
    checker.batch.rows = index - blank
    # the projects of the rows that took the fast path (the slow path noted its own)
    item_project = checker.refs.item_project
    checker.batch.project_ids.update({item_project[item] for item in {k[0] for k in totals}})


def _read_table(table: Table, refs: References, today: dt.date) -> EvidenceBatch:
    """An XLSX sheet (already read by :func:`govflow.tabular.read_table`): every row through the slow path."""
    batch = EvidenceBatch(table.path)
    checker = _Checker(refs, today, batch, _Where(table.line_zh, table.line_en))
    reasons = _header_reasons(table, EvidenceIn)
    if reasons:
        raise InvalidInput(reasons)
    row: Row
    for row in table.rows:
        resolved = checker.resolve(row.cells)
        if resolved is None:
            checker.problem(row.cells, row.number, row.line)
        else:
            checker.add(*resolved)
    batch.rows = len(table.rows)
    checker.finish()
    batch.sha256 = _sha256(table.path)
    return batch


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------- writing

_COLUMNS_SQL = "project_id, catalog_item_id, consumer_id, day, records"
_CONFLICT_SQL = (
    "ON CONFLICT (catalog_item_id, consumer_id, day) "
    "DO UPDATE SET records = delivery_evidence.records + excluded.records"
)
_SQLITE_UPSERT = f"INSERT INTO delivery_evidence ({_COLUMNS_SQL}) VALUES (?, ?, ?, ?, ?) {_CONFLICT_SQL}"
_PG_STAGE = "govflow_evidence_import"
_PG_CREATE = (
    f"CREATE TEMPORARY TABLE {_PG_STAGE} (project_id integer, catalog_item_id integer, "
    "consumer_id integer, day date, records bigint) ON COMMIT DROP"
)
# the stage holds the rows in key order already (COPY keeps it, a sequential scan returns it)
_PG_UPSERT = (
    f"INSERT INTO delivery_evidence ({_COLUMNS_SQL}) SELECT {_COLUMNS_SQL} FROM {_PG_STAGE} {_CONFLICT_SQL}"
)


def write_evidence(session: Session, batch: EvidenceBatch) -> int:
    """Add the batch's sums to ``delivery_evidence`` in the session's transaction; returns the keys written.

    A key already recorded (the same item, consumer and day, from an earlier file) gets the new records added,
    as :func:`govflow.portfolio.write_evidence` does. The DBAPI connection is used directly: SQLAlchemy's
    per-row parameter processing would cost more than the database's own work here.
    """
    batch.raise_for_errors()
    if not batch.totals:
        return 0
    conn = session.connection()
    raw: Any = conn.connection.driver_connection
    rows = _value_rows(batch.totals, batch.item_project)
    dialect = conn.dialect.name
    if dialect == "sqlite":
        cur = raw.cursor()
        try:
            cur.executemany(_SQLITE_UPSERT, rows)
        finally:
            cur.close()
    elif dialect == "postgresql":
        with raw.cursor() as cur:
            cur.execute(_PG_CREATE)
            with cur.copy(f"COPY {_PG_STAGE} ({_COLUMNS_SQL}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(_PG_UPSERT)
            cur.execute(f"DROP TABLE {_PG_STAGE}")
    else:  # pragma: no cover - govflow supports SQLite and PostgreSQL only
        raise UsageError(f"不支持的数据库 {dialect}", f"unsupported database {dialect}")
    return len(batch.totals)


def _value_rows(totals: dict[Key, int], item_project: Mapping[int, int]) -> Iterable[tuple[Any, ...]]:
    """The rows in the order of the unique index (item, consumer, day), which on both databases is also nearly
    the order of the (project, day) index: each index page is then visited once, not once per row (files come
    in day order; inserting them as they come costs twice the time on 5,000,000 rows)."""
    return (
        (item_project[item], item, consumer, day, n) for (item, consumer, day), n in sorted(totals.items())
    )

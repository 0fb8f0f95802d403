"""Reading an evidence file: the references it resolves against (:class:`References`), the fast row checker and
the batch of sums or reasons it produces (:func:`read_evidence`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlmodel import Session

from govflow.lifecycle.portfolio import (
    DOC_CLAUSE,
    EvidenceIn,
    Existing,
    check_evidence,
    listed,
    validation_reasons,
)
from govflow.lifecycle.portfolio import (
    MAX_REASONS as MAX_REASONS,  # re-exported: problems listed before the rest are only counted
)
from govflow.lifecycle.tabular import Row, Table, cell, csv_reader, empty_file, header_reasons, read_table
from govflow.models.facts import DEPT, t
from govflow.models.tables import Project, ProjectDepartment
from govflow.states import inputs
from govflow.states.errors import InvalidInput
from govflow.states.permissions import Role, Scope, allowed_scope, decide
from govflow.states.verdict import Reason

if TYPE_CHECKING:
    import _csv

PROJECT, PROJECT_DEPT = t(Project), t(ProjectDepartment)
#: the columns of an evidence file, in the order the fast path reads them
COLUMNS = ("project", "catalog", "consumer", "date", "records")
#: ``delivery_evidence.records`` is a 32-bit integer on PostgreSQL
MAX_RECORDS = inputs.MAX_COUNT

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
    refs: References | None = None,
) -> tuple[list[str], str | None]:
    """The codes of the projects, sorted, and the first of them ``role`` may not ``action`` (or None).

    :func:`govflow.states.permissions.decide` for every project, with the lead and related departments read in bulk
    (a file of a national exchange platform names thousands of projects); the caller hands a refused
    project to :func:`govflow.lifecycle.services.authorize`, which raises and records the denial. A role
    allowed on every project is allowed on each: with ``refs`` (what the file was read against) its codes come
    from there, without reading the projects' parties (0.3 s for the 20,000 projects of a national file).
    """
    scope = allowed_scope(role, action)
    if scope is Scope.ALL and refs is not None:
        wanted = set(project_ids)
        return sorted(code for code, id_ in refs.projects.items() if id_ in wanted), None
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
    #: SHA-256 of the file's bytes, for the audit trail (and to refuse the same file twice)
    sha256: str = ""
    #: what the rows were resolved against, to find the rows of keys already on record
    refs: References | None = None
    today: dt.date = dt.date.max

    @property
    def ok(self) -> bool:
        return not self.reasons and not self.unlisted

    @property
    def records(self) -> int:
        return sum(self.totals.values())

    def report(self, more: Iterable[Reason] = (), unlisted: int = 0) -> list[Reason]:
        """The reasons, with ``more`` (rows already on record; ``unlisted`` more of them not explained), in row
        order, capped like every import report (:func:`govflow.lifecycle.portfolio.listed`)."""
        return listed([*self.reasons, *more], unlisted_rows=self.unlisted + unlisted)

    def raise_for_errors(self) -> None:
        if not self.ok:
            raise InvalidInput(self.report())


class _Where:
    """How a row's position reads in messages, like :meth:`govflow.lifecycle.tabular.Table.where`."""

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
        if parsed > self.today or inputs.day_problem(parsed) is not None:  # explained by the slow path
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
        # the totals are kept even when there are problems: the rows that parsed are still checked against
        # what is on record (services.import_evidence), so that one report lists every bad row
        batch.item_project = self.refs.item_project
        batch.refs, batch.today = self.refs, self.today


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

    A file that cannot be read raises :class:`~govflow.states.errors.UsageError`; a bad header raises
    :class:`~govflow.states.errors.InvalidInput` at once (no row can be read without it); bad rows are returned in
    :attr:`EvidenceBatch.reasons` (see the module docstring for why they are not raised here).
    """
    if path.suffix.lower() != ".csv":
        # XLSX (smaller files: openpyxl holds the sheet anyway); any other suffix is refused by read_table
        return _read_table(read_table(path), refs, today)
    batch = EvidenceBatch(path)
    checker = _Checker(refs, today, batch, _Where("文件第 {n} 行", "line {n}"))
    with csv_reader(path) as reader:
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise empty_file(path)
        _check_header(path, header)
        _read_rows(reader, header, checker)
    checker.finish()
    batch.sha256 = _sha256(path)
    return batch


def _check_header(path: Path, header: list[str]) -> None:
    reasons = header_reasons(Table(path, tuple(header), (), "", ""), EvidenceIn)
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
        if not any(text.strip() for text in record):
            blank += 1  # an empty row is not a data row
            continue
        line = _first_line(reader, record)
        number = index - blank
        cells = {k: cell(k, v) for k, v in zip(header, record, strict=False) if k and v.strip()}
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


def _first_line(reader: _csv.Reader, record: list[str]) -> int:
    """The record's first line: the reader is at its last (a quoted cell may hold line breaks)."""
    return reader.line_num - sum(v.count("\n") + v.count("\r") - v.count("\r\n") for v in record)


def _read_table(table: Table, refs: References, today: dt.date) -> EvidenceBatch:
    """An XLSX sheet (already read by :func:`govflow.lifecycle.tabular.read_table`): every row through the slow path."""
    batch = EvidenceBatch(table.path)
    checker = _Checker(refs, today, batch, _Where(table.line_zh, table.line_en))
    reasons = header_reasons(table, EvidenceIn)
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


# ---------------------------------------------------------------------------------------------- keys on record


def recorded_reasons(batch: EvidenceBatch, on_record: Mapping[Key, int]) -> tuple[list[Reason], int]:
    """One reason per row of the file whose (item, consumer, day) is already on record, and the number of such
    rows beyond the ones explained (the file is read a second time: only a refused import pays for it)."""
    if not on_record or batch.refs is None:
        return [], 0
    where, rows = _data_rows(batch.path)
    checker = _Checker(batch.refs, batch.today, EvidenceBatch(batch.path), where)
    reasons: list[Reason] = []
    more = 0
    for row in rows:
        number, line, cells = row.number, row.line, row.cells
        resolved = checker.resolve(cells)
        if resolved is None or (key := resolved[:3]) not in on_record:
            continue
        if len(reasons) + len(batch.reasons) >= MAX_REASONS:
            more += 1
            continue
        zh, en = where(number, line)
        p, c, d = (_text(cells[name]) for name in _CODE_FIELDS)
        day, n = resolved[2], on_record[key]
        reasons.append(
            Reason(
                "EVIDENCE_ALREADY_RECORDED",
                DOC_CLAUSE,
                f"rows[{number}].date{zh}：项目 {p} 目录条目 {c} 向使用部门 {d} 在 {day} 的交付记录已在库中"
                f"（{n} 条）；同一条目、使用部门和日期的记录只导入一次。若本文件是更正后的导出，"
                "请选择以本文件的数为准替换（命令行 --replace，页面勾选“以本文件为准替换”，接口 replace=true）",
                f"rows[{number}].date{en}: deliveries of item {c} of project {p} to {d} on {day} are already "
                f"on record ({n} records); an item, consumer and day is imported once. If this file is a "
                "corrected export, import it as a replacement (--replace, the page's replace box, or replace=true)",
                f"rows[{number}].date",
                {"row": number, "line": line, "day": day, "recorded": n},
            )
        )
    return reasons, more


def _data_rows(path: Path) -> tuple[_Where, Iterator[Row]]:
    """How positions read, and every data row of the file: streamed for CSV."""
    if path.suffix.lower() != ".csv":
        table = read_table(path)
        return _Where(table.line_zh, table.line_en), iter(table.rows)
    return _Where("文件第 {n} 行", "line {n}"), _csv_rows(path)


def _csv_rows(path: Path) -> Iterator[Row]:
    with csv_reader(path) as reader:
        header = [h.strip() for h in next(reader, [])]
        number = 0
        for record in reader:
            if not any(text.strip() for text in record):
                continue
            number += 1
            cells = {k: cell(k, v) for k, v in zip(header, record, strict=False) if k and v.strip()}
            yield Row(number, _first_line(reader, record), cells)

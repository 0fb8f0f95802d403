"""Bulk delivery-evidence import (:mod:`govflow.lifecycle.evidence` through ``services.import_evidence``), on SQLite and
PostgreSQL: sums per item, consumer and day written once; every bad row reported with its path (rows already on
record among them) and nothing written; the same file never twice; ``replace``; header problems; XLSX; the
department scope; a file of 200,000 rows.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from govflow.demo import demo_portfolio
from govflow.lifecycle import evidence, services
from govflow.lifecycle.services import App
from govflow.models import deliveries
from govflow.models.db import unit_of_work
from govflow.models.facts import DEPT, t
from govflow.models.tables import AuditEvent, CatalogItem, DeliveryEvidence, Project
from govflow.settings import Settings
from govflow.states.errors import InvalidInput, NotFound, PermissionDenied, RuleRefused, UsageError

NOW = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
TODAY = NOW.date()
HEADER = "project,catalog,consumer,date,records"
NDRC = "11330000GF00000014"  # 浙江省发展和改革委员会: leads ZJ-2026-005 (xu is its department user)
SAMR = "11330000GF0000003A"
UNKNOWN_DEPT = "91330000MA0000000X"
EV, AUDIT = t(DeliveryEvidence), t(AuditEvent)


@pytest.fixture
def app(engine: Engine, db_url: str) -> Iterator[App]:
    application = App(Settings(database_url=db_url), engine, clock=lambda: NOW)
    services.load_portfolio(application, demo_portfolio(), None)
    yield application


def write_csv(path: Path, lines: Sequence[str], *, bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def recorded(app: App, project: str = "ZJ-2026-005") -> dict[tuple[str, str, str], int]:
    """(catalog code, consumer code, ISO day) → records of one project's evidence."""
    ci, p = t(CatalogItem), t(Project)
    q = (
        select(ci.c.code, DEPT.c.code, EV.c.day, EV.c.records)
        .join(ci, ci.c.id == EV.c.catalog_item_id)
        .join(DEPT, DEPT.c.id == EV.c.consumer_id)
        .join(p, p.c.id == EV.c.project_id)
        .where(p.c.code == project)
    )
    with unit_of_work(app.engine, write=False) as s:
        return {(c, d, day.isoformat()): int(n) for c, d, day, n in s.execute(q)}


def counts(app: App) -> tuple[int, int, int]:
    """(evidence rows, their records, audit events): what an import may change."""
    with unit_of_work(app.engine, write=False) as s:
        rows, records = s.execute(select(func.count(), func.coalesce(func.sum(EV.c.records), 0))).one()
        events = s.execute(select(func.count()).select_from(AUDIT)).scalar_one()
    return int(rows), int(records), int(events)


def reasons_of(exc: pytest.ExceptionInfo[InvalidInput]) -> list[Any]:
    return list(exc.value.reasons)


# ---------------------------------------------------------------------------------------------- good files


def test_rows_are_summed_per_item_consumer_and_day_and_written_next_to_what_is_recorded(
    app: App, tmp_path: Path
) -> None:
    before = recorded(app)
    assert before[("C-001", NDRC, "2026-11-25")] == 1200 + 455  # the demo's own evidence
    path = write_csv(
        tmp_path / "e.csv",
        [
            # columns in another order, a byte-order mark, blank lines, padded cells and a slashed date
            "date,records,project,catalog,consumer",
            f"2026-11-21,100,ZJ-2026-005,C-001,{NDRC}",
            "",
            f"2026/11/21, 20 ,ZJ-2026-005, C-001 ,{NDRC}",
            f"2026-11-26,7,ZJ-2026-005,C-001,{NDRC}",
            f"2026-11-26,0,ZJ-2026-005,C-004,{SAMR}",
            ",,,,",
            f"2026-11-26,3,ZJ-2026-005,C-001,{NDRC}",
        ],
        bom=True,
    )
    _, _, events = counts(app)
    assert services.import_evidence(app, path, "xu") == 3
    after = recorded(app)
    assert {k: v for k, v in after.items() if k not in before} == {
        ("C-001", NDRC, "2026-11-21"): 120,
        ("C-001", NDRC, "2026-11-26"): 10,
        ("C-004", SAMR, "2026-11-26"): 0,
    }
    assert {k: after[k] for k in before} == before
    with unit_of_work(app.engine, write=False) as s:
        notes = [
            n
            for (n,) in s.execute(
                select(AUDIT.c.note).where(AUDIT.c.action == "evidence.import", AUDIT.c.seq > events)
            )
        ]
    assert len(notes) == 1
    assert "e.csv: 5 行, 3 个(条目, 使用部门, 日期), 130 条记录, 项目 ZJ-2026-005" in notes[0]
    assert "SHA-256 " in notes[0]


def test_an_xlsx_sheet_imports_with_typed_cells(app: App, tmp_path: Path) -> None:
    import openpyxl  # type: ignore[import-untyped]

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "交付记录"
    ws.append(["project", "catalog", "consumer", "date", "records"])
    ws.append(["ZJ-2026-005", "C-002", NDRC, dt.date(2026, 11, 6), 300])
    ws.append(["ZJ-2026-005", "C-002", NDRC, dt.datetime(2026, 11, 6), 12.0])
    ws.append([None, None, None, None, None])
    ws.append(["ZJ-2026-005", "C-002", NDRC, "2026/11/13", "5"])
    path = tmp_path / "e.xlsx"
    wb.save(path)
    assert services.import_evidence(app, path, None) == 2
    rows = recorded(app)
    assert rows[("C-002", NDRC, "2026-11-06")] == 312 and rows[("C-002", NDRC, "2026-11-13")] == 5

    # the same sheet grown by a bad row: the rows imported before are on record now, and listed with it
    ws.append(["ZJ-2026-005", "C-002", NDRC, dt.date(2026, 12, 1), -1])
    wb.save(path)
    with pytest.raises(InvalidInput) as exc:
        services.import_evidence(app, path, None)
    found = [(r.path, r.code) for r in reasons_of(exc)]
    assert found == [
        ("rows[1].date", "EVIDENCE_ALREADY_RECORDED"),
        ("rows[2].date", "EVIDENCE_ALREADY_RECORDED"),
        ("rows[3].date", "EVIDENCE_ALREADY_RECORDED"),
        ("rows[4].records", "EVIDENCE_NEGATIVE"),
        ("rows[4].date", "EVIDENCE_IN_FUTURE"),
    ]
    assert "工作表「交付记录」第 2 行" in reasons_of(exc)[0].message
    assert all("工作表「交付记录」第 6 行" in r.message for r in reasons_of(exc)[3:])
    assert recorded(app)[("C-002", NDRC, "2026-11-13")] == 5


def test_a_file_of_200000_rows_imports(app: App, tmp_path: Path) -> None:
    with unit_of_work(app.engine, write=False) as s:
        refs = evidence.References.load(s)
    items = sorted(refs.items)
    consumers = sorted(refs.departments)
    rng = random.Random(4)
    days = [(TODAY - dt.timedelta(days=d)).isoformat() for d in range(300)]
    expected: Counter[tuple[str, str, str, str]] = Counter()
    lines = [HEADER]
    projects = sorted({p for p, _ in items})
    before = {(p, *k): n for p in projects for k, n in recorded(app, p).items()}
    for _ in range(200_000):
        (project, catalog), consumer, day = rng.choice(items), rng.choice(consumers), rng.choice(days)
        if (project, catalog, consumer, day) in before:
            continue  # on record: a row for it would be refused (see the tests below)
        n = rng.randrange(1000)
        expected[(project, catalog, consumer, day)] += n
        lines.append(f"{project},{catalog},{consumer},{day},{n}")
    path = write_csv(tmp_path / "big.csv", lines)
    assert services.import_evidence(app, path, None) == len(expected)
    after = {(p, *k): n for p in projects for k, n in recorded(app, p).items()}
    assert set(after) == set(before) | set(expected)
    assert all(after[k] == n for k, n in expected.items())
    assert all(after[k] == n for k, n in before.items() if k not in expected)


# ---------------------------------------------------------------------------------------------- bad files


def test_every_bad_row_is_reported_with_its_path_and_nothing_is_written(app: App, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        [
            HEADER,
            f"ZJ-2026-005,C-001,{NDRC},2026-11-21,10",  # good
            f"ZJ-2026-099,C-001,{NDRC},2026-11-20,10",  # unknown project
            f"ZJ-2026-005,C-009,{NDRC},2026-11-20,10",  # unknown catalog item of a known project
            f"ZJ-2026-005,C-001,{UNKNOWN_DEPT},2026-11-20,10",  # unknown consumer
            f"ZJ-2026-005,C-001,{NDRC},2026-11-27,10",  # after today
            f"ZJ-2026-005,C-001,{NDRC},2026-11-20,-4",  # negative
            f"ZJ-2026-005,C-001,{NDRC},2026-02-30,10",  # not a date
            f"ZJ-2026-005,C-001,{NDRC},2026-11-20,many",  # not an integer
            "",
            f"ZJ-2026-005,C-001,{NDRC},2026-11-20",  # a missing cell
            f"ZJ-2026-005,C-001,{NDRC},2026-11-20,12.5",  # a fraction
            f"ZJ-2026-005,C-001,{NDRC},2026-11-20,3000000000",  # beyond a 32-bit count
            f"ZJ-2026-099,C-001,{UNKNOWN_DEPT},2026-12-01,-1",  # four problems at once
        ],
    )
    before = counts(app)
    with pytest.raises(InvalidInput) as exc:
        services.import_evidence(app, path, None)
    found = [(r.path, r.code) for r in reasons_of(exc)]
    assert found == [
        ("rows[2].project", "UNKNOWN_PROJECT"),
        ("rows[3].catalog", "UNKNOWN_CATALOG_ITEM"),
        ("rows[4].consumer", "UNKNOWN_DEPARTMENT"),
        ("rows[5].date", "EVIDENCE_IN_FUTURE"),
        ("rows[6].records", "EVIDENCE_NEGATIVE"),
        ("rows[7].date", "SCHEMA"),
        ("rows[8].records", "SCHEMA"),
        ("rows[9].records", "SCHEMA"),
        ("rows[10].records", "SCHEMA"),
        ("rows[11].records", "EVIDENCE_TOO_LARGE"),
        ("rows[12].records", "EVIDENCE_NEGATIVE"),
        ("rows[12].date", "EVIDENCE_IN_FUTURE"),
        ("rows[12].project", "UNKNOWN_PROJECT"),
        ("rows[12].consumer", "UNKNOWN_DEPARTMENT"),
    ]
    by_path = {r.path: r for r in reasons_of(exc)}
    # data row N, and the file line (the header is line 1; the blank line 10 is not a data row)
    assert "（第 2 条数据，文件第 3 行）" in by_path["rows[2].project"].message
    assert "(data row 9, line 11)" in by_path["rows[9].records"].message_en
    assert by_path["rows[9].records"].detail["line"] == 11
    assert all(r.clause and r.message and r.message_en for r in reasons_of(exc))
    assert counts(app) == before


def test_lines_are_counted_across_quoted_line_breaks_and_crlf(app: App, tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    text_ = "\r\n".join(
        [
            HEADER,
            f"ZJ-2026-005,C-001,{NDRC},2026-11-21,1",
            f'"ZJ-2026-005\r\nZJ-2026-006",C-001,{NDRC},2026-11-20,1',
            "",
            f'ZJ-2026-005,"C-001\n",{NDRC},2026-11-20,-2',
        ]
    )
    path.write_bytes(text_.encode())
    with pytest.raises(InvalidInput) as exc:
        services.import_evidence(app, path, None)
    assert [(r.path, r.detail["line"]) for r in reasons_of(exc)] == [
        ("rows[2].project", 3),
        ("rows[3].records", 6),
    ]


def test_a_header_problem_is_reported_before_any_row(app: App, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "h.csv", ["project,catalg,consumer,date,records,records", f"ZJ-2026-005,C-001,{NDRC},x,1"]
    )
    before = counts(app)
    with pytest.raises(InvalidInput) as exc:
        services.import_evidence(app, path, None)
    assert {r.path for r in reasons_of(exc)} == {"columns.catalg", "columns.catalog", "columns.records"}
    typo = next(r for r in reasons_of(exc) if r.path == "columns.catalg")
    assert "catalog" in typo.message_en
    assert counts(app) == before


@pytest.mark.parametrize(
    ("content", "what"),
    [(b"", "empty"), ("project,catalog\n".encode("gbk") + "项目".encode("gbk"), "not UTF-8")],
)
def test_unreadable_files_are_usage_errors(app: App, tmp_path: Path, content: bytes, what: str) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(content)
    with pytest.raises(UsageError) as exc:
        services.import_evidence(app, path, None)
    assert what in exc.value.message_en
    with pytest.raises(UsageError):
        services.import_evidence(app, tmp_path / "missing.csv", None)
    with pytest.raises(UsageError):
        services.import_evidence(app, write_csv(tmp_path / "e.txt", [HEADER]), None)


def test_after_1000_problems_the_rest_are_counted(app: App, tmp_path: Path) -> None:
    lines = [HEADER] + [f"ZJ-2026-005,C-001,{NDRC},2026-11-20,-{n}" for n in range(1, 1501)]
    with pytest.raises(InvalidInput) as exc:
        services.import_evidence(app, write_csv(tmp_path / "many.csv", lines), None)
    reasons = reasons_of(exc)
    assert len(reasons) == evidence.MAX_REASONS + 1
    assert reasons[0].path == "rows[1].records" and reasons[999].path == "rows[1000].records"
    last = reasons[-1]
    assert (last.code, last.path, last.detail["unlisted_rows"]) == ("TOO_MANY_ERRORS", "rows", 500)
    assert "另有 500 行有误" in last.message


# ---------------------------------------------------------------------------------------------- once only


def import_notes(app: App) -> list[str]:
    with unit_of_work(app.engine, write=False) as s:
        q = select(AUDIT.c.note).where(AUDIT.c.action == "evidence.import", AUDIT.c.outcome == "recorded")
        return [str(n) for (n,) in s.execute(q.order_by(AUDIT.c.seq))]


def test_the_same_file_is_refused_the_second_time_naming_when_and_by_whom(app: App, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", [HEADER, f"ZJ-2026-005,C-001,{NDRC},2026-11-21,7"])
    assert services.import_evidence(app, path, "xu") == 1
    before = counts(app)
    again = tmp_path / "export-copy.csv"  # another name, the same bytes
    again.write_bytes(path.read_bytes())
    for file, replace in ((path, False), (again, False), (again, True)):
        with pytest.raises(RuleRefused) as exc:
            services.import_evidence(app, file, "xu", replace=replace)
        assert exc.value.exit_code == 3 and not isinstance(exc.value, InvalidInput)
        [reason] = exc.value.reasons
        assert reason.code == "EVIDENCE_FILE_ALREADY_IMPORTED"
        assert "已于 2026-11-26 10:00（北京时间）由 xu 导入" in reason.message
        assert "on 2026-11-26 10:00 (Beijing time) by xu" in reason.message_en
        assert reason.detail["imported_by"] == "xu" and len(reason.detail["sha256"]) == 64
        assert counts(app) == before
    assert recorded(app)[("C-001", NDRC, "2026-11-21")] == 7


def test_two_imports_of_one_file_at_once_record_it_once(app: App, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [HEADER, f"ZJ-2026-005,C-001,{NDRC},2026-11-21,7"])

    def attempt(_: int) -> str:
        try:
            services.import_evidence(app, path, None)
        except RuleRefused as exc:
            return exc.reasons[0].code
        return "imported"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(attempt, range(2)))
    assert outcomes == ["EVIDENCE_FILE_ALREADY_IMPORTED", "imported"]
    assert recorded(app)[("C-001", NDRC, "2026-11-21")] == 7
    assert len(import_notes(app)) == 1


def test_rows_already_on_record_are_refused_and_nothing_is_written(app: App, tmp_path: Path) -> None:
    before = counts(app)
    # a later export that overlaps the demo's last day: the new days would be fine, the recorded one is not
    path = write_csv(
        tmp_path / "overlap.csv",
        [
            HEADER,
            f"ZJ-2026-005,C-001,{NDRC},2026-11-25,1655",  # on record (1200 + 455)
            f"ZJ-2026-005,C-001,{NDRC},2026-11-26,40",
            f"ZJ-2026-005,C-004,{NDRC},2026-11-25,71",  # on record
            f"ZJ-2026-005,C-004,{NDRC},2026-11-25,1",  # the same key again: each row is named
        ],
    )
    with pytest.raises(InvalidInput) as exc:
        services.import_evidence(app, path, None)
    assert [(r.path, r.code, r.detail["recorded"]) for r in reasons_of(exc)] == [
        ("rows[1].date", "EVIDENCE_ALREADY_RECORDED", 1655),
        ("rows[3].date", "EVIDENCE_ALREADY_RECORDED", 71),
        ("rows[4].date", "EVIDENCE_ALREADY_RECORDED", 71),
    ]
    first = reasons_of(exc)[0]
    assert first.message.startswith(
        "rows[1].date（第 1 条数据，文件第 2 行）：项目 ZJ-2026-005 目录条目 C-001"
    )
    assert "2026-11-25" in first.message and "--replace" in first.message
    assert "already on record (1655 records)" in first.message_en
    assert counts(app) == before  # not even the new day


def test_rows_on_record_are_listed_with_every_other_bad_row(app: App, tmp_path: Path) -> None:
    before = counts(app)
    path = write_csv(
        tmp_path / "mixed.csv",
        [
            HEADER,
            f"ZJ-2026-005,C-001,{NDRC},2026-11-27,5",  # after today
            f"ZJ-2026-005,C-001,{NDRC},2026-11-20,5",  # on record
            f"ZJ-2026-005,C-009,{NDRC},2026-11-21,5",  # unknown catalog item
            f"ZJ-2026-005,C-001,{NDRC},2026-11-21,5",  # good
            f"ZJ-2026-005,C-004,{NDRC},2026-11-24,x",  # not a number
        ],
    )
    for replace in (False, True):
        with pytest.raises(InvalidInput) as exc:
            services.import_evidence(app, path, None, replace=replace)
        found = [(r.path, r.code) for r in reasons_of(exc)]
        on_record = [("rows[2].date", "EVIDENCE_ALREADY_RECORDED")] if not replace else []
        assert found == [
            ("rows[1].date", "EVIDENCE_IN_FUTURE"),
            *on_record,
            ("rows[3].catalog", "UNKNOWN_CATALOG_ITEM"),
            ("rows[5].records", "SCHEMA"),
        ]
        assert counts(app) == before


def test_replace_puts_the_files_numbers_in_place_of_the_recorded_ones(app: App, tmp_path: Path) -> None:
    before = recorded(app)
    path = write_csv(
        tmp_path / "corrected.csv",
        [
            HEADER,
            f"ZJ-2026-005,C-001,{NDRC},2026-11-24,1700",  # on record: 1764
            f"ZJ-2026-005,C-001,{NDRC},2026-11-24,60",
            f"ZJ-2026-005,C-001,{NDRC},2026-11-25,1650",  # on record: 1655
            f"ZJ-2026-005,C-001,{NDRC},2026-11-26,9",  # new
        ],
    )
    assert services.import_evidence(app, path, "xu", replace=True) == 3
    after = recorded(app)
    assert after[("C-001", NDRC, "2026-11-24")] == 1760
    assert after[("C-001", NDRC, "2026-11-25")] == 1650
    assert after[("C-001", NDRC, "2026-11-26")] == 9
    assert {k: v for k, v in after.items() if k[2] not in ("2026-11-24", "2026-11-25", "2026-11-26")} == {
        k: v for k, v in before.items() if k[2] not in ("2026-11-24", "2026-11-25")
    }
    [note] = import_notes(app)
    assert "3 个(条目, 使用部门, 日期), 其中 2 个替换原有记录 (--replace), 3419 条记录" in note


def test_rows_on_record_beyond_1000_problems_are_counted(app: App, tmp_path: Path) -> None:
    lines = [HEADER] + [f"ZJ-2026-005,C-001,{NDRC},2026-11-20,1"] * 1500
    with pytest.raises(InvalidInput) as exc:
        services.import_evidence(app, write_csv(tmp_path / "again.csv", lines), None)
    reasons = reasons_of(exc)
    assert len(reasons) == evidence.MAX_REASONS + 1
    assert {r.code for r in reasons[:-1]} == {"EVIDENCE_ALREADY_RECORDED"}
    assert reasons[-1].code == "TOO_MANY_ERRORS" and reasons[-1].detail["unlisted_rows"] == 500


# ---------------------------------------------------------------------------------------------- permissions


def test_a_department_imports_only_for_its_projects_and_learns_nothing_of_others(
    app: App, tmp_path: Path
) -> None:
    ok = write_csv(tmp_path / "ok.csv", [HEADER, f"ZJ-2026-005,C-001,{NDRC},2026-11-21,1"])
    assert services.import_evidence(app, ok, "xu") == 1  # xu's department leads ZJ-2026-005
    with pytest.raises(
        NotFound
    ) as denied:  # 自然资源厅 takes no part in it: told as for a project that does not exist
        services.import_evidence(app, ok, "lin")
    assert denied.value.message == "项目 ZJ-2026-005 不存在"
    # a foreign project's rows are refused as if it did not exist, not explained row by row
    probing = write_csv(
        tmp_path / "probe.csv",
        [HEADER, f"ZJ-2026-003,C-001,{NDRC},2026-11-20,1", f"ZJ-2026-003,C-077,{NDRC},2026-11-20,1"],
    )
    with pytest.raises(NotFound, match="项目 ZJ-2026-003 不存在"):
        services.import_evidence(app, probing, "xu")
    with pytest.raises(PermissionDenied) as no_role:
        services.import_evidence(app, ok, "qian")  # finance may not import at all
    assert no_role.value.reasons[0].code == "PERMISSION_DENIED"
    with unit_of_work(app.engine, write=False) as s:
        denials = s.execute(
            select(AUDIT.c.actor, AUDIT.c.project_code)
            .where(AUDIT.c.kind == "security", AUDIT.c.action == "evidence.import")
            .order_by(AUDIT.c.seq)
        ).all()
    assert [tuple(d) for d in denials] == [("lin", "ZJ-2026-005"), ("xu", "ZJ-2026-003"), ("qian", None)]


# ---------------------------------------------------------------------------------------------- last delivery


def last_days(app: App) -> tuple[dict[tuple[int, int], dt.date], dict[tuple[int, int], dt.date]]:
    """(what ``last_delivery`` holds, what the evidence says it should)."""
    with app.engine.connect() as conn:
        return deliveries.held(conn), deliveries.derived(conn)


def c001_last_day(app: App) -> dt.date | None:
    ci, p = t(CatalogItem), t(Project)
    last = deliveries.LAST
    q = (
        select(last.c.day)
        .join(ci, ci.c.id == last.c.catalog_item_id)
        .join(p, p.c.id == ci.c.project_id)
        .join(DEPT, DEPT.c.id == last.c.consumer_id)
        .where(p.c.code == "ZJ-2026-005", ci.c.code == "C-001", DEPT.c.code == NDRC)
    )
    with unit_of_work(app.engine, write=False) as s:
        return s.execute(q).scalar_one_or_none()


def test_every_write_of_evidence_keeps_the_last_delivery_of_each_item_and_consumer(
    app: App, tmp_path: Path
) -> None:
    """The board's coverage chart reads each (item, consumer)'s last day with records from ``last_delivery``: it
    must equal what the evidence says after the portfolio's load, an import, a refused import and a ``--replace``
    that moves the last day earlier (a day set to 0 records) or removes it."""
    held, derived = last_days(app)
    assert held == derived and held  # the demo portfolio's own evidence
    assert c001_last_day(app) == dt.date(2026, 11, 25)

    later = write_csv(tmp_path / "later.csv", [HEADER, f"ZJ-2026-005,C-001,{NDRC},2026-11-26,9"])
    services.import_evidence(app, later, "xu")
    held, derived = last_days(app)
    assert held == derived and c001_last_day(app) == dt.date(2026, 11, 26)

    refused = write_csv(  # one row on record: nothing is written, the last day does not move
        tmp_path / "refused.csv",
        [HEADER, f"ZJ-2026-005,C-001,{NDRC},2026-11-27,5", f"ZJ-2026-005,C-001,{NDRC},2026-11-26,1"],
    )
    with pytest.raises(InvalidInput):
        services.import_evidence(app, refused, "xu")
    assert last_days(app)[0] == held and c001_last_day(app) == dt.date(2026, 11, 26)

    zeroed = write_csv(  # the platform's correction: nothing was delivered on the 26th nor the 25th
        tmp_path / "zeroed.csv",
        [HEADER, f"ZJ-2026-005,C-001,{NDRC},2026-11-26,0", f"ZJ-2026-005,C-001,{NDRC},2026-11-25,0"],
    )
    services.import_evidence(app, zeroed, "xu", replace=True)
    held, derived = last_days(app)
    assert held == derived and c001_last_day(app) == dt.date(2026, 11, 24)

    every_day = sorted({day for (_, _, day) in recorded(app)})
    wiped = write_csv(  # every day of the pair set to 0: the pair has no last delivery at all
        tmp_path / "wiped.csv",
        [HEADER]
        + [
            f"ZJ-2026-005,C-001,{NDRC},{day},0"
            for day in every_day
            if (("C-001", NDRC, day) in recorded(app))
        ],
    )
    services.import_evidence(app, wiped, "xu", replace=True)
    held, derived = last_days(app)
    assert held == derived and c001_last_day(app) is None

    # --replace naming only keys not on record: nothing replaced, the last day raised as by a first import
    day = dt.date.fromisoformat(min(every_day)) - dt.timedelta(days=1)
    assert ("C-001", NDRC, day.isoformat()) not in recorded(app)
    fresh = write_csv(tmp_path / "fresh.csv", [HEADER, f"ZJ-2026-005,C-001,{NDRC},{day.isoformat()},4"])
    assert services.import_evidence(app, fresh, "xu", replace=True) == 1
    held, derived = last_days(app)
    assert held == derived and c001_last_day(app) == day

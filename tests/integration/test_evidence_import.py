"""Bulk delivery-evidence import (:mod:`govflow.evidence` through ``services.import_evidence``), on SQLite and
PostgreSQL: sums per item, consumer and day added to what is recorded; every bad row reported with its path
and nothing written; header problems; XLSX; the department scope; a file of 200,000 rows.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from govflow import evidence, services
from govflow.demo import demo_portfolio
from govflow.services import App
from govflow.settings import Settings
from models.db import unit_of_work
from models.facts import DEPT, t
from models.tables import AuditEvent, CatalogItem, DeliveryEvidence, Project
from states.errors import InvalidInput, PermissionDenied, UsageError

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


def test_rows_are_summed_per_item_consumer_and_day_and_added_to_what_is_recorded(
    app: App, tmp_path: Path
) -> None:
    before = recorded(app)
    assert before[("C-001", NDRC, "2026-11-25")] == 1200 + 455  # the demo's own evidence
    path = write_csv(
        tmp_path / "e.csv",
        [
            # columns in another order, a byte-order mark, blank lines, padded cells and a slashed date
            "date,records,project,catalog,consumer",
            f"2026-11-25,100,ZJ-2026-005,C-001,{NDRC}",
            "",
            f"2026/11/25, 20 ,ZJ-2026-005, C-001 ,{NDRC}",
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
    assert after[("C-001", NDRC, "2026-11-25")] == 1200 + 455 + 120
    assert after[("C-001", NDRC, "2026-11-26")] == 10
    assert after[("C-004", SAMR, "2026-11-26")] == 0
    assert {k: v for k, v in after.items() if k not in before} == {
        ("C-001", NDRC, "2026-11-26"): 10,
        ("C-004", SAMR, "2026-11-26"): 0,
    }
    # the same file again adds again (an export is imported once; the import does not guess duplicates)
    assert services.import_evidence(app, path, "xu") == 3
    assert recorded(app)[("C-001", NDRC, "2026-11-26")] == 20
    with unit_of_work(app.engine, write=False) as s:
        notes = [
            n
            for (n,) in s.execute(
                select(AUDIT.c.note).where(AUDIT.c.action == "evidence.import", AUDIT.c.seq > events)
            )
        ]
    assert len(notes) == 2
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

    ws.append(["ZJ-2026-005", "C-002", NDRC, dt.date(2026, 12, 1), -1])
    wb.save(path)
    with pytest.raises(InvalidInput) as exc:
        services.import_evidence(app, path, None)
    found = {(r.path, r.code) for r in reasons_of(exc)}
    assert found == {("rows[4].records", "EVIDENCE_NEGATIVE"), ("rows[4].date", "EVIDENCE_IN_FUTURE")}
    assert all("工作表「交付记录」第 6 行" in r.message for r in reasons_of(exc))
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
    for _ in range(200_000):
        (project, catalog), consumer, day = rng.choice(items), rng.choice(consumers), rng.choice(days)
        n = rng.randrange(1000)
        expected[(project, catalog, consumer, day)] += n
        lines.append(f"{project},{catalog},{consumer},{day},{n}")
    path = write_csv(tmp_path / "big.csv", lines)
    projects = sorted({p for p, _ in items})
    before = {(p, *k): n for p in projects for k, n in recorded(app, p).items()}
    assert services.import_evidence(app, path, None) == len(expected)
    after = {(p, *k): n for p in projects for k, n in recorded(app, p).items()}
    assert set(after) == set(before) | set(expected)
    assert all(after[k] == before.get(k, 0) + n for k, n in expected.items())
    assert all(after[k] == n for k, n in before.items() if k not in expected)


# ---------------------------------------------------------------------------------------------- bad files


def test_every_bad_row_is_reported_with_its_path_and_nothing_is_written(app: App, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        [
            HEADER,
            f"ZJ-2026-005,C-001,{NDRC},2026-11-20,10",  # good
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
            f"ZJ-2026-005,C-001,{NDRC},2026-11-20,1",
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


# ---------------------------------------------------------------------------------------------- permissions


def test_a_department_imports_only_for_its_projects_and_learns_nothing_of_others(
    app: App, tmp_path: Path
) -> None:
    ok = write_csv(tmp_path / "ok.csv", [HEADER, f"ZJ-2026-005,C-001,{NDRC},2026-11-20,1"])
    assert services.import_evidence(app, ok, "xu") == 1  # xu's department leads ZJ-2026-005
    with pytest.raises(PermissionDenied) as denied:
        services.import_evidence(app, ok, "lin")  # 自然资源厅 takes no part in it
    assert denied.value.reasons[0].code == "OUT_OF_DEPARTMENT"
    # a foreign project's rows are refused for the permission, not explained row by row
    probing = write_csv(
        tmp_path / "probe.csv",
        [HEADER, f"ZJ-2026-003,C-001,{NDRC},2026-11-20,1", f"ZJ-2026-003,C-077,{NDRC},2026-11-20,1"],
    )
    with pytest.raises(PermissionDenied):
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

"""Calendar years as data (SPEC §4): an administrator imports a year from the State Council notice, validated
whole; every process reads it from the database; a deadline that reaches into it is counted, not refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from govflow.cli import app as cli_app
from govflow.demo import demo_portfolio
from govflow.governance.calendar_years import known_years
from govflow.lifecycle.services import App
from govflow.models.db import make_engine
from govflow.settings import Settings

FICTIONAL_2027 = Path(__file__).resolve().parents[1] / "data" / "calendar-2027-fictional.yaml"


def govflow(db_url: str, *args: str | Path) -> Result:
    return CliRunner().invoke(
        cli_app, [str(a) for a in args], env={"GOVFLOW_DATABASE_URL": db_url, "GOVFLOW_CALENDAR_FILE": None}
    )


def ok_json(db_url: str, *args: str | Path) -> Any:
    result = govflow(db_url, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def admin_db(db_url: str) -> str:
    assert govflow(db_url, "user", "add", "root", "--role", "admin").exit_code == 0
    assert govflow(db_url, "user", "add", "clerk9", "--role", "program_office").exit_code == 0
    return db_url


def _document(tmp_path: Path, change: Any = None) -> Path:
    doc = yaml.safe_load(FICTIONAL_2027.read_text(encoding="utf-8"))
    if change:
        change(doc["years"][2027])
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps(doc, default=str, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_deadline_into_next_year_is_counted_once_the_year_is_imported(admin_db: str) -> None:
    missing = govflow(admin_db, "calendar", "add-workdays", "2026-12-04", "20", "--json")
    assert missing.exit_code == 3 and "2027" in missing.output and "govflow calendar import" in missing.output

    imported = ok_json(admin_db, "calendar", "import", FICTIONAL_2027, "--as", "root")["imported"]
    assert [(y["year"], y["origin"], y["imported_by"]) for y in imported] == [(2027, "imported", "root")]
    assert imported[0]["source"].startswith("测试用虚构安排")

    # 2026-12-04 + 20 working days: December's 19 remaining working days, then 2027-01-01..03 are days off
    after = ok_json(admin_db, "calendar", "add-workdays", "2026-12-04", "20")
    assert after["date"] == "2027-01-04"
    assert {"date": "2027-01-01", "kind": "holiday"} in after["skipped"]

    years = {y["year"]: y for y in ok_json(admin_db, "calendar", "years")}
    assert years[2026]["origin"] == "package" and years[2027]["origin"] == "imported"
    assert years[2027]["holidays"] == 28 and years[2027]["workdays"] == 5

    trail = ok_json(admin_db, "audit", "verify")
    assert trail["ok"] is True


def test_the_nightly_run_on_the_real_date_completes_after_the_import(admin_db: str) -> None:
    assert govflow(admin_db, "load", demo_portfolio()).exit_code == 0
    assert govflow(admin_db, "calendar", "import", FICTIONAL_2027, "--as", "root").exit_code == 0
    run = ok_json(admin_db, "run", "all", "--as-of", "2026-12-04", "--no-prefect")
    orders = ok_json(admin_db, "order", "list")
    assert orders, run
    assert all(o["deadline"] is not None and o["deadline"] > "2026-12-04" for o in orders)
    assert any(o["deadline"].startswith("2027-") for o in orders)


def test_the_nightly_run_on_the_real_date_completes_before_the_import_and_dates_after_it(
    admin_db: str,
) -> None:
    """Issue 11: a missing year stops nothing else. On 2026-12-04 without 2027 the orders are issued with
    their deadline pending (期限待定) and ``run all`` exits 0; the first run after the import dates them from
    their notice date and notifies; reminders follow."""
    assert govflow(admin_db, "load", demo_portfolio()).exit_code == 0
    run = ok_json(admin_db, "run", "all", "--as-of", "2026-12-04", "--no-prefect")
    assert run["results"]["deadlines"]["pending"] == run["results"]["deadlines"]["orders_issued"] > 0
    pending = [o for o in ok_json(admin_db, "order", "list") if o["notice_date"] == "2026-12-04"]
    assert pending and all(o["deadline"] is None and o["deadline_label"] == "期限待定" for o in pending)
    shown = CliRunner().invoke(
        cli_app,
        ["order", "show", pending[0]["code"]],
        env={"GOVFLOW_DATABASE_URL": admin_db, "GOVFLOW_CALENDAR_FILE": None, "COLUMNS": "300"},
    )
    assert shown.exit_code == 0 and "期限待定" in shown.stdout and "2027 年工作日历尚未导入" in shown.stdout

    assert govflow(admin_db, "calendar", "import", FICTIONAL_2027, "--as", "root").exit_code == 0
    run = ok_json(admin_db, "run", "all", "--as-of", "2026-12-07", "--no-prefect")
    assert run["results"]["deadlines"]["dated"] == len(pending)
    dated = {o["code"]: o for o in ok_json(admin_db, "order", "list") if o["notice_date"] == "2026-12-04"}
    assert {o["deadline"] for o in dated.values()} == {"2027-01-04"}  # 20 working days after 12-04
    assert all(o["original_deadline"] == "2027-01-04" and o["pending_from"] is None for o in dated.values())
    order = ok_json(admin_db, "order", "show", pending[0]["code"])
    assert [s["kind"] for s in order["steps"]][-1] == "dated"
    # 5 working days before 2027-01-04 is 2026-12-28
    run = ok_json(admin_db, "run", "deadlines", "--as-of", "2026-12-28", "--no-prefect")
    assert run["reminders"] >= len(pending)
    for code in dated:
        steps = ok_json(admin_db, "order", "show", code)["steps"]
        assert [s["key"] for s in steps if s["kind"] == "reminder"] == [f"{code}/reminder-5"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda y: y.update(holidays=[d for d in y["holidays"] if d.month != 2]), "缺少春节"),
        (lambda y: y.update(holidays=[d for d in y["holidays"] if d.month != 10]), "缺少国庆节"),
        (lambda y: y["workdays"].append("2027-10-02"), "2027-10-02"),  # a statutory day worked
        (lambda y: y["workdays"].append("2027-03-03"), "不是周六或周日"),  # a make-up day on a Wednesday
        (lambda y: y["holidays"].append("2028-01-01"), "不属于 2027 年"),
        (lambda y: y["holidays"].append("2027-01-01"), "重复出现"),
        (lambda y: y.update(source=""), "source"),
    ],
    ids=[
        "no-spring-festival",
        "no-national-day",
        "statutory-day-worked",
        "weekday-makeup",
        "other-year",
        "twice",
        "no-source",
    ],
)
def test_a_year_that_breaks_the_regulation_is_refused_whole(
    admin_db: str, tmp_path: Path, change: Any, named: str
) -> None:
    path = _document(tmp_path, change)
    if named == "source":  # the year's source is blank, and there is no document-wide one to fall back on
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc.pop("source")
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = govflow(admin_db, "calendar", "import", path, "--as", "root")
    assert result.exit_code == 2, result.output
    assert named in result.output, result.output
    assert [y["year"] for y in ok_json(admin_db, "calendar", "years") if y["origin"] == "imported"] == []


def test_only_an_administrator_imports(admin_db: str) -> None:
    result = govflow(admin_db, "calendar", "import", FICTIONAL_2027, "--as", "clerk9")
    assert result.exit_code == 3 and "管理工作日历" in result.output, result.output
    assert [y for y in ok_json(admin_db, "calendar", "years") if y["year"] == 2027] == []


def test_every_process_reads_the_same_years_and_a_running_one_notices_an_import(
    admin_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = App(
        Settings(database_url=admin_db), make_engine(admin_db)
    )  # e.g. the web server, started first
    monkeypatch.setattr(App, "CALENDAR_RECHECK_SECONDS", 0.0)
    try:
        assert 2027 not in running.calendar.years
        assert govflow(admin_db, "calendar", "import", FICTIONAL_2027, "--as", "root").exit_code == 0
        assert 2027 in running.calendar.years  # another process imported it
        assert re.search(r"2027（测试用虚构安排", running.calendar.source)
        assert [y.year for y in known_years(running, "clerk9") if y.origin == "imported"] == [2027]
    finally:
        running.engine.dispose()


# ---------------------------------------------------------------------------------------------- warned in time


def _app(db_url: str, **settings: Any) -> App:
    return App(Settings(database_url=db_url, calendar_file=None, **settings), make_engine(db_url))


def _alarms(app: App) -> list[tuple[str, str, dict[str, Any]]]:
    from sqlalchemy import select

    from govflow.models.db import unit_of_work
    from govflow.models.facts import t
    from govflow.models.tables import OutboxMessage

    box = t(OutboxMessage)
    with unit_of_work(app.engine, write=False) as s:
        rows = s.execute(
            select(box.c.key, box.c.recipients_role, box.c.payload)
            .where(box.c.topic == "alarm.calendar.upcoming")
            .order_by(box.c.key)
        )
        return [(str(k), str(r), dict(p)) for k, r, p in rows]


def test_from_november_the_admin_and_the_program_office_are_warned_daily_until_the_import(
    admin_db: str,
) -> None:
    from datetime import date

    from govflow.governance.calendar_years import calendar_warning, run_calendar_check

    app = _app(admin_db)
    try:
        assert calendar_warning(app, date(2026, 10, 31)) is None  # before 1 November: nothing yet
        assert run_calendar_check(app, date(2026, 10, 31)).alarms == 0
        warning = calendar_warning(app, date(2026, 11, 1))
        assert warning is not None and (warning.year, warning.urgent) == (2027, False)
        assert "2027" in warning.message() and "govflow calendar import" in warning.message()

        first = run_calendar_check(app, date(2026, 12, 4))
        assert first.to_dict() == {
            "flow": "calendar",
            "as_of": "2026-12-04",
            "missing_year": 2027,
            "alarms": 2,
        }
        assert run_calendar_check(app, date(2026, 12, 4)).alarms == 0  # once a day, however often it runs
        assert run_calendar_check(app, date(2026, 12, 5)).alarms == 2  # and again the next day
        alarms = _alarms(app)
        assert sorted({role for _, role, _ in alarms}) == ["admin", "program_office"]
        assert [k for k, _, _ in alarms if k.endswith("/admin")] == [
            "alarm/calendar-upcoming/2027/2026-12-04/admin",
            "alarm/calendar-upcoming/2027/2026-12-05/admin",
        ]
        assert alarms[0][2]["year"] == 2027 and "2027" in alarms[0][2]["message"]

        # a new year without its calendar: urgent
        urgent = calendar_warning(app, date(2027, 1, 4))
        assert urgent is not None and (urgent.year, urgent.urgent) == (2027, True)
    finally:
        app.engine.dispose()

    assert govflow(admin_db, "calendar", "import", FICTIONAL_2027, "--as", "root").exit_code == 0
    app = _app(admin_db)
    try:
        assert calendar_warning(app, date(2026, 12, 6)) is None
        assert run_calendar_check(app, date(2026, 12, 6)).alarms == 0
        # 2028 is the next to warn about, from 1 November 2027
        later = calendar_warning(app, date(2027, 11, 1))
        assert later is not None and later.year == 2028
    finally:
        app.engine.dispose()


def test_the_warning_day_is_configurable(admin_db: str) -> None:
    from datetime import date

    from govflow.governance.calendar_years import calendar_warning

    app = _app(admin_db, calendar_warn_from="12-15")
    try:
        assert calendar_warning(app, date(2026, 12, 4)) is None
        assert calendar_warning(app, date(2026, 12, 15)) is not None
    finally:
        app.engine.dispose()
    bad = govflow(admin_db, "calendar", "years", "--as", "root")
    assert bad.exit_code == 0
    refused = CliRunner().invoke(
        cli_app,
        ["calendar", "years"],
        env={"GOVFLOW_DATABASE_URL": admin_db, "GOVFLOW_CALENDAR_WARN_FROM": "13-40"},
    )
    assert refused.exit_code == 2 and "GOVFLOW_CALENDAR_WARN_FROM" in refused.output, refused.output


def test_the_nightly_run_warns_first(admin_db: str) -> None:
    run = ok_json(admin_db, "run", "all", "--as-of", "2026-11-02", "--no-prefect")
    assert next(iter(run["results"])) == "calendar"
    assert run["results"]["calendar"]["missing_year"] == 2027
    assert run["results"]["calendar"]["alarms"] == 2


def test_an_uploaded_file_is_checked_and_imported_like_the_command(admin_db: str, tmp_path: Path) -> None:
    from sqlalchemy import select

    from govflow.governance.calendar_years import import_calendar_upload
    from govflow.models.facts import t
    from govflow.models.tables import AuditEvent
    from govflow.states.errors import PermissionDenied, UsageError

    app = _app(admin_db)
    try:
        bad = _document(tmp_path, lambda y: y.update(holidays=[d for d in y["holidays"] if d.month != 2]))
        # the permission comes first: a program office user learns nothing about the file it may not import
        with pytest.raises(PermissionDenied):
            import_calendar_upload(app, "2027.json", bad.read_bytes(), "clerk9")
        with pytest.raises(UsageError, match="缺少春节"):
            import_calendar_upload(app, "2027.json", bad.read_bytes(), "root")
        with pytest.raises(UsageError, match="UTF-8"):
            import_calendar_upload(app, "2027.yaml", "years: {}".encode("gbk") + b"\xff", "root")
        with pytest.raises(UsageError, match=r"\.yaml"):
            import_calendar_upload(app, "2027.txt", FICTIONAL_2027.read_bytes(), "root")
        assert 2027 not in app.calendar.years
        done = import_calendar_upload(app, "2027.yaml", FICTIONAL_2027.read_bytes(), "root")
        assert [(y.year, y.imported_by) for y in done] == [(2027, "root")]
        assert 2027 in app.calendar.years
        with app.engine.connect() as conn:
            notes = [
                str(n)
                for (n,) in conn.execute(
                    select(t(AuditEvent).c.note).where(t(AuditEvent).c.action == "calendar.import")
                )
            ]
        assert len(notes) == 1 and notes[0].startswith("2027.yaml：导入 2027 年工作日历"), notes
    finally:
        app.engine.dispose()

"""Calendar years as data (SPEC §4): the administrator imports a year's holidays and 调休 workdays from the State
Council notice; every process reads them from the database. A year is validated whole before anything is
written, and the import is an audited data change."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any

import chinese_calendar  # type: ignore[import-untyped]
from sqlalchemy import delete, insert, select

from govflow.governance.outbox import enqueue
from govflow.lifecycle.materials import settle_due_dates
from govflow.lifecycle.services import App, authorize, get_actor, record_change, use_case
from govflow.models.calendars import CAL
from govflow.models.db import unit_of_work
from govflow.states.calendar import YearData, load_calendar_file, parse_calendar, statutory_problems
from govflow.states.errors import UsageError
from govflow.states.permissions import Role

ORIGIN_PACKAGE = "package"
ORIGIN_IMPORTED = "imported"
ORIGIN_FILE = "file"


@dataclass(frozen=True)
class KnownYear:
    """One year the working-day calendar can count in, and where its data comes from."""

    year: int
    origin: str  # package | imported | file
    source: str
    holidays: int
    workdays: int
    imported_by: str | None = None
    imported_at: datetime | None = None

    def origin_label(self, lang: str = "zh") -> str:
        zh, en = {
            ORIGIN_PACKAGE: ("随程序发布", "packaged"),
            ORIGIN_IMPORTED: ("管理员导入", "imported"),
            ORIGIN_FILE: ("覆盖文件（测试用）", "override file (tests)"),
        }[self.origin]
        return en if lang == "en" else zh


def _digest(data: YearData) -> str:
    body = {
        "holidays": [d.isoformat() for d in data.holidays],
        "workdays": [d.isoformat() for d in data.workdays],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _problems(years: dict[int, YearData]) -> list[str]:
    problems: list[str] = []
    for data in years.values():
        if not data.source:
            problems.append(
                f"{data.year} 年缺少 source：须写明通知的标题和文号（如《国务院办公厅关于{data.year}年部分节假日安排的"
                f"通知》国办发明电〔…〕…号） / year {data.year} lacks 'source': the notice's title and number"
            )
        problems.extend(statutory_problems(data))
    return problems


@use_case
def import_calendar(app: App, path: Path, actor_name: str | None) -> list[KnownYear]:
    """Import the calendar file at ``path`` (see :func:`_store`)."""
    _may_import(app, actor_name)
    return _store(app, load_calendar_file(path), actor_name, shown=path)


@use_case
def import_calendar_upload(app: App, name: str, content: bytes, actor_name: str | None) -> list[KnownYear]:
    """Import an uploaded calendar document (the admin page): ``name`` is the uploaded file's name."""
    _may_import(app, actor_name)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"日历文件 {name} 不是 UTF-8 文本：{exc}", f"calendar file {name} is not UTF-8 text: {exc}"
        ) from exc
    return _store(app, parse_calendar(text, name), actor_name, shown=name)


def _may_import(app: App, actor_name: str | None) -> None:
    """The permission first (a denial is audited), before a file the actor may not import is read at all."""
    with unit_of_work(app.engine, write=False) as s:
        authorize(app, s, get_actor(s, actor_name), "calendar.admin")


def _store(
    app: App, years: dict[int, YearData], actor_name: str | None, *, shown: Path | str
) -> list[KnownYear]:
    """Validate every year of a parsed calendar document (``shown`` names it in messages) and store them all, or
    none: each statutory day of 《全国年节及纪念日放假办法》 inside a holiday period, make-up workdays only on
    weekends, no date twice, nothing outside its year, and the notice named as the source. A year imported again
    is replaced (the trail keeps both)."""
    path, name = shown, PurePath(shown).name
    if not years:
        raise UsageError(f"日历文件 {path} 没有任何年份", f"calendar file {path} holds no year")
    problems = _problems(years)
    if problems:
        raise UsageError(
            f"日历文件 {path} 未导入（全部年份均未写入）：\n  - "
            + "\n  - ".join(p.split(" / ")[0] for p in problems),
            f"calendar file {path} not imported (no year written):\n  - "
            + "\n  - ".join(p.split(" / ")[-1] for p in problems),
        )
    now = app.clock()
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "calendar.admin")
        s.execute(delete(CAL).where(CAL.c.year.in_(list(years))))
        rows = [
            {
                "year": data.year,
                "holidays": [d.isoformat() for d in data.holidays],
                "workdays": [d.isoformat() for d in data.workdays],
                "source": data.source,
                "digest": _digest(data),
                "imported_by": actor.name,
                "imported_at": now,
            }
            for data in years.values()
        ]
        s.execute(insert(CAL), rows)
        for data in years.values():
            note = (
                f"{name}：导入 {data.year} 年工作日历（放假 {len(data.holidays)} 天，调休上班 "
                f"{len(data.workdays)} 天；依据 {data.source}；{_digest(data)[:12]}）"
            )
            record_change(app, s, actor, "calendar.import", at=now, note=note)
    app.forget_calendar()
    # due dates on days off in these years (and late in the year before) move to the next working day
    with unit_of_work(app.engine) as s:
        settle_due_dates(s, app.calendar, between=(date(min(years) - 1, 12, 1), date(max(years), 12, 31)))
    return [y for y in known_years(app, actor_name) if y.year in years]


@use_case
def known_years(app: App, actor_name: str | None = None) -> list[KnownYear]:
    """Every year the calendar can count in, with its source: the packaged official data, the imported years
    (replacing the package's for the same year) and any test override file's."""
    by_year: dict[int, KnownYear] = {}
    package_years: dict[int, tuple[int, int]] = {}
    for d in chinese_calendar.holidays:
        h, w = package_years.get(d.year, (0, 0))
        package_years[d.year] = (h + 1, w)
    for d in chinese_calendar.workdays:
        h, w = package_years.get(d.year, (0, 0))
        package_years[d.year] = (h, w + 1)
    package_source = app.calendar.source.split(" + ")[0]
    for year, (h, w) in package_years.items():
        by_year[year] = KnownYear(year, ORIGIN_PACKAGE, package_source, h, w)
    with unit_of_work(app.engine, write=False) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "calendar.read")
        for r in s.execute(select(CAL).order_by(CAL.c.year)):
            by_year[int(r.year)] = KnownYear(
                int(r.year),
                ORIGIN_IMPORTED,
                str(r.source),
                len(r.holidays),
                len(r.workdays),
                r.imported_by,
                r.imported_at,
            )
    if app.settings.calendar_file is not None:
        for year, data in load_calendar_file(app.settings.calendar_file).items():
            by_year[year] = KnownYear(
                year,
                ORIGIN_FILE,
                data.source or str(app.settings.calendar_file),
                len(data.holidays),
                len(data.workdays),
            )
    return [by_year[y] for y in sorted(by_year)]


# ---------------------------------------------------------------------------------------------- warned in time


@dataclass(frozen=True)
class CalendarWarning:
    """Next year's (or this year's) holiday arrangement is not in the calendar yet: deadlines reaching into it
    stay pending (期限待定) until an administrator imports it."""

    year: int
    #: the year has begun without data (not only: it is coming)
    urgent: bool
    #: the day warnings started (``calendar_warn_from`` of the year before ``year``)
    since: date

    def message(self, lang: str = "zh") -> str:
        if lang == "en":
            when = "has begun" if self.urgent else "is coming"
            return (
                f"{self.year} {when} and its working-day calendar has not been imported: rectification deadlines "
                f"that reach into {self.year} stay pending until an administrator imports the State Council notice "
                f"on the {self.year} holiday arrangements (Admin → Calendar, or govflow calendar import)."
            )
        when = "已经开始" if self.urgent else "即将到来"
        return (
            f"{self.year} 年{when}，但尚未导入 {self.year} 年工作日历：期限落入 {self.year} 年的整改通知将保持"
            f"「期限待定」，直至管理员依据《国务院办公厅关于{self.year}年部分节假日安排的通知》导入"
            f"（管理 → 工作日历，或 govflow calendar import）。"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "urgent": self.urgent,
            "since": self.since.isoformat(),
            "message": self.message("zh"),
            "message_en": self.message("en"),
        }


def calendar_warning(app: App, today: date) -> CalendarWarning | None:
    """The warning due on ``today``: this year has no data (urgent), or from ``calendar_warn_from`` on next
    year has none; None when the calendar is ready."""
    years = app.calendar.years
    if today.year not in years:
        return CalendarWarning(today.year, True, app.settings.warn_from(today.year - 1))
    since = app.settings.warn_from(today.year)
    if today >= since and today.year + 1 not in years:
        return CalendarWarning(today.year + 1, False, since)
    return None


@dataclass(frozen=True)
class CalendarCheckResult:
    """What the nightly calendar check found and wrote."""

    as_of: date
    warning: CalendarWarning | None
    alarms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": "calendar",
            "as_of": self.as_of.isoformat(),
            "missing_year": self.warning.year if self.warning else None,
            "alarms": self.alarms,
        }


#: who is told every day until the year is imported
WARNED_ROLES = (Role.ADMIN, Role.PROGRAM_OFFICE)


def run_calendar_check(app: App, as_of: date, chunk: tuple[int, int] | None = None) -> CalendarCheckResult:
    """The nightly calendar check (a registered check, first in ``all``): while a warning is due, one alarm a
    day to the administrator and the program office (outbox key ``alarm/calendar-upcoming/{year}/{day}/{role}``;
    a rerun the same day writes nothing new). ``chunk`` is ignored: the calendar is not per project."""
    warning = calendar_warning(app, as_of)
    if warning is None:
        return CalendarCheckResult(as_of, None, 0)
    # nothing of the moment in the payload: a rerun (or the Prefect and the direct path) writes the same message
    payload = {**warning.to_dict(), "as_of": as_of.isoformat(), "clause": "733号文 第十一条"}
    written = 0
    with unit_of_work(app.engine) as s:
        for role in WARNED_ROLES:
            key = f"alarm/calendar-upcoming/{warning.year}/{as_of.isoformat()}/{role.value}"
            written += int(enqueue(s, key, "alarm.calendar.upcoming", role.value, payload))
    return CalendarCheckResult(as_of, warning, written)

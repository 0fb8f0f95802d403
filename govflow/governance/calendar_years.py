"""Calendar years as data (SPEC §4): the administrator imports a year's holidays and 调休 workdays from the State
Council notice; every process reads them from the database. A year is validated whole before anything is
written, and the import is an audited data change."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import chinese_calendar  # type: ignore[import-untyped]
from sqlalchemy import delete, insert, select

from govflow.lifecycle.services import App, authorize, get_actor, record_change, use_case
from govflow.models.calendars import CAL
from govflow.models.db import unit_of_work
from govflow.states.calendar import YearData, load_calendar_file, statutory_problems
from govflow.states.errors import UsageError

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
    """Validate every year of ``path`` and store them all, or none: each statutory day of 《全国年节及纪念日放假办法》
    inside a holiday period, make-up workdays only on weekends, no date twice, nothing outside its year, and the
    notice named as the source. A year imported again is replaced (the trail keeps both)."""
    years = load_calendar_file(path)
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
                f"{path.name}：导入 {data.year} 年工作日历（放假 {len(data.holidays)} 天，调休上班 "
                f"{len(data.workdays)} 天；依据 {data.source}；{_digest(data)[:12]}）"
            )
            record_change(app, s, actor, "calendar.import", at=now, note=note)
    app.forget_calendar()
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

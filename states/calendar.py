"""The working-day calendar: 中国法定节假日 and 调休 make-up working days, never a guess.

Deadlines of 733号文 processes are counted in working days. The official data comes from the
``chinesecalendar`` package (import name ``chinese_calendar``), which is updated each year once the State
Council publishes 国务院办公厅关于20XX年部分节假日安排的通知. Until a release carries a year, the operator
adds that year to a local override file (see ``govflow/data/calendar-override.example.yaml``).

A date in a year without data raises :class:`CalendarDataMissing`: treating such a year as "weekends off,
weekdays on" would silently miscount every 春节 and 国庆 week, and a wrong deadline is worse than an alarm.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import chinese_calendar  # type: ignore[import-untyped]
import yaml

from govflow.states.errors import CalendarDataMissing, UsageError

ONE_DAY = timedelta(days=1)

KIND_WEEKEND = "weekend"
KIND_HOLIDAY = "holiday"
KIND_MAKEUP_WORKDAY = "makeup_workday"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OVERRIDE_KEYS = frozenset({"years", "source"})
_YEAR_KEYS = frozenset({"holidays", "workdays"})
_YEAR_OPTIONAL = frozenset({"source"})

#: the regulation that fixes the statutory days off (the notice of each year only arranges the days around them)
STATUTORY_LAW = "《全国年节及纪念日放假办法》"
STATUTORY_LAW_EN = "the National Holidays Regulation (全国年节及纪念日放假办法)"


@dataclass(frozen=True)
class YearData:
    """One year's days off and 调休 make-up working days, and the notice they come from."""

    year: int
    holidays: tuple[date, ...]
    workdays: tuple[date, ...]
    source: str = ""


class _CalendarProblem(Exception):
    """A rule the calendar data of one year breaks; the caller decides which error the user sees."""

    def __init__(self, year: int, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.year = year
        self.message = message
        self.message_en = message_en


def _is_weekend(d: date) -> bool:
    return d.weekday() >= 5


def _require_date(d: object) -> date:
    # ``datetime`` is a subclass of ``date`` but never equal to one, so a datetime would miss every holiday
    # lookup and be counted as an ordinary day. Refuse it instead of guessing which local day was meant.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"expected a datetime.date, got {type(d).__name__}: {d!r}")
    return d


def _format_years(years: Iterable[int]) -> str:
    """``2004–2026, 2099``: consecutive years folded into ranges so the message stays short."""
    ordered = sorted(years)
    if not ordered:
        return "无"
    parts: list[str] = []
    start = prev = ordered[0]
    for y in [*ordered[1:], None]:
        if y is not None and y == prev + 1:
            prev = y
            continue
        parts.append(str(start) if start == prev else f"{start}–{prev}")
        if y is not None:
            start = prev = y
    return ", ".join(parts)


def _check_year(
    year: int, holidays: Iterable[date], workdays: Iterable[date]
) -> tuple[list[date], list[date]]:
    """Check one year's lists against the rules every 放假安排 obeys; return them as lists.

    Raises :class:`_CalendarProblem` naming the year, the offending date and the rule.
    """
    hol = list(holidays)
    work = list(workdays)
    if not hol:
        raise _CalendarProblem(
            year,
            f"{year} 年的 holidays 为空：每年至少有元旦等法定节假日，空列表多半是漏填",
            f"year {year}: holidays is empty; every year has at least New Year's Day, "
            f"so this is likely a mistake",
        )
    for name, days in (("holidays", hol), ("workdays", work)):
        seen: set[date] = set()
        for d in days:
            if d.year != year:
                raise _CalendarProblem(
                    year,
                    f"{year} 年的 {name} 中的日期 {d.isoformat()} 不属于 {year} 年："
                    f"每个日期须列在它所在的自然年下（跨年的调休日也按日期本身的年份填写）",
                    f"year {year}: {name} date {d.isoformat()} is not in {year}; list each date under "
                    f"its own calendar year (a make-up working day across the new year goes under the year "
                    f"of the date)",
                )
            if d in seen:
                raise _CalendarProblem(
                    year,
                    f"{year} 年的 {name} 中的日期 {d.isoformat()} 重复出现（可能是笔误，原本想写另一个日期）",
                    f"year {year}: {name} date {d.isoformat()} is listed twice "
                    f"(likely a typo for another date)",
                )
            seen.add(d)
    hol_set = set(hol)
    for d in work:
        if d in hol_set:
            raise _CalendarProblem(
                year,
                f"{year} 年的日期 {d.isoformat()} 既列为放假日（holidays）又列为调休上班日（workdays）："
                f"一天不能既放假又上班",
                f"year {year}: date {d.isoformat()} is listed both as a holiday and as a make-up "
                f"working day; a day cannot be both",
            )
        if not _is_weekend(d):
            raise _CalendarProblem(
                year,
                f"{year} 年的 workdays 中的日期 {d.isoformat()} 不是周六或周日："
                f"workdays 只列调休上班的周末，工作日本来就上班",
                f"year {year}: workdays date {d.isoformat()} is not a Saturday or Sunday; workdays "
                f"lists only weekend days worked as make-up days, weekdays are working days anyway",
            )
    return hol, work


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days, for the years the data covers, and nothing beyond them."""

    holidays: frozenset[date]
    """Official days off, whether they fall on weekdays or weekends."""
    workdays: frozenset[date]
    """调休 make-up working days: weekend days that are working days."""
    years: frozenset[int]
    """Years with data; any other year raises :class:`CalendarDataMissing`."""
    source: str
    """Where the data came from, e.g. ``chinesecalendar 1.11.0 + /etc/govflow/calendar-override.yaml``."""

    @classmethod
    def official(cls, override: Path | None = None, stored: Iterable[YearData] = ()) -> WorkCalendar:
        """The package data; each year imported into the database (``stored``) replaces or extends it, and each
        year of the ``override`` file (tests, fictional years) replaces or extends both."""
        # Known years are the years present in the package's holidays dict, not "no NotImplementedError
        # from chinese_calendar.is_workday": that check only compares against its first and last year, so a
        # gap would pass silently, and we need the set anyway to merge the override and to name the years.
        pkg_holidays: frozenset[date] = frozenset(chinese_calendar.holidays)
        pkg_workdays: frozenset[date] = frozenset(chinese_calendar.workdays)
        years = {d.year for d in pkg_holidays}
        try:
            version = metadata.version("chinesecalendar")
        except metadata.PackageNotFoundError:  # pragma: no cover - vendored or renamed distribution
            version = str(getattr(chinese_calendar, "__version__", "unknown"))
        source = f"chinesecalendar {version}"
        holidays = set(pkg_holidays)
        workdays = set(pkg_workdays)
        imported = sorted(stored, key=lambda y: y.year)
        for data in imported:
            holidays = {d for d in holidays if d.year != data.year} | set(data.holidays)
            workdays = {d for d in workdays if d.year != data.year} | set(data.workdays)
            years.add(data.year)
        if imported:
            source += " + " + "，".join(f"{y.year}（{y.source}）" for y in imported)
        if override is not None:
            for year, (hol, work) in load_override(override).items():
                holidays = {d for d in holidays if d.year != year} | set(hol)
                workdays = {d for d in workdays if d.year != year} | set(work)
                years.add(year)
            source = f"{source} + {override}"
        return cls(frozenset(holidays), frozenset(workdays), frozenset(years), source)

    @classmethod
    def from_mapping(
        cls, data: Mapping[int, tuple[Iterable[date], Iterable[date]]], source: str
    ) -> WorkCalendar:
        """Build a calendar from ``year -> (holidays, workdays)``; for tests and fixtures.

        The lists obey the same rules as the override file; a breach raises ``ValueError``.
        """
        holidays: set[date] = set()
        workdays: set[date] = set()
        for year, (hol, work) in data.items():
            try:
                hol_list, work_list = _check_year(year, hol, work)
            except _CalendarProblem as exc:
                raise ValueError(exc.message_en) from None
            holidays.update(hol_list)
            workdays.update(work_list)
        return cls(frozenset(holidays), frozenset(workdays), frozenset(data), source)

    def _require_year(self, d: date) -> None:
        if d.year not in self.years:
            known = _format_years(self.years)
            raise CalendarDataMissing(
                f"工作日历没有 {d.year} 年的数据（日期 {d.isoformat()}；已知年份：{known}；"
                f"数据来源：{self.source}）。"
                f"请管理员依据《国务院办公厅关于{d.year}年部分节假日安排的通知》导入 {d.year} 年的"
                f"放假日（holidays）和调休上班日（workdays）：govflow calendar import 文件 --as 管理员。",
                f"The working-day calendar has no data for {d.year} (date {d.isoformat()}; "
                f"known years: {known}; source: {self.source}). An administrator imports {d.year} "
                f"(holidays and make-up workdays from the State Council notice on the {d.year} holiday "
                f"arrangements): govflow calendar import FILE --as ADMIN.",
                year=d.year,
            )

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day; raises :class:`CalendarDataMissing` for a year without data."""
        _require_date(d)
        self._require_year(d)
        if d in self.workdays:
            return True
        return not _is_weekend(d) and d not in self.holidays

    def _walk(self, d: date, n: int) -> Iterator[tuple[date, bool]]:
        """Yield ``(day, is_workday)`` for the days after ``d`` up to the ``n``-th working day."""
        _require_date(d)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}; use sub_workdays to count backwards")
        day, left = d, n
        while left:
            day += ONE_DAY
            working = self.is_workday(day)
            if working:
                left -= 1
            yield day, working

    def add_workdays(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d``; ``d`` itself never counts, ``n == 0`` returns ``d``.

        Only the days after ``d`` are looked up, so ``d`` may lie in a year without data.
        """
        last = deque(self._walk(d, n), maxlen=1)
        return last[0][0] if last else d

    def sub_workdays(self, d: date, n: int) -> date:
        """The working day that is ``n`` working days before ``d`` (``n == 0`` returns ``d``).

        When ``d`` is a working day, ``add_workdays(sub_workdays(d, n), n) == d``.
        """
        _require_date(d)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}; use add_workdays to count forwards")
        day, left = d, n
        while left:
            day -= ONE_DAY
            if self.is_workday(day):
                left -= 1
        return day

    def workdays_after(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``; 0 when ``end <= start``.

        "Working days overdue on day X" is ``workdays_after(deadline, X)``.
        """
        _require_date(start)
        _require_date(end)
        count = 0
        day = start + ONE_DAY
        while day <= end:
            count += self.is_workday(day)
            day += ONE_DAY
        return count

    def skipped(self, d: date, n: int) -> list[tuple[date, str]]:
        """Explain ``add_workdays(d, n)`` to a clerk: the days that did not count, and the 调休 days that did.

        Each entry is ``(day, kind)`` in date order, ``kind`` being ``"holiday"`` (an official day off, also
        when it falls on a weekend), ``"weekend"``, or ``"makeup_workday"`` for a weekend day that counted
        because of 调休.
        """
        out: list[tuple[date, str]] = []
        for day, working in self._walk(d, n):
            if working:
                if _is_weekend(day):
                    out.append((day, KIND_MAKEUP_WORKDAY))
            elif day in self.holidays:
                out.append((day, KIND_HOLIDAY))
            else:
                out.append((day, KIND_WEEKEND))
        return out


class _OverrideLoader(yaml.SafeLoader):
    """SafeLoader that leaves ``2027-01-01`` as a string and refuses duplicate keys.

    Strings let JSON and YAML share one strict date parser (PyYAML would turn ``2027-02-30`` into a bare
    ValueError that names neither year nor file). PyYAML silently keeps the last of two equal keys, so a year
    pasted twice would lose the first copy without a word.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"duplicate key {key!r}",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep)


_OverrideLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_override(path: Path) -> dict[int, tuple[list[date], list[date]]]:
    """Read and validate an override file (``.yaml``/``.yml`` or ``.json``): ``year -> (holidays, workdays)``.

    Any breach raises :class:`UsageError` naming the file, the year, the offending value and the rule.
    """
    return {y: (list(v.holidays), list(v.workdays)) for y, v in load_calendar_file(path).items()}


def load_calendar_file(path: Path) -> dict[int, YearData]:
    """Read a calendar document from ``path`` (see :func:`parse_calendar`)."""
    _calendar_suffix(path.name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"无法读取日历覆盖文件 {path}：{exc}", f"cannot read calendar override file {path}: {exc}"
        ) from exc
    return parse_calendar(text, str(path))


def _calendar_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise UsageError(
            f"日历文件 {name} 的扩展名须为 .yaml、.yml 或 .json",
            f"calendar file {name}: the extension must be .yaml, .yml or .json",
        )
    return suffix


def parse_calendar(text: str, name: str) -> dict[int, YearData]:
    """Parse a calendar document named ``name`` (a file name: its extension says YAML or JSON):
    ``{"years": {"2027": {"holidays": [...], "workdays": [...], "source": …}}, "source": …}`` (a year's
    ``source`` wins over the top-level one). Checks each year's lists as :func:`load_override` does;
    :func:`statutory_problems` is the import's further check."""
    suffix = _calendar_suffix(name)
    path = name
    try:
        raw: Any = (
            json.loads(text, object_pairs_hook=_json_object)
            if suffix == ".json"
            else yaml.load(text, Loader=_OverrideLoader)
        )
    except (ValueError, yaml.YAMLError) as exc:
        raise UsageError(
            f"日历文件 {path} 不是有效的 {suffix[1:].upper()}：{exc}",
            f"calendar file {path} is not valid {suffix[1:].upper()}: {exc}",
        ) from exc

    def bad(where: str, where_en: str, rule: str, rule_en: str) -> UsageError:
        return UsageError(
            f"日历覆盖文件 {path}：{where}{rule}", f"calendar override file {path}: {where_en}{rule_en}"
        )

    if not isinstance(raw, dict) or not isinstance(raw.get("years"), dict):
        raise bad(
            "",
            "",
            "顶层须为含 years 映射的对象（years: {2099: {...}}）",
            "the top level must be a mapping with a 'years' mapping (years: {2099: {...}})",
        )
    unknown = set(raw) - _OVERRIDE_KEYS
    if unknown:
        names = ", ".join(sorted(map(str, unknown)))
        raise bad(
            "", "", f"未知的顶层键 {names}（只允许 years）", f"unknown top-level keys {names} (only 'years')"
        )

    default_source = raw.get("source", "")
    if not isinstance(default_source, str):
        raise bad(
            "source ",
            "source ",
            "须为文字（通知的标题和文号）",
            "must be text (the notice's title and number)",
        )
    result: dict[int, YearData] = {}
    for key, entry in raw["years"].items():
        year = _parse_year(key)
        if year is None:
            raise bad(f"年份键 {key!r} ", f"year key {key!r} ", "不是四位数年份", "is not a four-digit year")
        if year in result:
            raise bad(f"{year} 年", f"year {year} ", "重复出现", "is listed twice")
        if not isinstance(entry, dict) or not _YEAR_KEYS <= set(entry) <= _YEAR_KEYS | _YEAR_OPTIONAL:
            raise bad(
                f"{year} 年",
                f"year {year} ",
                "须恰有 holidays 和 workdays 两个列表（没有调休时写 workdays: []），可另有 source",
                "must have exactly the lists 'holidays' and 'workdays' "
                "(write workdays: [] if there is no 调休), and may have a 'source'",
            )
        source = entry.get("source", default_source)
        if not isinstance(source, str):
            raise bad(f"{year} 年的 source ", f"year {year}: source ", "须为文字", "must be text")
        lists: dict[str, list[date]] = {}
        for name in ("holidays", "workdays"):
            values = entry[name]
            if not isinstance(values, list):
                raise bad(
                    f"{year} 年的 {name} ", f"year {year}: {name} ", "须为日期列表", "must be a list of dates"
                )
            lists[name] = []
            for value in values:
                d = _parse_date(value)
                if d is None:
                    raise bad(
                        f"{year} 年的 {name} 中的值 {value!r} ",
                        f"year {year}: {name} value {value!r} ",
                        "不是 YYYY-MM-DD 格式的有效日期",
                        "is not a valid YYYY-MM-DD date",
                    )
                lists[name].append(d)
        try:
            hol, work = _check_year(year, lists["holidays"], lists["workdays"])
            result[year] = YearData(year, tuple(hol), tuple(work), source.strip())
        except _CalendarProblem as exc:
            raise UsageError(
                f"日历覆盖文件 {path}：{exc.message}", f"calendar override file {path}: {exc.message_en}"
            ) from None
    return result


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` refusing duplicate keys, which ``json`` would silently collapse to the last."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _parse_year(key: object) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key if 1000 <= key <= 9999 else None
    if isinstance(key, str) and re.fullmatch(r"\d{4}", key):
        return int(key)
    return None


def _parse_date(value: object) -> date | None:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def statutory_days(year: int) -> list[tuple[date, str, str]]:
    """The days off that 《全国年节及纪念日放假办法》 itself fixes in ``year`` (元旦, 农历除夕 and 春节, 清明节,
    劳动节, 端午节, 中秋节, 国庆节) as ``(day, zh name, en name)``: the regulation and the lunar calendar, not the
    arrangement around them, which only the State Council notice gives and govflow never guesses."""
    # imported here: only checking a year's data needs it, and it adds about 12 MiB to every process that loads it
    from holidays.countries.china import China as ChinaHolidays

    zh = ChinaHolidays(years=year, observed=False, language="zh_CN")  # type: ignore[no-untyped-call]
    en = ChinaHolidays(years=year, observed=False, language="en_US")  # type: ignore[no-untyped-call]
    return [(d, name, en.get(d, name)) for d, name in sorted(zh.items()) if "调休" not in name]


def statutory_problems(data: YearData) -> list[str]:
    """Why ``data`` cannot be the arrangement of its year, one line each (zh, then en after `` / ``): every
    statutory day must lie inside a holiday period — a run of days off holding at least one listed holiday —
    and none may be a make-up working day. A year whose notice was copied without 春节 is refused by name."""
    holidays, workdays = set(data.holidays), set(data.workdays)

    def off(d: date) -> bool:
        return d in holidays or (_is_weekend(d) and d not in workdays)

    def in_period(d: date) -> bool:
        run = {d}
        for step in (ONE_DAY, -ONE_DAY):
            day = d + step
            while day.year == d.year and off(day):
                run.add(day)
                day += step
        return bool(run & holidays)

    missing: dict[tuple[str, str], list[str]] = {}
    for d, zh, en in statutory_days(data.year):
        festival = ("春节", "Spring Festival") if zh in ("春节", "农历除夕") else (zh, en)
        if d in workdays or not off(d) or not in_period(d):
            missing.setdefault(festival, []).append(d.isoformat())
    return [
        f"{data.year} 年缺少{zh}：法定假日 {'、'.join(days)} 不在任何放假期间内（{STATUTORY_LAW}）"
        f" / year {data.year} lacks {en}: the statutory days off {', '.join(days)} are in no holiday period "
        f"({STATUTORY_LAW_EN})"
        for (zh, en), days in missing.items()
    ]

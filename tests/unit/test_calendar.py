"""The working-day calendar of ``states.calendar``.

Facts about 2026 are those of 国务院办公厅关于2026年部分节假日安排的通知 as carried by chinesecalendar 1.11.0,
and every day of 2024–2026 is cross-checked against the independent ``holidays`` package.

Outside that range the two sources do disagree once: 2005-12-31 (Sat) was a 调休 working day under
国办发明电〔2005〕35号 (2006 元旦: "12月31日（星期六）上班"); ``holidays`` has it, chinesecalendar 1.11.0 does
not. It does not matter for govflow's deadlines and is not papered over here; an override file can fix it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar  # type: ignore[import-untyped]
import holidays
import pytest

from govflow.states.calendar import WorkCalendar, load_override
from govflow.states.errors import CalendarDataMissing, UsageError

EXAMPLE = Path(__file__).resolve().parents[2] / "govflow" / "data" / "calendar-override.example.yaml"


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.official()


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


# --- the official data -------------------------------------------------------------------------------------


def test_known_years_are_the_years_of_the_package_data(cal: WorkCalendar) -> None:
    assert cal.years == {d.year for d in chinese_calendar.holidays}
    assert {2024, 2025, 2026} <= cal.years
    assert cal.source == f"chinesecalendar {chinese_calendar.__version__}"


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # 元旦: Thu 01-01 to Sat 01-03 off, Sun 01-04 worked.
        (date(2026, 1, 1), False),
        (date(2026, 1, 2), False),
        (date(2026, 1, 3), False),
        (date(2026, 1, 4), True),
        # 春节: Sun 02-15 (腊月二十八) to Mon 02-23 off, Sat 02-14 and Sat 02-28 worked.
        (date(2026, 2, 13), True),
        (date(2026, 2, 14), True),
        (date(2026, 2, 15), False),
        (date(2026, 2, 17), False),
        (date(2026, 2, 23), False),
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),
        (date(2026, 3, 1), False),
        # 劳动节: Fri 05-01 to Tue 05-05 off, Sat 05-09 worked.
        (date(2026, 5, 5), False),
        (date(2026, 5, 9), True),
        # 中秋节 Fri 09-25 to Sun 09-27; 国庆节 Thu 10-01 to Wed 10-07; Sun 09-20 and Sat 10-10 worked.
        (date(2026, 9, 20), True),
        (date(2026, 9, 25), False),
        (date(2026, 10, 1), False),
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),
        (date(2026, 10, 11), False),
        # An ordinary Monday and Saturday.
        (date(2026, 3, 2), True),
        (date(2026, 3, 7), False),
    ],
)
def test_2026_official_facts(cal: WorkCalendar, day: date, working: bool) -> None:
    assert cal.is_workday(day) is working


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_every_day_agrees_with_the_holidays_package(cal: WorkCalendar, year: int) -> None:
    cn = holidays.country_holidays("CN", years=year)
    disagreements = [
        (d.isoformat(), cal.is_workday(d), cn.is_working_day(d))
        for d in days_of(year)
        if cal.is_workday(d) != cn.is_working_day(d)
    ]
    assert disagreements == []


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_every_day_agrees_with_chinese_calendar_itself(cal: WorkCalendar, year: int) -> None:
    assert [d for d in days_of(year) if cal.is_workday(d) != chinese_calendar.is_workday(d)] == []


# --- years without data ------------------------------------------------------------------------------------


def test_2027_is_missing_and_the_error_names_the_year(cal: WorkCalendar) -> None:
    if 2027 in cal.years:
        pytest.skip(
            "this chinesecalendar release carries 2027; the next test still covers the first missing year"
        )
    with pytest.raises(CalendarDataMissing) as info:
        cal.is_workday(date(2027, 1, 4))
    err = info.value
    assert err.exit_code == 3
    assert "2027 年" in err.message
    assert (
        "govflow calendar import" in err.message
        and "国务院办公厅关于2027年部分节假日安排的通知" in err.message
    )
    assert "2027" in err.message_en
    assert "govflow calendar import" in err.message_en


def test_first_year_past_the_data_raises(cal: WorkCalendar) -> None:
    missing = max(cal.years) + 1
    with pytest.raises(CalendarDataMissing, match=str(missing)):
        cal.is_workday(date(missing, 6, 1))


def test_the_error_carries_the_missing_year(cal: WorkCalendar) -> None:
    """Callers key alarms on ``year`` (``alarm/calendar/{year}``) instead of reading it out of the message."""
    last = max(cal.years)
    with pytest.raises(CalendarDataMissing) as info:
        cal.add_workdays(date(last, 12, 30), 5)  # counting runs into the first year without data
    assert info.value.year == last + 1
    with pytest.raises(CalendarDataMissing) as info:
        cal.is_workday(date(min(cal.years) - 1, 6, 2))
    assert info.value.year == min(cal.years) - 1
    assert CalendarDataMissing("…", "…", year=2031).year == 2031


def test_year_before_the_data_raises(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarDataMissing, match=str(min(cal.years) - 1)):
        cal.is_workday(date(min(cal.years) - 1, 6, 2))


def test_counting_into_a_missing_year_raises_instead_of_guessing(cal: WorkCalendar) -> None:
    last = max(cal.years)
    with pytest.raises(CalendarDataMissing, match=str(last + 1)):
        cal.add_workdays(date(last, 12, 30), 5)
    with pytest.raises(CalendarDataMissing, match=str(last + 1)):
        cal.workdays_after(date(last, 12, 1), date(last + 1, 1, 15))


# --- adding working days -----------------------------------------------------------------------------------


def test_zero_returns_the_date_itself_even_on_a_holiday(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 10, 1), 0) == date(2026, 10, 1)
    assert cal.sub_workdays(date(2026, 10, 1), 0) == date(2026, 10, 1)
    assert cal.skipped(date(2026, 10, 1), 0) == []


def test_the_start_day_itself_never_counts(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 3, 2), 1) == date(2026, 3, 3)  # Mon -> Tue
    assert cal.add_workdays(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Fri -> Mon
    assert cal.add_workdays(date(2026, 3, 7), 1) == date(2026, 3, 9)  # from a Saturday


def test_over_the_national_day_holiday_week(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_workdays(date(2026, 9, 30), 3) == date(2026, 10, 10)  # the 调休 Saturday counts


def test_across_a_makeup_saturday(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)  # Fri -> 调休 Sat
    assert cal.add_workdays(date(2026, 2, 13), 2) == date(2026, 2, 24)  # then over 春节
    assert cal.add_workdays(date(2026, 10, 9), 1) == date(2026, 10, 10)


def test_ten_working_days_across_mid_autumn_and_national_day(cal: WorkCalendar) -> None:
    assert cal.add_workdays(date(2026, 9, 18), 10) == date(2026, 10, 9)


def test_across_the_new_year(cal: WorkCalendar) -> None:
    # 2025-12-31 Wed; 2026-01-01..03 off; Sun 01-04 worked.
    assert cal.add_workdays(date(2025, 12, 31), 1) == date(2026, 1, 4)
    assert cal.add_workdays(date(2025, 12, 31), 2) == date(2026, 1, 5)


def test_negative_n_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        cal.add_workdays(date(2026, 3, 2), -1)
    with pytest.raises(ValueError, match="n must be >= 0"):
        cal.sub_workdays(date(2026, 3, 2), -1)
    with pytest.raises(ValueError, match="n must be >= 0"):
        cal.skipped(date(2026, 3, 2), -1)


def test_a_datetime_is_refused_not_miscounted(cal: WorkCalendar) -> None:
    # datetime(2026, 10, 1) != date(2026, 10, 1), so a datetime would slip past the holiday lookup.
    with pytest.raises(TypeError, match=r"datetime\.date"):
        cal.is_workday(datetime(2026, 10, 1, 9, 0))
    with pytest.raises(TypeError):
        cal.add_workdays(datetime(2026, 9, 30, 9, 0), 1)


# --- explaining the count ----------------------------------------------------------------------------------


def test_skipped_names_weekends(cal: WorkCalendar) -> None:
    assert cal.skipped(date(2026, 3, 6), 1) == [(date(2026, 3, 7), "weekend"), (date(2026, 3, 8), "weekend")]


def test_skipped_names_holidays_and_makeup_days(cal: WorkCalendar) -> None:
    got = cal.skipped(date(2026, 9, 18), 10)
    assert got == [
        (date(2026, 9, 19), "weekend"),
        (date(2026, 9, 20), "makeup_workday"),
        (date(2026, 9, 25), "holiday"),
        (date(2026, 9, 26), "holiday"),
        (date(2026, 9, 27), "holiday"),
        *[(date(2026, 10, day), "holiday") for day in range(1, 8)],
    ]


def test_skipped_stops_at_the_last_working_day(cal: WorkCalendar) -> None:
    # The weekend after the 3rd working day is not part of the count.
    assert cal.skipped(date(2026, 9, 30), 3) == [
        *[(date(2026, 10, day), "holiday") for day in range(1, 8)],
        (date(2026, 10, 10), "makeup_workday"),
    ]


# --- subtracting and counting ------------------------------------------------------------------------------


def test_sub_workdays_known_values(cal: WorkCalendar) -> None:
    assert cal.sub_workdays(date(2026, 10, 8), 1) == date(2026, 9, 30)
    assert cal.sub_workdays(date(2026, 10, 9), 10) == date(2026, 9, 18)
    assert cal.sub_workdays(date(2026, 2, 24), 1) == date(2026, 2, 14)  # the 调休 Saturday
    assert cal.sub_workdays(date(2026, 10, 3), 1) == date(2026, 9, 30)  # from a holiday: last working day


@pytest.mark.parametrize("n", [1, 2, 5, 10, 20])
def test_sub_then_add_round_trips_on_every_working_day(cal: WorkCalendar, n: int) -> None:
    workdays = [d for year in (2025, 2026) for d in days_of(year) if cal.is_workday(d)]
    assert [d for d in workdays if cal.add_workdays(cal.sub_workdays(d, n), n) != d] == []


def test_workdays_after_counts_the_half_open_interval(cal: WorkCalendar) -> None:
    assert cal.workdays_after(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert cal.workdays_after(date(2026, 3, 3), date(2026, 3, 2)) == 0
    assert cal.workdays_after(date(2026, 3, 2), date(2026, 3, 3)) == 1
    assert cal.workdays_after(date(2026, 3, 6), date(2026, 3, 8)) == 0  # only a weekend
    assert cal.workdays_after(date(2026, 9, 18), date(2026, 10, 9)) == 10


def test_working_days_overdue(cal: WorkCalendar) -> None:
    deadline = date(2026, 9, 30)
    assert cal.workdays_after(deadline, date(2026, 9, 1)) == 0  # before the deadline
    assert cal.workdays_after(deadline, deadline) == 0  # on the deadline
    assert cal.workdays_after(deadline, date(2026, 10, 7)) == 0  # the holiday week costs nothing
    assert cal.workdays_after(deadline, date(2026, 10, 8)) == 1
    assert cal.workdays_after(deadline, date(2026, 10, 11)) == 3  # Thu, Fri and the 调休 Saturday


@pytest.mark.parametrize("n", [0, 1, 7, 30, 120])
def test_workdays_after_inverts_add_workdays(cal: WorkCalendar, n: int) -> None:
    start = date(2025, 9, 26)
    assert cal.workdays_after(start, cal.add_workdays(start, n)) == n


# --- from_mapping ------------------------------------------------------------------------------------------


def test_from_mapping() -> None:
    fake = WorkCalendar.from_mapping({2099: ([date(2099, 1, 1)], (d for d in [date(2099, 1, 4)]))}, "test")
    assert fake.years == {2099}
    assert fake.source == "test"
    assert not fake.is_workday(date(2099, 1, 1))  # Thu, holiday
    assert fake.is_workday(date(2099, 1, 4))  # Sun, 调休
    assert not fake.is_workday(date(2099, 1, 10))  # Sat
    with pytest.raises(CalendarDataMissing, match="2100"):
        fake.is_workday(date(2100, 1, 4))


def test_from_mapping_checks_the_same_rules() -> None:
    with pytest.raises(ValueError, match="2099-01-05"):
        WorkCalendar.from_mapping({2099: ([date(2099, 1, 1)], [date(2099, 1, 5)])}, "test")


# --- the override file -------------------------------------------------------------------------------------

GOOD = """\
years:
  2099:
    holidays: [2099-01-01, 2099-01-02, 2099-01-03]
    workdays: [2099-01-04]
"""


def write(tmp_path: Path, text: str, name: str = "override.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_override_makes_2099_known(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    cal = WorkCalendar.official(path)
    assert 2099 in cal.years
    assert cal.source.endswith(f" + {path}")
    assert not cal.is_workday(date(2099, 1, 2))
    assert cal.is_workday(date(2099, 1, 4))  # Sun, 调休
    assert cal.add_workdays(date(2099, 1, 1), 1) == date(2099, 1, 4)
    assert cal.is_workday(date(2026, 2, 14))  # the package's years are kept
    with pytest.raises(CalendarDataMissing, match="2098"):
        cal.is_workday(date(2098, 12, 31))


def test_override_year_replaces_the_package_year(tmp_path: Path) -> None:
    path = write(tmp_path, "years:\n  2026:\n    holidays: [2026-01-01]\n    workdays: []\n")
    cal = WorkCalendar.official(path)
    assert cal.is_workday(date(2026, 10, 1))  # no longer listed as a holiday
    assert not cal.is_workday(date(2026, 2, 14))  # the package's 调休 Saturday is gone too
    assert not cal.is_workday(date(2026, 1, 1))
    assert cal.is_workday(date(2025, 10, 11))  # other years untouched


def test_json_override(tmp_path: Path) -> None:
    data = {"years": {"2099": {"holidays": ["2099-01-01"], "workdays": ["2099-01-04"]}}}
    path = write(tmp_path, json.dumps(data), "override.json")
    assert load_override(path) == {2099: ([date(2099, 1, 1)], [date(2099, 1, 4)])}
    assert WorkCalendar.official(path).is_workday(date(2099, 1, 4))


def test_the_shipped_example_is_valid_and_only_adds_the_fictional_year() -> None:
    data = load_override(EXAMPLE)
    assert set(data) == {2099}
    cal = WorkCalendar.official(EXAMPLE)
    assert not cal.is_workday(date(2099, 10, 1))
    assert cal.is_workday(date(2099, 10, 10))


@pytest.mark.parametrize(
    ("body", "year", "offending", "rule_en"),
    [
        pytest.param(
            "years:\n  2099:\n    holidays: [2099-01-01, 2098-12-31]\n    workdays: []\n",
            "2099",
            "2098-12-31",
            "is not in 2099",
            id="date-outside-its-year",
        ),
        pytest.param(
            "years:\n  2099:\n    holidays: [2099-01-01, 2099-01-03]\n    workdays: [2099-01-03]\n",
            "2099",
            "2099-01-03",
            "both as a holiday and as a make-up working day",
            id="date-in-both-lists",
        ),
        pytest.param(
            "years:\n  2099:\n    holidays: [2099-01-01]\n    workdays: [2099-01-05]\n",
            "2099",
            "2099-01-05",
            "is not a Saturday or Sunday",
            id="workday-not-a-weekend-day",
        ),
        pytest.param(
            "years:\n  2099:\n    holidays: [2099-01-01, 2099-02-30]\n    workdays: []\n",
            "2099",
            "2099-02-30",
            "not a valid YYYY-MM-DD date",
            id="impossible-date",
        ),
        pytest.param(
            "years:\n  2099:\n    holidays: [2099-01-01, 2099-1-2]\n    workdays: []\n",
            "2099",
            "2099-1-2",
            "not a valid YYYY-MM-DD date",
            id="sloppy-date",
        ),
        pytest.param(
            "years:\n  2099:\n    holidays: [2099-01-01, 2099-01-01]\n    workdays: []\n",
            "2099",
            "2099-01-01",
            "listed twice",
            id="duplicate-date",
        ),
    ],
)
def test_bad_override_dates_name_file_year_and_date(
    tmp_path: Path, body: str, year: str, offending: str, rule_en: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(UsageError) as info:
        WorkCalendar.official(path)
    err = info.value
    assert err.exit_code == 2
    for text in (err.message, err.message_en):
        assert str(path) in text
        assert year in text
        assert offending in text
    assert rule_en in err.message_en


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        pytest.param("- 2099-01-01\n", "top level", id="not-a-mapping"),
        pytest.param("years: [2099]\n", "top level", id="years-not-a-mapping"),
        pytest.param(
            "year:\n  2099: {holidays: [2099-01-01], workdays: []}\n", "top level", id="typo-top-key"
        ),
        pytest.param(
            "years: {2099: {holidays: [2099-01-01], workdays: []}}\nnotes: x\n",
            "unknown top-level",
            id="extra-key",
        ),
        pytest.param(
            "years:\n  2099:\n    holidays: [2099-01-01]\n", "exactly the lists", id="missing-workdays"
        ),
        pytest.param("years:\n  2099: [2099-01-01]\n", "exactly the lists", id="year-not-a-mapping"),
        pytest.param(
            "years:\n  2099:\n    holidays: 2099-01-01\n    workdays: []\n", "list of dates", id="scalar"
        ),
        pytest.param(
            "years:\n  99:\n    holidays: [2099-01-01]\n    workdays: []\n", "four-digit", id="bad-year"
        ),
        pytest.param(
            "years:\n  2099:\n    holidays: []\n    workdays: []\n", "holidays is empty", id="empty"
        ),
        pytest.param(
            "years:\n"
            "  2099: {holidays: [2099-01-01], workdays: []}\n"
            "  2099: {holidays: [2099-01-02], workdays: []}\n",
            "duplicate key 2099",
            id="year-listed-twice",
        ),
        pytest.param("years: {2099: [unclosed\n", "not valid YAML", id="syntax"),
    ],
)
def test_bad_override_shapes(tmp_path: Path, body: str, fragment: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(UsageError, match=re.escape(str(path))) as info:
        load_override(path)
    assert fragment in info.value.message_en
    assert info.value.exit_code == 2


def test_json_duplicate_year_is_refused(tmp_path: Path) -> None:
    body = (
        '{"years": {"2099": {"holidays": ["2099-01-01"], "workdays": []},'
        ' "2099": {"holidays": ["2099-01-02"], "workdays": []}}}'
    )
    path = write(tmp_path, body, "override.json")
    with pytest.raises(UsageError, match="duplicate key '2099'"):
        load_override(path)


def test_missing_or_misnamed_override_file(tmp_path: Path) -> None:
    absent = tmp_path / "absent.yaml"
    with pytest.raises(UsageError, match=r"absent\.yaml") as info:
        WorkCalendar.official(absent)
    assert info.value.message_en.startswith(f"cannot read calendar override file {absent}")
    with pytest.raises(UsageError) as info:
        WorkCalendar.official(write(tmp_path, GOOD, "override.txt"))
    assert ".yaml, .yml or .json" in info.value.message_en


# --- purity ------------------------------------------------------------------------------------------------


def test_states_calendar_imports_no_outer_layer() -> None:
    code = (
        "import sys, govflow.states.calendar\n"
        "outer = ('govflow.models', 'govflow.flows', 'govflow.notifications', 'govflow.lifecycle',\n"
        "         'govflow.governance', 'govflow.reads', 'govflow.cli', 'govflow.api', 'govflow.web')\n"
        "bad = {'sqlmodel', 'prefect', 'sqlalchemy'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad or m.startswith(outer)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

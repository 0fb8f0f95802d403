"""What an input value may be, decided once for every door: the portfolio document (``govflow load``), the catalog
and evidence tables (CSV/XLSX), the API's JSON bodies and path parameters. Each door names the offending field and
writes nothing (exit 2 or 3, HTTP 422).

* **Text** holds no NUL, no other C0 control but tab, line feed and carriage return, no DEL and no C1 control
  (U+0080–U+009F): PostgreSQL cannot store NUL, and the others are invisible in every output.
* **Codes and names** (project, catalog item, agreement and department codes, user names, names shown in lists)
  hold no control character at all and no bidirectional control (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069):
  a name that displays other than it reads could pass for another one (Trojan Source, CVE-2021-42574).
* **Dates** lie from 2000-01-01 to 2099-12-31: 733号文 dates from 2013, so an earlier day is a typo (1926 for
  2026), and a later one would only overflow working-day arithmetic.
* **Money** is finite, not negative and below a trillion yuan (万亿元; whole fen fit a BIGINT many times over).
* **Counts** (records delivered) fit PostgreSQL's 32-bit integer.
* **JSON** documents have no duplicate key (the last would silently win) and nest at most :data:`MAX_DEPTH` deep.

:func:`text_problem` and :func:`day_problem` say what is wrong (zh, en); :func:`error` makes that a pydantic error
of the one type ``govflow_input`` (the portfolio models and :data:`Day` raise it; its context carries both
texts for the surfaces to show); :func:`require_text` refuses plain arguments of a use case; the API's patterns
(:data:`TEXT_PATTERN`, :func:`name_pattern`) match exactly what :func:`text_problem` accepts.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from govflow.states.errors import InvalidInput
from govflow.states.verdict import Reason

FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)
MAX_YUAN = Decimal("999999999999.99")
MAX_COUNT = 2**31 - 1
#: how deep a JSON document may nest (a portfolio document needs 7 levels)
MAX_DEPTH = 64

# regular-expression escapes (Python, JavaScript and pydantic's Rust engine read them alike)
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = r"\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: patterns of what text and names may hold (JSON Schema ``pattern`` of the API; the checks below say why not)
TEXT_PATTERN = f"^[^{_CONTROL}]*$"
#: text with at least one character that is not white space (a reason, a note)
NONBLANK_PATTERN = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"


def name_pattern(max_length: int) -> str:
    """A code or name of 1 to ``max_length`` characters: no control and no bidi character."""
    return rf"^[^\t\n\r{_CONTROL}{_BIDI}]{{1,{max_length}}}$"


_BAD_TEXT = re.compile(f"[{_CONTROL}]")
_BAD_NAME = re.compile(rf"[\t\n\r{_CONTROL}{_BIDI}]")
_BIDI_SET = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

ERROR_TYPE = "govflow_input"


def text_problem(value: str, *, name: bool = False) -> tuple[str, str] | None:
    """(zh, en) of why ``value`` may not be stored as text (``name``: as a code or name), or None."""
    m = (_BAD_NAME if name else _BAD_TEXT).search(value)
    if m is None:
        return None
    ch, at = m.group(), m.start() + 1
    what_zh, what_en = (
        ("双向文本控制字符", "bidirectional control") if ch in _BIDI_SET else ("控制字符", "control")
    )
    return (
        f"含不可见的{what_zh} U+{ord(ch):04X}（第 {at} 个字符）；请删去",
        f"holds the invisible {what_en} character U+{ord(ch):04X} (character {at}); remove it",
    )


def day_problem(value: dt.date) -> tuple[str, str] | None:
    if FIRST_DAY <= value <= LAST_DAY:
        return None
    return (
        f"须在 {FIRST_DAY} 至 {LAST_DAY} 之间；请核对年份",
        f"must lie between {FIRST_DAY} and {LAST_DAY}; check the year",
    )


#: the clause refusals of malformed input cite
INPUT_CLAUSE = "govflow 输入规则"


def require_text(fields: Mapping[str, tuple[str | None, bool]]) -> None:
    """Refuse (:class:`InvalidInput`, exit 3 / HTTP 422) the values of ``fields`` — path → (value, whether it is
    a code or name) — that break the text rules, each reason naming its field; None values are absent."""
    reasons = []
    for path, (value, name) in fields.items():
        problem = None if value is None else text_problem(value, name=name)
        if problem is not None:
            reasons.append(
                Reason(
                    "INVALID_TEXT",
                    INPUT_CLAUSE,
                    f"字段 {path}：取值 “{visible(value or '')}” {problem[0]}",
                    f"field {path}: value '{visible(value or '')}' {problem[1]}",
                    path,
                )
            )
    if reasons:
        raise InvalidInput(reasons)


def visible(value: str) -> str:
    """``value`` with its control and bidi characters written as ``\\uXXXX``: safe to show in a message."""
    return _BAD_NAME.sub(lambda m: f"\\u{ord(m.group()):04x}", value)


def error(problem: tuple[str, str]) -> PydanticCustomError:
    zh, en = problem
    return PydanticCustomError(ERROR_TYPE, "{en}", {"zh": zh, "en": en})


def _checked(check: Any) -> Any:
    def validate(value: Any) -> Any:
        problem = check(value)
        if problem is not None:
            raise error(problem)
        return value

    return validate


#: a day from 2000 to 2099 (API bodies and query parameters; the portfolio models check every date field)
Day = Annotated[dt.date, AfterValidator(_checked(day_problem))]


# ---------------------------------------------------------------------------------------------- JSON


class JsonRefused(ValueError):
    """A JSON text that parses but may not be read: a duplicate key or too deep. ``path`` names where."""

    def __init__(self, path: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.path, self.zh, self.en = path, zh, en


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses duplicate keys (naming the object's path and the key) and nesting deeper than
    :data:`MAX_DEPTH`; a syntax error is :class:`json.JSONDecodeError` as usual. ``NaN`` and ``Infinity`` parse
    (as Python's json does) so that the field they are given for refuses them by name."""
    try:
        parsed = json.loads(text, object_pairs_hook=_Pairs)
    except RecursionError:  # the C parser stops at the interpreter's recursion limit (about 1000 levels)
        raise _too_deep("$") from None
    return _walk(parsed, "", 0)


class _Pairs(list[tuple[str, Any]]):
    """An object's members as parsed, in order: turned into a dict by :func:`_walk`, which knows its path."""


def _too_deep(path: str) -> JsonRefused:
    shown = path if len(path) <= 60 else path[:59] + "…"
    return JsonRefused(
        path or "$",
        f"JSON 嵌套超过 {MAX_DEPTH} 层（{shown or '$'}）；请检查内容是否损坏",
        f"JSON nests deeper than {MAX_DEPTH} levels ({shown or '$'}); is it damaged?",
    )


def _walk(value: Any, path: str, depth: int) -> Any:
    if isinstance(value, _Pairs | list) and depth >= MAX_DEPTH:
        raise _too_deep(path)
    if isinstance(value, _Pairs):
        out: dict[str, Any] = {}
        for key, item in value:
            where = f"{path}.{key}" if path else key
            if key in out:
                raise JsonRefused(
                    where,
                    f"键“{visible(key)}”在同一对象中重复（{where}）；重复的键会丢失数据，请删去其一",
                    f"duplicate key '{visible(key)}' in one object ({where}); one of them would be lost",
                )
            out[key] = _walk(item, where, depth + 1)
        return out
    if isinstance(value, list):
        return [_walk(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    return value

"""The input rules (``states/inputs.py``) agree with themselves: the API's patterns, read by Python's ``re`` (the
fuzzer, the OpenAPI document) and by pydantic's Rust engine (the API itself), accept exactly the text
:func:`text_problem` accepts; the strict JSON reader refuses what it promises to."""

from __future__ import annotations

import re
from datetime import date

import pytest
from pydantic import BaseModel, Field, ValidationError

from govflow.states import inputs

#: every character up to the CJK block, and the bidi and other format characters above it
CHARS = [chr(c) for c in range(0x3000)] + ["\u3000", "\ufeff", "\U0001f600"]


class _Name(BaseModel):
    value: str = Field(pattern=inputs.name_pattern(64))


class _Text(BaseModel):
    value: str = Field(pattern=inputs.TEXT_PATTERN)


def _accepted_by_pydantic(model: type[BaseModel], value: str) -> bool:
    try:
        model(value=value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("model", "pattern", "name"),
    [(_Name, inputs.name_pattern(64), True), (_Text, inputs.TEXT_PATTERN, False)],
)
def test_the_patterns_accept_exactly_what_the_rule_accepts(
    model: type[BaseModel], pattern: str, name: bool
) -> None:
    compiled = re.compile(pattern)
    for ch in CHARS:
        value = f"a{ch}b"
        allowed = inputs.text_problem(value, name=name) is None
        assert (compiled.fullmatch(value) is not None) == allowed, hex(ord(ch))
        assert _accepted_by_pydantic(model, value) == allowed, hex(ord(ch))


def test_what_codes_and_names_may_not_hold() -> None:
    refused = {ord(c) for c in CHARS if inputs.text_problem(c, name=True) is not None}
    expected = {
        *range(0x20),
        *range(0x7F, 0xA0),
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    }
    assert refused == expected
    free_text = {ord(c) for c in CHARS if inputs.text_problem(c) is not None}
    assert free_text == expected - {0x09, 0x0A, 0x0D} - {
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    }


def test_days_from_2000_to_2099() -> None:
    assert inputs.day_problem(date(2000, 1, 1)) is None and inputs.day_problem(date(2099, 12, 31)) is None
    assert (
        inputs.day_problem(date(1999, 12, 31)) is not None
        and inputs.day_problem(date(2100, 1, 1)) is not None
    )


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"a": 1, "a": 2}', "a"),
        ('{"x": [{"b": 1}, {"b": 1, "b": 2}]}', "x[1].b"),
        ("[" * 100_000 + "]" * 100_000, "$"),
        ('{"a": ' + "[" * 70 + "]" * 70 + "}", "a" + "[0]" * 63),
    ],
)
def test_the_strict_json_reader_names_where(text: str, path: str) -> None:
    with pytest.raises(inputs.JsonRefused) as caught:
        inputs.loads(text)
    assert caught.value.path == path


def test_the_strict_json_reader_reads_what_json_reads() -> None:
    assert inputs.loads('{"a": {"b": [1, 2.5, "c", null, true]}, "d": []}') == {
        "a": {"b": [1, 2.5, "c", None, True]},
        "d": [],
    }
    assert inputs.loads("[" * 64 + "]" * 64) is not None

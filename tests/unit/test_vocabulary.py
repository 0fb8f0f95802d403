"""One vocabulary (issue 9): the words of every status live on its enum (``govflow.states``), and reports,
notices, pages, the CLI and the API read them from there — so a status reads the same everywhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
import pytest

from govflow.notifications.templates import render
from govflow.reads import reports
from govflow.states.errors import (
    CalendarDataMissing,
    Conflict,
    GovflowError,
    InvalidInput,
    NotFound,
    OutOfScope,
    PermissionDenied,
    RuleRefused,
    UsageError,
)
from govflow.states.permissions import Role
from govflow.states.phases import Event, Phase, ReviewStage
from govflow.states.sharing import (
    AgreementForm,
    Category,
    FocusPoint,
    Frequency,
    Judgment,
    Level,
    Method,
    OpinionVerdict,
    Secrecy,
    ShareType,
)
from govflow.states.verdict import Reason
from govflow.states.vocabulary import STATUS_VOCABULARIES, CutStatus, OrderStatus, Word, word, words

ROOT = Path(__file__).resolve().parents[2]
ALL_VOCABULARIES: tuple[type[Word], ...] = (
    *STATUS_VOCABULARIES,
    Phase,
    Event,
    ReviewStage,
    Role,
    Level,
    Category,
    ShareType,
    Method,
    Frequency,
    Secrecy,
    AgreementForm,
    OpinionVerdict,
    FocusPoint,
    Judgment,
)
LANGS = ("zh", "en")


@pytest.mark.parametrize("kind", ALL_VOCABULARIES, ids=lambda k: k.__name__)
def test_every_member_has_its_own_words_in_both_languages(kind: type[Word]) -> None:
    zh = [m.label() for m in kind]
    en = [m.label("en") for m in kind]
    assert all(zh) and all(en) and zh == [m.zh for m in kind] and en == [m.en for m in kind]
    assert len(set(zh)) == len(zh) and len(set(en)) == len(en), "two codes read alike"
    for m in kind:
        assert word(kind, m.value, "en") == m.en and word(kind, m.value) == m.zh
    assert word(kind, "no-such-code") == "no-such-code" and word(kind, None) == ""


def test_a_vocabulary_without_words_for_a_member_is_refused() -> None:
    class Half(Word):
        ONE = "one"
        TWO = "two"

    with pytest.raises(RuntimeError, match=r"Half: no words for \['two'\]"):
        words(Half, {Half.ONE: ("一", "one")})


def _string_constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


#: the zh words of the status vocabularies: no code outside ``states/`` may spell one out again
STATUS_WORDS = {m.zh: f"{kind.__name__}.{m.name}" for kind in STATUS_VOCABULARIES for m in kind} | {
    m.zh: f"{kind.__name__}.{m.name}"
    for kind in (Category, ShareType, Frequency, Secrecy, OpinionVerdict, Judgment)
    for m in kind
}


def test_no_status_word_is_written_again_outside_the_domain() -> None:
    """A copy of a status word in the CLI, API, web, reports or notices is how they came to disagree."""
    files = {
        path.resolve()
        for folder in ("govflow", "notifications", "flows", "models")
        for path in (ROOT / folder).rglob("*.py")
    }
    copies = [
        f"{path.relative_to(ROOT)}: {s!r} ({STATUS_WORDS[s]})"
        for path in sorted(files)
        if (ROOT / "states") not in path.parents
        for s in _string_constants(path)
        if s in STATUS_WORDS
    ]
    assert len(files) > 60 and copies == []


@pytest.mark.parametrize("lang", LANGS)
def test_reports_and_notices_word_each_order_and_cut_status_as_its_enum(lang: str) -> None:
    status = reports.COLUMNS["status"]
    for st in OrderStatus:
        assert status.label(st.value, lang) == st.label(lang)
        notice = render("order.extend", {"order": "RO-1", "from": st.value, "to": st.value}, lang=lang)
        assert f"{st.label(lang)} → {st.label(lang)}" in notice.body
    for cut in CutStatus:
        assert status.label(cut.value, lang) == cut.label(lang)
        notice = render(
            f"cuts.{cut.value}", {"period": "2026", "percent": "10", "status": cut.value}, lang=lang
        )
        if cut in (
            CutStatus.ACCEPTED,
            CutStatus.DECLINED,
        ):  # a proposal and a withdrawal say it in a sentence
            assert cut.label(lang) in notice.body, notice.body
    frame = pd.DataFrame([{"status": st.value} for st in OrderStatus])
    csv = reports.file_bytes(frame, "csv", lang).decode("utf-8-sig").splitlines()
    assert csv[1:] == [st.label(lang) for st in OrderStatus]


#: SPEC §5 exit codes and the HTTP statuses of the API, per error class
ERROR_MAP: list[tuple[GovflowError, int, int]] = [
    (UsageError("x"), 2, 400),
    (RuleRefused([Reason("R", "733号文 第十条", "x", "x")]), 3, 422),
    (InvalidInput([Reason("R", "733号文 第十条", "x", "x")]), 3, 422),
    (PermissionDenied([Reason("PERMISSION_DENIED", "govflow 权限表", "x", "x")]), 3, 403),
    (NotFound("x"), 4, 404),
    (OutOfScope(NotFound("项目 X 不存在", "project X does not exist")), 4, 404),
    (Conflict("x"), 5, 409),
    (CalendarDataMissing("x", year=2031), 3, 422),
]


@pytest.mark.parametrize(("error", "exit_code", "http_status"), ERROR_MAP, ids=lambda e: type(e).__name__)
def test_each_error_class_carries_its_exit_code_and_http_status(
    error: GovflowError, exit_code: int, http_status: int
) -> None:
    from govflow.api.errors import error_response

    assert (error.exit_code, error.http_status) == (exit_code, http_status)
    assert error_response(error, "zh").status_code == http_status


def test_an_out_of_scope_record_reads_exactly_as_a_missing_one() -> None:
    missing = NotFound("项目 ZJ-1 不存在", "project ZJ-1 does not exist")
    hidden = OutOfScope(missing)
    assert (hidden.code, hidden.text("zh"), hidden.text("en")) == (
        missing.code,
        missing.message,
        missing.message_en,
    )

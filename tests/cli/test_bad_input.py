"""Bad input never crashes a command (issue 13, item 5; the rules are ``govflow/states/inputs.py``): huge and
non-finite numbers, JSON nested 100,000 deep, duplicate JSON keys, control and bidi characters in codes and
names, dates before 2000 — through ``govflow load`` (JSON and YAML), ``catalog import`` (CSV, XLSX),
``evidence import`` and ``user add``. Each is refused (exit 2 or 3) naming the field, and the database is left
exactly as it was. The in-process harness re-raises any exception a command did not turn into an exit code, so a
crash fails the test instead of passing as exit 1.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import inspect, text

from govflow.models.db import make_engine

from .harness import Cli
from .test_cli import DATA, demo_document

NEW = "ZJ-2099-901"  # a project code the demo does not use


@pytest.fixture
def demo(cli: Cli) -> Cli:
    cli("load", DATA.parent.parent / "govflow" / "data" / "demo-portfolio.yaml").expect(0)
    return cli


def everything(db_url: str) -> dict[str, list[str]]:
    """Every row of every table, as text, sorted: "the database is unchanged" is this being equal."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            out = {}
            for name in inspect(conn).get_table_names():
                rows = conn.execute(text(f'SELECT * FROM "{name}"'))
                out[name] = sorted(repr(tuple(r)) for r in rows)
            return out
    finally:
        engine.dispose()


def new_project() -> dict[str, Any]:
    """The demo's complete project ZJ-2026-001 under a new code: a document that loads as it is."""
    p: dict[str, Any] = json.loads(json.dumps(demo_document()["projects"][0]))
    p["code"] = NEW
    return {"projects": [p]}


def refused(cli: Cli, code: int, field: str, *args: str | Path, lang: str | None = None) -> str:
    """Run the command, expect ``code``, the field named, and the database unchanged; the output."""
    assert cli.db_url is not None
    before = everything(cli.db_url)
    run = cli(*args, lang=lang).expect(code)
    assert field in run.output, run
    assert "Traceback" not in run.output
    assert everything(cli.db_url) == before
    return run.output


def test_the_unchanged_document_loads(demo: Cli, tmp_path: Path) -> None:
    """The control for the cases below: each refusal is caused by the one bad value it puts in."""
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(new_project(), ensure_ascii=False), encoding="utf-8")
    demo("load", path).expect(0)
    assert demo.json("project", "show", NEW)["code"] == NEW


def _set(doc: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    """``where`` like ``projects.0.catalog.0.code``."""
    *parents, last = where.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return doc


VALUES = [
    # (id, path in the document, value, exit code, field named, words of the rule)
    ("huge-budget", "projects.0.om_budget", 1e40, 3, "projects[0].om_budget", "不得大于 999999999999.99"),
    ("long-budget", "projects.0.om_budget", 10**30, 3, "projects[0].om_budget", "不得大于"),
    ("nul-in-code", "projects.0.code", "ZJ\x00-1", 3, "projects[0].code", "控制字符 U+0000"),
    (
        "escape-in-name",
        "projects.0.catalog.0.name",
        "企业\x1b[31m",
        3,
        "projects[0].catalog[0].name",
        "U+001B",
    ),
    ("c1-in-code", "projects.0.catalog.0.code", "C\x85-001", 3, "projects[0].catalog[0].code", "U+0085"),
    ("rlo-in-name", "projects.0.name", "平台\u202e二期", 3, "projects[0].name", "双向文本控制字符 U+202E"),
    (
        "lri-in-code",
        "projects.0.agreements.0.code",
        "A\u2066-1",
        3,
        "projects[0].agreements[0].code",
        "U+2066",
    ),
    ("rlm-in-dept", "projects.0.lead_department", "\u200f11330000GF00000027", 3, "lead_department", "U+200F"),
    (
        "nul-in-text",
        "projects.0.opinions.0.comment",
        "同意\x00",
        3,
        "projects[0].opinions[0].comment",
        "U+0000",
    ),
    (
        "before-2000",
        "projects.0.opinions.0.date",
        "1999-12-31",
        3,
        "projects[0].opinions[0].date",
        "2000-01-01",
    ),
    (
        "year-1926",
        "projects.0.agreements.0.signed_on",
        "1926-03-01",
        3,
        "agreements[0].signed_on",
        "请核对年份",
    ),
]


@pytest.mark.parametrize(
    ("where", "value", "code", "field", "words"), [pytest.param(*v[1:], id=v[0]) for v in VALUES]
)
def test_a_bad_value_in_a_json_document_is_refused_by_field(
    demo: Cli, tmp_path: Path, where: str, value: Any, code: int, field: str, words: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_set(new_project(), where, value), ensure_ascii=False), encoding="utf-8")
    assert words in refused(demo, code, field, "load", path)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_in_json_are_refused_by_field(demo: Cli, tmp_path: Path, literal: str) -> None:
    body = json.dumps(_set(new_project(), "projects.0.om_budget", 12345)).replace(": 12345", f": {literal}")
    path = tmp_path / "nan.json"
    path.write_text(body, encoding="utf-8")
    assert "不是有限的数值" in refused(demo, 3, "projects[0].om_budget", "load", path)


def test_json_nested_100000_deep_is_refused(demo: Cli, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"projects": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    assert "嵌套超过 64 层" in refused(demo, 3, "deep.json", "load", path)
    assert "nests deeper than 64 levels" in refused(demo, 3, "deep.json", "load", path, lang="en")


def test_yaml_nested_100000_deep_is_refused(demo: Cli, tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("projects: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    refused(demo, 2, "deep.yaml", "load", path)


def test_a_duplicate_json_key_is_refused_not_last_wins(demo: Cli, tmp_path: Path) -> None:
    body = json.dumps(new_project(), ensure_ascii=False)
    # the second "om_budget" would silently replace the first
    body = body.replace('"om_budget": ', '"om_budget": 1, "om_budget": ', 1)
    path = tmp_path / "dup.json"
    path.write_text(body, encoding="utf-8")
    out = refused(demo, 3, "projects[0].om_budget", "load", path)
    assert "键“om_budget”在同一对象中重复" in out
    en = refused(demo, 3, "projects[0].om_budget", "load", path, lang="en")
    assert "duplicate key 'om_budget'" in en
    res = demo.json("load", path, code=3)
    assert [r["path"] for r in res["reasons"]] == ["projects[0].om_budget"]


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        pytest.param(".nan", "projects[0].om_budget", "不是有限的数值", id="nan"),
        pytest.param(".inf", "projects[0].om_budget", "不是有限的数值", id="inf"),
        pytest.param("1.0e+40", "projects[0].om_budget", "不得大于", id="huge"),
    ],
)
def test_bad_numbers_in_yaml_are_refused_by_field(
    demo: Cli, tmp_path: Path, value: str, field: str, words: str
) -> None:
    body = json.dumps(_set(new_project(), "projects.0.om_budget", 12345), ensure_ascii=False)
    path = tmp_path / "bad.yaml"  # JSON is YAML: only the number is written the YAML way
    path.write_text(body.replace(": 12345", f": {value}"), encoding="utf-8")
    assert words in refused(demo, 3, field, "load", path)


def test_control_and_bidi_characters_in_user_names_are_refused(demo: Cli, tmp_path: Path) -> None:
    doc = new_project()
    doc["users"] = [{"name": "wang\u202e", "role": "audit"}]
    path = tmp_path / "users.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    refused(demo, 3, "users[0].name", "load", path)
    # and a user added on the command line
    assert "U+202E" in refused(demo, 3, "name", "user", "add", "li\u202egnaw", "--role", "audit")
    out = refused(
        demo, 3, "display_name", "user", "add", "zhang", "--role", "audit", "--display-name", "张\x1b"
    )
    assert "U+001B" in out
    en = refused(demo, 3, "name", "user", "add", "ev\u2067il", "--role", "audit", lang="en")
    assert "bidirectional control character U+2067" in en
    res = demo.json("user", "add", "ev\u2067il", "--role", "audit", code=3)
    assert [(r["code"], r["path"]) for r in res["reasons"]] == [("INVALID_TEXT", "name")]


# ---------------------------------------------------------------------------------------------- tables


def _catalog_rows(change: dict[str, str]) -> list[list[str]]:
    lines = (DATA / "catalog.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = dict(zip(header, lines[1].split(","), strict=True)) | change
    return [header, [row[h] for h in header]]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        pytest.param({"code": "C-\x0001"}, "rows[1].code", "U+0000", id="nul-code"),
        pytest.param({"name": "企业\u202e登记"}, "rows[1].name", "U+202E", id="rlo-name"),
        pytest.param({"code": "C-\u200e001"}, "rows[1].code", "U+200E", id="lrm-code"),
        pytest.param({"name": "企业\x85登记"}, "rows[1].name", "U+0085", id="c1-name"),
    ],
)
def test_catalog_csv_with_control_or_bidi_characters_is_refused(
    demo: Cli, tmp_path: Path, change: dict[str, str], field: str, words: str
) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("\n".join(",".join(r) for r in _catalog_rows(change)) + "\n", encoding="utf-8")
    out = refused(demo, 3, field, "catalog", "import", "ZJ-2026-002", path, "--as", "zhao")
    assert words in out


def test_catalog_xlsx_with_a_bidi_character_is_refused(demo: Cli, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in _catalog_rows({"name": "企业\u2066登记\u2069"}):
        sheet.append(row)
    path = tmp_path / "catalog.xlsx"
    book.save(path)
    assert "U+2066" in refused(
        demo, 3, "rows[1].name", "catalog", "import", "ZJ-2026-002", path, "--as", "zhao"
    )


@pytest.mark.parametrize(
    ("replace", "field", "words"),
    [
        pytest.param(("2026-11-24", "1999-11-24"), "rows[1].date", "2000-01-01", id="before-2000"),
        pytest.param(("C-001", "C-0\u202e01"), "rows[1].catalog", "U+202E", id="rlo-code"),
        pytest.param(("C-001", "C-0\x0001"), "rows[1].catalog", "U+0000", id="nul-code"),
        pytest.param((",1764", ",1e40"), "rows[1].records", "records", id="huge-count"),
    ],
)
def test_evidence_csv_with_bad_values_is_refused(
    demo: Cli, tmp_path: Path, replace: tuple[str, str], field: str, words: str
) -> None:
    lines = (DATA / "evidence.csv").read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "evidence.csv"
    path.write_text(lines[0] + "\n" + lines[1].replace(*replace) + "\n", encoding="utf-8")
    assert words in refused(demo, 3, field, "evidence", "import", path)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        pytest.param(
            '[{"name": "uscc", "name": "ent", "type": "char(18)"}]',
            "rows[1].fields[0].name",
            "键“name”在同一对象中重复",
            id="duplicate-key",
        ),
        # 50,000 deep: a CSV cell holds at most 131,072 characters
        pytest.param("[" * 50_000 + "]" * 50_000, "rows[1].fields", "嵌套超过 64 层", id="deep"),
    ],
)
def test_a_json_cell_of_a_catalog_csv_is_read_strictly(
    demo: Cli, tmp_path: Path, fields: str, field: str, words: str
) -> None:
    path = tmp_path / "catalog.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(_catalog_rows({"fields": fields}))
    assert words in refused(demo, 3, field, "catalog", "import", "ZJ-2026-002", path, "--as", "zhao")

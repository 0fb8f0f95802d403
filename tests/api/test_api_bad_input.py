"""Bad input never crashes the API (issue 13, item 5; the rules are ``govflow/states/inputs.py``, the JSON reader
``govflow/api/bodies.py``): duplicate keys, JSON nested 100,000 deep, non-finite and huge numbers, control and bidi
characters in codes and names (bodies, path and query parameters, user names), dates before 2000. Each is a 422
naming the field, in the reader's language, and the database is left exactly as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from govflow.demo import demo_portfolio
from govflow.models.db import make_engine

from .support import SAMR, As

ORDER = "RO-ZJ-2026-004-01"


def everything(db_url: str) -> dict[str, list[str]]:
    """Every row of every table, as text, sorted."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return {
                name: sorted(repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{name}"')))
                for name in inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()


@pytest.fixture
def refused(client: TestClient, db_url: str) -> Any:
    """``refused(method, url, field, headers=…, json=… | content=…)``: 422 naming ``field``, nothing written;
    returns the message of the reason that names it."""

    def call(method: str, url: str, field: str, **kwargs: Any) -> str:
        before = everything(db_url)
        response = client.request(method, url, **kwargs)
        assert response.status_code == 422, response.text
        body = response.json()
        named = [r for r in body["reasons"] if r.get("path") == field]
        assert named, body
        assert everything(db_url) == before
        return str(named[0]["message"])

    return call


def raw(headers: dict[str, str], body: str) -> dict[str, Any]:
    return {"headers": {**headers, "Content-Type": "application/json"}, "content": body.encode()}


# ---------------------------------------------------------------------------------------------- JSON itself


def test_a_duplicate_key_is_refused_not_last_wins(refused: Any, as_: As) -> None:
    # {"role": "audit", "role": "admin"} would make an administrator of what reads as an auditor
    body = '{"name": "zhang", "role": "audit", "role": "admin"}'
    message = refused("POST", "/api/v1/users", "body.role", **raw(as_("admin"), body))
    assert "键“role”在同一对象中重复" in message
    english = refused("POST", "/api/v1/users", "body.role", **raw(as_("admin", lang="en"), body))
    assert "duplicate key 'role'" in english


def test_a_refused_json_body_answers_the_common_error_body(client: TestClient, as_: As) -> None:
    response = client.post(
        "/api/v1/users", **raw(as_("admin"), '{"name": "a", "name": "b", "role": "audit"}')
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "INVALID_INPUT"
    assert [(r["code"], r["path"]) for r in body["reasons"]] == [("INVALID_JSON", "body.name")]


def test_a_duplicate_key_inside_a_list_is_named_with_its_index(refused: Any, as_: As) -> None:
    body = json.dumps({"department": SAMR, "verdict": "unmet_needs", "unmet_needs": [{"name": "a"}]})
    body = body.replace('{"name": "a"}', '{"name": "a", "name": "b"}')
    refused(
        "POST", "/api/v1/projects/ZJ-2026-001/opinions", "body.unmet_needs[0].name", **raw(as_("wang"), body)
    )


def test_json_nested_100000_deep_is_refused(refused: Any, as_: As) -> None:
    body = '{"reason": "x", "to": ' + "[" * 100_000 + "]" * 100_000 + "}"
    message = refused("POST", f"/api/v1/orders/{ORDER}/extend", "body", **raw(as_("wang"), body))
    assert "嵌套超过 64 层" in message


# ---------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "1e40", "100000000000000000000000000000000"])
def test_non_finite_and_huge_numbers_are_refused(refused: Any, as_: As, literal: str) -> None:
    body = '{"reason": "延期", "workdays": ' + literal + "}"
    refused("POST", f"/api/v1/orders/{ORDER}/extend", "body.workdays", **raw(as_("wang"), body))


# ---------------------------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("name", "words"),
    [
        pytest.param("zh\x00ang", "控制字符 U+0000", id="nul"),
        pytest.param("zh\x1bang", "控制字符 U+001B", id="escape"),
        pytest.param("zh\x9bang", "控制字符 U+009B", id="c1"),
        pytest.param("zhang\u202e", "双向文本控制字符 U+202E", id="rlo"),
        pytest.param("\u2066zhang\u2069", "双向文本控制字符 U+2066", id="lri"),
        pytest.param("zh\u200fang", "双向文本控制字符 U+200F", id="rlm"),
        pytest.param("zh\tang", "控制字符 U+0009", id="tab"),
    ],
)
def test_junk_user_names_are_refused(refused: Any, as_: As, name: str, words: str) -> None:
    assert words in refused(
        "POST", "/api/v1/users", "body.name", headers=as_("admin"), json={"name": name, "role": "audit"}
    )


def test_junk_names_are_refused_in_english_too(refused: Any, as_: As) -> None:
    message = refused(
        "POST",
        "/api/v1/users",
        "body.name",
        headers=as_("admin", lang="en"),
        json={"name": "a\u202eb", "role": "audit"},
    )
    assert "bidirectional control character U+202E" in message


@pytest.mark.parametrize(
    ("name", "words"),
    [pytest.param("x" * 65, "过长；最多 64 个字符", id="too-long"), pytest.param("", "不能为空", id="empty")],
)
def test_names_of_the_wrong_length_are_refused_in_words(refused: Any, as_: As, name: str, words: str) -> None:
    body = {"name": name, "role": "audit"}
    assert words in refused("POST", "/api/v1/users", "body.name", headers=as_("admin"), json=body)


def test_junk_in_a_sign_in_name_is_refused_before_any_lookup(refused: Any) -> None:
    refused("POST", "/api/auth/login", "body.name", json={"name": "wa\x00ng", "password": "x"})
    refused("POST", "/api/auth/login", "body.name", json={"name": "wang\u202e", "password": "x"})


@pytest.mark.parametrize(
    ("url", "field"),
    [
        pytest.param("/api/v1/projects/ZJ%00-2026-001", "path.code", id="nul-project"),
        pytest.param("/api/v1/projects/ZJ-2026-001%E2%80%AE", "path.code", id="rlo-project"),
        pytest.param("/api/v1/orders/RO%C2%85-1", "path.order", id="c1-order"),
        pytest.param("/api/v1/audit/events?by=wa%00ng", "query.by", id="nul-query"),
        pytest.param("/api/v1/findings?project=ZJ%E2%81%A6-1", "query.project", id="lri-query"),
    ],
)
def test_junk_codes_in_paths_and_queries_are_refused(refused: Any, as_: As, url: str, field: str) -> None:
    refused("GET", url, field, headers=as_("admin"))


def test_control_characters_in_free_text_are_refused(refused: Any, as_: As) -> None:
    body = {"department": SAMR, "verdict": "agree", "comment": "同意\x00"}
    message = refused(
        "POST", "/api/v1/projects/ZJ-2026-001/opinions", "body.comment", headers=as_("wang"), json=body
    )
    assert "U+0000" in message


# ---------------------------------------------------------------------------------------------- dates


def test_dates_before_2000_are_refused(refused: Any, as_: As) -> None:
    body = {"department": SAMR, "verdict": "agree", "date": "1999-12-31"}
    message = refused(
        "POST", "/api/v1/projects/ZJ-2026-001/opinions", "body.date", headers=as_("wang"), json=body
    )
    assert "须在 2000-01-01 至 2099-12-31 之间" in message
    refused(
        "POST",
        f"/api/v1/orders/{ORDER}/extend",
        "body.to",
        headers=as_("wang"),
        json={"reason": "延期", "to": "1926-11-30"},
    )
    refused("GET", "/api/v1/reports/portfolio?as_of=1999-09-30", "query.as_of", headers=as_("admin"))


def test_a_valid_request_of_the_same_shapes_is_accepted(client: TestClient, as_: As) -> None:
    """The control: the refusals above are the bad values', not the requests'."""
    ok = client.post("/api/v1/users", headers=as_("admin"), json={"name": "zhang", "role": "audit"})
    assert ok.status_code in (200, 201), ok.text
    body = {"department": SAMR, "verdict": "agree", "date": "2026-11-20", "comment": "同意\n无意见"}
    assert client.post(
        "/api/v1/projects/ZJ-2026-001/opinions", headers=as_("wang"), json=body
    ).status_code in (
        200,
        201,
    )
    assert client.get("/api/v1/reports/portfolio?as_of=2026-09-30", headers=as_("admin")).status_code == 200


# ---------------------------------------------------------------------------------------------- uploaded files

DATA = Path(__file__).resolve().parents[1] / "data"


def new_project(**changes: Any) -> dict[str, Any]:
    """The demo's complete project ZJ-2026-001 under a new code, with ``changes`` made to it."""
    demo = yaml.safe_load(demo_portfolio().read_text(encoding="utf-8"))
    project: dict[str, Any] = json.loads(json.dumps(demo["projects"][0], default=str))
    return {"projects": [{**project, "code": "ZJ-2099-901", **changes}]}


def upload(name: str, content: bytes) -> dict[str, Any]:
    return {"files": {"file": (name, content, "application/octet-stream")}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param(
            json.dumps(new_project(om_budget=1)).replace('"om_budget": 1', '"om_budget": 1, "om_budget": 2'),
            "projects[0].om_budget",
            id="duplicate-key",
        ),
        pytest.param(
            json.dumps(new_project(om_budget=1)).replace(": 1,", ": NaN,"), "projects[0].om_budget", id="nan"
        ),
        pytest.param(json.dumps(new_project(om_budget=1e40)), "projects[0].om_budget", id="huge"),
        pytest.param(json.dumps(new_project(name="平台\u202e")), "projects[0].name", id="rlo-name"),
        pytest.param(json.dumps(new_project(code="ZJ\x00-1")), "projects[0].code", id="nul-code"),
    ],
)
def test_a_portfolio_upload_with_a_bad_value_is_refused_by_field(
    refused: Any, as_: As, body: str, field: str
) -> None:
    refused("POST", "/api/v1/portfolio", field, headers=as_("admin"), **upload("p.json", body.encode()))


def test_a_portfolio_upload_nested_100000_deep_is_refused(client: TestClient, as_: As, db_url: str) -> None:
    before = everything(db_url)
    body = ('{"projects": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()
    response = client.post("/api/v1/portfolio", headers=as_("admin"), **upload("deep.json", body))
    assert response.status_code == 422, response.text
    [reason] = response.json()["reasons"]
    # the parser gave up long before a field: the document itself is named
    assert reason["path"] == "$" and "嵌套超过 64 层" in reason["message"]
    assert everything(db_url) == before


def test_a_portfolio_upload_with_a_date_before_2000_is_refused(refused: Any, as_: As) -> None:
    doc = new_project()
    doc["projects"][0]["agreements"][0]["signed_on"] = "1999-06-30"
    body = json.dumps(doc).encode()
    refused(
        "POST",
        "/api/v1/portfolio",
        "projects[0].agreements[0].signed_on",
        headers=as_("admin"),
        **upload("p.json", body),
    )


def test_a_catalog_upload_with_junk_in_a_code_is_refused(refused: Any, as_: As) -> None:
    header, row = (DATA / "catalog.csv").read_text(encoding="utf-8").splitlines()[:2]
    junk = row.replace("C-001", "C-\u202e001", 1)
    csv = f"{header}\n{junk}\n".encode()
    refused(
        "POST",
        "/api/v1/projects/ZJ-2026-001/catalog",
        "rows[1].code",
        headers=as_("li"),
        **upload("c.csv", csv),
    )


def test_an_evidence_upload_with_a_date_before_2000_is_refused(refused: Any, as_: As) -> None:
    header, row = (DATA / "evidence.csv").read_text(encoding="utf-8-sig").splitlines()[:2]
    csv = f"{header}\n{row.replace('2026-11-24', '1999-11-24')}\n".encode()
    refused("POST", "/api/v1/evidence", "rows[1].date", headers=as_("admin"), **upload("e.csv", csv))

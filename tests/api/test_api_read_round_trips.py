"""Project show and the project list with an API token: one database statement per request, the token's check
included (issue 13), on SQLite and PostgreSQL — and nothing else changed: a token that does not hold is still a
401, and every reader gets what it got when the token was checked apart (same rows, counts, 403/404, secrecy).

Statements are counted with an engine event (``before_cursor_execute``): every statement sent to the database,
BEGIN included. API tokens do not expire in govflow (one per user, until replaced or revoked); the expired
credential below is a session cookie, whose path is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, insert, select, update

from govflow.access import auth
from govflow.access.tokens import ApiToken
from govflow.api.deps import SESSION_COOKIE
from govflow.lifecycle import services
from govflow.lifecycle.services import App, ProjectView
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.tables import AppUser, CatalogAuthorization, CatalogItem, Department, Project, UserSession
from govflow.states.errors import GovflowError

from .support import DEMO_USERS, NDRC, As

V1 = "/api/v1"
SHOW = f"{V1}/projects/ZJ-2026-001"
LIST = f"{V1}/projects"
PASSWORD = "Round-Trip-2026!x"


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement the engine sends while inside (BEGIN and the like included)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("user", ["li", "wang", "zheng", "admin"])  # department, program office, audit, admin
def test_project_show_and_list_are_one_statement_each(
    client: TestClient, engine: Engine, as_: As, user: str
) -> None:
    requests: list[tuple[str, dict[str, Any]]] = [
        (SHOW, {}),
        (f"{V1}/projects/ZJ-2099-999", {}),  # no such project: 404, nothing to audit
        (LIST, {}),
        (LIST, {"size": 2, "page": 2}),
        (LIST, {"page": 999}),  # past the end: the total still comes with the same statement
        (LIST, {"phase": "draft", "department": NDRC, "overdue": "true"}),
    ]
    for path, params in requests:
        with statements(engine) as seen:
            r = client.get(path, params=params, headers=as_(user))
        assert r.status_code in (200, 404), (path, params, r.text)
        assert len(seen) == 1, (user, path, params, seen)


def test_the_baseline_check_is_unchanged(client: TestClient, engine: Engine, as_: As) -> None:
    """``/api/auth/me`` still checks the token by itself: one SELECT (SQLite adds its BEGIN)."""
    with statements(engine) as seen:
        assert client.get("/api/auth/me", headers=as_("li")).status_code == 200
    assert len([s for s in seen if s != "BEGIN"]) == 1


def refused(client: TestClient, headers: dict[str, str], **cookies: str) -> list[int]:
    """The statuses of project show and the list (plain, and with an invalid parameter) for these credentials."""
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    answers = [
        client.get(SHOW, headers=headers),
        client.get(LIST, headers=headers),
        client.get(LIST, params={"size": 10_000}, headers=headers),  # invalid: credentials are checked first
        client.get(f"{V1}/projects/{'x' * 100}", headers=headers),  # an invalid code, likewise
    ]
    for r in answers:
        if r.status_code == 401:
            assert r.json()["error"] == "UNAUTHENTICATED" and r.headers["www-authenticate"].startswith(
                "Bearer"
            )
    return [r.status_code for r in answers]


def set_user(gov: App, name: str, **values: Any) -> None:
    with unit_of_work(gov.engine) as s:
        s.execute(update(t(AppUser)).where(t(AppUser).c.name == name).values(**values))


def test_tokens_that_do_not_hold_are_401_on_show_and_list(
    client: TestClient, gov: App, tokens: dict[str, str]
) -> None:
    good = {name: bearer(token) for name, token in tokens.items()}
    assert refused(client, good["xu"]) == [404, 200, 422, 422]  # xu's department takes no part in 001
    assert refused(client, good["li"]) == [200, 200, 422, 422]

    # unknown, and not even of our form
    assert refused(client, bearer("gft_" + "A" * 43)) == [401] * 4
    assert refused(client, bearer("not-a-token")) == [401] * 4

    # revoked
    auth.revoke_token(gov, None, "li")
    assert refused(client, good["li"]) == [401] * 4

    # replaced by a new one: the old one no longer holds, the new one does
    new = auth.issue_token(gov, None, "wang")
    assert refused(client, good["wang"]) == [401] * 4
    assert refused(client, bearer(new)) == [200, 200, 422, 422]

    # an inactive user whose token is still stored (deactivation also revokes it, so this is set directly)
    set_user(gov, "zhao", active=False)
    assert refused(client, good["zhao"]) == [401] * 4
    set_user(gov, "zhao", active=True)
    assert refused(client, good["zhao"]) == [200, 200, 422, 422]

    # deactivated the product's way: inactive and revoked; reactivation does not bring the token back
    assert not auth.set_active(gov, None, "chen", False, reason="调岗 / transferred").active
    assert refused(client, good["chen"]) == [401] * 4
    auth.set_active(gov, None, "chen", True)
    assert refused(client, good["chen"]) == [401] * 4


def test_an_expired_session_is_401_on_show_and_list(client: TestClient, gov: App) -> None:
    auth.set_password(gov, None, "li", PASSWORD)
    assert client.post("/api/auth/login", json={"name": "li", "password": PASSWORD}).status_code == 200
    cookie = client.cookies[SESSION_COOKIE]
    assert refused(client, {}, **{SESSION_COOKIE: cookie}) == [200, 200, 422, 422]
    us = t(UserSession)
    with unit_of_work(gov.engine) as s:
        s.execute(update(us).values(expires_at=gov.clock() - timedelta(seconds=1)))
    assert refused(client, {}, **{SESSION_COOKIE: cookie}) == [401] * 4


Outcome = tuple[str, Any]


def outcome(read: Callable[[], Any]) -> Outcome:
    """What a read gives: its result (a view as its dictionary), or the error it raises (class, status, message)."""
    try:
        result = read()
    except GovflowError as exc:
        return "error", (type(exc).__name__, exc.http_status, exc.message)
    return "ok", result.to_dict() if isinstance(result, ProjectView) else result


def authorize_ndrc_on_the_secret_item(gov: App) -> None:
    """wang (program office, 发改委) then sees the secret item C-004 through its department's authorization."""
    ci, ca, dept = t(CatalogItem), t(CatalogAuthorization), t(Department)
    with unit_of_work(gov.engine) as s:
        item = s.execute(select(ci.c.id).where(ci.c.secrecy == "secret")).scalar_one()
        ndrc = s.execute(select(dept.c.id).where(dept.c.code == NDRC)).scalar_one()
        s.execute(insert(ca).values(catalog_item_id=item, department_id=ndrc))


@pytest.mark.parametrize("authorized", [False, True], ids=["demo", "ndrc-authorized"])
def test_a_token_read_gives_what_the_read_by_name_gives(
    gov: App, tokens: dict[str, str], authorized: bool
) -> None:
    """For every demo user and every project (and one that does not exist): the same view, or the same error —
    403 or the 404 that hides another department's project — and the same secret-item counts; and the same pages
    of the list, whatever the filters."""
    if authorized:
        authorize_ndrc_on_the_secret_item(gov)
    with unit_of_work(gov.engine, write=False) as s:
        codes = [*s.execute(select(t(Project).c.code).order_by(t(Project).c.code)).scalars(), "ZJ-2099-999"]
    compared = 0
    for user in DEMO_USERS:
        token = ApiToken.of(tokens[user])
        for code in codes:
            by_token = outcome(partial(services.show_project, gov, code, token))
            by_name = outcome(partial(services.show_project, gov, code, user))
            assert by_token == by_name, (user, code)
            compared += 1
        for filters in (
            {},
            {"phase": "draft"},
            {"department": NDRC},
            {"overdue": True},
            {"phase": "construction", "department": NDRC},
        ):
            for page, size in ((1, 50), (1, 2), (2, 2), (99, 2)):
                args: dict[str, Any] = {"page": page, "size": size, **filters}
                by_token = outcome(partial(services.page_projects, gov, token, **args))
                by_name = outcome(partial(services.page_projects, gov, user, **args))
                assert by_token == by_name, (user, args)
    assert compared == len(DEMO_USERS) * len(codes)


def test_secret_items_are_counted_only_for_those_who_may_see_them(client: TestClient, as_: As) -> None:
    """ZJ-2026-001's secret item C-004 (provider 省公安厅, authorized 大数据局) in the counts of project show."""
    sees = {"li": True, "zhou": True, "zheng": True, "zhao": False, "wang": False, "admin": False}
    for user, visible in sees.items():
        body = client.get(SHOW, headers=as_(user)).json()
        assert body["catalog_items"] == (5 if visible else 4), user

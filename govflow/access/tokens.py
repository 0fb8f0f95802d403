"""API tokens as a read carries them: the check of a request's bearer token inside the statement that reads what
the request asks for, so that a project read with a token is one database round trip (issue 13).

The rule is stated once, here, and :func:`govflow.access.auth.actor_for_token` applies the same one: a token
holds while it is the SHA-256 in ``app_user.token_hash`` of an active user. Nothing is remembered between
requests (no token → user cache): every request reads the user row again, so a revoked or replaced token and a
deactivated user are refused from the next request on, whichever way the token is checked.

:class:`ApiToken` is a bearer token whose form is right (checked without the database) and whose user is not yet
known; :func:`token_reader` is that user as a common table expression a read joins to its own rows. The read
gets no row at all when the token does not hold, and raises :class:`Unauthenticated` (401), as the separate
check would have before reading anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CTE, bindparam, select
from sqlalchemy.sql.elements import ColumnElement

from govflow.lifecycle.core import Actor
from govflow.models.facts import DEPT, t
from govflow.models.tables import AppUser
from govflow.states.errors import GovflowError
from govflow.states.permissions import Role

USER = t(AppUser)
TOKEN_PREFIX = "gft_"
#: a longer bearer value is no token of ours (ours are 47 characters): refused before hashing it
MAX_TOKEN_LENGTH = 100


class Unauthenticated(GovflowError):
    """No valid credentials (HTTP 401). Deliberately vague: it never says whether the name exists."""

    exit_code = 2
    http_status = 401
    code = "UNAUTHENTICATED"

    def __init__(self) -> None:
        super().__init__(
            "用户名或口令错误，或登录已失效", "wrong user name or password, or the sign-in expired"
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ApiToken:
    """A bearer token of the right form, not yet checked against the database; only its SHA-256 is kept."""

    token_hash: str = field(repr=False)

    @classmethod
    def of(cls, token: str) -> ApiToken:
        """The token, or :class:`Unauthenticated` when it cannot be one of ours (no database needed for that)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated()
        return cls(hash_token(token))

    def binds(self) -> dict[str, Any]:
        """The bound parameters of :data:`USER_BY_TOKEN` and :func:`token_reader`."""
        return {"token_hash": self.token_hash}


def _token_holds() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The rule: the user whose token hash is ``:token_hash``, while active."""
    return USER.c.token_hash == bindparam("token_hash"), USER.c.active.is_(True)


USER_COLUMNS = select(
    USER.c.id,
    USER.c.name,
    USER.c.role,
    USER.c.active,
    USER.c.department_id,
    USER.c.display_name,
    USER.c.password_hash,
    USER.c.session_epoch,
    DEPT.c.code.label("department"),
).outerjoin(DEPT, DEPT.c.id == USER.c.department_id)
#: the token's user alone (the API's ``/api/auth/me`` and every route but the token-carrying reads)
USER_BY_TOKEN = USER_COLUMNS.where(*_token_holds())


def token_reader(name: str = "reader") -> CTE:
    """The active user of the token in ``:token_hash``, as a CTE of at most one row (none: the token is unknown,
    revoked or replaced, or its user inactive) with the columns an :class:`Actor` needs."""
    return (
        select(USER.c.name, USER.c.role, USER.c.department_id, DEPT.c.code.label("department"))
        .outerjoin(DEPT, DEPT.c.id == USER.c.department_id)
        .where(*_token_holds())
        .cte(name)
    )


#: the prefix of the reader's columns in a read's rows (:func:`reader_columns`)
READER = "reader_"


def reader_columns(reader: CTE) -> list[ColumnElement[Any]]:
    """The reader's columns, labelled for a read's rows (:func:`reader_actor` reads them back)."""
    return [reader.c[c].label(READER + c) for c in ("name", "role", "department_id", "department")]


def reader_actor(row: Mapping[Any, Any]) -> Actor:
    """The actor of a read's row (:func:`reader_columns`); :class:`Unauthenticated` when the token did not hold."""
    name = row[READER + "name"]
    if name is None:
        raise Unauthenticated()
    dept_id = row[READER + "department_id"]
    department = row[READER + "department"]
    return Actor(
        str(name),
        Role(str(row[READER + "role"])),
        str(department) if department is not None else None,
        int(dept_id) if dept_id is not None else None,
    )

"""What every route depends on: the application, the language, the signed-in actor, paging.

An actor comes from ``Authorization: Bearer <API token>`` (machines) or from the signed session cookie set by
``POST /api/auth/login`` (people, and the web pages). A bad bearer token is refused outright, never overridden
by a cookie. A cookie-authenticated request that changes data must also carry the session's CSRF token in
``X-CSRF-Token`` (the cookie is ``SameSite=Lax`` and ``HttpOnly``; the token defeats cross-site form posts).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from govflow.access import auth, tokens
from govflow.api.errors import UNCHECKED_TOKEN, CsrfFailed
from govflow.api.i18n import request_lang
from govflow.api.schemas import CODE
from govflow.api.settings import ApiSettings
from govflow.lifecycle.services import Actor, App

SESSION_COOKIE = "govflow_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="API 令牌（govflow user token NAME 签发） / API token issued by `govflow user token NAME`",
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="登录会话（POST /api/auth/login）；修改数据时另须 X-CSRF-Token / session cookie",
)


def get_app(request: Request) -> App:
    app: App = request.app.state.govflow
    return app


def get_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in the thread pool, and
# a hop there and back per dependency was most of what a project read cost over HTTP (bench/api.py).


async def get_lang(request: Request) -> str:
    return request_lang(request)


async def _app_dependency(request: Request) -> App:
    return get_app(request)


GovApp = Annotated[App, Depends(_app_dependency)]
Lang = Annotated[str, Depends(get_lang)]


# ---------------------------------------------------------------------------------------------- sessions


def signer(settings: ApiSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt="govflow-session")


def open_session(
    response: Response, settings: ApiSettings, app: App, signed: auth.SignedIn
) -> dict[str, Any]:
    """Start a server-side session and set its cookie; returns what the client needs to know (its CSRF token and
    expiry). The cookie is signed and carries the user, the password fingerprint, the CSRF token and the
    session's key (:func:`govflow.access.auth.start_session`)."""
    now = app.clock()
    key = auth.start_session(app, signed, timedelta(seconds=settings.session_max_age))
    csrf = secrets.token_urlsafe(24)
    value = signer(settings).dumps({"u": signed.actor.name, "f": signed.fingerprint, "c": csrf, "s": key})
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=settings.session_max_age,
        httponly=True,
        secure=settings.production,
        samesite="lax",
        path="/",
    )
    return {
        "csrf_token": csrf,
        "expires_at": now.astimezone(UTC) + timedelta(seconds=settings.session_max_age),
    }


@dataclass(frozen=True)
class SessionCookie:
    """A session cookie that still holds: its user, its CSRF token and its server-side key."""

    signed: auth.SignedIn
    csrf: str
    key: str


def _cookie_data(settings: ApiSettings, cookie: str) -> tuple[str, str, str, str]:
    """The cookie's user, fingerprint, CSRF token and session key; ``Unauthenticated`` when it is not ours."""
    try:
        data = signer(settings).loads(cookie, max_age=settings.session_max_age)
        return str(data["u"]), str(data["f"]), str(data["c"]), str(data["s"])
    except (BadSignature, KeyError, TypeError) as exc:
        raise auth.Unauthenticated() from exc


def read_session(app: App, settings: ApiSettings, cookie: str) -> SessionCookie:
    """The session of a cookie if it still holds (signed by us, not expired, not ended on the server, the user
    active and its password unchanged), else ``Unauthenticated``. The web pages and the API share it."""
    name, fingerprint, csrf, key = _cookie_data(settings, cookie)
    return SessionCookie(auth.actor_for_session(app, name, fingerprint, key), csrf, key)


def end_session(app: App, settings: ApiSettings, cookie: str | None) -> None:
    """Sign out on the server: the cookie's session ends, so a copy of the cookie is refused from now on."""
    if not cookie:
        return
    try:
        key = _cookie_data(settings, cookie)[3]
    except auth.Unauthenticated:
        return
    auth.end_session(app, key)


def close_session(response: Response, settings: ApiSettings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=settings.production, httponly=True, samesite="lax"
    )


@dataclass(frozen=True)
class Principal:
    """Who is asking, and how: ``via`` is ``token`` or ``session`` (with the session's CSRF token)."""

    actor: Actor
    via: str
    display_name: str | None = None
    csrf_token: str | None = None

    @property
    def name(self) -> str:
        return self.actor.name


def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    session: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    app = get_app(request)
    if bearer is not None:
        return Principal(auth.actor_for_token(app, bearer.credentials), "token")
    if session is None:
        raise auth.Unauthenticated()
    held = read_session(app, get_settings(request), session)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent.encode(), held.csrf.encode()):
            raise CsrfFailed()
    return Principal(held.signed.actor, "session", held.signed.display_name, held.csrf)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_reader(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    session: Annotated[str | None, Depends(cookie_scheme)],
) -> Actor | tokens.ApiToken:
    """Who reads, for a read that checks an API token in its own statement (one database round trip, issue 13):
    a bearer token of the right form, not yet checked — the read refuses it (401) when it does not hold — or
    the actor of a session cookie, checked here as :func:`current_principal` checks it.

    The token is kept on the request too: when the request's parameters are invalid the read never runs, and
    the validation answer checks the token first (:mod:`govflow.api.errors`), so that a token that does not
    hold is still a 401 before anything else, as with :func:`current_principal`."""
    if bearer is not None:
        token = tokens.ApiToken.of(bearer.credentials)
        setattr(request.state, UNCHECKED_TOKEN, token)
        return token
    principal = await run_in_threadpool(current_principal, request, None, session)
    return principal.actor


#: the reader of a token-carrying read: an unchecked API token, or a session's actor
CurrentReader = Annotated[Actor | tokens.ApiToken, Depends(current_reader)]


async def current_actor_name(principal: CurrentPrincipal) -> str:
    return principal.name


#: the acting user's name, as every use case takes it (never None: None would be the local operator)
ActorName = Annotated[str, Depends(current_actor_name)]


# ---------------------------------------------------------------------------------------------- paging


@dataclass(frozen=True)
class Paging:
    page: int
    size: int


async def paging(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="页码，从 1 起 / page number")] = 1,
    size: Annotated[int, Query(ge=1, le=500, description="每页条数 / page size")] = 50,
) -> Paging:
    return Paging(page, size)


PageParams = Annotated[Paging, Depends(paging)]


#: a project code or user name in a path: at most 64 characters, no control characters
ProjectCode = Annotated[str, Path(pattern=CODE, description="项目编号 / project code")]
UserName = Annotated[str, Path(pattern=CODE, description="用户名 / user name")]

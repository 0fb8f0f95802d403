"""Sign-in and sign-out for people (a signed session cookie); machines send ``Authorization: Bearer``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from govflow.access import auth
from govflow.api.deps import (
    SESSION_COOKIE,
    CurrentPrincipal,
    GovApp,
    close_session,
    end_session,
    get_settings,
    open_session,
)
from govflow.api.schemas import ErrorBody, LoginIn, PasswordChangeIn, SessionOut
from govflow.api.settings import ApiSettings

router = APIRouter(prefix="/api/auth", tags=["auth"])
Settings = Annotated[ApiSettings, Depends(get_settings)]


@router.post(
    "/login",
    response_model=SessionOut,
    summary="登录 / sign in",
    description="用户名与口令正确则设置会话 Cookie（HttpOnly、SameSite=Lax，生产模式下仅限 HTTPS），并返回 "
    "csrf_token：之后凡修改数据的会话请求须带 X-CSRF-Token 请求头。失败返回 401（不说明用户是否存在），并记入"
    "审计链。15 分钟内同一用户名登录失败 5 次即暂时锁定至该时段结束，返回 429，不再校验口令（GB/T 22239-2019 "
    "8.1.4.1 b）。\n\nOn a right name and password, sets the session cookie (HttpOnly, SameSite=Lax, HTTPS only in "
    "production) and returns csrf_token: every session request that changes data must send it as "
    "X-CSRF-Token. A failure is 401 (never saying whether the name exists) and is recorded in the audit trail. "
    "After 5 failed sign-ins of a name within 15 minutes the name is locked for the rest of the window: 429, "
    "without checking the password (GB/T 22239-2019 8.1.4.1 b).",
    responses={
        401: {"model": ErrorBody},
        429: {"model": ErrorBody, "description": "暂时锁定 / locked for now"},
    },
)
def login(app: GovApp, settings: Settings, body: LoginIn, response: Response) -> dict[str, Any]:
    signed = auth.authenticate(app, body.name, body.password)
    session = open_session(response, settings, app, signed)
    return {
        "name": signed.actor.name,
        "role": signed.actor.role,
        "department": signed.actor.department,
        "display_name": signed.display_name,
        "via": "session",
        **session,
    }


@router.post(
    "/logout",
    status_code=204,
    summary="退出登录 / sign out",
    description="在服务器端结束本会话：此后该会话 Cookie（包括其副本）一律被拒绝。\n\nEnds this session on the "
    "server: the session cookie, and any copy of it, is refused from then on.",
)
def logout(app: GovApp, settings: Settings, request: Request) -> Response:
    end_session(app, settings, request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    close_session(response, settings)
    return response


@router.post(
    "/logout-everywhere",
    status_code=204,
    summary="在所有设备上退出 / sign out everywhere",
    description="结束本人的全部会话（包括本会话），记入审计链；API 令牌不受影响（由管理员吊销）。\n\nEnds every "
    "session of yours, this one included (audited); API tokens are not sessions (an administrator revokes them).",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)
def logout_everywhere(app: GovApp, settings: Settings, principal: CurrentPrincipal) -> Response:
    auth.end_sessions(app, principal.name, principal.name)
    response = Response(status_code=204)
    close_session(response, settings)
    return response


@router.get(
    "/me",
    response_model=SessionOut,
    summary="当前用户 / who am I",
    responses={401: {"model": ErrorBody}},
)
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    a = principal.actor
    return {
        "name": a.name,
        "role": a.role,
        "department": a.department,
        "display_name": principal.display_name,
        "csrf_token": principal.csrf_token,
        "via": principal.via,
    }


@router.post(
    "/password",
    status_code=204,
    summary="修改本人口令 / change your password",
    description="须提供当前口令；修改后所有会话（含本会话）失效，需重新登录。\n\nNeeds the current password; "
    "afterwards every session, this one included, has ended.",
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def change_password(
    app: GovApp, settings: Settings, principal: CurrentPrincipal, body: PasswordChangeIn
) -> Response:
    auth.set_password(
        app, principal.name, principal.name, body.new_password, current_password=body.current_password
    )
    response = Response(status_code=204)
    close_session(response, settings)
    return response

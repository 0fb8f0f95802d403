"""Users, passwords, API tokens and (de)activation (administrators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from govflow.access import auth
from govflow.api.deps import ActorName, GovApp, PageParams, UserName
from govflow.api.schemas import (
    ActivateIn,
    DeactivateIn,
    ErrorBody,
    PageOut,
    PasswordIn,
    TokenOut,
    UserIn,
    UserOut,
    UserStateOut,
)
from govflow.lifecycle import services
from govflow.reads import queries
from govflow.states.permissions import Role

router = APIRouter(prefix="/users", tags=["users"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


@router.get("", response_model=PageOut[UserOut], summary="用户列表 / list users", responses=ERRORS)
def list_users(
    app: GovApp,
    actor: ActorName,
    paging: PageParams,
    role: Annotated[Role | None, Query(description="按角色筛选 / filter by role")] = None,
) -> dict[str, Any]:
    return queries.list_users(
        app, actor, role=role.value if role else None, page=paging.page, size=paging.size
    ).to_dict()


@router.post(
    "",
    response_model=UserOut,
    status_code=201,
    summary="新增用户 / add a user",
    description="建设部门用户须指定所属部门。新用户既无口令也无令牌，之后分别设置。\n\nA department user needs "
    "its department. A new user has neither password nor token until they are set.",
    responses=ERRORS,
)
def add_user(app: GovApp, actor: ActorName, body: UserIn) -> dict[str, Any]:
    services.add_user(
        app,
        actor,
        name=body.name,
        role=body.role.value,
        department=body.department,
        display_name=body.display_name,
    )
    return {**body.model_dump(), "active": True, "has_password": False, "has_token": False}


@router.put(
    "/{name}/password",
    status_code=204,
    summary="设置口令 / set a password",
    description="口令至少 12 个字符并包含三类字符（GB/T 22239-2019 8.1.4.1）；修改后该用户已有的登录会话失效。\n\n"
    "At least 12 characters of three kinds (GB/T 22239-2019 8.1.4.1); the user's open sessions end.",
    responses=ERRORS,
)
def set_password(app: GovApp, actor: ActorName, name: UserName, body: PasswordIn) -> Response:
    auth.set_password(app, actor, name, body.password)
    return Response(status_code=204)


@router.post(
    "/{name}/token",
    response_model=TokenOut,
    status_code=201,
    summary="签发 API 令牌 / issue an API token",
    description="新令牌替换旧令牌，只显示这一次。\n\nThe new token replaces any earlier one and is shown once.",
    responses=ERRORS,
)
def issue_token(app: GovApp, actor: ActorName, name: UserName) -> dict[str, Any]:
    return {"name": name, "token": auth.issue_token(app, actor, name)}


@router.delete(
    "/{name}/token", status_code=204, summary="吊销 API 令牌 / revoke the API token", responses=ERRORS
)
def revoke_token(app: GovApp, actor: ActorName, name: UserName) -> Response:
    auth.revoke_token(app, actor, name)
    return Response(status_code=204)


#: deactivation's own answers: the user does not exist (404), or the rules refuse (422: oneself, the last admin)
STATE_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {
        "model": ErrorBody,
        "description": "无权（仅系统管理员，已记入审计链） / administrators only (audited)",
    },
    404: {"model": ErrorBody, "description": "用户不存在 / no such user"},
    422: {
        "model": ErrorBody,
        "description": "参数无效，或不能停用自己/最后一名启用的管理员 / invalid, or oneself or the last active "
        "administrator",
    },
}


@router.post(
    "/{name}/deactivate",
    response_model=UserStateOut,
    summary="停用用户 / deactivate a user",
    description="停用后该用户无法登录，已有的登录会话和 API 令牌从下一个请求起失效，令牌同时吊销（重新启用后须另行签发）。"
    "管理员不能停用自己，也不能停用最后一名启用的管理员（422，CANNOT_DEACTIVATE_SELF / LAST_ACTIVE_ADMIN）。"
    "已停用的用户再次停用不做改动（changed 为 false）。依据 GB/T 22239-2019 8.1.4.2：及时停用多余的、过期的账户。\n\n"
    "The user can no longer sign in; its sessions and API token stop working from the next request, and the "
    "token is revoked (issue a new one after reactivating). An administrator may not deactivate itself nor the "
    "last active administrator (422). Deactivating an inactive user changes nothing (`changed: false`).",
    responses=STATE_ERRORS,
)
def deactivate(app: GovApp, actor: ActorName, name: UserName, body: DeactivateIn) -> dict[str, Any]:
    return auth.set_active(app, actor, name, False, body.reason).to_dict()


@router.post(
    "/{name}/activate",
    response_model=UserStateOut,
    summary="启用用户 / activate a user",
    description="重新启用已停用的用户：口令照旧可用，须重新登录；API 令牌须重新签发。停用前的登录会话永久失效。"
    "已启用的用户不做改动（changed 为 false）。\n\n"
    "Reactivate a user: its password works again (sign in anew); issue a new API token. Sessions from before "
    "the deactivation never hold again. An active user is left as it is (`changed: false`).",
    responses=STATE_ERRORS,
)
def activate(app: GovApp, actor: ActorName, name: UserName, body: ActivateIn | None = None) -> dict[str, Any]:
    return auth.set_active(app, actor, name, True, body.reason if body else None).to_dict()


@router.post(
    "/{name}/sessions/end",
    status_code=204,
    summary="结束用户的全部会话 / sign a user out everywhere",
    description="结束该用户的全部登录会话（网页与 API 会话 Cookie），从下一个请求起失效，记入审计链；API 令牌不受影响"
    "（另行吊销）。本人可对自己操作，对他人仅限系统管理员。\n\n"
    "Ends every session of the user (web and API session cookies) from the next request on, audited; the API "
    "token is left alone (revoke it on its own). Anybody for themselves, administrators for anyone.",
    responses=STATE_ERRORS,
)
def end_sessions(app: GovApp, actor: ActorName, name: UserName) -> Response:
    auth.end_sessions(app, actor, name)
    return Response(status_code=204)

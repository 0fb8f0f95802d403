"""The REST API application: ``create_app(settings)``; OpenAPI at ``/openapi.json``, Swagger UI at ``/docs``.

Swagger UI is served with its JavaScript and CSS from this server (FastAPI's "self-hosting JavaScript and CSS for
docs" recipe): government networks are often offline, and a page that loads its script from a CDN is blank there.
The files come from the ``fastapi-offline`` package (Swagger UI 5, which renders the OpenAPI 3.1 document FastAPI
writes; ``swagger-ui-bundle`` ships Swagger UI 4, which cannot). ReDoc is not offered.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from govflow import __version__
from govflow.api import errors
from govflow.api.bodies import StrictJsonBodies
from govflow.api.routers import audit, auth, flows, governance, materials, projects, users
from govflow.api.schemas import ErrorBody
from govflow.api.settings import ApiSettings
from govflow.lifecycle.services import App
from govflow.states.errors import UsageError

DESCRIPTION = """
电子政务项目全生命周期信息共享治理（发改高技〔2013〕733号）的 REST API。

* **认证**：机器用 `Authorization: Bearer <API 令牌>`（`govflow user token NAME` 或 `POST /api/v1/users/{name}/token`
  签发）；人用 `POST /api/auth/login` 登录得到会话 Cookie，修改数据时另带 `X-CSRF-Token`。
* **权限**：角色 × 动作表，默认拒绝（403，拒绝本身记入审计链）；建设部门只能看到本部门牵头或参与的项目；涉密目录条目
  （第二条第三款）只对提供部门、被授权部门和审计可见。
* **错误**：统一为 `{"error", "message", "reasons": [{"code", "clause", "message", "path"?}]}`，语言随
  `Accept-Language`（zh / en）。400 请求无效，401 未登录，403 无权，404 不存在，409 版本冲突，422 被规则拒绝
  （列出每个未满足条件及条款；所问日期所在年度缺少工作日历数据时同为 422）。
* **分页**：所有列表 `?page=&size=`，返回 `{items, total, page, size}`。

REST API for lifecycle governance of e-government projects under the NDRC guidance 733号文.

* **Authentication**: machines send `Authorization: Bearer <API token>` (issued by `govflow user token NAME` or
  `POST /api/v1/users/{name}/token`); people sign in with `POST /api/auth/login` for a session cookie and send
  `X-CSRF-Token` on requests that change data.
* **Permissions**: one role × action table, deny by default (403, and the denial is audited); a department user
  sees only projects its department leads or takes part in; secret catalog items (第二条第三款) are visible only
  to their provider, the authorized departments and audit.
* **Errors**: always `{"error", "message", "reasons": [...]}` in the language of `Accept-Language`. 400 bad
  request, 401 not signed in, 403 not allowed, 404 not found, 409 version conflict, 422 refused by a rule (each
  unmet condition with its clause; also a day in a year the working-day calendar has no data for).
* **Paging**: every list takes `?page=&size=` and returns `{items, total, page, size}`.
"""

TAGS = [
    {"name": "auth", "description": "登录与会话 / sign-in and sessions"},
    {"name": "projects", "description": "项目与生命周期事件（SPEC §2） / projects and lifecycle events"},
    {"name": "materials", "description": "共享信息目录、协定、意见、评审、交付记录 / sharing materials"},
    {"name": "audit", "description": "审计链 / the audit trail"},
    {"name": "users", "description": "用户、口令与 API 令牌（管理员） / users, passwords, tokens"},
    {"name": "flows", "description": "治理流程运行记录 / governance flow runs"},
    {
        "name": "governance",
        "description": "共享问题、整改通知、削减建议与报表（第十一条） / findings, orders, cuts, reports",
    },
]

DOCS_URL = "/docs"
#: where Swagger UI's own files are served (from the installed fastapi-offline package, never a CDN)
DOCS_ASSETS = "/docs/assets"


#: answers any operation may give (the error body is the same for all; routes document the rest)
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "请求无效 / bad request"},
    401: {"model": ErrorBody, "description": "未登录或凭据无效 / not signed in"},
    403: {"model": ErrorBody, "description": "无权（已记入审计链） / not allowed (audited)"},
    422: {"model": ErrorBody, "description": "参数无效或被规则拒绝 / invalid, or refused by a rule"},
}


async def single_valued_query(request: Request) -> None:
    """Every query parameter of the API takes one value: a repeated one (``?project=A&project=B``) is refused
    rather than silently read as its last value."""
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
        if key in seen:
            raise UsageError(
                f"查询参数 {key} 出现了多次；每个参数只能给一个值",
                f"query parameter {key} is given more than once; each takes one value",
            )
        seen.add(key)


def create_app(settings: ApiSettings, *, app: App | None = None) -> FastAPI:
    """The API on ``settings`` (read once by the caller); ``app`` lets tests bring their own clock."""
    settings.check_production()
    gov = app or App.from_settings(settings)
    api = FastAPI(
        title="govflow API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=None,  # served below with local assets
        redoc_url=None,
    )
    _offline_docs(api)
    api.state.govflow = gov
    api.state.settings = settings
    api.state.default_lang = settings.lang
    errors.install(api)
    api.add_middleware(StrictJsonBodies)
    v1 = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS, dependencies=[Depends(single_valued_query)])
    for r in (
        projects.router,
        materials.router,
        audit.router,
        users.router,
        flows.router,
        flows.policy_router,
        governance.router,
    ):
        v1.include_router(r)
    api.include_router(auth.router, responses=COMMON_ERRORS, dependencies=[Depends(single_valued_query)])
    api.include_router(v1)
    return api


def _offline_docs(api: FastAPI) -> None:
    """Swagger UI at ``/docs`` with every asset served by this application."""
    api.mount(DOCS_ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
    openapi_url = api.openapi_url or "/openapi.json"
    oauth2_redirect = api.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{api.title} — Swagger UI",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            oauth2_redirect_url=root + oauth2_redirect,
            # the online validator badge would call validator.swagger.io from the browser
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    api.add_api_route(DOCS_URL, swagger_ui, methods=["GET"], include_in_schema=False)
    api.add_api_route(oauth2_redirect, swagger_ui_redirect, methods=["GET"], include_in_schema=False)


def from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory govflow.api.app:from_environment`` (several worker processes)."""
    return create_app(ApiSettings())

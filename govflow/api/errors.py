"""govflow errors as HTTP answers, one body shape for all of them:

``{"error": CODE, "message": text, "reasons": [{"code", "clause", "message", "path"?, "detail"?}]}``

with messages in the language of ``Accept-Language``. The mapping (SPEC §5 exit codes → HTTP):

=========================  ====  ====================================================================
error                      HTTP  why
=========================  ====  ====================================================================
UsageError                 400   the request itself is malformed (unreadable file, bad If-Match)
SignInLocked               429   too many failed sign-ins of the name lately (GB/T 22239-2019 8.1.4.1 b)
Unauthenticated            401   no or bad credentials
PermissionDenied           403   the role × action table or the department scope says no (audited)
CsrfFailed                 403   a cookie-authenticated change without the session's CSRF token
NotFound                   404
Conflict                   409   optimistic locking: somebody changed the project first
UploadTooLarge             413
RuleRefused, InvalidInput  422   a rule of 733号文 (or of the data) refuses; ``reasons`` say which
CalendarDataMissing        503   a server-side data gap (no official calendar for that year): an alarm
                                 for the operator, never the client's fault, never a guessed deadline
=========================  ====  ====================================================================
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from govflow.access.auth import SignInLocked, Unauthenticated
from govflow.api.i18n import request_lang
from govflow.states.errors import (
    CalendarDataMissing,
    Conflict,
    GovflowError,
    NotFound,
    PermissionDenied,
    RuleRefused,
    UsageError,
)
from govflow.states.verdict import Reason

log = logging.getLogger("govflow.api")
API_CLAUSE = "govflow API"


class CsrfFailed(GovflowError):
    code = "CSRF_FAILED"

    def __init__(self) -> None:
        super().__init__(
            "会话请求缺少有效的 X-CSRF-Token 请求头（登录时返回）",
            "a session request that changes data needs the X-CSRF-Token header returned at sign-in",
        )


class UploadTooLarge(GovflowError):
    code = "UPLOAD_TOO_LARGE"


#: most specific first
STATUS: tuple[tuple[type[GovflowError], int], ...] = (
    (SignInLocked, 429),
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (CsrfFailed, 403),
    (UsageError, 400),
    (NotFound, 404),
    (Conflict, 409),
    (UploadTooLarge, 413),
    (RuleRefused, 422),
    (CalendarDataMissing, 503),
)


def status_of(exc: GovflowError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def reasons_of(exc: GovflowError, lang: str) -> list[dict[str, Any]]:
    return [r.to_dict(lang) for r in exc.reasons] if isinstance(exc, RuleRefused) else []


def error_body(exc: GovflowError, lang: str) -> dict[str, Any]:
    return {"error": exc.code, "message": exc.text(lang), "reasons": reasons_of(exc, lang)}


def error_response(exc: GovflowError, lang: str) -> JSONResponse:
    status = status_of(exc)
    headers = {"WWW-Authenticate": 'Bearer realm="govflow"'} if status == 401 else None
    if status >= 500:
        log.error("%s: %s", exc.code, exc.message_en)
    return JSONResponse(error_body(exc, lang), status_code=status, headers=headers)


_HTTP_CODES = {
    400: ("BAD_REQUEST", "请求无效", "bad request"),
    401: ("UNAUTHENTICATED", "需要登录", "authentication required"),
    403: ("FORBIDDEN", "无权访问", "forbidden"),
    404: ("NOT_FOUND", "没有这个地址", "no such resource"),
    405: ("METHOD_NOT_ALLOWED", "不支持该请求方法", "method not allowed"),
    406: ("NOT_ACCEPTABLE", "无法以所需格式答复", "not acceptable"),
    413: ("UPLOAD_TOO_LARGE", "请求内容过大", "request too large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "不支持的内容类型", "unsupported media type"),
}


def _validation_reasons(exc: RequestValidationError, lang: str) -> list[dict[str, Any]]:
    out = []
    for e in exc.errors():
        path = ".".join(str(x) for x in e.get("loc", ()))
        msg = str(e.get("msg", ""))
        r = Reason("INVALID_FIELD", API_CLAUSE, f"{path}：{msg}", f"{path}: {msg}", path=path)
        out.append(r.to_dict(lang))
    return out


def install(app: FastAPI) -> None:
    async def on_govflow(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GovflowError)
        return error_response(exc, request_lang(request))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        lang = request_lang(request)
        body = {
            "error": "VALIDATION",
            "message": "请求参数无效" if lang == "zh" else "invalid request parameters",
            "reasons": _validation_reasons(exc, lang),
        }
        return JSONResponse(body, status_code=422)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        lang = request_lang(request)
        code, zh, en = _HTTP_CODES.get(exc.status_code, ("HTTP_ERROR", "请求失败", "request failed"))
        body: dict[str, Any] = {"error": code, "message": en if lang == "en" else zh, "reasons": []}
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        lang = request_lang(request)
        body: dict[str, Any] = {
            "error": "INTERNAL",
            "message": "服务器内部错误，已记录" if lang == "zh" else "internal server error (logged)",
            "reasons": [],
        }
        return JSONResponse(body, status_code=500)

    app.add_exception_handler(GovflowError, on_govflow)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)

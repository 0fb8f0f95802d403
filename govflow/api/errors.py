"""govflow errors as HTTP answers, one body shape for all of them:

``{"error": CODE, "message": text, "reasons": [{"code", "clause", "message", "path"?, "detail"?}]}``

with messages in the language of ``Accept-Language``. The status is the error class's own ``http_status``
(:mod:`govflow.states.errors` holds the one error map, next to the CLI's ``exit_code``): 400 usage, 401
unauthenticated, 403 permission denied or CSRF, 404 not found (also for what the reader may not see), 409
conflict, 413 upload too large, 422 refused by a rule (or a day in a year without calendar data), 429 sign-in locked.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from govflow.access import auth, tokens
from govflow.api.i18n import request_lang
from govflow.states import inputs
from govflow.states.errors import GovflowError, RuleRefused
from govflow.states.verdict import Reason

log = logging.getLogger("govflow.api")
API_CLAUSE = "govflow API"
#: where a request's bearer token waits, unchecked, for the read that checks it (``deps.current_reader``)
UNCHECKED_TOKEN = "govflow_unchecked_token"


class CsrfFailed(GovflowError):
    http_status = 403
    exit_code = 3
    code = "CSRF_FAILED"

    def __init__(self) -> None:
        super().__init__(
            "会话请求缺少有效的 X-CSRF-Token 请求头（登录时返回）",
            "a session request that changes data needs the X-CSRF-Token header returned at sign-in",
        )


class UploadTooLarge(GovflowError):
    http_status = 413
    exit_code = 2
    code = "UPLOAD_TOO_LARGE"


def status_of(exc: GovflowError) -> int:
    return exc.http_status


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
        zh = en = str(e.get("msg", ""))
        rule = _input_rule(e)
        if rule is not None:
            zh, en = rule
        r = Reason("INVALID_FIELD", API_CLAUSE, f"{path}：{zh}", f"{path}: {en}", path=path)
        out.append(r.to_dict(lang))
    return out


def _input_rule(e: Any) -> tuple[str, str] | None:
    """(zh, en) of an error :mod:`govflow.states.inputs` explains: its own, or a pattern it stands behind."""
    ctx = e.get("ctx") or {}
    if e.get("type") == inputs.ERROR_TYPE:
        return str(ctx["zh"]), str(ctx["en"])
    value = e.get("input")
    if e.get("type") != "string_pattern_mismatch" or not isinstance(value, str):
        return None
    problem = inputs.text_problem(value) or inputs.text_problem(value, name=True)
    if problem is not None:
        return problem
    bound = _LENGTH.search(str(ctx.get("pattern", "")))  # a code or name of 1 to N characters
    if bound is not None and not value:
        return "不能为空；请填写内容", "must not be empty; fill it in"
    if bound is not None and len(value) > int(bound[1]):
        return f"过长；最多 {bound[1]} 个字符，请缩短", f"too long; at most {bound[1]} characters"
    return None


_LENGTH = re.compile(r"\{1,(\d+)\}\$$")


def install(app: FastAPI) -> None:
    async def on_govflow(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GovflowError)
        return error_response(exc, request_lang(request))

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        lang = request_lang(request)
        token = getattr(request.state, UNCHECKED_TOKEN, None)
        if isinstance(token, tokens.ApiToken):  # credentials first: a token that does not hold is a 401
            try:
                await run_in_threadpool(auth.check_token, request.app.state.govflow, token)
            except auth.Unauthenticated as refused:
                return error_response(refused, lang)
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

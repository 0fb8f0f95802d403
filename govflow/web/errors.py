"""Errors under ``/web/`` answer as HTML pages, with the status the API answers for the same error.

The API's handlers (:mod:`govflow.api.errors`) answer JSON; for a path under ``/web/`` these wrappers show the
error page instead: a wrong address (404), a method the page does not take (405), a form FastAPI could not
read (422) and any govflow error a page did not catch (its class's ``http_status``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from govflow.states.errors import GovflowError, NotFound, UsageError
from govflow.web.page import error_page, signed_in
from govflow.web.text import TEXT

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]
PREFIX = "/web"


def _as_govflow(exc: Exception) -> GovflowError:
    """The govflow error a page shows for ``exc``: the error itself, or one with the same HTTP status."""
    if isinstance(exc, GovflowError):
        return exc
    if isinstance(exc, StarletteHTTPException) and exc.status_code == NotFound.http_status:
        return NotFound(*TEXT["no_such_page"])
    err = UsageError(*TEXT["bad_request"])
    if isinstance(exc, StarletteHTTPException):
        err.http_status = exc.status_code
    elif isinstance(exc, RequestValidationError):
        err.http_status = 422
    return err


def _on_page(api_handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/"):
            return error_page(request, signed_in(request), _as_govflow(exc))
        answer = api_handler(request, exc)
        return await answer if isinstance(answer, Awaitable) else answer

    return handle


def install(app: FastAPI) -> None:
    """Wrap the API's handlers (installed by ``create_app``) so that pages get HTML."""
    for kind in (GovflowError, StarletteHTTPException, RequestValidationError):
        app.add_exception_handler(kind, _on_page(app.exception_handlers[kind]))

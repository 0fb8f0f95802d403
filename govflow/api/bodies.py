"""JSON request bodies read by the rules of :mod:`govflow.states.inputs` before FastAPI parses them.

FastAPI reads a body with ``json.loads``: a duplicate key silently keeps the last value, and a body nested
100,000 deep overflows the parser's recursion into a 500. This middleware reads every JSON body once with
:func:`govflow.states.inputs.loads` and answers 422 naming the key or the depth (the ordinary error body); a
body it lets through reaches the route unchanged. Syntax errors are left to FastAPI's own 422.
"""

from __future__ import annotations

import json

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govflow.api.errors import API_CLAUSE, error_response
from govflow.api.i18n import request_lang
from govflow.states import inputs
from govflow.states.errors import InvalidInput
from govflow.states.verdict import Reason


class StrictJsonBodies:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        refused = _refusal(body)
        if refused is not None:
            conn = HTTPConnection(scope)
            await error_response(InvalidInput([refused]), request_lang(conn))(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _refusal(body: bytes) -> Reason | None:
    if not body:
        return None
    try:
        inputs.loads(body)
    except inputs.JsonRefused as exc:
        path = f"body.{exc.path}" if exc.path != "$" else "body"
        return Reason("INVALID_JSON", API_CLAUSE, f"{path}：{exc.zh}", f"{path}: {exc.en}", path=path)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # FastAPI answers these with its own 422
    return None

"""The signed-in user's own page (我的账户): who they are, a password change, and "sign out everywhere".

A password change ends every session of the user on the server (:func:`govflow.access.auth.set_password`); the
browser that made the change is signed in anew, so the person who just proved their password stays signed in
while every other browser, and any copied cookie, is signed out. "Sign out everywhere" ends every session, this
one included, and leads to the sign-in page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from govflow.access import auth
from govflow.api.deps import close_session, get_settings, open_session
from govflow.lifecycle.services import App
from govflow.reads import admin
from govflow.states.errors import GovflowError
from govflow.web.page import LOGIN, WebUser, _error, _role_page, form_post, render
from govflow.web.text import tr

router = APIRouter(prefix="/web", include_in_schema=False)
ACCOUNT = "/web/account"


def account_context(app: App, user: WebUser, lang: str) -> dict[str, Any]:
    names = dict(admin.departments(app))
    dept = user.actor.department
    return {
        "department_name": names.get(dept, dept) if dept else "",
        "page_path": ACCOUNT,
    }


@router.get("/account", response_class=HTMLResponse)
def account(request: Request) -> Response:
    changed = request.query_params.get("done") == "password"
    return _role_page(
        request,
        lambda app, user, lang: {
            **account_context(app, user, lang),
            "message": tr("password_changed", lang) if changed else None,
        },
        "account.html",
    )


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    csrf: Annotated[str, Form(max_length=100)],
    current_password: Annotated[str, Form(max_length=256)],
    new_password: Annotated[str, Form(max_length=256)],
) -> Response:
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    try:
        auth.set_password(app, user.name, user.name, new_password, current_password=current_password)
        signed = auth.signed_in_as(app, user.name)
    except GovflowError as exc:
        ctx = account_context(app, user, lang)
        return render(
            request, "account.html", user, {**ctx, "error": _error(exc, lang)}, status=exc.http_status
        )
    # every session ended with the change: this browser gets a new one (and a new CSRF token)
    response = RedirectResponse(f"{ACCOUNT}?done=password", status_code=303)
    open_session(response, get_settings(request), app, signed)
    return response


@router.post("/account/sessions/end")
def sign_out_everywhere(request: Request, csrf: Annotated[str, Form(max_length=100)]) -> Response:
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    try:
        auth.end_sessions(app, user.name, user.name)
    except GovflowError as exc:
        ctx = account_context(app, user, lang)
        return render(
            request, "account.html", user, {**ctx, "error": _error(exc, lang)}, status=exc.http_status
        )
    response = RedirectResponse(f"{LOGIN}?signed_out=everywhere", status_code=303)
    close_session(response, get_settings(request))
    return response

"""The administrator's pages: users (list, add with an initial password, reset a password, issue or revoke an API
token, deactivate or reactivate), the working-day calendar's years (an administrator imports a year), the active
governance policy (read-only), the flow runs and the notification outbox.

Each calls the use case the CLI and the REST API call (:mod:`govflow.access.auth`, :func:`govflow.lifecycle.services.add_user`,
:mod:`govflow.reads.queries`, :mod:`govflow.governance.policy_service`, :mod:`govflow.governance.dispatch`); the permission table decides
who sees what (``user.admin``, ``policy.read``, ``flow.read``, ``notify.admin``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from math import ceil
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from govflow.access import auth
from govflow.api.deps import get_settings
from govflow.governance import calendar_years, dispatch, policy_service
from govflow.governance.scheduling import LABELS as FLOW_LABELS
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.reads import admin, formats, queries
from govflow.states.errors import GovflowError, PermissionDenied, RuleRefused, UsageError
from govflow.states.permissions import Role
from govflow.states.vocabulary import OutboxStatus, RunStatus, word
from govflow.web.page import (
    ROLE_CODES,
    WebUser,
    _error,
    _role_page,
    error_page,
    form_post,
    page_number,
    render,
)
from govflow.web.text import TEXT, count_text, stat_text, topic_text, tr

router = APIRouter(prefix="/web/admin", include_in_schema=False)
USERS_PER_PAGE = 25
RUNS_PER_PAGE = 25


def _when(value: datetime | None, lang: str) -> str:
    return formats.moment_text(value, lang) if value else ""


def _role_label(code: object, lang: str) -> str:
    return Role(str(code)).label(lang) if str(code) in ROLE_CODES else str(code or "")


# ---------------------------------------------------------------------------------------------- users


def users_context(app: App, user: WebUser, lang: str, role: str | None, page: int) -> dict[str, Any]:
    found = queries.list_users(app, user.name, role=role, page=page, size=USERS_PER_PAGE)
    departments = admin.departments(app)
    names = dict(departments)
    rows = [
        {
            **u,
            "role_label": _role_label(u["role"], lang),
            "department_name": names.get(str(u["department"]), u["department"]) if u["department"] else "",
        }
        for u in found.items
    ]
    return {
        "users": rows,
        "total": found.total,
        "page": found.page,
        "pages": max(ceil(found.total / found.size), 1),
        "role": role or "",
        "roles": [(r.value, r.label(lang)) for r in Role],
        "departments": departments,
        "page_path": "/web/admin/users",
    }


def _role(value: str | None) -> str | None:
    return value if value in ROLE_CODES else None


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, role: str | None = None) -> Response:
    page = page_number(request)
    return _role_page(
        request, lambda app, u, lang: users_context(app, u, lang, _role(role), page), "users.html"
    )


def _user_action(
    request: Request, csrf: str, call: Callable[[App, str, str], str | tuple[str, str]]
) -> Response:
    """Run one user administration use case and show the users page again with its outcome."""
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    error, message, token, status = None, None, None, 200
    try:
        done = call(app, user.name, lang)
        message, token = (done, None) if isinstance(done, str) else done
    except PermissionDenied as exc:  # not an administrator: the users page is not theirs either
        return error_page(request, user, exc)
    except GovflowError as exc:
        error, status = _error(exc, lang), exc.http_status
    try:
        ctx = users_context(app, user, lang, None, 1)
    except GovflowError as exc:
        return error_page(request, user, exc)
    ctx.update(error=error, message=message, token=token)
    return render(request, "users.html", user, ctx, status=status)


Csrf = Annotated[str, Form(max_length=100)]


@router.post("/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    csrf: Csrf,
    name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=32)],
    password: Annotated[str, Form(max_length=256)],
    display_name: Annotated[str, Form(max_length=100)] = "",
    department: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """A new user who can sign in at once: the permission first (a denial is audited), then the password rules
    (so that no user is left without a usable password), then ``add_user`` and ``set_password``."""

    def call(app: App, actor: str, lang: str) -> str:
        who = name.strip()
        queries.require(app, actor, "user.admin")
        weak = auth.password_reasons(who, password)
        if weak:
            raise RuleRefused(weak)
        services.add_user(
            app,
            actor,
            name=who,
            role=role,
            department=department.strip() or None,
            display_name=display_name.strip() or None,
        )
        auth.set_password(app, actor, who, password)
        return f"{tr('user_added', lang)}{who}"

    return _user_action(request, csrf, call)


@router.post("/users/{name}/password", response_class=HTMLResponse)
def reset_password(
    request: Request, name: str, csrf: Csrf, password: Annotated[str, Form(max_length=256)]
) -> Response:
    def call(app: App, actor: str, lang: str) -> str:
        auth.set_password(app, actor, name, password)
        return f"{tr('password_set', lang)}{name}"

    return _user_action(request, csrf, call)


@router.post("/users/{name}/token", response_class=HTMLResponse)
def issue_token(request: Request, name: str, csrf: Csrf) -> Response:
    def call(app: App, actor: str, lang: str) -> tuple[str, str]:
        return f"{tr('token_once', lang)}{name}", auth.issue_token(app, actor, name)

    return _user_action(request, csrf, call)


@router.post("/users/{name}/token/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, name: str, csrf: Csrf) -> Response:
    def call(app: App, actor: str, lang: str) -> str:
        auth.revoke_token(app, actor, name)
        return f"{tr('token_revoked', lang)}{name}"

    return _user_action(request, csrf, call)


@router.post("/users/{name}/sessions/end", response_class=HTMLResponse)
def end_user_sessions(request: Request, name: str, csrf: Csrf) -> Response:
    """Sign a user out everywhere (their API token stays: revoking it is its own button)."""
    post = form_post(request, csrf)
    if not isinstance(post, Response) and post.user.name == name:
        return RedirectResponse("/web/account", status_code=303)  # one's own: the account page's button

    def call(app: App, actor: str, lang: str) -> str:
        n = auth.end_sessions(app, actor, name)
        return f"{tr('sessions_ended', lang)}{name}{count_text(n, lang)}"

    return _user_action(request, csrf, call)


@router.post("/users/{name}/deactivate", response_class=HTMLResponse)
def deactivate(
    request: Request, name: str, csrf: Csrf, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    """The user's sessions and API token stop working at its next request (``auth.set_active``)."""

    def call(app: App, actor: str, lang: str) -> str:
        done = auth.set_active(app, actor, name, False, reason)
        return f"{tr('user_deactivated' if done.changed else 'user_was_inactive', lang)}{name}"

    return _user_action(request, csrf, call)


@router.post("/users/{name}/activate", response_class=HTMLResponse)
def activate(request: Request, name: str, csrf: Csrf) -> Response:
    def call(app: App, actor: str, lang: str) -> str:
        done = auth.set_active(app, actor, name, True)
        return f"{tr('user_activated' if done.changed else 'user_was_active', lang)}{name}"

    return _user_action(request, csrf, call)


# ---------------------------------------------------------------------------------------------- policy


def policy_context(app: App, user: WebUser, lang: str) -> dict[str, Any]:
    policy, versions = policy_service.show_policy(app, user.name)
    return {
        "policy": policy,
        "digest": policy.digest(),
        "escalation": [
            {
                "level": e.level,
                "after": e.after_workdays,
                "name": e.name,
                "notify": "、".join(_role_label(r, lang) for r in e.notify)
                if lang != "en"
                else ", ".join(_role_label(r, lang) for r in e.notify),
            }
            for e in policy.rectification.escalation
        ],
        "tiers": [
            {
                "min_overdue": t.min_overdue_workdays,
                "max_coverage": None
                if t.max_coverage is None
                else formats.percent_text(t.max_coverage, share=True),
                "percent": formats.percent_text(t.percent),
            }
            for t in policy.cuts.tiers
        ],
        "threshold": formats.percent_text(policy.cuts.coverage_threshold, share=True),
        "versions": [
            {
                **v,
                "activated": _when(
                    v["activated_at"] if isinstance(v["activated_at"], datetime) else None, lang
                ),
                "short": str(v.get("digest") or "")[:12],
                # the default policy, written when the database was created, is no person's act
                "activated_by": tr("system_actor", lang)
                if v["activated_by"] == "system"
                else v["activated_by"],
            }
            for v in versions
        ],
    }


@router.get("/policy", response_class=HTMLResponse)
def policy(request: Request) -> Response:
    return _role_page(request, policy_context, "policy.html")


# ---------------------------------------------------------------------------------------------- runs


def _flow(flow: str, lang: str) -> str:
    pair = FLOW_LABELS.get(flow)
    return flow if pair is None else pair[1 if lang == "en" else 0]


def run_stats(stats: Mapping[str, Any], lang: str) -> list[str]:
    """A run's non-zero counts as "label n"; the runs of ``all`` as "flow: counts" per flow."""
    if isinstance(stats.get("results"), Mapping):
        return [
            f"{_flow(str(f), lang)}{tr('colon', lang)}{'，'.join(run_stats(r, lang)) or '—'}"
            for f, r in stats["results"].items()
            if isinstance(r, Mapping)
        ]
    return [
        f"{stat_text(k, lang)} {v}"
        for k, v in stats.items()
        if isinstance(v, int) and not isinstance(v, bool) and v
    ]


def runs_context(app: App, user: WebUser, lang: str, page: int) -> dict[str, Any]:
    found = queries.flow_runs(app, user.name, page=page, size=RUNS_PER_PAGE)
    return {
        "runs": [
            {
                "id": r["id"],
                "flow": _flow(str(r["flow"]), lang),
                "as_of": formats.day_text(r["as_of"], lang) if r["as_of"] else "—",
                "started": _when(r["started_at"], lang),
                "finished": _when(r["finished_at"], lang),
                "status": str(r["status"]),
                "status_label": word(RunStatus, r["status"], lang),
                "stats": run_stats(r["stats"] or {}, lang),
                "error": r["error"] or "",
            }
            for r in found.items
        ],
        "total": found.total,
        "page": found.page,
        "pages": max(ceil(found.total / found.size), 1),
    }


@router.get("/runs", response_class=HTMLResponse)
def runs(request: Request) -> Response:
    page = page_number(request)
    return _role_page(request, lambda app, u, lang: runs_context(app, u, lang, page), "runs.html")


# ---------------------------------------------------------------------------------------------- outbox


def outbox_context(app: App, user: WebUser, lang: str) -> dict[str, Any]:
    status = dispatch.outbox_status(app, user.name)

    def message(m: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if m is None:
            return None
        return {
            **m,
            "topic_label": topic_text(str(m["topic"]), lang),
            "role_label": _role_label(m["role"], lang),
            "status_label": word(OutboxStatus, m["status"], lang),
            "created": _when(m["created_at"], lang),
            "next": _when(m["next_attempt_at"], lang),
        }

    return {
        "configured": status["configured"],
        "total": status["total"],
        "counts": [(k, word(OutboxStatus, k, lang), n) for k, n in status["counts"].items()],
        "statuses": list(status["counts"]),
        "topics": [{**tp, "label": topic_text(str(tp["topic"]), lang)} for tp in status["topics"]],
        "oldest": message(status["oldest_pending"]),
        "problems": [message(m) for m in status["problems"]],
    }


@router.get("/outbox", response_class=HTMLResponse)
def outbox(request: Request) -> Response:
    return _role_page(request, outbox_context, "outbox.html")


# ---------------------------------------------------------------------------------------------- calendar


def calendar_context(app: App, user: WebUser, lang: str) -> dict[str, Any]:
    years = calendar_years.known_years(app, user.name)
    return {
        "years": [
            {
                "year": y.year,
                "origin": y.origin_label(lang),
                "source": y.source,
                "holidays": y.holidays,
                "workdays": y.workdays,
                "imported_by": y.imported_by or "",
                "imported_at": _when(y.imported_at, lang),
            }
            for y in reversed(years)
        ],
        "can_import": user.actor.role is Role.ADMIN,
        "page_path": "/web/admin/calendar",
    }


@router.get("/calendar", response_class=HTMLResponse)
def calendar(request: Request) -> Response:
    return _role_page(request, calendar_context, "calendar.html")


@router.post("/calendar", response_class=HTMLResponse)
async def import_calendar(request: Request, csrf: Csrf, file: Annotated[UploadFile, File()]) -> Response:
    """An administrator uploads a year's arrangement; it is validated whole and imported, or nothing is."""
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    error, message, status = None, None, 200
    limit = get_settings(request).upload_max_bytes
    try:
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise UsageError(TEXT["bad_calendar_upload"][0], TEXT["bad_calendar_upload"][1])
        name = PurePath(file.filename or "calendar.yaml").name
        done = calendar_years.import_calendar_upload(app, name, data, user.name)
        message = tr("calendar_imported", lang) + "、".join(str(y.year) for y in done)
    except PermissionDenied as exc:
        return error_page(request, user, exc)
    except GovflowError as exc:
        error, status = _error(exc, lang), exc.http_status
    try:
        ctx = calendar_context(app, user, lang)
    except GovflowError as exc:
        return error_page(request, user, exc)
    ctx.update(error=error, message=message)
    return render(request, "calendar.html", user, ctx, status=status)

"""What every dashboard page shares: the signed-in user, rendering a template in the page's language, the
error page, the role pages' handler and the form-value parsers."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import Request

from govflow.api.deps import SESSION_COOKIE, get_app, get_settings, read_session
from govflow.api.errors import CsrfFailed
from govflow.governance.calendar_years import calendar_warning
from govflow.lifecycle.services import Actor, App
from govflow.reads import formats, secrecy
from govflow.reads.lists import PAGE_SIZE, ListQuery
from govflow.states.errors import GovflowError, UsageError
from govflow.states.permissions import Role, clause_text
from govflow.states.phases import Phase, ReviewStage
from govflow.states.sharing import (
    AgreementForm,
    Category,
    FocusPoint,
    Frequency,
    Judgment,
    Method,
    Secrecy,
    ShareType,
)
from govflow.states.verdict import Reason
from govflow.states.vocabulary import OrderOrigin, OrderStatus, word
from govflow.web.text import LANG_COOKIE, TEXT, count_text, error_title, page_lang, tr

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["Phase"] = Phase
#: the vocabularies the templates label codes of: ``{{ word(Frequency, item.update_frequency) }}``
templates.env.globals.update(
    {
        kind.__name__: kind
        for kind in (
            Category,
            ShareType,
            Method,
            Frequency,
            Secrecy,
            AgreementForm,
            OrderStatus,
            OrderOrigin,
            ReviewStage,
            FocusPoint,
            Judgment,
        )
    }
)


def _in_lang(show: Callable[..., str]) -> Callable[..., str]:
    """A template filter that formats in the page's language: ``{{ order.deadline | day }}``."""

    @pass_context
    def use(ctx: Context, value: Any, *args: Any, **kwargs: Any) -> str:
        return show(value, *args, lang=str(ctx.get("lang", "zh")), **kwargs)

    return use


@pass_context
def _finalize(ctx: Context, value: Any) -> Any:
    """Every value a template prints. A text the reader may not see is replaced where it is read, before the
    page's language is known, by the Chinese placeholder (:mod:`govflow.reads.secrecy`): an English page shows
    the English one."""
    if isinstance(value, str) and ctx.get("lang") == "en":
        return secrecy.PLACEHOLDERS_EN.get(value, value)
    return value


templates.env.finalize = _finalize

#: every date, time, amount and percentage a page shows goes through these (:mod:`govflow.reads.formats`)
templates.env.filters.update(
    {
        "day": _in_lang(formats.day_text),
        "short_day": _in_lang(formats.short_day_text),
        "moment": _in_lang(formats.moment_text),
        "money": _in_lang(formats.money_text),
        "percent": lambda value, share=False: formats.percent_text(value, share=share),
    }
)

HOME: dict[Role, str] = {
    Role.PROGRAM_OFFICE: "/web/board",
    Role.ADMIN: "/web/admin/users",
    Role.DEPARTMENT: "/web/department",
    Role.REVIEW_AGENCY: "/web/review",
    Role.FINANCE: "/web/finance",
    Role.AUDIT: "/web/audit",
}
NAV: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.PROGRAM_OFFICE: (
        ("board", "/web/board"),
        ("orders", "/web/orders"),
        ("audit", "/web/audit"),
        ("trail", "/web/audit/trail"),
        ("finance", "/web/finance"),
        ("policy", "/web/admin/policy"),
        ("calendar", "/web/admin/calendar"),
        ("runs", "/web/admin/runs"),
    ),
    Role.ADMIN: (
        ("users", "/web/admin/users"),
        ("calendar", "/web/admin/calendar"),
        ("policy", "/web/admin/policy"),
        ("runs", "/web/admin/runs"),
        ("outbox", "/web/admin/outbox"),
        ("board", "/web/board"),
        ("orders", "/web/orders"),
        ("audit", "/web/audit"),
        ("trail", "/web/audit/trail"),
    ),
    Role.DEPARTMENT: (("my_projects", "/web/department"), ("orders", "/web/orders")),
    Role.REVIEW_AGENCY: (("review_queue", "/web/review"), ("my_reviews", "/web/review/mine")),
    Role.FINANCE: (("finance", "/web/finance"), ("board", "/web/board"), ("policy", "/web/admin/policy")),
    Role.AUDIT: (
        ("audit", "/web/audit"),
        ("trail", "/web/audit/trail"),
        ("orders", "/web/orders"),
        ("board", "/web/board"),
        ("finance", "/web/finance"),
        ("runs", "/web/admin/runs"),
    ),
}
REVIEW_PHASES: dict[Phase, ReviewStage] = {
    Phase.PROPOSAL_REVIEW: ReviewStage.PROPOSAL,
    Phase.FEASIBILITY_REVIEW: ReviewStage.FEASIBILITY,
    Phase.DESIGN_REVIEW: ReviewStage.DESIGN,
}
LOGIN = "/web/login"
#: a column of the board shows this many cards, then "+N" (a province runs thousands of projects)
CARDS_PER_COLUMN = 12
ROLE_CODES = frozenset(r.value for r in Role)


@dataclass(frozen=True)
class WebUser:
    actor: Actor
    display_name: str | None
    csrf: str
    #: the server-side session's key (signing out ends it)
    session_key: str = ""

    @property
    def name(self) -> str:
        return self.actor.name


def _gov(request: Request) -> App:
    return get_app(request)


def signed_in(request: Request) -> WebUser | None:
    """The user of the API's session cookie (the same cookie ``POST /api/auth/login`` sets), or None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        held = read_session(_gov(request), get_settings(request), cookie)
    except GovflowError:
        return None
    return WebUser(held.signed.actor, held.signed.display_name, held.csrf, held.key)


def _csrf_ok(user: WebUser, sent: str) -> bool:
    return secrets.compare_digest(sent.encode(), user.csrf.encode())


def _reasons(items: Any, lang: str, names: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """Reasons (objects or stored dicts) as ``{code, clause, message}`` in ``lang``, their days, amounts and
    shares as people write them (:func:`formats.prose_text`; ``names``: department code → name)."""
    out: list[dict[str, str]] = []
    for r in items or ():
        if isinstance(r, Reason):
            item = {
                "code": r.code,
                "clause": clause_text(r.clause, lang),
                "message": formats.prose_text(r.text(lang), lang, names),
                "path": r.path or "",
            }
        elif isinstance(r, Mapping):
            msg = r.get("message_en") if lang == "en" else None
            item = {
                "code": str(r.get("code") or ""),
                "clause": clause_text(str(r.get("clause") or ""), lang),
                "message": formats.prose_text(str(msg or r.get("message") or ""), lang, names),
                "path": str(r.get("path") or ""),
            }
        else:
            continue
        # the field or row a refusal is about, unless its sentence already starts with it (file imports do)
        if item["path"] and item["message"].startswith(item["path"]):
            item["path"] = ""
        out.append(item)
    return out


def _error(exc: GovflowError, lang: str) -> dict[str, Any]:
    reasons = _reasons(getattr(exc, "reasons", ()), lang)
    # a refusal's message is its reasons joined: show them once, each with its clause
    return {"message": "" if reasons else exc.text(lang), "reasons": reasons, "status": exc.http_status}


def render(
    request: Request, name: str, user: WebUser | None, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    lang = page_lang(request)

    def t(key: str) -> str:
        return tr(key, lang)

    other = "en" if lang == "zh" else "zh"
    # after a form POST the language switch leads to the page shown (its GET address), not to the action
    page_path = str(context.get("page_path") or request.url.path)
    ctx = {
        "lang": lang,
        "t": t,
        "word": lambda kind, code: word(kind, code, lang),
        "n": lambda count: count_text(count, lang),
        "error_title": lambda status: error_title(int(status), lang),
        "user": user,
        "role_label": user.actor.role.label(lang) if user else "",
        "nav": [(t(k), href) for k, href in NAV.get(user.actor.role, ())] if user else [],
        "switch_href": f"{page_path}?lang={other}",
        "switch_label": "English" if other == "en" else "中文",
        "csrf": user.csrf if user else "",
        "path": page_path,
        "calendar_banner": _calendar_banner(request, user, lang),
        **context,
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    if request.query_params.get("lang") in TEXT_LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


#: the roles warned on their pages while next year's working-day calendar is missing
BANNER_ROLES = frozenset({Role.ADMIN, Role.PROGRAM_OFFICE})


def _calendar_banner(request: Request, user: WebUser | None, lang: str) -> dict[str, Any] | None:
    """The calendar warning of today (Beijing date) for the administrator and the program office, or None."""
    if user is None or user.actor.role not in BANNER_ROLES:
        return None
    app = _gov(request)
    warning = calendar_warning(app, app.today())
    if warning is None:
        return None
    return {"message": warning.message(lang), "urgent": warning.urgent, "year": warning.year}


TEXT_LANGS = ("zh", "en")
assert all(len(v) == 2 for v in TEXT.values())


class Post(NamedTuple):
    """A form POST that may go on: who sent it, the page's language, the application."""

    user: WebUser
    lang: str
    app: App


def form_post(request: Request, csrf: str) -> Post | Response:
    """Signed in and with the session's CSRF token, or the answer to give instead (sign-in page, 403 page)."""
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    if not _csrf_ok(user, csrf):
        return _forbidden(request, user)
    return Post(user, page_lang(request), _gov(request))


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{LOGIN}?next={request.url.path}", status_code=303)


def _forbidden(request: Request, user: WebUser) -> HTMLResponse:
    lang = page_lang(request)
    err = {"message": tr("csrf_failed", lang), "reasons": [], "status": CsrfFailed.http_status}
    return render(request, "error.html", user, {"error": err}, status=CsrfFailed.http_status)


def _role_page(
    request: Request,
    context: Callable[[App, WebUser, str], dict[str, Any]],
    template: str,
) -> Response:
    """A page: signed in, its context built by the service layer, a refusal shown on the error page."""
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    lang = page_lang(request)
    try:
        ctx = context(_gov(request), user, lang)
    except GovflowError as exc:
        return error_page(request, user, exc)
    return render(request, template, user, ctx)


def whole_number(text: str) -> int | None:
    """A form's or query's whole number; ``str.isdigit`` alone lets "²" through to ``int``, which refuses it."""
    return int(text) if text.isascii() and text.isdigit() else None


def page_number(request: Request) -> int:
    """The ``page`` query parameter, 1 when missing or not a whole number ≥ 1."""
    return max(whole_number(request.query_params.get("page", "1")) or 1, 1)


def parse_day(value: str, default: date) -> date:
    """A form's ``YYYY-MM-DD`` (empty: ``default``), or a usage error people can read."""
    text = value.strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{TEXT['bad_date'][0]}：{text}", f"{TEXT['bad_date'][1]}: {text}") from exc


def error_page(request: Request, user: WebUser | None, exc: GovflowError) -> HTMLResponse:
    """The error page for ``exc``, with the HTTP status its class carries (the API answers the same)."""
    lang = page_lang(request)
    return render(request, "error.html", user, {"error": _error(exc, lang)}, status=exc.http_status)


def today_of(app: App) -> date:
    return app.today()


# ---------------------------------------------------------------------------------------------- lists


def list_query(request: Request, *, size: int = PAGE_SIZE, **fixed: Any) -> ListQuery:
    """The list's search, filters, sort and page from the address (``?q=&department=&phase=&status=&overdue=1
    &sort=&desc=1&page=``); a value that is none of the choices is ignored, as a wrong page number is."""
    p = request.query_params
    phase = p.get("phase") or None
    values: dict[str, Any] = {
        "q": p.get("q") or None,
        "department": p.get("department") or None,
        "phase": phase if phase in {ph.value for ph in Phase} else None,
        "status": p.get("status") or None,
        "overdue": p.get("overdue") == "1",
        "sort": p.get("sort") or None,
        "desc": p.get("desc") == "1",
        "page": page_number(request),
        "size": size,
    }
    return ListQuery(**(values | fixed))


def list_bar(
    request: Request,
    query: ListQuery,
    total: int,
    lang: str,
    *,
    sorts: tuple[str, ...],
    departments: list[tuple[str, str]] | None = None,
    phases: bool = False,
    statuses: list[tuple[str, str]] | None = None,
    overdue: str | None = None,
    hint: str = "search_hint",
    keep: Mapping[str, str] | None = None,
    path: str | None = None,
    page_key: str = "page",
) -> dict[str, Any]:
    """What the list's search form and pager show: the choices, what was chosen, the page links (each keeps the
    other parameters of the address). ``path``: the list's own address, when the page is the answer to a form
    posted elsewhere (its filters and pages must not point at the form's address). ``page_key``: the address's
    parameter of this list's page, when a page shows two paged lists."""
    params = {k: v for k, v in request.query_params.items() if k not in (page_key, "lang") and v}
    pages = max((total + query.size - 1) // query.size, 1)

    def href(page: int) -> str:
        return (path or "") + "?" + urlencode({**params, page_key: str(page)})

    return {
        "action": path or request.url.path,
        "q": query.q or "",
        "hint": tr(hint, lang),
        "department": query.department or "",
        "departments": departments,
        "phase": query.phase or "",
        "phases": [(ph.value, ph.label(lang)) for ph in Phase] if phases else None,
        "status": query.status or "",
        "statuses": statuses,
        "overdue_label": tr(overdue, lang) if overdue else None,
        "overdue": query.overdue,
        "sort": query.sort or "",
        "sorts": [(k, tr(f"sort_{k}", lang)) for k in sorts],
        "desc": query.desc,
        "keep": dict(keep or {}),
        "page": query.page,
        "pages": pages,
        "total": total,
        "prev": href(query.page - 1) if query.page > 1 else None,
        "next": href(query.page + 1) if query.page < pages else None,
        "filtered": any(
            k in params for k in ("q", "department", "phase", "status", "overdue", "sort", "desc")
        ),
    }

"""The oversight pages: audit (overdue orders, the trail, the chain, the report exports) and finance (cut
recommendations and their decisions). Like every page, they call the use cases the CLI and the API call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from govflow.governance import cuts
from govflow.lifecycle.services import App
from govflow.reads import admin, formats, lists, queries, reports, trail
from govflow.reads.trail import ACTION_LABELS, SIGN_IN_ACTIONS, action_text
from govflow.states.errors import GovflowError
from govflow.states.permissions import Role, allowed_scope
from govflow.states.phases import Event
from govflow.states.vocabulary import CutStatus, OrderStatus
from govflow.web import views
from govflow.web.page import (
    WebUser,
    _error,
    _gov,
    _reasons,
    _role_page,
    _to_login,
    error_page,
    form_post,
    list_bar,
    list_query,
    render,
    signed_in,
)
from govflow.web.routes import timeline_rows
from govflow.web.text import page_lang, tr

router = APIRouter(prefix="/web", include_in_schema=False)


# ---------------------------------------------------------------------------------------------- audit


def audit_context(app: App, user: WebUser, lang: str, request: Request) -> dict[str, Any]:
    """The overdue rectification orders of today (searched, filtered, sorted, paged) and their trend."""
    today = app.today()
    query = list_query(request)
    found = lists.overdue(app, user.name, query, as_of=today)
    names = dict(admin.departments(app))
    overdue = [
        {
            "order": line.order.code,
            "project": line.order.project,
            "project_name": line.order.project_name,
            "department_name": line.order.department_name,
            "deadline": line.order.deadline,
            "overdue_workdays": line.overdue_workdays,
            "escalation_level": line.escalation[0],
            "escalation": line.escalation[1],
            "status": line.order.status.value,
        }
        for line in found.items
    ]
    # The chain is verified in its own request (an <iframe> on the page): walking the whole trail takes time
    # in proportion to its length, and the overdue list must not wait for it.
    can_verify = allowed_scope(user.actor.role, "audit.verify") is not None
    spans = lists.overdue_spans(app, user.name)
    series = views.overdue_over_time(spans, today)
    chart = views.bar_chart(
        [(formats.day_text(d, lang), float(n), str(n)) for d, n in series],
        title=tr("overdue_over_time", lang),
    )
    bar = list_bar(
        request,
        query,
        found.total,
        lang,
        sorts=lists.OVERDUE_SORTS,
        departments=sorted(names.items()),
        phases=True,
        statuses=[(st.value, st.label(lang)) for st in OrderStatus if st is not OrderStatus.CLOSED],
    )
    return {
        "as_of": formats.day_text(today, lang),
        "overdue_chart": chart,
        "overdue": overdue,
        "overdue_total": found.total,
        "bar": bar,
        "can_verify": can_verify,
        "page_path": "/web/audit",
    }


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request) -> Response:
    return _role_page(request, lambda app, user, lang: audit_context(app, user, lang, request), "audit.html")


#: audit-trail rows on one page
TRAIL_PAGE_SIZE = 50


def trail_context(app: App, user: WebUser, lang: str, request: Request) -> dict[str, Any]:
    """审计日志 as people read it: searched, filtered and paged in SQL; sign-ins left out unless asked for."""
    p = request.query_params
    query = list_query(request, size=TRAIL_PAGE_SIZE)
    action = p.get("action") or None
    sign_ins = p.get("sign_ins") == "1"
    oldest = p.get("sort") == "oldest"
    trail = queries.audit_trail(
        app,
        user.name,
        project=p.get("project") or None,
        action=action,
        search=query.q,
        department=query.department,
        leave_out=() if sign_ins or action in SIGN_IN_ACTIONS else SIGN_IN_ACTIONS,
        newest_first=not oldest,
        page=query.page,
        size=TRAIL_PAGE_SIZE,
    )
    names = dict(admin.departments(app))
    rows = timeline_rows(trail.items, lang, names)
    for row, item in zip(rows, trail.items, strict=True):
        row["project"] = item.get("project") or ""
    bar = list_bar(
        request,
        query,
        trail.total,
        lang,
        sorts=(),
        departments=sorted(names.items()),
        hint="trail_search_hint",
    )
    return {
        "trail": rows,
        "trail_total": trail.total,
        "bar": bar,
        "action": action or "",
        "project": p.get("project") or "",
        "sign_ins": sign_ins,
        "oldest": oldest,
        "action_options": [(e.value, e.label(lang)) for e in Event]
        + [(k, action_text(k, lang)) for k in ACTION_LABELS],
        "page_path": "/web/audit/trail",
    }


@router.get("/audit/trail", response_class=HTMLResponse)
def trail_page(request: Request) -> Response:
    return _role_page(request, lambda app, user, lang: trail_context(app, user, lang, request), "trail.html")


@router.get("/audit/chain", response_class=HTMLResponse)
def audit_chain(request: Request) -> Response:
    """`govflow audit verify` for the audit page (shown there in a frame)."""
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    lang = page_lang(request)
    try:
        chain = queries.verify_audit_chain(_gov(request), user.name)
    except GovflowError as exc:
        return error_page(request, user, exc)
    view = {
        "ok": chain.ok,
        "checked": chain.checked,
        "first_bad_seq": chain.first_bad_seq,
        "problem": (chain.problem_en if lang == "en" else chain.problem) or "",
        "anchors": chain.anchors,
        "anchor_at": chain.anchor_at.isoformat(timespec="seconds") if chain.anchor_at else None,
    }
    return render(request, "chain.html", user, {"chain": view})


def _export(df: Any, fmt: str, stem: str, lang: str) -> Response:
    if fmt not in reports.MEDIA_TYPES:  # the error page, as for any wrong address
        raise HTTPException(status_code=404)
    return Response(
        reports.file_bytes(df, fmt, lang),
        media_type=reports.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )


@router.get("/reports/overdue.{fmt}")
def export_overdue(request: Request, fmt: str) -> Response:
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    lang = page_lang(request)
    app = _gov(request)
    try:
        df = reports.overdue_report(app, app.today(), user.name)
    except GovflowError as exc:
        return error_page(request, user, exc)
    return _export(df, fmt, f"overdue-{app.today().isoformat()}", lang)


@router.get("/reports/cuts-{period}.{fmt}")
def export_cuts(request: Request, period: str, fmt: str) -> Response:
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    lang = page_lang(request)
    app = _gov(request)
    try:
        df = reports.cuts_report(app, period, user.name)
    except GovflowError as exc:
        return error_page(request, user, exc)
    return _export(df, fmt, f"cuts-{period}", lang)


# ---------------------------------------------------------------------------------------------- finance


def finance_context(app: App, user: WebUser, lang: str, period: str, request: Request) -> dict[str, Any]:
    """One budget year's cut recommendations (searched, filtered, sorted, paged) and the year's totals."""
    query = list_query(request)
    found = lists.cuts(app, user.name, period, query)
    departments = admin.departments(app)
    names = dict(departments)
    deciders = admin.people(app, {v.decided_by for v in found.items if v.decided_by})
    items = []
    for view in found.items:
        c = view.to_dict(lang)
        c["reasons"] = _reasons(view.reasons, lang, names)  # a department by its name, not its code
        if view.decided_by:  # who decided by name (钱静（财政部门）), not by the user name qian
            display, role = deciders.get(view.decided_by, (None, ""))
            c["decided_by"] = trail.actor_text(view.decided_by, role, display, lang)
        items.append(c)
    this_year = str(app.today().year)
    years = sorted({*found.periods, this_year, period}, reverse=True)
    bar = list_bar(
        request,
        query,
        found.total,
        lang,
        sorts=lists.CUT_SORTS,
        departments=departments,
        statuses=[(st.value, st.label(lang)) for st in CutStatus],
        keep={"period": period},
    )
    by_status = [
        (st.value, st.label(lang), found.by_status[st.value])
        for st in CutStatus
        if st.value in found.by_status
    ]
    return {
        "period": period,
        "years": years,
        "cuts": items,
        "totals": found.totals,
        "by_status": by_status,
        "bar": bar,
        "can_decide": user.actor.role is Role.FINANCE,
        "page_path": "/web/finance",
    }


def _period(request: Request, app: App) -> str:
    asked = request.query_params.get("period", "")
    return asked if asked.isdigit() and len(asked) == 4 else str(app.today().year)


@router.get("/finance", response_class=HTMLResponse)
def finance(request: Request) -> Response:
    return _role_page(
        request,
        lambda app, user, lang: finance_context(app, user, lang, _period(request, app), request),
        "finance.html",
    )


@router.post("/finance/{project}/{period}", response_class=HTMLResponse)
def decide(
    request: Request,
    project: str,
    period: str,
    csrf: Annotated[str, Form(max_length=100)],
    decision: Annotated[str, Form(pattern="^(accept|decline)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    error, message, status = None, None, 200
    try:
        cuts.decide_cut(
            app, project, period, user.name, accept=decision == "accept", reason=reason.strip() or None
        )
        message = f"{tr('decided', lang)}{tr('colon', lang)}{project}"
    except GovflowError as exc:
        error, status = _error(exc, lang), exc.http_status
    ctx = finance_context(app, user, lang, period, request)
    return render(request, "finance.html", user, {**ctx, "error": error, "message": message}, status=status)

"""The oversight pages: audit (overdue orders, the trail, the chain, the report exports) and finance (cut
recommendations and their decisions). Like every page, they call the use cases the CLI and the API call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from govflow.governance import cuts
from govflow.lifecycle.services import App
from govflow.reads import formats, governed, queries, reports
from govflow.states.errors import GovflowError
from govflow.states.permissions import Role, allowed_scope
from govflow.states.phases import Event
from govflow.web import views
from govflow.web.page import (
    WebUser,
    _error,
    _gov,
    _role_page,
    _to_login,
    error_page,
    form_post,
    render,
    signed_in,
)
from govflow.web.routes import timeline_rows
from govflow.web.text import (
    ACTION_LABELS,
    action_text,
    page_lang,
    tr,
)

router = APIRouter(prefix="/web", include_in_schema=False)


# ---------------------------------------------------------------------------------------------- audit


def audit_context(
    app: App, user: WebUser, lang: str, filters: dict[str, str | None], page: int
) -> dict[str, Any]:
    today = app.today()
    df = reports.overdue_report(app, today, user.name)
    overdue = reports.records(df)
    # The chain is verified in its own request (an <iframe> on the page): walking the whole trail takes time
    # in proportion to its length, and the overdue list must not wait for it.
    can_verify = allowed_scope(user.actor.role, "audit.verify") is not None
    trail = queries.audit_trail(
        app,
        user.name,
        project=filters["project"],
        actor=filters["actor"],
        action=filters["action"],
        page=page,
        size=50,
    )
    rows = timeline_rows(trail.items, lang)
    for row, item in zip(rows, trail.items, strict=True):
        row["project"] = item.get("project") or ""
    spans = [(o.overdue_since, o.closed_on) for o in governed.list_orders(app, user.name)]
    series = views.overdue_over_time(spans, today)
    chart = views.bar_chart(
        [(formats.day_text(d, lang), float(n), str(n)) for d, n in series],
        title=tr("overdue_over_time", lang),
    )
    return {
        "as_of": formats.day_text(today, lang),
        "overdue_chart": chart,
        "overdue": overdue,
        "can_verify": can_verify,
        "trail": rows,
        "trail_total": trail.total,
        "page": page,
        "filters": filters,
        "action_options": [(e.value, e.label(lang)) for e in Event]
        + [(k, action_text(k, lang)) for k in ACTION_LABELS],
    }


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    project: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    page: int = 1,
) -> Response:
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    lang = page_lang(request)
    filters = {"project": project or None, "actor": actor or None, "action": action or None}
    try:
        ctx = audit_context(_gov(request), user, lang, filters, max(page, 1))
    except GovflowError as exc:
        return error_page(request, user, exc)
    return render(request, "audit.html", user, ctx)


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


def finance_context(app: App, user: WebUser, lang: str, period: str) -> dict[str, Any]:
    items = [c.to_dict(lang) for c in governed.list_cuts(app, period, user.name)]
    return {
        "period": period,
        "cuts": items,
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
        lambda app, user, lang: finance_context(app, user, lang, _period(request, app)),
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
    ctx = finance_context(app, user, lang, period)
    return render(request, "finance.html", user, {**ctx, "error": error, "message": message}, status=status)

"""The dashboard's pages. Each page calls the use cases the CLI and the API call; a form POST checks the
session's CSRF token (sent as a form field, since a plain HTML form cannot set the API's header)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from govflow.access import auth
from govflow.api.deps import SESSION_COOKIE, close_session, end_session, get_settings, open_session
from govflow.governance import rectification
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.reads import admin, dashboard, formats, lists, queries, trail
from govflow.reads.trail import action_text, outcome_text
from govflow.states.errors import GovflowError, RuleRefused, UsageError
from govflow.states.permissions import Role, allowed_scope, clause_text
from govflow.states.phases import Phase
from govflow.states.sharing import FocusPoint, Judgment, OpinionVerdict
from govflow.states.vocabulary import deadline_label, word
from govflow.web import views
from govflow.web.page import (
    CARDS_PER_COLUMN,
    HERE,
    HOME,
    LOGIN,
    REVIEW_PHASES,
    WebUser,
    _csrf_ok,
    _error,
    _forbidden,
    _gov,
    _reasons,
    _role_page,
    _to_login,
    error_page,
    form_post,
    list_bar,
    list_query,
    page_number,
    parse_day,
    render,
    signed_in,
    whole_number,
)
from govflow.web.prepare import checks_view, order_context
from govflow.web.text import TEXT, page_lang, tr

router = APIRouter(prefix="/web", include_in_schema=False)

# ---------------------------------------------------------------------------------------------- sign-in


@router.get("/static/app.css")
def stylesheet() -> Response:
    return Response(
        (HERE / "static" / "app.css").read_bytes(),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "max-age=3600"},
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    gone = request.query_params.get("signed_out")
    return render(
        request,
        "login.html",
        None,
        {
            "failed": False,
            "next": request.query_params.get("next", ""),
            "signed_out": "signed_out_everywhere" if gone == "everywhere" else "signed_out" if gone else None,
        },
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    app = _gov(request)
    try:
        signed = auth.authenticate(app, name, password)
    except auth.SignInLocked as exc:
        locked = exc.text(page_lang(request))
        return render(request, "login.html", None, {"locked": locked, "next": next}, status=exc.http_status)
    except GovflowError as exc:
        return render(request, "login.html", None, {"failed": True, "next": next}, status=exc.http_status)
    target = next if next.startswith("/web/") and not next.startswith("//") else HOME[signed.actor.role]
    response = RedirectResponse(target, status_code=303)
    open_session(response, get_settings(request), app, signed)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """Sign out: the session ends on the server (a copied cookie is refused too), then the cookie goes."""
    settings = get_settings(request)
    end_session(_gov(request), settings, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(f"{LOGIN}?signed_out=here", status_code=303)
    close_session(response, settings)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    return RedirectResponse(HOME[user.actor.role], status_code=303)


# ---------------------------------------------------------------------------------------------- program office


def board_context(app: App, user: WebUser, lang: str, request: Request) -> dict[str, Any]:
    query = list_query(request)
    found = lists.board(app, user.name, query, cards=CARDS_PER_COLUMN)
    counts = found.counts
    phases = [Phase(query.phase)] if query.phase else list(views.BOARD_PHASES)
    shown = [p for p in phases if counts.get(p.value, 0) or p not in views.SIDE_PHASES]
    filters = {k: v for k, v in request.query_params.items() if k in ("q", "department", "overdue") and v}
    columns = [
        {
            "phase": p,
            "label": p.label(lang),
            "count": counts.get(p.value, 0),
            "projects": found.cards.get(p.value, []),
            # the rest of a column: the list below, narrowed to its phase
            "more": "?" + urlencode({**filters, "phase": p.value}) + "#project-list",
        }
        for p in shown
    ]
    phase_chart = views.bar_chart(
        [(p.label(lang), float(counts.get(p.value, 0)), str(counts.get(p.value, 0))) for p in shown],
        title=tr("projects_per_phase", lang),
    )
    rows = [{**r, "phase_label": Phase(r["phase"]).label(lang)} for r in found.items]
    bar = list_bar(
        request,
        query,
        found.total,
        lang,
        sorts=lists.PROJECT_SORTS,
        departments=admin.departments(app),
        phases=True,
        overdue="only_overdue",
    )
    return {
        "columns": columns,
        "total": found.total,
        "rows": rows,
        "bar": bar,
        "phase_chart": phase_chart,
        # the coverage chart judges every agreement item of the portfolio: its own request, so that the board
        # does not wait for it (as the audit page does not wait for the chain's verification)
        "cover_bars": max(lists.providers(app), 1),
        "page_path": "/web/board",
    }


@router.get("/board", response_class=HTMLResponse)
def board(request: Request) -> Response:
    return _role_page(request, lambda app, user, lang: board_context(app, user, lang, request), "board.html")


def coverage_context(app: App, user: WebUser, lang: str) -> dict[str, Any]:
    queries.require(app, user.name, "project.list")
    cover = dashboard.coverage_by_department(app, app.today(), user.actor)
    chart = views.bar_chart(
        [
            (
                c.department_name,
                float(c.percent),
                f"{formats.percent_text(c.percent)} ({c.delivered}/{c.due})",
            )
            for c in cover
        ],
        title=tr("coverage_per_dept", lang),
        max_value=100.0,
    )
    return {"cover_chart": chart}


@router.get("/board/coverage", response_class=HTMLResponse)
def board_coverage(request: Request) -> Response:
    """The board's sharing-coverage chart (shown there in a frame)."""
    return _role_page(request, coverage_context, "coverage.html")


def timeline_rows(
    rows: list[dict[str, Any]], lang: str, names: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Trail rows as people read them: the actor by name (:func:`trail.actor_text`), the event's label, the
    note in the page's language (:func:`trail.note_text`), reasons with days and numbers as people write them."""
    out = []
    for r in rows:
        reasons = _reasons(r.get("reasons"), lang, names)
        note = trail.note_text(r, lang, names)
        if note and any(note in x["message"] or x["message"] in note for x in reasons):
            note = ""  # the flows write the reason's message as the note too: show it once
        if str(r.get("action")) in trail.NOTES:
            reasons = [x for x in reasons if not x["code"].endswith("_RUN")]  # told by the note
        out.append(
            {
                "seq": r["seq"],
                "action": str(r["action"]),
                "at": formats.moment_text(r["occurred_at"], lang),
                "event": action_text(str(r["action"]), lang),
                "actor": trail.actor_text(str(r["actor"]), r.get("role"), r.get("actor_name"), lang),
                "outcome": str(r["outcome"]),
                "outcome_label": outcome_text(str(r["outcome"]), lang),
                "from": trail.phase_text(r.get("from_phase"), lang),
                "to": trail.phase_text(r.get("to_phase"), lang),
                "reasons": reasons,
                "clauses": [clause_text(str(c), lang) for c in r.get("clauses") or ()],
                "note": note,
            }
        )
    return out


def project_context(app: App, code: str, user: WebUser, lang: str) -> dict[str, Any]:
    view = services.show_project(app, code, user.name)
    history: list[dict[str, Any]] | None = None
    # asked first: a denied call would be audited as an attempt, and merely opening a page is none
    if allowed_scope(user.actor.role, "project.history") is not None:
        history = timeline_rows(
            services.project_history(app, code, user.name), lang, dict(admin.departments(app))
        )
    catalog = queries.list_catalog(app, code, user.name, size=500).items
    agreements = queries.list_agreements(app, code, user.name, size=500).items
    names = dict(admin.departments(app))
    opinions = queries.list_opinions(app, code, user.name, size=500).items
    for o in opinions:
        o["verdict_label"] = word(OpinionVerdict, o["verdict"], lang)
    given = {str(o["department"]) for o in opinions}
    concerned = sorted(dashboard.consulted(app, code), key=lambda d: (d not in view.departments, d))
    reviews = queries.list_reviews(app, code, user.name, size=100).items
    for r in reviews:
        r["agency_label"] = r.get("agency_name") or r.get("agency")
    today = app.today()
    judged = dashboard.project_obligations(app, code, today, user.actor)
    for a in agreements:
        for i in a["items"]:
            v = judged.verdicts.get((str(a["code"]), str(i["catalog"]), str(i["consumer"])))
            i["last_delivery"] = v.last_delivery if v else None
            i["is_due"] = v is not None and v.in_force
    cover = judged.cover
    return {
        "coverage": {
            "due": cover.due,
            "delivered": cover.delivered,
            "percent": cover.percent if cover.due else None,
        },
        "p": view,
        "phase_label": view.phase.label(lang),
        "history": history,
        "catalog": catalog,
        "agreements": agreements,
        "names": names,
        # the dry run: every button with what pressing it would be refused for, the steps others take
        "checks": checks_view(services.dry_run(app, code, user.name), lang),
        "may_prepare": user.actor.role is Role.DEPARTMENT and user.actor.department == view.lead_department,
        "opinions": opinions,
        "awaiting": [(d, names.get(d, d)) for d in concerned if d not in given],
        "opinion_for": [
            (d, names.get(d, d)) for d in dashboard.opinion_departments(user.actor, view, concerned)
        ],
        "reviews": reviews,
        "verdicts": [(v.value, v.label(lang)) for v in OpinionVerdict],
        "today": app.today().isoformat(),  # the date input's value and bound (ISO by HTML)
        "page_path": f"/web/projects/{code}",
    }


@router.get("/projects/{code}", response_class=HTMLResponse)
def project_page(request: Request, code: str) -> Response:
    return _role_page(
        request,
        lambda app, user, lang: project_context(app, code, user, lang),
        "project.html",
    )


@router.post("/projects/{code}/events/{event}", response_class=HTMLResponse)
def fire(
    request: Request,
    code: str,
    event: str,
    csrf: Annotated[str, Form(max_length=100)],
    version: Annotated[int | None, Form()] = None,
    reason: Annotated[str, Form(max_length=2000)] = "",
    override: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    status = 200
    try:
        res = services.fire_event(
            app,
            code,
            event,
            user.name,
            reason=reason.strip() or None,
            expect_version=version,
            override=override.strip() or None,
        )
        result = {
            "accepted": res.accepted,
            "event": res.event.label(lang),
            "from": res.from_phase.label(lang),
            "to": res.to_phase.label(lang),
            "reasons": _reasons(res.reasons, lang),
            "order": res.order,
            "deadline": formats.day_text(res.deadline, lang) if res.deadline else deadline_label(None, lang),
        }
        status = 200 if res.accepted else RuleRefused.http_status
    except GovflowError as exc:
        error, status = _error(exc, lang), exc.http_status
    try:
        ctx = project_context(app, code, user, lang)
    except GovflowError as exc:
        return error_page(request, user, exc)
    return render(request, "project.html", user, {**ctx, "result": result, "error": error}, status=status)


@router.post("/projects/{code}/opinions", response_class=HTMLResponse)
def record_opinion(
    request: Request,
    code: str,
    csrf: Annotated[str, Form(max_length=100)],
    department: Annotated[str, Form(max_length=32)],
    verdict: Annotated[str, Form(max_length=32)],
    on: Annotated[str, Form(max_length=10)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
    need_name: Annotated[list[str] | None, Form(max_length=200)] = None,
    need_catalog: Annotated[list[str] | None, Form(max_length=64)] = None,
    conditions: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """征求意见 (第九条): the opinion a related department gives, entered by itself or the program office."""
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    names, catalogs = need_name or [], need_catalog or []
    needs: list[dict[str, str | None]] = [
        {"name": n.strip(), "catalog": (catalogs[i].strip() if i < len(catalogs) else "") or None}
        for i, n in enumerate(names)
        if n.strip()
    ]
    error, message, status = None, None, 200
    try:
        version = services.record_opinion(
            app,
            code,
            user.name,
            department=department,
            on=parse_day(on, app.today()),
            verdict=verdict,
            unmet_needs=needs,
            comment=comment.strip() or None,
            conditions=[line.strip() for line in conditions.splitlines() if line.strip()],
        )
        message = f"{tr('opinion_recorded', lang)}{version}"
    except GovflowError as exc:
        error, status = _error(exc, lang), exc.http_status
    try:
        ctx = project_context(app, code, user, lang)
    except GovflowError as exc:
        return error_page(request, user, exc)
    return render(request, "project.html", user, {**ctx, "error": error, "message": message}, status=status)


# ---------------------------------------------------------------------------------------------- department


#: projects on one page of the department's list (each judged by the dry run: the page's cost grows with it)
DEPARTMENT_PAGE_SIZE = 20


def department_context(app: App, user: WebUser, lang: str, request: Request) -> dict[str, Any]:
    """The department's projects — searched, filtered by phase, sorted and paged in SQL like the board — each
    with what its next step would be refused for (the dry run, for the page's projects only), and its open
    orders, most urgent first, paged on their own (``?orders_page=``)."""
    query = list_query(request, size=DEPARTMENT_PAGE_SIZE)
    found = lists.board(app, user.name, query, cards=0)
    projects = [
        {
            **r,
            "phase_label": Phase(r["phase"]).label(lang),
            "checks": checks_view(dashboard.previews(app, r["code"], user.name), lang),
        }
        for r in found.items
    ]
    names = dict(admin.departments(app))
    asked = whole_number(request.query_params.get("orders_page", "1")) or 1
    order_query = lists.ListQuery(page=asked, size=DEPARTMENT_PAGE_SIZE)
    open_orders = lists.orders(app, user.name, order_query, as_of=app.today(), open_only=True)
    orders = [
        {**line.order.to_dict(lang), "reasons": _reasons(line.order.reasons, lang, names)}
        for line in open_orders.items
    ]
    bar = list_bar(
        request, query, found.total, lang, sorts=lists.PROJECT_SORTS, phases=True, path="/web/department"
    )
    order_bar = list_bar(
        request,
        order_query,
        open_orders.total,
        lang,
        sorts=(),
        path="/web/department",
        page_key="orders_page",
    )
    return {
        "projects": projects,
        "total": found.total,
        "bar": bar,
        "orders": orders,
        "order_bar": order_bar,
        "my_department": user.actor.department,
        "page_path": "/web/department",
    }


@router.get("/department", response_class=HTMLResponse)
def department(request: Request) -> Response:
    return _role_page(
        request, lambda app, user, lang: department_context(app, user, lang, request), "department.html"
    )


async def _import_upload(
    request: Request, app: App, user: WebUser, file: UploadFile, *, replace: bool = False
) -> tuple[str, int]:
    """An uploaded CSV/XLSX of delivery evidence through ``services.import_evidence`` (all rows or none):
    the file's name and the number of (item, consumer, day) sums written."""
    limit = get_settings(request).upload_max_bytes
    data = await file.read(limit + 1)
    original = Path(file.filename or "evidence.csv").name
    suffix = Path(original).suffix.lower()
    if len(data) > limit or suffix not in {".csv", ".xlsx"}:
        raise UsageError(TEXT["bad_upload"][0], TEXT["bad_upload"][1])
    # the audit note names the file: keep its name, in characters a file system takes
    safe = re.sub(r"[^\w.\-]", "_", original)[-100:] or f"evidence{suffix}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        return original, services.import_evidence(app, path, user.name, replace=replace)


@router.post("/orders/{order}/evidence", response_class=HTMLResponse)
async def order_evidence(
    request: Request,
    order: str,
    csrf: Annotated[str, Form(max_length=100)],
    note: Annotated[str, Form(max_length=4000)] = "",
    file: Annotated[UploadFile | None, File()] = None,
    back: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """整改材料: the lead department's note, and optionally the exchange platform's delivery records that show
    the fix (imported first: when they do not load, no evidence is submitted)."""
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    error, message, status = None, None, 200
    try:
        text = note.strip()
        if file is not None and file.filename:
            name, n = await _import_upload(request, app, user, file)
            attached = tr("evidence_attached", lang) % (name, n)
            text = f"{text}（{attached}）" if lang != "en" else f"{text} ({attached})"
        rectification.submit_evidence(app, order, user.name, text or None)
        message = f"{tr('submit_evidence', lang)}{tr('colon', lang)}{order}"
    except GovflowError as exc:
        error, status = _error(exc, lang), exc.http_status
    if back == "order":  # sent from the order's own page: show it again
        try:
            octx = order_context(app, order, user, lang)
        except GovflowError as exc:
            return error_page(request, user, exc)
        return render(
            request, "order.html", user, {**octx, "error": error, "message": message}, status=status
        )
    ctx = department_context(app, user, lang, request)
    return render(
        request,
        "department.html",
        user,
        {**ctx, "error": error, "message": message},
        status=status,
    )


@router.post("/evidence", response_class=HTMLResponse)
async def upload_evidence(
    request: Request,
    csrf: Annotated[str, Form(max_length=100)],
    file: Annotated[UploadFile, File()],
    replace: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    error, message, status = None, None, 200
    try:
        _, n = await _import_upload(request, app, user, file, replace=replace == "1")
        message = f"{tr('imported', lang)}{tr('colon', lang)}{n}"
    except GovflowError as exc:
        error, status = _error(exc, lang), exc.http_status
    ctx = department_context(app, user, lang, request)
    return render(
        request,
        "department.html",
        user,
        {**ctx, "error": error, "message": message},
        status=status,
    )


# ---------------------------------------------------------------------------------------------- review agency


def review_context(app: App, user: WebUser, lang: str) -> dict[str, Any]:
    rows = [r for r in services.list_projects(app, user.name) if Phase(r["phase"]) in REVIEW_PHASES]
    done = queries.reviewed_stages(app, user.name, [str(r["code"]) for r in rows])
    queue = []
    for r in rows:
        stage = REVIEW_PHASES[Phase(r["phase"])]
        queue.append(
            {
                **r,
                "phase_label": Phase(r["phase"]).label(lang),
                "stage": stage.value,
                "stage_label": stage.label(lang),
                "reviewed": (str(r["code"]), stage.value) in done,
            }
        )
    queue.sort(key=lambda p: (p["reviewed"], p["code"]))  # what awaits a review first
    return {
        "queue": queue,
        "points": [(fp.value, fp.label(lang)) for fp in FocusPoint],
        "judgments": [(j.value, j.label(lang)) for j in Judgment],
        "page_path": "/web/review",
    }


@router.get("/review", response_class=HTMLResponse)
def review(request: Request) -> Response:
    return _role_page(request, review_context, "review.html")


def my_reviews_context(app: App, user: WebUser, lang: str, request: Request) -> dict[str, Any]:
    found = queries.my_reviews(app, user.name, page=page_number(request), size=20)
    query = lists.ListQuery(page=found.page, size=found.size)
    return {
        "reviews": found.items,
        "total": found.total,
        "bar": list_bar(request, query, found.total, lang, sorts=()),
        "page_path": "/web/review/mine",
    }


@router.get("/review/mine", response_class=HTMLResponse)
def my_reviews(request: Request) -> Response:
    return _role_page(
        request, lambda app, user, lang: my_reviews_context(app, user, lang, request), "my_reviews.html"
    )


@router.post("/review/{code}", response_class=HTMLResponse)
async def record_review(request: Request, code: str) -> Response:
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    form = await request.form()
    if not _csrf_ok(user, str(form.get("csrf", ""))):
        return _forbidden(request, user)
    lang = page_lang(request)
    app = _gov(request)
    judgments = {
        fp.value: (str(form.get(f"j_{fp.value}", "")), str(form.get(f"c_{fp.value}", "")).strip() or None)
        for fp in FocusPoint
        if form.get(f"j_{fp.value}")
    }
    error, message, status = None, None, 200
    try:
        version = services.record_review(
            app,
            code,
            user.name,
            stage=str(form.get("stage", "")),
            agency=None,
            on=app.today(),
            judgments=judgments,
            conclusion=str(form.get("conclusion", "")).strip() or None,
            against_approval=form.get("against_approval") == "1",
        )
        message = f"{code}{tr('colon', lang)}{tr('recorded_version', lang)}{version}"
    except GovflowError as exc:
        error, status = _error(exc, lang), exc.http_status
    ctx = review_context(app, user, lang)
    return render(request, "review.html", user, {**ctx, "error": error, "message": message}, status=status)

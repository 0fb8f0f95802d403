"""The dashboard's pages. Each page calls the use cases the CLI and the API call; a form POST checks the
session's CSRF token (sent as a form field, since a plain HTML form cannot set the API's header)."""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature

from govflow.access import auth
from govflow.api.deps import SESSION_COOKIE, close_session, get_app, get_settings, open_session, signer
from govflow.governance import cuts, rectification
from govflow.lifecycle import services
from govflow.lifecycle.services import Actor, App
from govflow.reads import admin, dashboard, governed, queries, reports
from govflow.states.errors import GovflowError, UsageError
from govflow.states.permissions import Role, allowed_scope
from govflow.states.phases import Event, Phase, ReviewStage
from govflow.states.sharing import FocusPoint, Judgment, OpinionVerdict
from govflow.states.verdict import Reason
from govflow.web import views
from govflow.web.text import (
    ACTION_LABELS,
    LANG_COOKIE,
    TEXT,
    action_text,
    code_label,
    count_text,
    outcome_text,
    page_lang,
    tr,
)

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["Phase"] = Phase
router = APIRouter(prefix="/web", include_in_schema=False)

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
        ("finance", "/web/finance"),
        ("policy", "/web/admin/policy"),
        ("runs", "/web/admin/runs"),
    ),
    Role.ADMIN: (
        ("users", "/web/admin/users"),
        ("policy", "/web/admin/policy"),
        ("runs", "/web/admin/runs"),
        ("outbox", "/web/admin/outbox"),
        ("board", "/web/board"),
        ("orders", "/web/orders"),
        ("audit", "/web/audit"),
    ),
    Role.DEPARTMENT: (("my_projects", "/web/department"), ("orders", "/web/orders")),
    Role.REVIEW_AGENCY: (("review_queue", "/web/review"),),
    Role.FINANCE: (("finance", "/web/finance"), ("board", "/web/board"), ("policy", "/web/admin/policy")),
    Role.AUDIT: (
        ("audit", "/web/audit"),
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
    settings = get_settings(request)
    try:
        data = signer(settings).loads(cookie, max_age=settings.session_max_age)
        name, fingerprint, csrf = str(data["u"]), str(data["f"]), str(data["c"])
        signed = auth.actor_for_session(_gov(request), name, fingerprint)
    except (BadSignature, KeyError, TypeError, GovflowError):
        return None
    return WebUser(signed.actor, signed.display_name, csrf)


def _csrf_ok(user: WebUser, sent: str) -> bool:
    return secrets.compare_digest(sent.encode(), user.csrf.encode())


def _reasons(items: Any, lang: str) -> list[dict[str, str]]:
    """Reasons (objects or stored dicts) as ``{code, clause, message}`` in ``lang``."""
    out: list[dict[str, str]] = []
    for r in items or ():
        if isinstance(r, Reason):
            out.append({"code": r.code, "clause": r.clause, "message": r.text(lang)})
        elif isinstance(r, Mapping):
            msg = r.get("message_en") if lang == "en" else None
            out.append(
                {
                    "code": str(r.get("code") or ""),
                    "clause": str(r.get("clause") or ""),
                    "message": str(msg or r.get("message") or ""),
                }
            )
    return out


def _error(exc: GovflowError, lang: str) -> dict[str, Any]:
    reasons = _reasons(getattr(exc, "reasons", ()), lang)
    # a refusal's message is its reasons joined: show them once, each with its clause
    return {"message": "" if reasons else exc.text(lang), "reasons": reasons}


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
        "labels": lambda code: code_label(code, lang),
        "n": lambda count: count_text(count, lang),
        "user": user,
        "role_label": user.actor.role.label(lang) if user else "",
        "nav": [(t(k), href) for k, href in NAV.get(user.actor.role, ())] if user else [],
        "switch_href": f"{page_path}?lang={other}",
        "switch_label": "English" if other == "en" else "中文",
        "csrf": user.csrf if user else "",
        "path": page_path,
        **context,
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    if request.query_params.get("lang") in TEXT_LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


TEXT_LANGS = ("zh", "en")
assert all(len(v) == 2 for v in TEXT.values())


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{LOGIN}?next={request.url.path}", status_code=303)


def _forbidden(request: Request, user: WebUser) -> HTMLResponse:
    lang = page_lang(request)
    err = {
        "message": "CSRF",
        "reasons": [{"code": "CSRF_FAILED", "clause": "", "message": tr("error", lang)}],
    }
    return render(request, "error.html", user, {"error": err}, status=403)


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
    return render(
        request, "login.html", None, {"failed": False, "next": request.query_params.get("next", "")}
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
        return render(request, "login.html", None, {"locked": locked, "next": next}, status=429)
    except GovflowError:
        return render(request, "login.html", None, {"failed": True, "next": next}, status=401)
    target = next if next.startswith("/web/") and not next.startswith("//") else HOME[signed.actor.role]
    response = RedirectResponse(target, status_code=303)
    open_session(response, get_settings(request), signed, app.clock())
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    response = RedirectResponse(LOGIN, status_code=303)
    close_session(response, get_settings(request))
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    return RedirectResponse(HOME[user.actor.role], status_code=303)


# ---------------------------------------------------------------------------------------------- program office


def board_context(app: App, user: WebUser, lang: str) -> dict[str, Any]:
    rows = services.list_projects(app, user.name)
    counts = views.phase_counts(rows)
    shown = [p for p in views.BOARD_PHASES if counts.get(p.value, 0) or p not in views.SIDE_PHASES]
    columns = [
        {
            "phase": p,
            "label": p.label(lang),
            "count": counts.get(p.value, 0),
            "projects": [r for r in rows if r["phase"] == p.value][:CARDS_PER_COLUMN],
        }
        for p in shown
    ]
    phase_chart = views.bar_chart(
        [(p.label(lang), float(counts.get(p.value, 0)), str(counts.get(p.value, 0))) for p in shown],
        title=tr("projects_per_phase", lang),
    )
    cover = dashboard.coverage_by_department(app, app.today())
    cover_chart = views.bar_chart(
        [(c.department_name, float(c.percent), f"{c.percent:.0f}% ({c.delivered}/{c.due})") for c in cover],
        title=tr("coverage_per_dept", lang),
        max_value=100.0,
    )
    return {"columns": columns, "total": len(rows), "phase_chart": phase_chart, "cover_chart": cover_chart}


def _role_page(
    request: Request,
    context: Callable[[App, WebUser, str], dict[str, Any]],
    template: str,
    *,
    refused_status: int = 403,
) -> Response:
    """A page: signed in, its context built by the service layer, a refusal shown on the error page."""
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    lang = page_lang(request)
    try:
        ctx = context(_gov(request), user, lang)
    except GovflowError as exc:
        return render(request, "error.html", user, {"error": _error(exc, lang)}, status=refused_status)
    return render(request, template, user, ctx)


def whole_number(text: str) -> int | None:
    """A form's or query's whole number; ``str.isdigit`` alone lets "²" through to ``int``, which refuses it."""
    return int(text) if text.isascii() and text.isdigit() else None


def page_number(request: Request) -> int:
    """The ``page`` query parameter, 1 when missing or not a whole number ≥ 1."""
    return max(whole_number(request.query_params.get("page", "1")) or 1, 1)


@router.get("/board", response_class=HTMLResponse)
def board(request: Request) -> Response:
    return _role_page(request, board_context, "board.html")


def _timeline(rows: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        reasons = _reasons(r.get("reasons"), lang)
        note = str(r.get("note") or "")
        if note and any(note in x["message"] or x["message"] in note for x in reasons):
            note = ""  # the flows write the reason's message as the note too: show it once
        out.append(
            {
                "seq": r["seq"],
                "at": r["occurred_at"].astimezone(services.BEIJING).strftime("%Y-%m-%d %H:%M"),
                "event": action_text(str(r["action"]), lang),
                "actor": f"{r['actor']}（{Role(r['role']).label(lang)}）"
                if str(r.get("role")) in ROLE_CODES
                else r["actor"],
                "outcome": str(r["outcome"]),
                "outcome_label": outcome_text(str(r["outcome"]), lang),
                "from": Phase(r["from_phase"]).label(lang) if r.get("from_phase") else "",
                "to": Phase(r["to_phase"]).label(lang) if r.get("to_phase") else "",
                "reasons": reasons,
                "clauses": list(r.get("clauses") or []),
                "note": note,
            }
        )
    return out


def project_context(app: App, code: str, user: WebUser, lang: str) -> dict[str, Any]:
    view = services.show_project(app, code, user.name)
    history: list[dict[str, Any]] | None = None
    # asked first: a denied call would be audited as an attempt, and merely opening a page is none
    if allowed_scope(user.actor.role, "project.history") is not None:
        history = _timeline(services.project_history(app, code, user.name), lang)
    catalog = queries.list_catalog(app, code, user.name, size=500).items
    agreements = queries.list_agreements(app, code, user.name, size=500).items
    names = dict(admin.departments(app))
    opinions = queries.list_opinions(app, code, user.name, size=500).items
    for o in opinions:
        o["verdict_label"] = code_label(o["verdict"], lang)
    given = {str(o["department"]) for o in opinions}
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
        "events": [
            (e.value, e.label(lang), e in dashboard.NEEDS_REASON)
            for e in dashboard.allowed_events(app, code, user.name)
        ],
        "previews": dashboard.previews(app, code, user.name),
        "Event": Event,
        "opinions": opinions,
        "awaiting": [(d, names.get(d, d)) for d in view.departments if d not in given],
        "opinion_for": [(d, names.get(d, d)) for d in dashboard.opinion_departments(user.actor, view)],
        "verdicts": [(v.value, code_label(v.value, lang)) for v in OpinionVerdict],
        "today": app.today().isoformat(),
        "page_path": f"/web/projects/{code}",
    }


@router.get("/projects/{code}", response_class=HTMLResponse)
def project_page(request: Request, code: str) -> Response:
    return _role_page(
        request,
        lambda app, user, lang: project_context(app, code, user, lang),
        "project.html",
        refused_status=404,
    )


@router.post("/projects/{code}/events/{event}", response_class=HTMLResponse)
def fire(
    request: Request,
    code: str,
    event: str,
    csrf: Annotated[str, Form(max_length=100)],
    version: Annotated[int | None, Form()] = None,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    if not _csrf_ok(user, csrf):
        return _forbidden(request, user)
    lang = page_lang(request)
    app = _gov(request)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    status = 200
    try:
        res = services.fire_event(
            app, code, event, user.name, reason=reason.strip() or None, expect_version=version
        )
        result = {
            "accepted": res.accepted,
            "event": res.event.label(lang),
            "from": res.from_phase.label(lang),
            "to": res.to_phase.label(lang),
            "reasons": _reasons(res.reasons, lang),
            "order": res.order,
            "deadline": res.deadline.isoformat() if res.deadline else None,
        }
        status = 200 if res.accepted else 422
    except GovflowError as exc:
        error, status = _error(exc, lang), 422
    try:
        ctx = project_context(app, code, user, lang)
    except GovflowError as exc:
        return render(request, "error.html", user, {"error": _error(exc, lang)}, status=404)
    return render(request, "project.html", user, {**ctx, "result": result, "error": error}, status=status)


def parse_day(value: str, default: date) -> date:
    """A form's ``YYYY-MM-DD`` (empty: ``default``), or a usage error people can read."""
    text = value.strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"{TEXT['bad_date'][0]}：{text}", f"{TEXT['bad_date'][1]}: {text}") from exc


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
) -> Response:
    """征求意见 (第九条): the opinion a related department gives, entered by itself or the program office."""
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    if not _csrf_ok(user, csrf):
        return _forbidden(request, user)
    lang = page_lang(request)
    app = _gov(request)
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
        )
        message = f"{tr('opinion_recorded', lang)}{version}"
    except GovflowError as exc:
        error, status = _error(exc, lang), 422
    try:
        ctx = project_context(app, code, user, lang)
    except GovflowError as exc:
        return render(request, "error.html", user, {"error": _error(exc, lang)}, status=404)
    return render(request, "project.html", user, {**ctx, "error": error, "message": message}, status=status)


# ---------------------------------------------------------------------------------------------- department


def department_context(app: App, user: WebUser, lang: str) -> dict[str, Any]:
    rows = services.list_projects(app, user.name)
    projects = []
    for r in rows:
        projects.append(
            {
                **r,
                "phase_label": Phase(r["phase"]).label(lang),
                "previews": dashboard.previews(app, r["code"], user.name),
            }
        )
    orders = [
        o.to_dict(lang)
        for o in governed.list_orders(app, user.name)
        if o.status is not rectification.OrderStatus.CLOSED
    ]
    return {
        "projects": projects,
        "orders": orders,
        "my_department": user.actor.department,
        "page_path": "/web/department",
    }


@router.get("/department", response_class=HTMLResponse)
def department(request: Request) -> Response:
    return _role_page(request, department_context, "department.html")


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
) -> Response:
    """整改材料: the lead department's note, and optionally the exchange platform's delivery records that show
    the fix (imported first: when they do not load, no evidence is submitted)."""
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    if not _csrf_ok(user, csrf):
        return _forbidden(request, user)
    lang = page_lang(request)
    app = _gov(request)
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
        error, status = _error(exc, lang), 422
    ctx = department_context(app, user, lang)
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
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    if not _csrf_ok(user, csrf):
        return _forbidden(request, user)
    lang = page_lang(request)
    app = _gov(request)
    error, message, status = None, None, 200
    try:
        _, n = await _import_upload(request, app, user, file, replace=replace == "1")
        message = f"{tr('imported', lang)}{tr('colon', lang)}{n}"
    except GovflowError as exc:
        error, status = _error(exc, lang), 422
    ctx = department_context(app, user, lang)
    return render(
        request,
        "department.html",
        user,
        {**ctx, "error": error, "message": message},
        status=status,
    )


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
    rows = _timeline(trail.items, lang)
    for row, item in zip(rows, trail.items, strict=True):
        row["project"] = item.get("project") or ""
    spans = [(o.overdue_since, o.closed_on) for o in rectification.list_orders(app, user.name)]
    series = views.overdue_over_time(spans, today)
    chart = views.bar_chart(
        [(d.isoformat(), float(n), str(n)) for d, n in series], title=tr("overdue_over_time", lang)
    )
    return {
        "as_of": today.isoformat(),
        "overdue_chart": chart,
        "overdue": overdue,
        "status_labels": {k: v[1 if lang == "en" else 0] for k, v in reports.STATUS_LABELS.items()},
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
        return render(request, "error.html", user, {"error": _error(exc, lang)}, status=403)
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
        return render(request, "error.html", user, {"error": _error(exc, lang)}, status=403)
    view = {
        "ok": chain.ok,
        "checked": chain.checked,
        "first_bad_seq": chain.first_bad_seq,
        "problem": (chain.problem_en if lang == "en" else chain.problem) or "",
    }
    return render(request, "chain.html", user, {"chain": view})


def _export(df: Any, fmt: str, stem: str, lang: str) -> Response:
    if fmt not in reports.MEDIA_TYPES:
        return Response(status_code=404)
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
        return render(request, "error.html", user, {"error": _error(exc, lang)}, status=403)
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
        return render(request, "error.html", user, {"error": _error(exc, lang)}, status=403)
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
    user = signed_in(request)
    if user is None:
        return _to_login(request)
    if not _csrf_ok(user, csrf):
        return _forbidden(request, user)
    lang = page_lang(request)
    app = _gov(request)
    error, message, status = None, None, 200
    try:
        cuts.decide_cut(
            app, project, period, user.name, accept=decision == "accept", reason=reason.strip() or None
        )
        message = f"{tr('decided', lang)}{tr('colon', lang)}{project}"
    except GovflowError as exc:
        error, status = _error(exc, lang), 422
    ctx = finance_context(app, user, lang, period)
    return render(request, "finance.html", user, {**ctx, "error": error, "message": message}, status=status)


# ---------------------------------------------------------------------------------------------- review agency


def review_context(app: App, user: WebUser, lang: str) -> dict[str, Any]:
    queue = [
        {
            **r,
            "phase_label": Phase(r["phase"]).label(lang),
            "stage": REVIEW_PHASES[Phase(r["phase"])].value,
            "stage_label": REVIEW_PHASES[Phase(r["phase"])].label(lang),
        }
        for r in services.list_projects(app, user.name)
        if Phase(r["phase"]) in REVIEW_PHASES
    ]
    return {
        "queue": queue,
        "points": [(fp.value, fp.label(lang)) for fp in FocusPoint],
        "judgments": [(j.value, tr(j.value, lang)) for j in Judgment],
        "page_path": "/web/review",
    }


@router.get("/review", response_class=HTMLResponse)
def review(request: Request) -> Response:
    return _role_page(request, review_context, "review.html")


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
        )
        message = f"{code}{tr('colon', lang)}{tr('recorded_version', lang)}{version}"
    except GovflowError as exc:
        error, status = _error(exc, lang), 422
    ctx = review_context(app, user, lang)
    return render(request, "review.html", user, {**ctx, "error": error, "message": message}, status=status)


def today_of(app: App) -> date:
    return app.today()

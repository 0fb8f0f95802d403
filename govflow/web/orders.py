"""The rectification orders page (限期整改, 第十一条): every order the user may read, filtered by status and
paginated, with its steps, deadline, working days overdue and escalation level; and, per order, only the
actions the user may take on it now (verify, reject the evidence, extend the deadline, reopen).

Each action form carries the order version the page showed: an order changed since (by someone else, or by a
scheduled run marking it overdue) is not acted on; the page comes back up to date with a conflict message
(409), so nobody verifies or extends an order they have not seen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from govflow.governance import rectification
from govflow.lifecycle.services import App
from govflow.reads import admin, dashboard, formats, lists
from govflow.reads.trail import actor_text
from govflow.states.errors import Conflict, GovflowError, UsageError
from govflow.states.permissions import Role
from govflow.states.verdict import Reason
from govflow.states.vocabulary import OrderOrigin, OrderStatus, deadline_label, word
from govflow.web.page import (
    WebUser,
    _error,
    _reasons,
    _role_page,
    error_page,
    form_post,
    list_bar,
    list_query,
    parse_day,
    render,
    whole_number,
)
from govflow.web.text import tr

router = APIRouter(prefix="/web", include_in_schema=False)
STATUSES = tuple(s.value for s in OrderStatus)


def _status(value: str | None) -> str | None:
    return value if value in STATUSES else None


#: the steps the scheduled flows write: told from their payload, so that days read as on the rest of the page
TOLD_STEPS = frozenset({"issued", "dated", "reminder", "overdue", "escalation", "covers", "close"})


def _step_text(step: rectification.StepView, lang: str) -> str:
    """What a step says. The flows write their notes in Chinese with ISO days; the page tells the flows' steps
    from their payload in the page's language, with days as people write them (a pending deadline keeps its
    note, which says what it waits for)."""
    p = step.payload
    if step.kind not in TOLD_STEPS or (
        lang != "en" and (step.kind == "close" or (step.kind == "issued" and not p.get("deadline")))
    ):
        return step.note or ""

    def day(key: str) -> str:
        return formats.day_text(p.get(key), lang)

    n, clause = p.get("workdays"), rectification.CLAUSE
    if step.kind == "covers" and lang != "en":
        return f"巡查发现的问题 {p.get('finding')} 由本整改通知一并整改（一项共享义务只下达一份整改通知，{clause}）"
    if step.kind == "covers":
        return f"the sweep finding {p.get('finding')} is rectified under this order too (one order per obligation, {clause})"
    if step.kind == "close":
        late = " (late)" if p.get("closed_late") else ""
        return f"finding {p.get('finding')} is closed, so the order closed on {formats.day_text(step.on, lang)}{late}"
    if lang != "en":
        if step.kind == "issued":
            return f"整改期限 {day('deadline')}（通知日后 {n} 个工作日，{clause}）"
        if step.kind == "dated":
            return f"整改期限 {day('deadline')}（{day('pending_from')}后 {n} 个工作日，{clause}）"
        if step.kind == "reminder":
            return f"截止前第 {p.get('reminder')} 个工作日提醒（整改期限 {day('deadline')}）"
        if step.kind == "overdue":
            return f"已逾期 {p.get('overdue_workdays')} 个工作日（截止 {day('deadline')}）"
        name = f"：{p['name']}" if p.get("name") else ""
        return f"第 {p.get('level')} 级{name}（逾期 {p.get('overdue_workdays')} 个工作日）"
    if step.kind == "issued" and not p.get("deadline"):
        return (
            f"{deadline_label(None, lang)}: {n} working days after the notice, set once the "
            "calendar year is imported"
        )
    if step.kind == "issued":
        return f"rectify by {day('deadline')} ({n} working days after the notice)"
    if step.kind == "dated":
        return f"rectify by {day('deadline')} ({n} working days after {day('pending_from')})"
    if step.kind == "reminder":
        return f"reminder {p.get('reminder')} working day(s) before the deadline {day('deadline')}"
    if step.kind == "overdue":
        return f"{p.get('overdue_workdays')} working day(s) overdue (deadline {day('deadline')})"
    return f"level {p.get('level')} ({p.get('overdue_workdays')} working days overdue)"


def _who(actor: str, people: dict[str, tuple[str | None, str]], lang: str) -> str:
    """A step's actor by name and role (陈明（建设部门）); the system's runs by what they are."""
    display, role = people.get(actor, (None, ""))
    return actor_text(actor, role, display, lang)


def _line(
    line: lists.OrderLine,
    user: WebUser,
    lang: str,
    names: dict[str, str],
    unrectified: Reason | None,
    people: dict[str, tuple[str | None, str]],
) -> dict[str, Any]:
    o = line.order
    d = o.to_dict(lang)
    d["reasons"] = _reasons(o.reasons, lang, names)
    d["overdue_workdays"] = line.overdue_workdays
    d["origin_label"] = word(OrderOrigin, o.origin, lang)
    d["actions"] = dashboard.order_actions(user.actor, o, unrectified)
    d["unrectified"] = formats.prose_text(unrectified.text(lang), lang, names) if unrectified else None
    levels = [st.payload.get("name") for st in o.steps if st.kind == "escalation" and st.payload.get("name")]
    d["escalation_name"] = levels[-1] if levels else None  # the policy's name for the level reached
    d["step_rows"] = [
        {
            **st.to_dict(lang),
            "text": formats.prose_text(_step_text(st, lang), lang, names),
            "actor": _who(st.actor, people, lang),
            "previous": st.payload.get("previous_deadline"),
            "to": (st.payload.get("deadline") or deadline_label(None, lang)) if st.kind == "extend" else None,
        }
        for st in o.steps
    ]
    return d


def orders_context(
    app: App, user: WebUser, lang: str, request: Request, status: str | None, page: int | None = None
) -> dict[str, Any]:
    today = app.today()
    fixed: dict[str, Any] = {"status": status}
    if page is not None:
        fixed["page"] = page
    query = list_query(request, **fixed)
    result = lists.orders(app, user.name, query, as_of=today)
    names = dict(admin.departments(app))
    bar = list_bar(
        request,
        query,
        result.total,
        lang,
        sorts=lists.ORDER_SORTS,
        departments=sorted(names.items()) if user.actor.role is not Role.DEPARTMENT else None,
        phases=True,
        overdue=None,
        keep={"status": status} if status else None,
    )
    others = {k: v for k, v in request.query_params.items() if k not in ("status", "page", "lang") and v}

    def chip(code: str) -> str:
        return "/web/orders?" + urlencode({**others, **({"status": code} if code else {})})

    # verification is offered only where the obligation is met today (the sweep's judgement, per project)
    waiting = [
        line.order.code for line in result.items if line.order.status is OrderStatus.EVIDENCE_SUBMITTED
    ]
    unrectified = rectification.unverifiable(app, waiting, today) if waiting else {}
    # who took each step, by name and role (陈明（建设部门）), as the trail names them
    people = admin.people(app, {st.actor for line in result.items for st in line.order.steps})
    return {
        "as_of": formats.day_text(today, lang),
        "orders": [
            _line(line, user, lang, names, unrectified.get(line.order.code), people) for line in result.items
        ],
        "status": status,
        "filters": [("", tr("all", lang), sum(result.counts.values()), chip(""))]
        + [(st.value, st.label(lang), result.counts[st.value], chip(st.value)) for st in OrderStatus],
        "bar": bar,
        "page": result.page,
        "pages": bar["pages"],
        "total": result.total,
        "page_path": "/web/orders",
    }


@router.get("/orders", response_class=HTMLResponse)
def orders(request: Request, status: str | None = None) -> Response:
    return _role_page(
        request,
        lambda app, user, lang: orders_context(app, user, lang, request, _status(status)),
        "orders.html",
    )


def _act(
    request: Request,
    csrf: str,
    order: str,
    back_status: str,
    back_page: str,
    call: Callable[[App, str, int | None], object],
    version: str = "",
) -> Response:
    """Run one order use case for the signed-in user and show the orders page again (the same filter/page)."""
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    error, message, status = None, None, 200
    seen = whole_number(version)  # no version (a page from before versions were sent): no check
    try:
        call(app, user.name, seen)
        message = f"{tr('order_done', lang)}{tr('colon', lang)}{order}"
    except Conflict as exc:  # the use case's "reload and try again": the page shown below is that reload
        stale = f"{order}{tr('colon', lang)}{tr('order_stale', lang)}"
        error, status = {"message": stale, "reasons": [], "status": exc.http_status}, exc.http_status
    except GovflowError as exc:
        error, status = _error(exc, lang), exc.http_status
    page = whole_number(back_page) or 1
    try:
        ctx = orders_context(app, user, lang, request, _status(back_status or None), max(page, 1))
    except GovflowError as exc:
        return error_page(request, user, exc)
    ctx.update(error=error, message=message, focus=order)
    return render(request, "orders.html", user, ctx, status=status)


Csrf = Annotated[str, Form(max_length=100)]
Text = Annotated[str, Form(max_length=2000)]
Back = Annotated[str, Form(max_length=32)]
#: the order version the page showed (a hidden field); text, so that an empty or odd value is no 422 of FastAPI's
Version = Annotated[str, Form(max_length=12)]


@router.post("/orders/{order}/verify", response_class=HTMLResponse)
def verify(
    request: Request,
    order: str,
    csrf: Csrf,
    note: Text = "",
    version: Version = "",
    back_status: Back = "",
    back_page: Back = "",
) -> Response:
    return _act(
        request,
        csrf,
        order,
        back_status,
        back_page,
        lambda app, who, seen: rectification.verify_order(
            app, order, who, note.strip() or None, expect_version=seen
        ),
        version,
    )


@router.post("/orders/{order}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    order: str,
    csrf: Csrf,
    reason: Text = "",
    version: Version = "",
    back_status: Back = "",
    back_page: Back = "",
) -> Response:
    return _act(
        request,
        csrf,
        order,
        back_status,
        back_page,
        lambda app, who, seen: rectification.reject_evidence(app, order, who, reason, expect_version=seen),
        version,
    )


@router.post("/orders/{order}/reopen", response_class=HTMLResponse)
def reopen(
    request: Request,
    order: str,
    csrf: Csrf,
    reason: Text = "",
    version: Version = "",
    back_status: Back = "",
    back_page: Back = "",
) -> Response:
    return _act(
        request,
        csrf,
        order,
        back_status,
        back_page,
        lambda app, who, seen: rectification.reopen_order(app, order, who, reason, expect_version=seen),
        version,
    )


@router.post("/orders/{order}/extend", response_class=HTMLResponse)
def extend(
    request: Request,
    order: str,
    csrf: Csrf,
    to: Annotated[str, Form(max_length=10)] = "",
    workdays: Annotated[str, Form(max_length=4)] = "",
    reason: Text = "",
    version: Version = "",
    back_status: Back = "",
    back_page: Back = "",
) -> Response:
    def call(app: App, who: str, seen: int | None) -> object:
        target = parse_day(to, date.min)
        days = whole_number(workdays.strip()) if workdays.strip() else None
        if workdays.strip() and days is None:
            raise UsageError(
                f"延长的工作日数须为整数：{workdays}",
                f"the working days to extend by must be a number: {workdays}",
            )
        return rectification.extend_order(
            app,
            order,
            who,
            reason,
            new_deadline=None if target == date.min else target,
            workdays=days,
            expect_version=seen,
        )

    return _act(request, csrf, order, back_status, back_page, call, version)

"""The department's own pages: preparing a proposal (需求分析, 共享信息目录, 共享协定, answers to the opinions'
conditions, 第八条、第九条) with the pre-check of what intake would refuse, and a rectification order's page
(what is owed, the deadline, working days left, evidence upload).

Every form calls the use case the CLI and the API call (:mod:`govflow.lifecycle.materials`,
:mod:`govflow.governance.rectification`); a refusal comes back on the same page with each reason's field or row
and clause, and nothing is written. Which buttons are live is the dry run's answer
(:func:`govflow.lifecycle.precheck.dry_run`, :func:`govflow.governance.rectification.order_refusals`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from govflow.api.deps import get_settings
from govflow.api.uploads import DOCUMENT, TABULAR, saved
from govflow.governance import rectification
from govflow.lifecycle import services, tabular
from govflow.lifecycle.services import App
from govflow.reads import admin, formats, queries
from govflow.states.errors import GovflowError, NotFound
from govflow.states.permissions import Role, allowed_scope
from govflow.states.sharing import AgreementForm, Category, Frequency, Method, Secrecy, ShareType
from govflow.states.vocabulary import word
from govflow.web.orders import _step_text
from govflow.web.page import (
    WebUser,
    _error,
    _reasons,
    _role_page,
    error_page,
    form_post,
    render,
    signed_in,
)
from govflow.web.text import page_lang, tr

router = APIRouter(prefix="/web", include_in_schema=False)

#: the template files people download, by name: the model whose columns they hold
TEMPLATE_FILES = {"catalog.xlsx": "catalog", "evidence.xlsx": "evidence"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _choices(kind: Any, lang: str) -> list[tuple[str, str]]:
    return [(v.value, word(kind, v.value, lang)) for v in kind]


def checks_view(checks: list[services.Check], lang: str) -> list[dict[str, Any]]:
    """The dry run as the pages show it: per event, its label, whether the button is live, and the reasons."""
    out = []
    for c in checks:
        then = c.then
        out.append(
            {
                "event": c.event.value,
                "label": c.event.label(lang),
                "target": c.target.label(lang),
                "permitted": c.permitted,
                "refused": c.refused,
                "ready": c.ready,
                "overridable": c.overridable,
                "returns_to": c.returns_to.label(lang) if c.returns and c.returns_to else None,
                "roles": [
                    tr("lead_department", lang) if r is Role.DEPARTMENT else r.label(lang) for r in c.roles
                ],
                "denial": _reasons([c.denial], lang) if c.denial else [],
                "reasons": _reasons(c.reasons, lang),
                "then": {
                    "label": then.event.label(lang),
                    "reasons": _reasons(then.reasons, lang),
                    "roles": [r.label(lang) for r in then.roles],
                }
                if then is not None
                else None,
            }
        )
    return out


def prepare_context(app: App, code: str, user: WebUser, lang: str) -> dict[str, Any]:
    """The proposal's materials as they stand, the forms' choices and the dry run. Only for who may edit the
    project's materials (the lead department): anyone else gets the permission table's refusal."""
    queries.require(app, user.name, "project.edit", code)
    view = services.show_project(app, code, user.name)
    names = dict(admin.departments(app))
    opinions = queries.list_opinions(app, code, user.name, size=500).items
    open_conditions = [
        {
            "department": o["department"],
            "department_name": o["department_name"],
            "number": i,
            "text": c.get("text") or c.get("condition") or "",
            "answer": c.get("answer"),
        }
        for o in _latest(opinions)
        for i, c in enumerate(o["conditions"], start=1)
    ]
    return {
        "p": view,
        "phase_label": view.phase.label(lang),
        "needs": queries.needs_analysis(app, code, user.name),
        "catalog": queries.list_catalog(app, code, user.name, size=500).items,
        "agreements": queries.list_agreements(app, code, user.name, size=500).items,
        "conditions": open_conditions,
        "checks": checks_view(services.dry_run(app, code, user.name), lang),
        "departments": sorted(names.items(), key=lambda kv: kv[0]),
        "lead": view.lead_department,
        "choices": {
            "category": _choices(Category, lang),
            "share_type": _choices(ShareType, lang),
            "method": _choices(Method, lang),
            "update_frequency": _choices(Frequency, lang),
            "secrecy": _choices(Secrecy, lang),
            "form": _choices(AgreementForm, lang),
        },
        "catalog_columns": tabular.columns_of(tabular.TEMPLATES["catalog"], lang),
        "today": app.today().isoformat(),
        "entered": {},
        "page_path": f"/web/projects/{code}/prepare",
    }


def _latest(opinions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each department's newest opinion (the one that counts, 第九条), in the order given."""
    latest: dict[str, dict[str, Any]] = {}
    for o in opinions:  # oldest first: a later one replaces an earlier one
        latest[str(o["department"])] = o
    return list(latest.values())


@router.get("/projects/{code}/prepare", response_class=HTMLResponse)
def prepare_page(request: Request, code: str) -> Response:
    return _role_page(request, lambda app, user, lang: prepare_context(app, code, user, lang), "prepare.html")


#: a form field (the file's key, the last part of a refusal's path) → the words of its label on the page
FIELD_LABELS = {
    "code": "code",
    "name": "name",
    "provider": "provider",
    "category": "category",
    "share_type": "share_type",
    "method": "method",
    "update_frequency": "frequency",
    "secrecy": "secrecy",
    "legal_basis": "legal_basis",
    "authorized": "authorized",
    "form": "agreement_kind",
    "parties": "parties",
    "signed_on": "signed_on",
    "term": "term",
    "start": "term_start",
    "end": "term_end",
    "basis": "sharing_basis",
    "catalog": "catalog",
    "consumer": "consumer",
    "quality": "quality",
    "quantity": "quantity",
    "scope": "scope",
    "usage": "usage",
    "due": "due",
}
#: how a one-row form's position is written into a refusal by the file reader (rows[1]…（第 1 条数据，网页表单）：)
_FORM_PLACE = re.compile(r"^rows\[1\][.\w\[\]]*(?:（第 1 条数据，网页表单）：| \(data row 1, web form\): )")


def form_refusal(exc: GovflowError, lang: str) -> dict[str, Any]:
    """A refusal of a web form, each reason labelled with the field it is about as the form names it (not the
    file's ``rows[1].share_type`` or ``agreements[0].items[0].due``); the sentence and clause are the rule's."""
    err = _error(exc, lang)
    for r in err["reasons"]:
        m = _FORM_PLACE.match(r["message"])
        path = m.group(0) if m else r["path"]
        if m:
            r["message"] = r["message"][m.end() :]
        keys = re.findall(r"[a-z_]+", path or "")
        key = keys[-1] if keys else ""
        r["path"] = tr(FIELD_LABELS[key], lang) if key in FIELD_LABELS else (path or "")
    return err


def _after(
    request: Request,
    code: str,
    csrf: str,
    act: Callable[[App, WebUser, str], str],
    section: str,
    entered: dict[str, Any] | None = None,
) -> Response:
    """Run one form's use case and show the page again: its message, or its refusal (each reason with its
    field and clause) at the form, whose values are kept for correcting; nothing is written on a refusal."""
    post = form_post(request, csrf)
    if isinstance(post, Response):
        return post
    user, lang, app = post
    error, message, status = None, None, 200
    try:
        message = act(app, user, lang)
    except GovflowError as exc:
        error, status = form_refusal(exc, lang), exc.http_status
    try:
        ctx = prepare_context(app, code, user, lang)
    except GovflowError as exc:
        return error_page(request, user, exc)
    # the message or refusal is shown at the form it answers (the form's address scrolls to it)
    ctx.update(
        error=error,
        message=message,
        failed=section if error else None,
        done=section if message else None,
        entered=(entered or {}) if error else {},
        inline_flash=True,
    )
    return render(request, "prepare.html", user, ctx, status=status)


@router.post("/projects/{code}/needs", response_class=HTMLResponse)
def set_needs(
    request: Request,
    code: str,
    csrf: Annotated[str, Form(max_length=100)],
    internal: Annotated[str, Form(max_length=8000)] = "",
    external: Annotated[str, Form(max_length=8000)] = "",
    central_local: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    def act(app: App, user: WebUser, lang: str) -> str:
        version = services.set_needs_analysis(
            app,
            code,
            user.name,
            internal=internal.strip(),
            external=external.strip(),
            central_local=central_local.strip(),
        )
        return f"{tr('needs_saved', lang)}{tr('colon', lang)}{tr('version', lang)} {version}"

    return _after(request, code, csrf, act, "needs")


CATALOG_FIELDS = (
    "code",
    "name",
    "provider",
    "category",
    "share_type",
    "method",
    "update_frequency",
    "secrecy",
    "legal_basis",
    "authorized",
)


@router.post("/projects/{code}/catalog", response_class=HTMLResponse)
async def add_catalog_item(request: Request, code: str) -> Response:
    form = await request.form()
    cells = {k: str(form.get(k, ""))[:2000] for k in CATALOG_FIELDS}

    def act(app: App, user: WebUser, lang: str) -> str:
        res = services.add_catalog_item(app, code, cells, user.name)
        return _catalog_message(res, lang)

    return _after(request, code, str(form.get("csrf", ""))[:100], act, "catalog", cells)


def _catalog_message(res: dict[str, int], lang: str) -> str:
    return tr("catalog_saved", lang) % (res["added"], res["refined"])


@router.post("/projects/{code}/catalog/import", response_class=HTMLResponse)
def import_catalog(
    request: Request,
    code: str,
    csrf: Annotated[str, Form(max_length=100)],
    file: Annotated[UploadFile, File()],
) -> Response:
    def act(app: App, user: WebUser, lang: str) -> str:
        queries.require(app, user.name, "catalog.import", code)
        with saved(file, TABULAR, get_settings(request).upload_max_bytes) as path:
            return _catalog_message(services.import_catalog(app, code, path, user.name), lang)

    return _after(request, code, csrf, act, "catalog-file")


@router.post("/projects/{code}/agreements", response_class=HTMLResponse)
async def add_agreement(request: Request, code: str) -> Response:
    form = await request.form()

    def text(key: str) -> str | None:
        return str(form.get(key, "")).strip()[:2000] or None

    start, end = text("term_start"), text("term_end")
    parties = [str(v) for v in form.getlist("parties")][:50]
    item = {
        k: text(f"item_{k}")
        for k in ("catalog", "consumer", "quality", "quantity", "update_frequency", "scope", "usage", "due")
    }
    agreement: dict[str, Any] = {
        "code": text("code"),
        "form": text("form"),
        "parties": parties,
        "signed_on": text("signed_on"),
        "term": {"start": start, "end": end} if start or end else None,
        "basis": text("basis"),
        "items": [{k: v for k, v in item.items() if v is not None}] if any(item.values()) else [],
    }

    def act(app: App, user: WebUser, lang: str) -> str:
        res = services.add_agreement(
            app, code, {k: v for k, v in agreement.items() if v is not None}, user.name
        )
        return tr("agreement_saved", lang) % (agreement["code"], res["agreement_items"])

    entered = {k: str(v) for k, v in form.items() if k not in ("csrf", "parties")}
    return _after(
        request, code, str(form.get("csrf", ""))[:100], act, "agreement", {**entered, "parties": parties}
    )


@router.post("/projects/{code}/agreements/import", response_class=HTMLResponse)
def import_agreements(
    request: Request,
    code: str,
    csrf: Annotated[str, Form(max_length=100)],
    file: Annotated[UploadFile, File()],
) -> Response:
    def act(app: App, user: WebUser, lang: str) -> str:
        queries.require(app, user.name, "project.edit", code)
        with saved(file, DOCUMENT, get_settings(request).upload_max_bytes) as path:
            res = services.add_agreements(app, code, path, user.name)
        return tr("agreements_imported", lang) % (res["agreements"], res["agreement_items"])

    return _after(request, code, csrf, act, "agreement-file")


@router.post("/projects/{code}/opinions/{department}/answers", response_class=HTMLResponse)
def answer_condition(
    request: Request,
    code: str,
    department: str,
    csrf: Annotated[str, Form(max_length=100)],
    condition: Annotated[int, Form(ge=1, le=1000)],
    answer: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    def act(app: App, user: WebUser, lang: str) -> str:
        services.answer_condition(
            app, code, user.name, department=department, condition=condition, answer=answer
        )
        return tr("answer_saved", lang)

    return _after(request, code, csrf, act, f"answer-{department}-{condition}")


# ---------------------------------------------------------------------------------------------- templates


@router.get("/templates/{name}")
def template_file(request: Request, name: str) -> Response:
    """An empty XLSX to fill in: the columns an import reads, and a sheet describing each of them."""
    user = signed_in(request)
    if user is None or name not in TEMPLATE_FILES:
        return error_page(request, user, NotFound(f"没有模板 {name}", f"no template {name}"))
    lang = page_lang(request)
    data = tabular.template_workbook(tabular.TEMPLATES[TEMPLATE_FILES[name]], lang)
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------------------------------------- an order


def order_context(app: App, code: str, user: WebUser, lang: str) -> dict[str, Any]:
    detail = admin.order_detail(app, user.name, code, as_of=app.today())
    o = detail.order
    names = dict(admin.departments(app))
    # what is owed and what was done, as people write days, amounts and departments (as on the orders list)
    d = {**o.to_dict(lang), "reasons": _reasons(o.reasons, lang, names)}
    return {
        "o": d,
        "deadline": o.deadline,
        "workdays_left": detail.workdays_left,
        "overdue_workdays": detail.overdue_workdays,
        "steps": [
            {**st.to_dict(lang), "text": formats.prose_text(_step_text(st, lang), lang, names)}
            for st in o.steps
        ],
        "refusals": {k: _reasons(v, lang) for k, v in detail.refusals.items()},
        # the changes this role makes at all (the permission table), each disabled with its reasons when the
        # dry run says it would be refused now (another department's order, a status that does not allow it)
        "may": {
            name
            for name, change in rectification.CHANGES.items()
            if allowed_scope(user.actor.role, change.action) is not None
        },
        "version": o.version,
        "evidence_columns": tabular.columns_of(tabular.TEMPLATES["evidence"], lang),
        "page_path": f"/web/orders/{code}",
        "closed": o.status is rectification.OrderStatus.CLOSED,
    }


@router.get("/orders/{code}", response_class=HTMLResponse)
def order_page(request: Request, code: str) -> Response:
    return _role_page(request, lambda app, user, lang: order_context(app, code, user, lang), "order.html")

"""Projects: list, show, history, lifecycle events (SPEC §2)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from govflow.api.deps import ActorName, CurrentReader, GovApp, Lang, PageParams, ProjectCode
from govflow.api.errors import error_body
from govflow.api.schemas import (
    DEPARTMENT_CODE,
    ErrorBody,
    EventIn,
    EventRefusal,
    EventResultOut,
    HistoryEntry,
    PageOut,
    ProjectDetail,
    ProjectSummary,
)
from govflow.lifecycle import services
from govflow.reads import queries
from govflow.states.errors import RuleRefused, UsageError
from govflow.states.phases import Phase
from govflow.states.verdict import Reason

router = APIRouter(prefix="/projects", tags=["projects"])

IF_MATCH = r'^\s*(\*|(W/)?"?[0-9]{1,18}"?)\s*$'
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(header: str | None) -> int | None:
    """The project version in ``If-Match`` (``"7"``, ``W/"7"`` or ``7``); ``*`` means any version."""
    if header is None or header.strip() == "*":
        return None
    m = _IF_MATCH.match(header)
    if m is None:
        raise UsageError(
            f'If-Match 须为项目版本号（如 "7"），收到 {header[:40]}',
            f'If-Match must be the project version (e.g. "7"), got {header[:40]}',
        )
    return int(m.group(1))


def localize_reasons(reasons: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Stored reasons keep both languages; a reader gets one."""
    out = []
    for r in reasons:
        d = {k: v for k, v in r.items() if k != "message_en"}
        if lang == "en":
            d["message"] = r.get("message_en", r.get("message"))
        out.append(d)
    return out


@router.get(
    "",
    response_model=PageOut[ProjectSummary],
    summary="项目列表 / list projects",
    description="按阶段、牵头部门筛选；overdue=true 只列出有逾期整改通知（733号文 第十一条）的项目；建设部门只看到"
    "本部门牵头或参与的项目。\n\n"
    "Filter by phase and lead department; overdue=true lists only projects with at least one overdue "
    "rectification order; a department user sees only projects its department leads or takes part in.",
)
async def list_projects(
    app: GovApp,
    reader: CurrentReader,
    lang: Lang,
    paging: PageParams,
    phase: Annotated[Phase | None, Query(description="阶段 / phase")] = None,
    department: Annotated[
        str | None, Query(pattern=DEPARTMENT_CODE, description="牵头部门代码 / lead department code")
    ] = None,
    overdue: Annotated[
        bool, Query(description="只列出有逾期整改通知的项目 / only projects with an overdue order")
    ] = False,
) -> dict[str, Any]:
    page, size = max(paging.page, 1), min(max(paging.size, 1), queries.MAX_PAGE_SIZE)
    # the use case in the thread pool, the response model's check and serialization here (one hop, not two);
    # a bearer token is checked by the read's own statement (one round trip)
    rows, total = await run_in_threadpool(
        services.page_projects,
        app,
        reader,
        page=page,
        size=size,
        phase=phase.value if phase else None,
        department=department,
        overdue=overdue,
    )
    for r in rows:
        r["phase_label"] = Phase(r["phase"]).label(lang)
    return queries.Page(rows, total, page, size).to_dict()


@router.get(
    "/{code}",
    response_model=ProjectDetail,
    summary="查看项目 / show a project",
    description="ETag 为项目版本，可作 If-Match 用于触发事件。\n\nThe ETag is the project version, usable "
    "as If-Match when firing an event.",
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def show_project(
    app: GovApp, reader: CurrentReader, lang: Lang, code: ProjectCode, response: Response
) -> dict[str, Any]:
    view = await run_in_threadpool(services.show_project, app, code, reader)
    response.headers["ETag"] = etag(view.version)
    return view.to_dict(lang)


@router.get(
    "/{code}/history",
    response_model=PageOut[HistoryEntry],
    summary="项目历程 / project history",
    description="每个被接受和被拒绝的事件及其理由和条款，按时间先后。\n\nEvery accepted and refused step with "
    "its reasons and clauses, oldest first.",
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
def project_history(
    app: GovApp, actor: ActorName, lang: Lang, code: ProjectCode, paging: PageParams
) -> dict[str, Any]:
    rows = services.project_history(app, code, actor)
    for r in rows:
        r["reasons"] = localize_reasons(r["reasons"], lang)
    return queries.paginate(rows, paging.page, paging.size).to_dict()


@router.get(
    "/{code}/precheck",
    summary="预检：下一步事件现在会被怎样判断 / dry run of the next events",
    description="对项目当前阶段可执行的每个事件，按触发时同样的生命周期和守卫判断（不触发、不写入、不记审计）：谁可以触发、"
    "会因哪些理由被拒绝（带条款）；报送项目建议书还附有受理时的判断（then）。\n\nEach event possible from the "
    "project's phase, judged as firing it would judge it (nothing fired, written or audited): who may fire it and "
    "what would be refused, with clauses; submit_proposal carries intake's verdict too (then).",
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
def precheck(app: GovApp, actor: ActorName, lang: Lang, code: ProjectCode) -> list[dict[str, Any]]:
    return [c.to_dict(lang) for c in services.dry_run(app, code, actor)]


@router.post(
    "/{code}/events",
    response_model=EventResultOut,
    summary="触发生命周期事件 / fire a lifecycle event",
    description="被接受：200 与结果。被规则拒绝（如不予受理，第十条第二款）：422，列出每个未满足条件及条款；拒绝同样"
    "记入审计链（不予受理时项目退回编制中）。版本冲突（If-Match 或 expect_version 已过时）：409。\n\n"
    "Accepted: 200 with the result. Refused by a rule (e.g. intake refused, 第十条第二款): 422 with every unmet "
    "condition and its clause; the refusal is recorded in the audit trail too (a refused intake returns the "
    "project to draft). A stale If-Match or expect_version: 409.",
    responses={
        400: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": EventRefusal},
    },
)
def fire_event(
    app: GovApp,
    actor: ActorName,
    lang: Lang,
    code: ProjectCode,
    body: EventIn,
    if_match: Annotated[
        str | None,
        Header(pattern=IF_MATCH, description='项目版本，如 "7" / the project version, e.g. "7"'),
    ] = None,
) -> Any:
    expected = if_match_version(if_match)
    if expected is not None and body.expect_version is not None and expected != body.expect_version:
        raise UsageError("If-Match 与 expect_version 不一致", "If-Match and expect_version disagree")
    res = services.fire_event(
        app,
        code,
        body.event,
        actor,
        reason=body.reason,
        at=body.at,
        expect_version=expected if expected is not None else body.expect_version,
        override=body.override,
    )
    result = res.to_dict(lang)
    if res.accepted:
        return JSONResponse(result, headers={"ETag": etag(res.version)})
    refusal = error_body(RuleRefused(list(res.reasons) or [_refused(res.event.value)]), lang)
    return JSONResponse(
        {**refusal, "refused": True, "result": result},
        status_code=RuleRefused.http_status,
        headers={"ETag": etag(res.version)},
    )


def _refused(event: str) -> Reason:
    return Reason("REFUSED", "govflow 生命周期", f"「{event}」被拒绝", f"'{event}' refused")

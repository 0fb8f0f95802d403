"""The audit trail (审计链): read it, verify it. Nothing here changes anything."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from govflow.api.deps import ActorName, GovApp, Lang, PageParams
from govflow.api.schemas import CODE, AuditEventOut, ChainReportOut, ErrorBody, PageOut, UtcDatetime
from govflow.reads import queries

router = APIRouter(prefix="/audit", tags=["audit"])
ERRORS: dict[int | str, dict[str, Any]] = {403: {"model": ErrorBody}}
Filter = Annotated[str | None, Query(pattern=CODE)]


@router.get(
    "/events",
    response_model=PageOut[AuditEventOut],
    summary="审计日志 / the audit trail",
    description="审计、项目审批部门、管理员可查阅；按项目、操作人、动作、类别、结果、时间筛选（since 含、until "
    "不含）。\n\nFor audit, the program office and administrators; filter by project, actor, action, kind, "
    "outcome and effective time (since inclusive, until exclusive).",
    responses=ERRORS,
)
def audit_events(
    app: GovApp,
    actor: ActorName,
    paging: PageParams,
    project: Filter = None,
    by: Annotated[str | None, Query(pattern=CODE, description="操作人 / acting user")] = None,
    action: Filter = None,
    kind: Annotated[
        Literal["decision", "security", "onboarding", "data"] | None, Query(description="类别 / kind")
    ] = None,
    outcome: Annotated[
        Literal["accepted", "refused", "denied", "recorded"] | None, Query(description="结果 / outcome")
    ] = None,
    since: Annotated[UtcDatetime | None, Query(description="起（含） / from, inclusive")] = None,
    until: Annotated[UtcDatetime | None, Query(description="止（不含） / to, exclusive")] = None,
    order: Annotated[Literal["asc", "desc"], Query(description="按序号 / by seq")] = "desc",
) -> dict[str, Any]:
    return queries.audit_trail(
        app,
        actor,
        project=project,
        actor=by,
        action=action,
        kind=kind,
        outcome=outcome,
        since=since,
        until=until,
        newest_first=order == "desc",
        page=paging.page,
        size=paging.size,
    ).to_dict()


@router.get(
    "/verify",
    response_model=ChainReportOut,
    summary="校验审计链 / verify the chain",
    description="逐条校验哈希链，并与数据库之外的每个锚点核对；ok=false 时指出问题。\n\nWalks the hash chain and "
    "holds it to every anchor outside the database; when ok is false it says what does not fit.",
    responses=ERRORS,
)
def verify(app: GovApp, actor: ActorName, lang: Lang) -> dict[str, Any]:
    rep = queries.verify_audit_chain(app, actor)
    return {
        "ok": rep.ok,
        "checked": rep.checked,
        "first_bad_seq": rep.first_bad_seq,
        "first_bad_id": rep.first_bad_id,
        "problem": rep.problem_en if lang == "en" else rep.problem,
        "anchors": rep.anchors,
        "anchor_seq": rep.anchor_seq,
        "anchor_at": rep.anchor_at,
    }

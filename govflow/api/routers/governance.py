"""Findings, rectification orders and their use cases, O&M cut recommendations with finance decisions, and the
reports (JSON, CSV, XLSX)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from govflow.api.deps import ActorName, GovApp, Lang, PageParams
from govflow.api.schemas import (
    CODE,
    ErrorBody,
    EvidenceIn,
    ExtendIn,
    FindingOut,
    OrderOut,
    OrderReasonIn,
    PageOut,
    VerifyIn,
)
from govflow.governance import cuts, rectification
from govflow.reads import governed, queries, reports
from govflow.states.inputs import Day

#: besides the common errors: unknown project (404), a decided recommendation (409), a day in a year without
#: calendar data (422)
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "不存在 / not found"},
    409: {"model": ErrorBody, "description": "已决定或已撤回 / already decided or withdrawn"},
    422: {"model": ErrorBody, "description": "工作日历缺少该年度数据 / no working-day data for the year"},
}
router = APIRouter(tags=["governance"], responses=ERRORS)

MEDIA_XLSX = reports.MEDIA_TYPES["xlsx"]
PERIOD = r"^\d{4}$"
#: a report answers JSON, or the CSV / XLSX file asked for with ``format``
REPORT_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "报表 / the report",
        "content": {"application/json": {}, "text/csv": {}, MEDIA_XLSX: {}},
    }
}


@router.get(
    "/findings",
    response_model=PageOut[FindingOut],
    summary="共享问题 / findings of the obligation sweep",
    description="清单扫描发现的问题（733号文 第八条、第十一条）及所下达的整改通知；建设部门只看到本部门牵头或参与的项目。"
    "涉密目录条目（第二条第三款）的问题对无权查看该条目的用户只显示协定编号（masked）。\n\n"
    "Findings of the obligation sweep with the order issued for each; a department user sees only its own "
    "projects' findings. A finding on a secret catalog item is masked for a user who may not see the item.",
)
def list_findings(
    app: GovApp,
    actor: ActorName,
    lang: Lang,
    paging: PageParams,
    status: Annotated[Literal["open", "closed"] | None, Query(description="open | closed")] = None,
    project: Annotated[str | None, Query(pattern=CODE, description="项目编号 / project code")] = None,
    rule: Annotated[
        Literal["MILESTONE_MISSED", "DELIVERY_STALE", "AGREEMENT_EXPIRED"] | None,
        Query(description="规则 / rule"),
    ] = None,
) -> dict[str, Any]:
    return queries.list_findings(
        app, actor, status=status, project=project, rule=rule, lang=lang, page=paging.page, size=paging.size
    ).to_dict()


@router.get(
    "/orders",
    response_model=PageOut[OrderOut],
    summary="整改通知 / rectification orders",
    description="限期整改（733号文 第十一条）；建设部门只看到本部门的项目。\n\nRectification orders; a department "
    "user sees only its own projects' orders.",
)
def list_orders(
    app: GovApp,
    actor: ActorName,
    lang: Lang,
    paging: PageParams,
    status: Annotated[Literal["open", "evidence_submitted", "overdue", "closed"] | None, Query()] = None,
    project: Annotated[str | None, Query(pattern=CODE, description="项目编号 / project code")] = None,
) -> dict[str, Any]:
    rows = queries.list_orders(app, actor, status=status, project=project, lang=lang)
    return queries.paginate(rows, paging.page, paging.size).to_dict()


OrderCode = Annotated[str, PathParam(pattern=CODE, description="整改通知编号 / order code")]
#: what an order use case may answer besides 200 (422: a rule refuses, e.g. the order's status or the new deadline)
ORDER_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "整改通知不存在 / no such order"},
    409: {"model": ErrorBody, "description": "版本冲突（expect_version 已过时） / stale version"},
    422: {
        "model": ErrorBody,
        "description": "参数无效或被规则拒绝（第十一条） / invalid, or refused by a rule",
    },
}
_ORDER_DOC = (
    "\n\n可选 expect_version 为客户端所见的通知版本（乐观锁）：此后已被他人修改则 409，不再办理。"
    "成功时返回更新后的整改通知及其全部步骤；状态不允许时 422（列出原因及条款）。\n\n"
    "Optional expect_version is the order version the client saw (optimistic lock): 409 when someone changed "
    "the order since. Answers the updated order with its steps; 422 when its status does not allow it "
    "(reasons and clauses)."
)


@router.get(
    "/orders/{order}",
    response_model=OrderOut,
    summary="查看整改通知 / show a rectification order",
    description="整改通知及其全部步骤（下达、提醒、逾期、升级、整改材料、核验、延期），按时间先后。\n\n"
    "One order with its steps (issue, reminders, overdue, escalations, evidence, decisions), oldest first.",
)
def show_order(app: GovApp, actor: ActorName, lang: Lang, order: OrderCode) -> dict[str, Any]:
    return queries.show_order(app, order, actor, lang=lang)


@router.post(
    "/orders/{order}/evidence",
    response_model=OrderOut,
    responses=ORDER_ERRORS,
    summary="提交整改材料 / submit rectification evidence",
    description="牵头建设部门提交整改材料：整改中或已逾期 → 已提交整改材料。" + _ORDER_DOC,
)
def submit_evidence(
    app: GovApp, actor: ActorName, lang: Lang, order: OrderCode, body: EvidenceIn
) -> dict[str, Any]:
    view = rectification.submit_evidence(app, order, actor, body.note, expect_version=body.expect_version)
    return queries.orders_out(app, actor, [view], lang)[0]


@router.post(
    "/orders/{order}/verify",
    response_model=OrderOut,
    responses=ORDER_ERRORS,
    summary="核验整改 / verify the rectification",
    description="项目审批部门核验通过：已提交整改材料 → 已关闭（截止后关闭记为逾期完成）。" + _ORDER_DOC,
)
def verify_order(
    app: GovApp, actor: ActorName, lang: Lang, order: OrderCode, body: VerifyIn | None = None
) -> dict[str, Any]:
    view = rectification.verify_order(
        app,
        order,
        actor,
        body.note if body else None,
        expect_version=body.expect_version if body else None,
    )
    return queries.orders_out(app, actor, [view], lang)[0]


@router.post(
    "/orders/{order}/reject",
    response_model=OrderOut,
    responses=ORDER_ERRORS,
    summary="退回整改材料 / reject the evidence",
    description="项目审批部门退回整改材料（理由必填）：回到整改中，已过截止日期则为已逾期。" + _ORDER_DOC,
)
def reject_evidence(
    app: GovApp, actor: ActorName, lang: Lang, order: OrderCode, body: OrderReasonIn
) -> dict[str, Any]:
    view = rectification.reject_evidence(app, order, actor, body.reason, expect_version=body.expect_version)
    return queries.orders_out(app, actor, [view], lang)[0]


@router.post(
    "/orders/{order}/reopen",
    response_model=OrderOut,
    responses=ORDER_ERRORS,
    summary="重新打开整改通知 / reopen an order",
    description="项目审批部门重新打开已关闭的整改通知（理由必填）：已关闭 → 整改中。" + _ORDER_DOC,
)
def reopen_order(
    app: GovApp, actor: ActorName, lang: Lang, order: OrderCode, body: OrderReasonIn
) -> dict[str, Any]:
    view = rectification.reopen_order(app, order, actor, body.reason, expect_version=body.expect_version)
    return queries.orders_out(app, actor, [view], lang)[0]


@router.post(
    "/orders/{order}/extend",
    response_model=OrderOut,
    responses=ORDER_ERRORS,
    summary="延长整改期限 / extend the deadline",
    description="项目审批部门延长整改期限（理由必填）：给出新的截止日期 to（须为晚于当前截止日期的工作日）或延长的工作日数 "
    "workdays，二者只能选一；原截止日期保留。按工作日数延长而新期限落在尚无工作日历数据的年度时，期限待定（deadline 为 "
    "null），该年导入后的第一次整改期限运行自动确定；指定的新截止日期 to 落在这样的年度时 422。"
    + _ORDER_DOC
    + " Extending by workdays into a year without working-day calendar data leaves the deadline pending "
    "(null) until the year is imported; a new deadline `to` in such a year: 422.",
)
def extend_order(
    app: GovApp, actor: ActorName, lang: Lang, order: OrderCode, body: ExtendIn
) -> dict[str, Any]:
    view = rectification.extend_order(
        app,
        order,
        actor,
        body.reason,
        new_deadline=body.to,
        workdays=body.workdays,
        expect_version=body.expect_version,
    )
    return queries.orders_out(app, actor, [view], lang)[0]


@router.get(
    "/cuts",
    summary="运维经费削减建议 / O&M cut recommendations",
    description="某预算年度的削减建议（733号文 第十一条）。\n\nThe recommendations of a budget year.",
)
def list_cuts(
    app: GovApp,
    actor: ActorName,
    lang: Lang,
    paging: PageParams,
    period: Annotated[str, Query(pattern=PERIOD, description="预算年度 / budget year")],
    status: Annotated[Literal["proposed", "accepted", "declined", "withdrawn"] | None, Query()] = None,
) -> dict[str, Any]:
    rows = [c.to_dict(lang) for c in governed.list_cuts(app, period, actor, status)]
    return queries.paginate(rows, paging.page, paging.size).to_dict()


class DecisionIn(BaseModel):
    period: str = Field(pattern=PERIOD, description="预算年度 / budget year")
    accept: bool = Field(description="采纳（true）或不采纳（false） / accept or decline")
    reason: str = Field(min_length=1, max_length=2000, description="理由（必填） / reason (required)")


@router.post(
    "/cuts/{code}/decision",
    summary="财政部门决定削减建议 / finance decides a recommendation",
    description="只有待决定（proposed）的建议可以决定；理由必填。\n\nOnly a proposed recommendation can be "
    "decided; a reason is required.",
)
def decide(
    app: GovApp,
    actor: ActorName,
    lang: Lang,
    code: Annotated[str, PathParam(pattern=CODE, description="项目编号 / project code")],
    body: DecisionIn,
) -> dict[str, Any]:
    decided = cuts.decide_cut(app, code, body.period, actor, accept=body.accept, reason=body.reason)
    return governed.cuts_for(app, actor, [decided])[0].to_dict(lang)


def _download(df: Any, fmt: str, stem: str, lang: str) -> Response:
    return Response(
        reports.file_bytes(df, fmt, lang),
        media_type=reports.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )


def _report(df: Any, fmt: str, stem: str, lang: str) -> Any:
    if fmt == "json":
        return reports.records(df)
    return _download(df, fmt, stem, lang)


Fmt = Annotated[Literal["json", "csv", "xlsx"], Query(description="json | csv | xlsx")]


@router.get(
    "/reports/overdue",
    responses=REPORT_CONTENT,
    summary="逾期整改报表（审计） / overdue rectifications",
)
def overdue(app: GovApp, actor: ActorName, lang: Lang, as_of: Day, format: Fmt = "json") -> Any:
    return _report(reports.overdue_report(app, as_of, actor), format, f"overdue-{as_of}", lang)


@router.get(
    "/reports/cuts",
    responses=REPORT_CONTENT,
    summary="削减建议报表（财政） / cut recommendations report",
)
def cuts_report(
    app: GovApp,
    actor: ActorName,
    lang: Lang,
    period: Annotated[str, Query(pattern=PERIOD)],
    as_of: Day | None = None,
    format: Fmt = "json",
) -> Any:
    return _report(reports.cuts_report(app, period, actor, as_of), format, f"cuts-{period}", lang)


@router.get(
    "/reports/portfolio",
    responses=REPORT_CONTENT,
    summary="项目组合报表（按阶段、部门） / portfolio by phase and department",
)
def portfolio(app: GovApp, actor: ActorName, lang: Lang, as_of: Day, format: Fmt = "json") -> Any:
    return _report(reports.portfolio_report(app, as_of, actor), format, f"portfolio-{as_of}", lang)

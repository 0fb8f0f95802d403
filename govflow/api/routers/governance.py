"""Rectification orders, O&M cut recommendations with finance decisions, and the reports (JSON, CSV, XLSX)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from govflow import cuts, queries, rectification, reports
from govflow.api.deps import ActorName, GovApp, Lang, PageParams
from govflow.api.schemas import CODE, ErrorBody

#: besides the common errors: unknown project (404), a decided recommendation (409), no calendar data (503)
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "不存在 / not found"},
    409: {"model": ErrorBody, "description": "已决定或已撤回 / already decided or withdrawn"},
    503: {"model": ErrorBody, "description": "工作日历缺少该年度数据 / no working-day data for the year"},
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
    "/orders",
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
    rows = [o.to_dict(lang) for o in rectification.list_orders(app, actor, status=status, project=project)]
    return queries.paginate(rows, paging.page, paging.size).to_dict()


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
    rows = [c.to_dict(lang) for c in cuts.list_cuts(app, period, actor, status)]
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
    return cuts.decide_cut(app, code, body.period, actor, accept=body.accept, reason=body.reason).to_dict(
        lang
    )


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
def overdue(app: GovApp, actor: ActorName, lang: Lang, as_of: date, format: Fmt = "json") -> Any:
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
    as_of: date | None = None,
    format: Fmt = "json",
) -> Any:
    return _report(reports.cuts_report(app, period, actor, as_of), format, f"cuts-{period}", lang)


@router.get(
    "/reports/portfolio",
    responses=REPORT_CONTENT,
    summary="项目组合报表（按阶段、部门） / portfolio by phase and department",
)
def portfolio(app: GovApp, actor: ActorName, lang: Lang, as_of: date, format: Fmt = "json") -> Any:
    return _report(reports.portfolio_report(app, as_of, actor), format, f"portfolio-{as_of}", lang)

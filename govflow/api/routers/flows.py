"""Runs of the scheduled governance flows (sweep, deadlines, cuts, dispatch)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from govflow import queries
from govflow.api.deps import ActorName, GovApp, PageParams
from govflow.api.schemas import CODE, ErrorBody, FlowRunOut, PageOut

router = APIRouter(prefix="/flow-runs", tags=["flows"])


@router.get(
    "",
    response_model=PageOut[FlowRunOut],
    summary="流程运行记录 / flow runs",
    description="最新的在前：流程、as_of、做了什么、如何结束。\n\nNewest first: flow, as_of, what it did, how it "
    "ended.",
    responses={403: {"model": ErrorBody}},
)
def flow_runs(
    app: GovApp,
    actor: ActorName,
    paging: PageParams,
    flow: Annotated[str | None, Query(pattern=CODE, description="sweep|deadlines|cuts|dispatch|all")] = None,
    status: Annotated[Literal["running", "completed", "failed"] | None, Query()] = None,
) -> dict[str, Any]:
    return queries.flow_runs(
        app, actor, flow=flow, status=status, page=paging.page, size=paging.size
    ).to_dict()

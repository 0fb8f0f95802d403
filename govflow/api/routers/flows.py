"""Runs of the scheduled governance flows (sweep, deadlines, cuts, dispatch), and the policy they apply."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from govflow.api.deps import ActorName, GovApp, PageParams
from govflow.api.schemas import CODE, ErrorBody, FlowRunOut, PageOut
from govflow.governance import policy_service
from govflow.reads import queries

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
    status: Annotated[Literal["running", "completed", "failed", "crashed"] | None, Query()] = None,
) -> dict[str, Any]:
    return queries.flow_runs(
        app, actor, flow=flow, status=status, page=paging.page, size=paging.size
    ).to_dict()


policy_router = APIRouter(prefix="/policy", tags=["flows"])


@policy_router.get(
    "",
    summary="治理策略（当前生效版本及历史） / the governance policy in force and its versions",
    description="整改期限、提醒、升级和运维经费削减档位（733号文 第十一条）：当前生效的版本全文，以及各版本的摘要"
    "（最新的在前）。\n\nDeadlines, reminders, escalation and cut tiers: the version in force, whole, and every "
    "version's digest (newest first).",
    responses={
        200: {"description": "策略 / the policy", "content": {"application/json": {}}},
        403: {"model": ErrorBody},
    },
)
def policy(app: GovApp, actor: ActorName) -> dict[str, Any]:
    active, versions = policy_service.show_policy(app, actor)
    return {
        "active": active.model_dump(mode="json"),
        "digest": active.digest(),
        "versions": [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in versions
        ],
    }

"""Deployments of the governance flows with their cron schedules, and serving them (`govflow schedule`).

A cron schedule fires only on a Prefect server that keeps running (``prefect server start``): the temporary
server a plain ``govflow run`` starts is gone when the command ends. :func:`serve` therefore refuses to start
without ``PREFECT_API_URL``. Served runs execute in subprocesses of the serving process and read their settings
(``GOVFLOW_DATABASE_URL`` …) from its environment; their ``as_of`` is left ``None``, so each run judges the day
it starts on in ``GOVFLOW_SCHEDULE_TZ``.

To scale out, :func:`register` puts the same deployments on a work pool instead (``govflow schedule
--work-pool NAME``), with the chunk deployment ``govflow-chunk/<name>``; Prefect workers (``prefect worker
start --pool NAME``) on hosts with govflow installed and ``GOVFLOW_*`` set then run them, each flow run in its
own process. With ``GOVFLOW_FLOW_CHUNK_RUNS=deployment`` the chunks of a run are flow runs of that deployment,
so every worker of the pool takes a share of one nightly run.

``python -m govflow.flows.deployments`` serves them too (for a service manager unit without the CLI around it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from prefect import serve as prefect_serve
from prefect.client.orchestration import get_client
from prefect.deployments.runner import DeploymentApplyError, RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron
from prefect.settings import PREFECT_API_URL
from prefect.types.entrypoint import EntrypointType

from govflow.flows.governance import chunk, flow_of
from govflow.governance import scheduling
from govflow.governance.scheduling import ScheduleSpec
from govflow.settings import Settings
from govflow.states.errors import UsageError


@dataclass(frozen=True)
class Planned:
    spec: ScheduleSpec
    deployment: RunnerDeployment

    @property
    def name(self) -> str:
        return f"{self.deployment.flow_name}/{self.deployment.name}"


def build(settings: Settings) -> list[Planned]:
    """One deployment per registered check and one for ``all`` (first). Runs of one deployment queue instead of overlapping
    (concurrency limit 1): two runs working on the same projects at once would race for the same unique keys
    (findings, order codes, message keys) and one of them would fail."""
    planned = []
    for spec in scheduling.schedule_specs(settings):
        flow = flow_of(spec.flow)
        try:
            schedules = [Cron(spec.cron, timezone=spec.timezone)] if spec.cron else []
        except ValueError as exc:
            raise UsageError(
                f"{spec.setting} 不是有效的 cron 表达式：{spec.cron}（{exc}）",
                f"{spec.setting} is not a valid cron expression: {spec.cron} ({exc})",
            ) from exc
        deployment = flow.to_deployment(
            name=settings.deployment_name,
            schedules=schedules,
            concurrency_limit=1,
            tags=["govflow", spec.flow],
            description=f"{scheduling.flow_label(spec.flow)} / {scheduling.flow_label(spec.flow, 'en')}",
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        assert isinstance(deployment, RunnerDeployment)  # called outside an event loop: not a coroutine
        planned.append(Planned(spec, deployment))
    return planned


def chunk_deployment(settings: Settings) -> RunnerDeployment:
    """The deployment of one chunk of a distributed run (no schedule: runs start it, ``run_deployment``)."""
    deployment = chunk.to_deployment(
        name=settings.deployment_name,
        tags=["govflow", "chunk"],
        description="分块运行（由治理流程启动） / one chunk of a governance run (started by the run)",
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    assert isinstance(deployment, RunnerDeployment)
    return deployment


def next_run(spec: ScheduleSpec, after: datetime | None = None) -> datetime | None:
    """When the schedule fires next, in its own time zone (None: no schedule)."""
    if spec.cron is None:
        return None
    from prefect.server.schemas.schedules import CronSchedule

    sched = CronSchedule(cron=spec.cron, timezone=spec.timezone)
    dates = asyncio.run(sched.get_dates(n=1, start=after))
    return dates[0] if dates else None


def api_url() -> str | None:
    value = PREFECT_API_URL.value()
    return str(value) if value else None


def require_server() -> str:
    url = api_url()
    if not url:
        raise UsageError(
            "未设置 PREFECT_API_URL：govflow run 临时启动的 Prefect 服务器随命令结束而关闭，定时计划不会触发。"
            "请先启动常驻的 Prefect 服务器（prefect server start），"
            "再设置 PREFECT_API_URL=http://127.0.0.1:4200/api 后运行 govflow schedule --serve。",
            "PREFECT_API_URL is not set: the temporary Prefect server of a plain command stops with it, so cron "
            "schedules would never fire. Start a Prefect server (prefect server start), set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api, then run govflow schedule --serve.",
        )
    return url


def serve(planned: list[Planned], *extra: RunnerDeployment) -> None:
    """Register the deployments with the Prefect server and run their scheduled runs until interrupted."""
    require_server()
    prefect_serve(*(p.deployment for p in planned), *extra, print_starting_message=False)


def register(planned: list[Planned], work_pool: str, *extra: RunnerDeployment) -> list[str]:
    """Create or update the deployments (and ``extra``: the chunk deployment) on ``work_pool`` (runs go to that
    pool's workers); their ids."""
    require_server()
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(work_pool)
        except ObjectNotFound as exc:
            raise _no_pool(work_pool, "") from exc
    ids = []
    for d in (*(p.deployment for p in planned), *extra):
        try:
            ids.append(str(d.apply(work_pool_name=work_pool)))
        except DeploymentApplyError as exc:
            raise _no_pool(work_pool, f"{d.flow_name}/{d.name}: {exc}") from exc
    return ids


def _no_pool(work_pool: str, detail: str) -> UsageError:
    return UsageError(
        f"无法在工作池 {work_pool} 上登记部署{f'（{detail}）' if detail else ''}；"
        f"工作池须先创建：prefect work-pool create {work_pool} --type process",
        f"cannot register the deployments on work pool {work_pool}{f' ({detail})' if detail else ''}; "
        f"create the pool first: prefect work-pool create {work_pool} --type process",
    )


def main() -> None:  # pragma: no cover - exercised by the scheduling test through a subprocess
    settings = Settings()
    serve(build(settings), chunk_deployment(settings))


if __name__ == "__main__":  # pragma: no cover
    main()

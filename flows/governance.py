"""The scheduled governance flows (SPEC §4) on Prefect: ``sweep``, ``deadlines``, ``cuts``, ``dispatch`` and
``run_all`` (the four in that order).

Thin by design: the work is :mod:`govflow.governance.scheduling` calling the service functions (``run_sweep``,
``run_deadlines``, ``run_cuts``, ``run_dispatch``); Prefect adds one task per chunk of projects, retries and
visibility. ``govflow run … --no-prefect`` walks the same chunks without Prefect and gives the same results.

Parameters
    ``as_of`` — the day the run judges; ``None`` (what a scheduled run passes) means today in
    ``GOVFLOW_SCHEDULE_TZ`` (Asia/Shanghai), computed when the run starts, not when it was deployed.
    ``database_url`` — ``None`` reads ``GOVFLOW_DATABASE_URL`` (and every other setting) from the environment of
    the process running the flow. Prefer that in production: a URL given here is stored with the flow run on the
    Prefect server and shown in its UI, password included.

Tasks receive the :class:`~govflow.settings.Settings`, the date and the chunk (never an App or a Session, and
with caching off: a rerun must do the work again, idempotently). Each flow run is recorded in govflow's own
``flow_run`` table with the Prefect flow run id; its name (``sweep-2026-11-26``) says what it judged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.runtime import flow_run, task_run

from govflow.governance import scheduling
from govflow.governance.scheduling import ALL, Chunk
from govflow.settings import Settings


def _settings(database_url: str | None) -> Settings:
    """Configuration enters here, once per flow run."""
    settings = Settings()
    return settings if database_url is None else settings.model_copy(update={"database_url": database_url})


def _as_of(value: Any) -> str:
    return str(value) if value is not None else scheduling.today(Settings()).isoformat()


def _run_name(name: str) -> Callable[[], str]:
    def run_name() -> str:
        return f"{name}-{_as_of(flow_run.get_parameters().get('as_of'))}"

    return run_name


def _dispatch_run_name() -> str:
    now = flow_run.get_parameters().get("now")
    when = datetime.fromisoformat(str(now)) if now is not None else datetime.now(scheduling.zone(Settings()))
    return f"dispatch-{when:%Y-%m-%d-%H%M}"


def _chunk_run_name() -> str:
    p = task_run.get_parameters()
    chunk = p.get("chunk")
    where = f"{chunk[0]}-{chunk[1]}" if chunk else "all"
    return f"{p.get('flow')}-{p.get('as_of')}-{where}"


@task(name="govflow-chunk", task_run_name=_chunk_run_name, cache_policy=NO_CACHE, persist_result=False)
def run_chunk(settings: Settings, flow: str, as_of: date, chunk: Chunk) -> dict[str, Any]:
    """One chunk of projects through the flow's service function (one transaction)."""
    return scheduling.run_chunk(settings, flow, as_of, chunk)


@task(name="govflow-dispatch", cache_policy=NO_CACHE, persist_result=False)
def deliver(
    settings: Settings, now: datetime | None, limit: int | None, run_id: str | None
) -> dict[str, Any]:
    """Send what is due through the configured channels."""
    return scheduling.run_dispatch_once(settings, now, limit, run_id)


def _chunked(name: str, as_of: date | None, database_url: str | None) -> dict[str, Any]:
    settings = _settings(database_url)
    day = as_of or scheduling.today(settings)
    with scheduling.recording(settings, name, day, flow_run.get_id()) as stats:
        chunks = scheduling.chunk_plan(settings, name)
        parts: list[dict[str, Any]] = []
        step = settings.flow_chunk_workers
        for i in range(0, len(chunks), step):
            futures = [run_chunk.submit(settings, name, day, c) for c in chunks[i : i + step]]
            wait(futures)
            parts.extend(f.result() for f in futures)  # the first failure fails the flow
        result = scheduling.merge(name, day, parts)
        stats.update(result)
    return result


@flow(name="govflow-sweep", flow_run_name=_run_name("sweep"))
def sweep(as_of: date | None = None, database_url: str | None = None) -> dict[str, Any]:
    """共享义务清单扫描（733号文 第八条、第十一条） / obligation sweep: findings opened and closed."""
    return _chunked("sweep", as_of, database_url)


@flow(name="govflow-deadlines", flow_run_name=_run_name("deadlines"))
def deadlines(as_of: date | None = None, database_url: str | None = None) -> dict[str, Any]:
    """整改期限（第十一条 限期整改） / rectification orders, reminders, overdue and escalations."""
    return _chunked("deadlines", as_of, database_url)


@flow(name="govflow-cuts", flow_run_name=_run_name("cuts"))
def cuts(as_of: date | None = None, database_url: str | None = None) -> dict[str, Any]:
    """运维经费削减建议（第十一条） / O&M cut recommendations for the budget year of ``as_of``."""
    return _chunked("cuts", as_of, database_url)


@flow(name="govflow-dispatch", flow_run_name=_dispatch_run_name)
def dispatch(
    now: datetime | None = None, database_url: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """通知发送（发件箱，至少一次、送达后不重发） / deliver the outbox; ``now`` defaults to the real time."""
    # run_dispatch records its own flow_run row, with this flow run's id
    run_id = flow_run.get_id()
    return deliver(_settings(database_url), now, limit, str(run_id) if run_id else None)


@flow(name="govflow-all", flow_run_name=_run_name(ALL))
def run_all(as_of: date | None = None, database_url: str | None = None) -> dict[str, Any]:
    """全部治理流程：扫描 → 整改期限 → 削减建议 → 通知发送；任一步失败即停止 / the four flows in order."""
    settings = _settings(database_url)
    day = as_of or scheduling.today(settings)
    with scheduling.recording(settings, ALL, day, flow_run.get_id()) as stats:
        results: dict[str, dict[str, Any]] = {}
        for name, step in (("sweep", sweep), ("deadlines", deadlines), ("cuts", cuts)):
            results[name] = step(day, database_url)
            stats["results"] = dict(results)  # a failure keeps what ran before it
        results["dispatch"] = dispatch(None, database_url)
        summary = scheduling.all_result(day, results)
        stats.update(summary)
    return summary


#: the flows by the name ``govflow run`` and ``govflow schedule`` use
BY_NAME: dict[str, Any] = {
    "sweep": sweep,
    "deadlines": deadlines,
    "cuts": cuts,
    "dispatch": dispatch,
    ALL: run_all,
}

"""The scheduled governance flows (SPEC §4) on Prefect: one flow per check of the registry
(:mod:`govflow.governance.checks`: ``sweep``, ``deadlines``, ``cuts``, ``dispatch``), reached here by the
check's name, and ``run_all`` (every check in registry order).

Thin by design: the work is :mod:`govflow.governance.scheduling` calling the checks' service functions
(``run_sweep`` …); Prefect adds one task per chunk of projects, retries and visibility. ``govflow run … --no-prefect`` walks the same chunks without Prefect and gives the same results.

Across workers (``GOVFLOW_FLOW_CHUNK_RUNS=deployment``): each chunk is instead a flow run of its own of
:func:`chunk` (the deployment ``govflow-chunk/<GOVFLOW_DEPLOYMENT_NAME>`` on the work pool), started with
``run_deployment``; :mod:`govflow.governance.chunkruns` waits for them, resubmits the chunks of a worker that
died, and adds the results up. A run with a single chunk works it in place.

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

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any
from uuid import UUID

from prefect import Flow, flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.futures import wait
from prefect.runtime import flow_run, task_run
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import Crashed

from govflow.governance import checks, chunkruns, scheduling
from govflow.governance.checks import ALL, Check, Chunk
from govflow.governance.chunkruns import ChunkRow
from govflow.settings import Settings
from govflow.states.errors import UsageError

log = logging.getLogger(__name__)


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


def _once_run_name(name: str) -> Callable[[], str]:
    def run_name() -> str:
        now = flow_run.get_parameters().get("now")
        when = (
            datetime.fromisoformat(str(now)) if now is not None else datetime.now(scheduling.zone(Settings()))
        )
        return f"{name}-{when:%Y-%m-%d-%H%M}"

    return run_name


def _chunk_run_name() -> str:
    p = task_run.get_parameters()
    chunk = p.get("chunk")
    where = f"{chunk[0]}-{chunk[1]}" if chunk else "all"
    return f"{p.get('flow')}-{p.get('as_of')}-{where}"


@task(name="govflow-chunk", task_run_name=_chunk_run_name, cache_policy=NO_CACHE, persist_result=False)
def run_chunk(settings: Settings, flow: str, as_of: date, chunk: Chunk) -> dict[str, Any]:
    """One chunk of projects through the flow's service function (one transaction)."""
    return scheduling.run_chunk(settings, flow, as_of, chunk)


@task(name="govflow-once", cache_policy=NO_CACHE, persist_result=False)
def deliver(
    settings: Settings, check: str, now: datetime | None, limit: int | None, run_id: str | None
) -> dict[str, Any]:
    """An unchunked check (dispatch: send what is due through the configured channels)."""
    result: dict[str, Any] = checks.get(check).resolve()(settings, now, limit, run_id)
    return result


def _chunked(name: str, as_of: date | None, database_url: str | None) -> dict[str, Any]:
    settings = _settings(database_url)
    day = as_of or scheduling.today(settings)
    with scheduling.recording(settings, name, day, flow_run.get_id()) as stats:
        chunks = scheduling.chunk_plan(settings, name)
        ranges = [c for c in chunks if c is not None]
        parts: list[dict[str, Any]] = []
        step = settings.flow_chunk_workers
        if settings.flow_chunk_runs == "deployment" and len(ranges) > 1:
            with _Launcher(settings, database_url) as launcher:
                parts = chunkruns.drive(settings, stats.run_id, name, day, ranges, launcher, step)
        else:
            for i in range(0, len(chunks), step):
                futures = [run_chunk.submit(settings, name, day, c) for c in chunks[i : i + step]]
                wait(futures)
                parts.extend(f.result() for f in futures)  # the first failure fails the flow
        result = scheduling.merge(name, day, parts)
        stats.update(result)
    return result


def chunk_deployment_name(settings: Settings) -> str:
    """``govflow-chunk/<GOVFLOW_DEPLOYMENT_NAME>``: the deployment the chunks of a distributed run start."""
    return f"govflow-chunk/{settings.deployment_name}"


def _chunk_flow_run_name() -> str:
    p = flow_run.get_parameters()
    return f"{p.get('check')}-{p.get('as_of')}-{p.get('first_id')}-{p.get('last_id')}"


@flow(
    name="govflow-chunk",
    flow_run_name=_chunk_flow_run_name,
    retries=2,
    retry_delay_seconds=10,
    persist_result=False,
)
def chunk(
    run_id: int,
    check: str,
    as_of: date,
    first_id: int,
    last_id: int,
    database_url: str | None = None,
) -> dict[str, Any] | None:
    """分块运行 / one chunk of a distributed run (projects ``first_id``–``last_id``), on a worker of the pool.

    ``run_id`` and ``first_id`` name the chunk (its ``flow_chunk`` row); ``check``, ``as_of`` and ``last_id``
    say what it judges. Working it again gives the same state (a chunk done or held by a live process is left
    alone); ``None`` when there was nothing left to do."""
    # the flow run's process is the entry point here: Prefect's process worker names itself in its environment
    worker = os.environ.get("PREFECT__WORKER_NAME")
    run = flow_run.get_id()
    return chunkruns.work(
        _settings(database_url),
        run_id,
        first_id,
        worker=worker,
        prefect_flow_run_id=str(run) if run else None,
    )


class _Launcher:
    """:class:`chunkruns.Launcher` on Prefect: a flow run of the chunk deployment per submission (linked to the
    running flow as its subflow), flow run states read in one call, a lost one marked ``Crashed``."""

    def __init__(self, settings: Settings, database_url: str | None) -> None:
        self._deployment = chunk_deployment_name(settings)
        self._database_url = database_url
        self._parent = str(flow_run.get_id() or "")
        self._client: SyncPrefectClient | None = None

    def __enter__(self) -> _Launcher:
        self._client = get_client(sync_client=True).__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            self._client.__exit__(kind, exc, tb)

    @property
    def client(self) -> SyncPrefectClient:
        assert self._client is not None, "used outside its with block"
        return self._client

    def submit(self, chunk: ChunkRow, attempt: int) -> str:
        parameters: dict[str, Any] = {
            "run_id": chunk.run_id,
            "check": chunk.flow,
            "as_of": chunk.as_of.isoformat(),
            "first_id": chunk.first_id,
            "last_id": chunk.last_id,
        }
        if self._database_url is not None:
            parameters["database_url"] = self._database_url
        try:
            made = run_deployment(
                self._deployment,
                parameters=parameters,
                timeout=0,
                tags=["govflow", chunk.flow],
                # unique per parent flow run, chunk and attempt: a retried submission creates no second run
                idempotency_key=f"{self._parent}:{chunk.run_id}:{chunk.first_id}:{attempt}",
            )
        except ObjectNotFound as exc:
            raise UsageError(
                f"找不到分块部署 {self._deployment}：GOVFLOW_FLOW_CHUNK_RUNS=deployment 需要先在工作池登记部署"
                "（govflow schedule --work-pool NAME）",
                f"no chunk deployment {self._deployment}: GOVFLOW_FLOW_CHUNK_RUNS=deployment needs the "
                "deployments registered on a work pool first (govflow schedule --work-pool NAME)",
            ) from exc
        assert isinstance(made, FlowRun)  # called from a synchronous flow: not a coroutine
        return str(made.id)

    def states(self, flow_run_ids: Sequence[str]) -> Mapping[str, str]:
        found = self.client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in flow_run_ids]))
        )
        return {str(r.id): r.state.type.value for r in found if r.state is not None}

    def crashed(self, flow_run_id: str, message: str) -> None:
        try:
            self.client.set_flow_run_state(UUID(flow_run_id), Crashed(message=message), force=True)
        except Exception:  # the chunk is resubmitted either way; Prefect's record is only kept truthful
            log.warning("could not mark flow run %s crashed", flow_run_id, exc_info=True)


def _chunked_flow(check: Check) -> Flow[..., dict[str, Any]]:
    def run(as_of: date | None = None, database_url: str | None = None) -> dict[str, Any]:
        return _chunked(check.name, as_of, database_url)

    return _named(run, check, _run_name(check.name))


def _once_flow(check: Check) -> Flow[..., dict[str, Any]]:
    def run(
        now: datetime | None = None, database_url: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        # an unchunked check records its own flow_run row, with this flow run's id
        run_id = flow_run.get_id()
        return deliver.with_options(name=f"govflow-{check.name}")(
            _settings(database_url), check.name, now, limit, str(run_id) if run_id else None
        )

    return _named(run, check, _once_run_name(check.name))


def _named(
    fn: Callable[..., dict[str, Any]], check: Check, run_name: Callable[[], str]
) -> Flow[..., dict[str, Any]]:
    """A Prefect flow whose module path is ``govflow.flows.governance.<check name>`` (its deployment's
    entrypoint, resolved by :func:`__getattr__` in the process that runs it)."""
    fn.__name__ = fn.__qualname__ = check.name
    fn.__module__ = __name__
    fn.__doc__ = f"{check.zh} / {check.en}."
    made: Flow[..., dict[str, Any]] = flow(name=f"govflow-{check.name}", flow_run_name=run_name)(fn)
    return made


_FLOWS: dict[str, tuple[Check, Flow[..., dict[str, Any]]]] = {}


def flow_of(name: str) -> Flow[..., dict[str, Any]]:
    """The Prefect flow of a registered check (or ``all``)."""
    if name == ALL:
        return run_all
    check = checks.get(name)
    made = _FLOWS.get(name)
    if made is None or made[0] is not check:
        made = _FLOWS[name] = (check, _chunked_flow(check) if check.chunked else _once_flow(check))
    return made[1]


def __getattr__(name: str) -> Flow[..., dict[str, Any]]:
    """``govflow.flows.governance.sweep`` … : the flows of the registry, by check name."""
    try:
        return flow_of(name)
    except KeyError:
        raise AttributeError(name) from None


@flow(name="govflow-all", flow_run_name=_run_name(ALL))
def run_all(as_of: date | None = None, database_url: str | None = None) -> dict[str, Any]:
    """全部治理流程：按登记顺序运行每项检查（工作日历检查 → 扫描 → 整改期限 → 削减建议 → 通知发送）；任一步失败即停止 /
    every registered check in order."""
    settings = _settings(database_url)
    day = as_of or scheduling.today(settings)
    with (
        scheduling.recording(settings, ALL, day, flow_run.get_id()) as stats,
        # the checks run as subflows in this process: this run's heartbeat (if any) says it is alive; one of
        # their own would cost up to a second as each ends (the heartbeat thread sleeps in one-second steps)
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        results: dict[str, dict[str, Any]] = {}
        for check in checks.REGISTRY:
            step = flow_of(check.name)
            results[check.name] = step(day, database_url) if check.chunked else step(None, database_url)
            stats["results"] = dict(results)  # a failure keeps what ran before it
        summary = scheduling.all_result(day, results)
        stats.update(summary)
    return summary


class _ByName(Mapping[str, Any]):
    """The flows by the name ``govflow run`` and ``govflow schedule`` use (the registry's, and ``all``)."""

    def __getitem__(self, name: str) -> Any:
        try:
            return flow_of(name)
        except KeyError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter((*checks.names(), ALL))

    def __len__(self) -> int:
        return len(checks.REGISTRY) + 1


BY_NAME: Mapping[str, Any] = _ByName()

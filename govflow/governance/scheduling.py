"""Scheduled governance (SPEC §4) without Prefect: how the work of the registered checks
(:mod:`govflow.governance.checks`) is cut into chunks of projects, how the chunks' results add up, when each check
is scheduled, and how to run one directly.

``govflow/flows/governance.py`` wraps exactly these functions in Prefect flows (one Prefect task per chunk), and
``govflow run … --no-prefect`` calls :func:`run_direct`, which walks the same chunks one after another: both
paths call the same service functions on the same chunks and write the same ``flow_run`` records, so they give
the same results.

Chunks. A chunk is an inclusive range of project ids handed to a chunked check's service (``run_sweep`` …). The
ranges are cut so that each holds at most ``flow_chunk_size`` projects of the phases the check works on
(:func:`govflow.governance.flowruns.project_id_chunks`), and are then widened to *tile* every project id from
the smallest to the largest: a project that has left those phases still falls in a chunk, so its open findings
are closed and its cut recommendation withdrawn (a range covering only the swept projects would skip them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from govflow.governance import checks, flowruns
from govflow.governance.checks import ALL as ALL
from govflow.governance.checks import Chunk as Chunk
from govflow.governance.flowruns import RunStats, project_id_chunks, recorded_run
from govflow.governance.policy_service import active_policy
from govflow.lifecycle.services import App
from govflow.models.db import unit_of_work
from govflow.settings import Settings
from govflow.states.errors import UsageError
from govflow.states.phases import Phase

# the checks, their order and labels live in the registry (govflow.governance.checks); these names stay for
# the callers that used them
FLOWS: tuple[str, ...] = checks.names()
LABELS: dict[str, tuple[str, str]] = checks.labels()


def flow_label(flow: str, lang: str = "zh") -> str:
    return checks.label(flow, lang)


def zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.schedule_tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"GOVFLOW_SCHEDULE_TZ 不是有效的时区：{settings.schedule_tz}（例如 Asia/Shanghai）",
            f"GOVFLOW_SCHEDULE_TZ is not a valid time zone: {settings.schedule_tz} (e.g. Asia/Shanghai)",
        ) from exc


def today(settings: Settings) -> date:
    """The ``as_of`` of a run started without one: today in the schedule's time zone (Beijing time)."""
    return datetime.now(zone(settings)).date()


@contextmanager
def open_app(settings: Settings) -> Iterator[App]:
    """An :class:`App` for one flow or task, its engine disposed afterwards (tasks get settings, never an App)."""
    app = App.from_settings(settings)
    try:
        yield app.ready()
    finally:
        app.engine.dispose()


# ---------------------------------------------------------------------------------------------- chunks


def chunk_plan(settings: Settings, flow: str) -> list[Chunk]:
    """The chunks of ``flow``: ranges tiling every project id (see the module docstring); ``[None]`` when the
    database holds no project at all."""
    with open_app(settings) as app:
        settle_policy(app)
        everything = project_id_chunks(app, frozenset(Phase), size=2**31)
        parts = project_id_chunks(app, _phases(flow), settings.flow_chunk_size)
    return tile(parts, everything[0] if everything else None)


def settle_policy(app: App) -> None:
    """Make sure a policy is in force before chunks start in parallel: on a new database the first use records
    the packaged default, and chunks racing to record it would collide on its version number."""
    with unit_of_work(app.engine) as s:
        active_policy(s)


def tile(parts: Sequence[tuple[int, int]], bounds: tuple[int, int] | None) -> list[Chunk]:
    """Widen ``parts`` (sorted, disjoint) to contiguous ranges from ``bounds[0]`` to ``bounds[1]``."""
    if bounds is None:
        return [None]
    lo, hi = bounds
    if not parts:
        return [(lo, hi)]
    ends = [last for _, last in parts[:-1]] + [max(hi, parts[-1][1])]
    starts = [min(lo, parts[0][0])] + [end + 1 for end in ends[:-1]]
    return list(zip(starts, ends, strict=True))


def _phases(flow: str) -> frozenset[Phase]:
    check = checks.get(flow)
    if check.phases is None:
        raise ValueError(f"not a chunked flow: {flow}")
    return check.phases


def run_chunk(settings: Settings, flow: str, as_of: date, chunk: Chunk) -> dict[str, Any]:
    """One chunk of a chunked check, through its service function; the result's ``to_dict()``."""
    _phases(flow)
    service = checks.get(flow).resolve()
    with open_app(settings) as app:
        result: dict[str, Any] = service(app, as_of, chunk).to_dict()
    return result


def run_dispatch_once(
    settings: Settings,
    now: datetime | None = None,
    limit: int | None = None,
    prefect_flow_run_id: str | None = None,
) -> dict[str, Any]:
    """One dispatch pass with the configured channels (``run_dispatch`` records its own flow run)."""
    from govflow.governance.dispatch import default_notifier, run_dispatch

    notifier = default_notifier(settings)
    with open_app(settings) as app:
        return {"flow": "dispatch", **run_dispatch(app, notifier, now, limit, prefect_flow_run_id).to_dict()}


def merge(flow: str, as_of: date, parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Add up the results of a flow's chunks: counts are summed (also inside nested dicts such as
    ``opened_by_rule``), values every chunk agrees on are kept, differing ones become the list of their distinct
    values; each chunk's own ``chunk`` range gives way to ``chunks``, how many there were."""
    out: dict[str, Any] = {"flow": flow, "as_of": as_of.isoformat()}
    combined: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key in ("flow", "as_of", "chunk"):
                continue
            combined[key] = _combine(combined[key], value) if key in combined else value
    out.update({k: _finish(v) for k, v in combined.items()})
    out["chunks"] = len(parts)
    return out


class _Distinct(tuple[Any, ...]):
    """Differing values of one key across chunks (a list in the result)."""


def _combine(a: Any, b: Any) -> Any:
    if _is_count(a) and _is_count(b):
        return a + b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _combine(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in a | b}
    if isinstance(a, _Distinct):
        return a if b in a else _Distinct((*a, b))
    return a if a == b else _Distinct((a, b))


def _is_count(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _finish(v: Any) -> Any:
    if isinstance(v, _Distinct):
        return list(v)
    if isinstance(v, dict):
        return {k: _finish(x) for k, x in v.items()}
    return v


def all_result(as_of: date, results: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The result of ``all``: each flow's result under its name."""
    return {"flow": ALL, "as_of": as_of.isoformat(), "results": {k: dict(v) for k, v in results.items()}}


# ---------------------------------------------------------------------------------------------- runs


@contextmanager
def recording(
    settings: Settings, flow: str, as_of: date | None, prefect_flow_run_id: str | None = None
) -> Iterator[RunStats]:
    """A ``flow_run`` record around a run (:func:`govflow.governance.flowruns.recorded_run`); fill the yielded dict."""
    with open_app(settings) as app, recorded_run(app, flow, as_of, prefect_flow_run_id) as stats:
        yield stats


def require_free(settings: Settings, flow: str, as_of: date) -> None:
    """Refuse at once (:class:`~govflow.states.errors.RunInProgress`, exit 5) a run of ``flow`` for ``as_of``
    while another one runs, before Prefect is started for it."""
    if flow != ALL and not checks.get(flow).chunked:
        return
    with open_app(settings) as app:
        flowruns.require_free(app, flow, as_of)


def run_direct(settings: Settings, flow: str, as_of: date, now: datetime | None = None) -> dict[str, Any]:
    """Run a flow (or ``all``) without Prefect: the same chunks, service calls and records as the flows.

    ``now`` is the dispatcher's clock (default: the real time): notifications go out when they are sent, whatever
    the ``as_of`` of the run that wrote them."""
    if flow == ALL:
        with recording(settings, ALL, as_of) as stats:
            results: dict[str, dict[str, Any]] = {}
            for name in checks.names():
                results[name] = run_direct(settings, name, as_of, now)
                stats["results"] = dict(results)  # a failure keeps what ran before it
            summary = all_result(as_of, results)
            stats.update(summary)
        return summary
    if flow not in checks.names():
        raise UsageError(f"未知流程 {flow}", f"unknown flow {flow}")
    check = checks.get(flow)
    if not check.chunked:
        once: dict[str, Any] = check.resolve()(settings, now, None, None)
        return once
    with recording(settings, flow, as_of) as stats:
        chunks = chunk_plan(settings, flow)
        result = merge(flow, as_of, [run_chunk(settings, flow, as_of, c) for c in chunks])
        stats.update(result)
    return result


# ---------------------------------------------------------------------------------------------- schedules


@dataclass(frozen=True)
class ScheduleSpec:
    """A deployment of one flow: its cron in ``timezone``, or none (run on demand)."""

    flow: str
    cron: str | None
    timezone: str
    setting: str  # the environment variable that overrides it

    def describe(self, lang: str = "zh") -> str:
        if self.cron is None:
            return "按需运行（无定时计划）" if lang != "en" else "on demand (no schedule)"
        return self.cron


def schedule_specs(settings: Settings) -> list[ScheduleSpec]:
    """One deployment per check and one for ``all`` (first); crons from ``GOVFLOW_SCHEDULE_<NAME>`` ("" = no
    schedule), else the registry's default."""
    zone(settings)  # refuse a bad time zone before anything is deployed
    defaults = {ALL: checks.ALL_DEFAULT_CRON} | {c.name: c.default_cron for c in checks.REGISTRY}
    specs = []
    for flow, default in defaults.items():
        cron = settings.schedules.get(flow, default).strip()
        specs.append(
            ScheduleSpec(flow, cron or None, settings.schedule_tz, f"GOVFLOW_SCHEDULE_{flow.upper()}")
        )
    return specs


def prefect_env_defaults(environ: Mapping[str, str], project_dir: Path) -> dict[str, str]:
    """Environment a govflow command gives Prefect unless the operator set it: Prefect's home (its profile and
    the temporary server's database) inside the project, no telemetry, and time for the temporary server to
    start (its first start migrates its database; Prefect's own 20 s are short on a busy machine)."""
    defaults = {
        "PREFECT_HOME": str(project_dir / ".prefect"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    }
    return {k: v for k, v in defaults.items() if k not in environ}

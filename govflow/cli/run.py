"""`govflow run …` and `govflow schedule`: the scheduled governance flows (Prefect).

``govflow run sweep|deadlines|cuts|dispatch|all --as-of D`` (one command per check of
:mod:`govflow.governance.checks`, then ``all``) runs a flow now, in this process: through Prefect
(a temporary local Prefect server unless ``PREFECT_API_URL`` names one) or, with ``--no-prefect``, by calling
the same service functions on the same chunks directly. Both give the same results.

``govflow schedule`` shows the deployments and their cron schedules (``GOVFLOW_SCHEDULE_*``, in
``GOVFLOW_SCHEDULE_TZ``); ``--serve`` registers them with the Prefect server and runs them until interrupted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from govflow.cli.common import Command, JsonOpt, State, emit_json, guarded, out, parse_date, table
from govflow.governance import anchoring, checks, scheduling
from govflow.governance.checks import ALL
from govflow.states.errors import UsageError

if TYPE_CHECKING:  # Prefect loads only when a command needs it
    from govflow.flows.deployments import Planned

AsOfOpt = typer.Option(
    "--as-of", help="依据日期 YYYY-MM-DD（默认：今天，GOVFLOW_SCHEDULE_TZ 时区） / the day the run judges"
)
NoPrefectOpt = typer.Option(
    "--no-prefect",
    help="不经 Prefect，直接调用同样的服务函数（结果相同） / call the service functions directly, same results",
)
LangOpt = typer.Option("--lang", help="界面语言 zh|en / language")

# ---------------------------------------------------------------------------------------------- running


@contextmanager
def prefect_session() -> Iterator[None]:
    """Prefect for a command run: its home in ``./.prefect`` and no telemetry (unless set otherwise). Without
    ``PREFECT_API_URL`` Prefect runs a temporary local server for the command (6–14 s to start).

    Flow run heartbeats are off: they exist so that a server can mark a deployment's run whose process died
    (Prefect's zombie automation); a command's run is watched by govflow's own lease instead (``flow_run``), and
    each flow's heartbeat thread costs up to a second when the flow ends (it sleeps in one-second steps)."""
    apply_prefect_env()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def run_flow(st: State, flow: str, as_of: date, no_prefect: bool) -> dict[str, Any]:
    if flow in (ALL, "anchor"):
        # production without its audit anchor is refused before the first step, not after a night's work
        anchoring.setup(st.settings)
    if no_prefect:
        return scheduling.run_direct(st.settings, flow, as_of)
    # a run already holding the lease is reported now, not after a temporary Prefect server has started for a
    # flow run that would fail (and log its traceback)
    scheduling.require_free(st.settings, flow, as_of)
    with prefect_session():
        from govflow.flows.governance import flow_of

        # no database URL as a parameter: the flow reads the same environment (a URL would be stored, password
        # and all, with the flow run on the Prefect server); an unchunked check judges no day
        chunked = flow == ALL or checks.get(flow).chunked
        result: dict[str, Any] = flow_of(flow)(as_of) if chunked else flow_of(flow)()
        return result


def _command(flow: str) -> Command:
    def command(
        ctx: typer.Context,
        as_of: Annotated[str | None, AsOfOpt] = None,
        as_json: bool = JsonOpt,
        no_prefect: Annotated[bool, NoPrefectOpt] = False,
        lang: Annotated[str, LangOpt] = "",
    ) -> None:
        with guarded(ctx, as_json) as st:
            if lang:
                if lang.lower() not in ("zh", "en"):
                    raise typer.BadParameter("--lang 须为 zh 或 en / must be zh or en")
                st.lang = lang.lower()
            day = parse_date(as_of, "--as-of") if as_of else scheduling.today(st.settings)
            result = run_flow(st, flow, day, no_prefect)
            if as_json:
                emit_json(result)
            else:
                print_result(st, result)

    command.__doc__ = _doc(flow)
    return command


def _doc(flow: str) -> str:
    if flow == ALL:
        return f"{checks.label(ALL)} / {checks.label(ALL, 'en')}.\n\n{checks.all_note()}"
    check = checks.get(flow)
    return f"{check.zh} / {check.en}." + (f"\n\n{check.note}" if check.note else "")


def build_app() -> typer.Typer:
    """``govflow run``: one command per registered check, then ``all``."""
    run_app = typer.Typer(help="运行治理流程（Prefect） / run the governance flows", no_args_is_help=True)
    for name in (*checks.names(), ALL):
        run_app.command(name)(_command(name))
    return run_app


app = build_app()


def print_result(st: State, result: dict[str, Any]) -> None:
    """One table per flow (``all``: the four in the order they ran)."""
    results = result["results"] if result["flow"] == ALL else {result["flow"]: result}
    for flow, res in results.items():
        label = checks.label(flow, st.lang)
        as_of = result.get("as_of")  # dispatch alone has none: it sends what is due now
        table(
            st.tr(f"{label}：截至 {as_of}", f"{label} as of {as_of}") if as_of else label,
            [st.tr("项", "item"), st.tr("数量", "count")],
            [
                [checks.count_label(key, st.lang), _value(st, value)]
                for key, value in res.items()
                if key not in ("flow", "as_of")
            ],
        )


def _value(st: State, value: Any) -> str:
    if isinstance(value, bool):
        return st.tr("是", "yes") if value else st.tr("否", "no")
    if isinstance(value, dict):
        return "、".join(f"{k} {v}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return "—" if value is None else str(value)


# ---------------------------------------------------------------------------------------------- schedule


def schedule(
    ctx: typer.Context,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="向 PREFECT_API_URL 的 Prefect 服务器注册部署并按计划运行，直至中断 / register and serve them",
        ),
    ] = False,
    work_pool: Annotated[
        str | None,
        typer.Option(
            "--work-pool",
            help="改为在该工作池登记部署，由 Prefect worker 运行（横向扩展） / register on a work pool for workers",
        ),
    ] = None,
    as_json: bool = JsonOpt,
) -> None:
    """治理流程的部署与定时计划（GOVFLOW_SCHEDULE_*，Asia/Shanghai） / the deployments and their schedules.

    默认：每天 01:00 运行 all（工作日历检查 → 扫描 → 整改期限 → 削减建议 → 通知），每 5 分钟发送通知；sweep、deadlines、cuts
    单独部署但不定时（按需运行）。--serve 与 --work-pool 需要常驻的 Prefect 服务器（PREFECT_API_URL）。
    """
    with guarded(ctx, as_json) as st:
        if serve and work_pool:
            raise UsageError("--serve 与 --work-pool 只能选其一", "give --serve or --work-pool, not both")
        apply_prefect_env()
        from govflow.flows import deployments

        if serve or work_pool:
            deployments.require_server()
        planned = deployments.build(st.settings)
        chunk = deployments.chunk_deployment(st.settings)
        registered = deployments.register(planned, work_pool, chunk) if work_pool else []
        api = deployments.api_url()
        if as_json:
            rows = [_deployment_row(p, deployments.next_run(p.spec)) for p in planned]
            emit_json(
                {
                    "deployments": rows,
                    "prefect_api_url": api,
                    "serve": serve,
                    "work_pool": work_pool,
                    "registered": registered,
                }
            )
        else:
            _print_deployments(st, planned, [deployments.next_run(p.spec) for p in planned])
            if work_pool:
                out.print(
                    st.tr(
                        f"已在工作池 {work_pool} 登记 {len(registered)} 个部署；"
                        f"请在各主机运行 prefect worker start --pool {work_pool}",
                        f"{len(registered)} deployments registered on work pool {work_pool}; "
                        f"run prefect worker start --pool {work_pool} on each host",
                    )
                )
            if serve:
                out.print(
                    st.tr(
                        f"正在向 {api} 提供上述部署（Ctrl-C 停止，停止时暂停定时计划）",
                        f"serving these deployments on {api} (Ctrl-C stops and pauses their schedules)",
                    )
                )
        if serve:
            deployments.serve(planned, chunk)


def _deployment_row(p: Planned, next_run: datetime | None) -> dict[str, Any]:
    return {
        "deployment": p.name,
        "flow": p.spec.flow,
        "cron": p.spec.cron,
        "timezone": p.spec.timezone,
        "next_run": next_run.isoformat() if next_run else None,
        "setting": p.spec.setting,
    }


def _print_deployments(st: State, planned: list[Planned], next_runs: list[datetime | None]) -> None:
    table(
        st.tr("治理流程部署", "Governance deployments"),
        [
            st.tr("部署", "deployment"),
            st.tr("流程", "flow"),
            st.tr("计划", "schedule"),
            st.tr("时区", "time zone"),
            st.tr("下次运行", "next run"),
            st.tr("设置项", "setting"),
        ],
        [
            [
                p.name,
                checks.label(p.spec.flow, st.lang),
                p.spec.describe(st.lang),
                p.spec.timezone,
                nxt.isoformat() if nxt else "—",
                p.spec.setting,
            ]
            for p, nxt in zip(planned, next_runs, strict=True)
        ],
    )


def apply_prefect_env() -> None:
    """The command is the entry point: Prefect's environment is settled here, before Prefect is imported."""
    for key, value in scheduling.prefect_env_defaults(os.environ, Path.cwd()).items():
        os.environ[key] = value

"""`govflow notify …`: the notification outbox and its channels."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from govflow.cli.common import AsOpt, JsonOpt, State, emit_json, guarded, out, table
from govflow.governance import dispatch
from govflow.states.vocabulary import OutboxStatus, word

app = typer.Typer(help="通知：发件箱与渠道 / notifications", no_args_is_help=True)


def _status(st: State, code: str) -> str:
    return word(OutboxStatus, code, st.lang)


@app.command("status")
def status(ctx: typer.Context, as_json: bool = JsonOpt, actor: str | None = AsOpt) -> None:
    """发件箱状态：按状态和主题统计，最早的待发送消息，最近的失败 / outbox counts, oldest pending, failures."""
    with guarded(ctx, as_json) as st:
        rep = dispatch.outbox_status(st.app, actor)
        if as_json:
            emit_json(rep)
            return
        if not rep["configured"]:
            out.print(
                st.tr(
                    "未配置通知渠道文件（GOVFLOW_NOTIFY_FILE）：消息只会保持待发送。",
                    "no notification channel file (GOVFLOW_NOTIFY_FILE): messages stay pending.",
                ),
                style="yellow",
            )
        table(
            st.tr(f"发件箱（共 {rep['total']} 条）", f"Outbox ({rep['total']} messages)"),
            [st.tr("状态", "status"), st.tr("数量", "count")],
            [[_status(st, k), v] for k, v in rep["counts"].items()],
        )
        if rep["topics"]:
            codes = [s.value for s in OutboxStatus]
            table(
                st.tr("按主题", "By topic"),
                [st.tr("主题", "topic"), *[_status(st, c) for c in codes]],
                [[t["topic"], *[t[c] for c in codes]] for t in rep["topics"]],
            )
        oldest: dict[str, Any] | None = rep["oldest_pending"]
        if oldest:
            out.print(
                st.tr(
                    f"最早的待发送消息：{oldest['key']}（{oldest['topic']}，{oldest['created_at']:%Y-%m-%d %H:%M} UTC，"
                    f"已尝试 {oldest['attempts']} 次）",
                    f"oldest pending: {oldest['key']} ({oldest['topic']}, {oldest['created_at']:%Y-%m-%d %H:%M} UTC, "
                    f"{oldest['attempts']} attempts)",
                ),
                markup=False,
            )
        if rep["problems"]:
            table(
                st.tr("最近的失败与跳过", "Latest failed and skipped"),
                [
                    st.tr("编号", "key"),
                    st.tr("状态", "status"),
                    st.tr("尝试", "attempts"),
                    st.tr("原因", "error"),
                ],
                [
                    [p["key"], _status(st, p["status"]), p["attempts"], p["last_error"]]
                    for p in rep["problems"]
                ],
            )


@app.command("test")
def test(
    ctx: typer.Context,
    role: Annotated[
        str, typer.Argument(help="角色：program_office | department | audit | finance | admin …")
    ],
    department: Annotated[
        str | None, typer.Option(help="部门代码（角色为 department 时选择该部门的渠道） / department code")
    ] = None,
    actor: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """向某角色已配置的渠道直接发送一条测试通知（不经发件箱） / send a test notice to a role's channels."""
    with guarded(ctx, as_json) as st:
        notifier = dispatch.default_notifier(st.settings)
        res = dispatch.send_test(st.app, notifier, role, actor, department=department)
        if as_json:
            emit_json(res.to_dict())
        else:
            table(
                st.tr("测试通知", "Test notice"),
                [st.tr("渠道", "channel"), st.tr("结果", "result")],
                [
                    [
                        c,
                        (OutboxStatus.DELIVERED if c in res.delivered else OutboxStatus.FAILED).label(
                            st.lang
                        ),
                    ]
                    for c in res.channels
                ],
            )
            if res.error:
                out.print(st.tr("失败原因：", "error: ") + res.error, style="red", markup=False)
        if not res.ok:
            raise typer.Exit(1)


@app.command("retry")
def retry(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Option("--key", help="重新发送这一条消息 / retry this message")] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="重新发送全部发送失败的消息 / retry every failed message")
    ] = False,
    all_skipped: Annotated[
        bool,
        typer.Option(
            "--all-skipped", help="配置渠道后，重新发送全部无渠道跳过的消息 / retry every skipped message"
        ),
    ] = False,
    actor: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """把发送失败（或无渠道跳过）的消息重新置为待发送，重新计算尝试次数 / requeue failed messages."""
    with guarded(ctx, as_json) as st:
        keys = dispatch.retry_messages(st.app, actor, key=key, all_failed=all_failed, all_skipped=all_skipped)
        if as_json:
            emit_json({"requeued": len(keys), "keys": keys})
        else:
            out.print(
                st.tr(f"已重新置为待发送：{len(keys)} 条", f"requeued: {len(keys)} messages"), markup=False
            )
            for k in keys:
                out.print(f"  {k}", markup=False)


@app.command("check")
def check(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """校验通知渠道配置文件（GOVFLOW_NOTIFY_FILE）；无效则退出码 2 并列出问题 / validate the channel file."""
    from govflow.notifications.base import mask_url

    with guarded(ctx, as_json) as st:
        config = dispatch.load_notify_config(st.settings)
        if config is None:
            if as_json:
                emit_json({"configured": False})
            else:
                out.print(st.tr("未配置通知渠道文件（GOVFLOW_NOTIFY_FILE）", "no channel file configured"))
            return
        dispatch.default_notifier(st.settings)  # apprise must be able to build every channel
        channels = {where: [mask_url(u) for u in urls] for where, urls in config.all_channels().items()}
        if as_json:
            emit_json(
                {
                    "configured": True,
                    "file": config.source,
                    "channels": channels,
                    "retry": {
                        "max_attempts": config.retry.max_attempts,
                        "base_seconds": config.retry.base_seconds,
                        "max_seconds": config.retry.max_seconds,
                    },
                    "lease_seconds": config.lease_seconds,
                    "timeout_seconds": config.timeout_seconds,
                    "lang": config.lang,
                }
            )
            return
        table(
            st.tr(f"通知渠道（{config.source}）", f"Channels ({config.source})"),
            [st.tr("角色", "role"), st.tr("渠道", "channels")],
            [[where, "\n".join(urls)] for where, urls in channels.items()],
        )

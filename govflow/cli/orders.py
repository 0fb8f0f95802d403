"""`govflow order …`: rectification orders (整改通知) — list, show, evidence, verification, extension."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from govflow.cli.common import AsOpt, Command, JsonOpt, State, emit_json, guarded, out, parse_date, table
from govflow.cli.listing import listing
from govflow.governance import rectification
from govflow.governance.rectification import OrderStatus, OrderView
from govflow.reads import governed
from govflow.states.vocabulary import deadline_label

app = typer.Typer(help="整改通知（限期整改，第十一条） / rectification orders", no_args_is_help=True)

StatusOpt = Annotated[
    OrderStatus | None,
    typer.Option(
        "--status",
        help="按状态筛选：open 整改中 | evidence_submitted 已提交整改材料 | overdue 已逾期 | closed 已关闭 "
        "/ filter by status",
    ),
]
ProjectOpt = Annotated[str | None, typer.Option("--project", help="按项目编号筛选 / filter by project code")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="理由（必填，记入审计链） / reason (required)")]
#: the order version the user saw (``order show``); another change since then is a conflict (exit 5)
VersionOpt = Annotated[
    int | None,
    typer.Option(
        "--expect-version",
        "--version",
        min=1,
        help="所见的通知版本（order show 显示）；其后已被他人修改则不办理，退出码 5 / expected version: "
        "stale → exit 5",
    ),
]


def _print_order(st: State, view: OrderView) -> None:
    d = view.to_dict(st.lang)
    deadline = d["deadline_label"]
    if d["original_deadline"] and d["original_deadline"] != d["deadline"]:
        deadline += st.tr(f"（原定 {d['original_deadline']}）", f" (originally {d['original_deadline']})")
    closed = ""
    if d["closed_on"]:
        late = st.tr("，逾期完成", ", late") if d["closed_late"] else ""
        closed = f"{d['closed_on']}（{d['closed_reason_label'] or ''}{late}）"
    rows = [
        [st.tr("整改通知", "order"), d["code"]],
        [st.tr("项目", "project"), f"{d['project']} {d['project_name']}"],
        [st.tr("牵头部门", "lead department"), f"{d['department_name']} ({d['department']})"],
        [st.tr("状态", "status"), f"{d['status_label']} ({d['status']})"],
        [st.tr("来源", "origin"), d["origin"] + (f"：{d['finding']}" if d["finding"] else "")],
        [st.tr("通知日期", "notice date"), d["notice_date"]],
        [st.tr("整改期限", "deadline"), deadline],
        *(
            [[st.tr("期限待定", "deadline pending"), _pending(st, view)]]
            if view.deadline is None and view.pending_workdays
            else []
        ),
        [st.tr("逾期起始", "overdue since"), d["overdue_since"]],
        [st.tr("升级级别", "escalation level"), d["escalation_level"]],
        [st.tr("关闭", "closed"), closed],
        [st.tr("策略版本", "policy version"), d["policy_version"]],
        [st.tr("版本", "version"), d["version"]],
        [st.tr("依据", "clause"), d["clause"]],
    ]
    rows += [[st.tr("问题", "problem"), f"{r['message']}（{r['clause']}）"] for r in d["reasons"]]
    table(st.tr("整改通知", "Rectification order"), [st.tr("项", "field"), st.tr("值", "value")], rows)
    if d["steps"]:
        table(
            st.tr("办理过程", "Steps"),
            [st.tr("日期", "day"), st.tr("环节", "step"), st.tr("操作人", "actor"), st.tr("说明", "note")],
            [[s["on"], s["kind_label"], s["actor"], s["note"]] for s in d["steps"]],
        )


def _pending(st: State, view: OrderView) -> str:
    start = view.pending_from.isoformat() if view.pending_from else view.notice_date.isoformat()
    return st.tr(
        f"工作日历导入后按 {start} 起 {view.pending_workdays} 个工作日确定",
        f"{view.pending_workdays} working days after {start}, set once the calendar year is imported",
    )


def _done(st: State, view: OrderView, as_json: bool, zh: str, en: str) -> None:
    if as_json:
        emit_json(view.to_dict(st.lang))
        return
    out.print(
        st.tr(
            f"{zh}：整改通知 {view.code} 现为「{view.status.label()}」，期限 {deadline_label(view.deadline)}（版本 {view.version}）",
            f"{en}: order {view.code} is now '{view.status.label('en')}', due {deadline_label(view.deadline, 'en')} "
            f"(version {view.version})",
        ),
        markup=False,
    )


@app.command("list")
def order_list(
    ctx: typer.Context,
    status: StatusOpt = None,
    project: ProjectOpt = None,
    as_json: bool = JsonOpt,
    actor: str | None = AsOpt,
) -> None:
    """列出整改通知（建设部门只看到本部门牵头或参与的项目） / list rectification orders."""
    with guarded(ctx, as_json) as st:
        views = governed.list_orders(st.app, actor, status=status and status.value, project=project)
        # the order code carries the project code (RO-{project}-nn): no project column, so that the table fits
        # an 80-column terminal
        listing(
            st,
            as_json,
            [v.to_dict(st.lang) for v in views],
            (f"整改通知（{len(views)} 份）", f"Rectification orders ({len(views)})"),
            [
                ("整改通知", "order"),
                ("状态", "status"),
                ("整改期限", "deadline"),
                ("升级", "level"),
                ("问题", "problem"),
            ],
            lambda: [
                [
                    v.code,
                    v.status.label(st.lang),
                    deadline_label(v.deadline, st.lang),
                    v.escalation_level or "",
                    ", ".join(str(r.get("code")) for r in v.reasons) or v.origin,
                ]
                for v in views
            ],
        )


@app.command("show")
def order_show(ctx: typer.Context, code: str, as_json: bool = JsonOpt, actor: str | None = AsOpt) -> None:
    """查看一份整改通知及其办理过程（下达、提醒、逾期、升级、材料、核验、延期） / show one order and its steps."""
    with guarded(ctx, as_json) as st:
        view = governed.show_order(st.app, code, actor)
        if as_json:
            emit_json(view.to_dict(st.lang))
        else:
            _print_order(st, view)


def _step(action: Callable[..., OrderView], text: Any, zh: str, en: str, doc: str) -> Command:
    """A step on one order with its text (``--note`` or ``--reason``): evidence, verify, reject, reopen."""

    def command(
        ctx: typer.Context,
        code: str,
        note: str | None = text,
        version: VersionOpt = None,
        as_json: bool = JsonOpt,
        actor: str | None = AsOpt,
    ) -> None:
        with guarded(ctx, as_json) as st:
            view = action(st.app, code, actor, note, expect_version=version)
            _done(st, governed.orders_for(st.app, actor, [view])[0], as_json, zh, en)

    command.__doc__ = doc
    return command


#: a required reason, recorded in the audit trail
REASON = typer.Option(..., "--reason", help="理由（必填，记入审计链） / reason (required)")

app.command("evidence")(
    _step(
        rectification.submit_evidence,
        typer.Option(..., "--note", help="整改材料说明（必填） / what was done (required)"),
        OrderStatus.EVIDENCE_SUBMITTED.zh,
        OrderStatus.EVIDENCE_SUBMITTED.en,
        "牵头部门提交整改材料：整改中/已逾期 → 已提交整改材料 / the lead department submits its evidence.",
    )
)
app.command("verify")(
    _step(
        rectification.verify_order,
        typer.Option(None, "--note", help="核验意见 / verification note"),
        "核验通过",
        "verified",
        "项目审批部门核验通过，关闭整改通知（逾期完成的记为逾期） / the program office verifies and closes it.",
    )
)
app.command("reject")(
    _step(
        rectification.reject_evidence,
        REASON,
        "已退回整改材料",
        "evidence rejected",
        "退回整改材料：回到整改中（已过期限则为已逾期） / reject the evidence: back to open, or overdue.",
    )
)
app.command("reopen")(
    _step(
        rectification.reopen_order,
        REASON,
        "已重新打开",
        "reopened",
        "重新打开已关闭的整改通知 / reopen a closed order.",
    )
)


@app.command("extend")
def order_extend(
    ctx: typer.Context,
    code: str,
    reason: ReasonOpt,
    to: Annotated[
        str | None, typer.Option("--to", help="新的截止日期 YYYY-MM-DD（须为工作日） / new deadline")
    ] = None,
    workdays: Annotated[
        int | None,
        typer.Option(
            "--workdays",
            min=1,
            help="在现有期限后延长的工作日数；落在尚无工作日历的年度时期限待定，导入后自动确定 / working days "
            "added; into a year without calendar data the deadline is pending until the year is imported",
        ),
    ] = None,
    version: VersionOpt = None,
    as_json: bool = JsonOpt,
    actor: str | None = AsOpt,
) -> None:
    """延长整改期限（--to 或 --workdays 二选一，原期限保留） / extend the deadline (--to or --workdays)."""
    with guarded(ctx, as_json) as st:
        if (to is None) == (workdays is None):
            raise typer.BadParameter(
                "须且只能指定 --to 或 --workdays 之一 / give exactly one of --to or --workdays"
            )
        new_deadline = parse_date(to, "--to") if to is not None else None
        view = rectification.extend_order(
            st.app,
            code,
            actor,
            reason,
            new_deadline=new_deadline,
            workdays=workdays,
            expect_version=version,
        )
        _done(
            st, governed.orders_for(st.app, actor, [view])[0], as_json, "已延长整改期限", "deadline extended"
        )

"""`govflow cuts …` and `govflow policy …`: O&M cut recommendations for finance, and the governance policy."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from govflow.cli.common import AsOpt, JsonOpt, State, emit_json, guarded, out, table
from govflow.governance import cuts, policy_service
from govflow.reads import governed
from govflow.states.errors import UsageError
from govflow.states.policy import Policy, load_policy_file

app = typer.Typer(help="运维经费削减建议（733号文 第十一条） / O&M cut recommendations", no_args_is_help=True)
policy_app = typer.Typer(help="治理策略（版本化） / governance policy", no_args_is_help=True)

#: the steps a run records in ``evidence.trail``
_TRAIL = {
    "proposed": ("提出", "proposed"),
    "revised": ("更新", "revised"),
    "withdrawn": ("撤回（理由已消除）", "withdrawn (cause gone)"),
    "reproposed": ("重新提出", "proposed again"),
}
PeriodOpt = typer.Option("--period", help="预算年度 YYYY / budget period (year)")


# ---------------------------------------------------------------------------------------------- cuts


@app.command("list")
def cuts_list(
    ctx: typer.Context,
    period: Annotated[str, PeriodOpt],
    status: Annotated[
        str | None,
        typer.Option(help="按状态筛选 proposed|accepted|declined|withdrawn / filter by status"),
    ] = None,
    as_json: bool = JsonOpt,
    actor: str | None = AsOpt,
) -> None:
    """列出一个预算年度的削减建议 / list the recommendations of a budget period."""
    with guarded(ctx, as_json) as st:
        views = governed.list_cuts(st.app, period, actor, status)
        if as_json:
            emit_json([v.to_dict(st.lang) for v in views])
            return
        table(
            st.tr(
                f"{period} 年度运维经费削减建议（{len(views)} 条，{cuts.CLAUSE}）",
                f"O&M cut recommendations {period} ({len(views)})",
            ),
            [
                st.tr("项目", "project"),
                st.tr("名称", "name"),
                st.tr("状态", "status"),
                st.tr("比例(%)", "percent"),
                st.tr("金额（元）", "amount (yuan)"),
                st.tr("策略版本", "policy"),
                st.tr("依据日期", "as of"),
                st.tr("理由", "reasons"),
                st.tr("决定", "decision"),
            ],
            [
                [
                    v.project,
                    v.project_name,
                    v.status.label(st.lang),
                    v.percent,
                    v.amount,
                    v.policy_version,
                    v.as_of,
                    "、".join(str(r.get("code")) for r in v.reasons),
                    _decision(st, v),
                ]
                for v in views
            ],
        )


def _decision(st: State, v: cuts.CutView) -> str:
    if v.withdrawn_on is not None and v.status is cuts.CutStatus.WITHDRAWN:
        return st.tr(f"{v.withdrawn_on} 撤回", f"withdrawn {v.withdrawn_on}")
    if v.decided_by:
        return f"{v.decided_by}：{v.decision_reason or ''}"
    return ""


@app.command("show")
def cuts_show(
    ctx: typer.Context,
    project: str,
    period: Annotated[str, PeriodOpt],
    as_json: bool = JsonOpt,
    actor: str | None = AsOpt,
) -> None:
    """查看一条削减建议及其证据 / one recommendation with its evidence."""
    with guarded(ctx, as_json) as st:
        v = governed.show_cut(st.app, project, period, actor)
        if as_json:
            emit_json(v.to_dict(st.lang))
            return
        _print_view(st, v)


def _print_view(st: State, v: cuts.CutView) -> None:
    d = v.to_dict(st.lang)
    ev: dict[str, Any] = v.evidence
    cov = ev.get("coverage", {})
    table(
        st.tr(f"削减建议 {v.project} {v.period}", f"Cut recommendation {v.project} {v.period}"),
        [st.tr("项", "field"), st.tr("值", "value")],
        [
            [st.tr("项目", "project"), f"{v.project} {v.project_name}"],
            [st.tr("状态", "status"), f"{d['status_label']} ({v.status.value})"],
            [st.tr("建议削减", "suggested cut"), f"{v.percent}% × {v.base_budget} = {v.amount}"],
            [st.tr("策略版本", "policy version"), v.policy_version],
            [st.tr("依据日期", "as of"), v.as_of],
            [
                st.tr("共享覆盖率", "coverage"),
                f"{cov.get('value')} ({cov.get('covered')}/{cov.get('due_items')}, "
                f"{st.tr('阈值', 'threshold')} {cov.get('threshold')})",
            ],
            [st.tr("最长逾期工作日", "max working days overdue"), ev.get("max_overdue_workdays")],
            *[[f"{r['code']} ({r['clause']})", r["message"]] for r in d["reasons"]],
            [st.tr("决定", "decision"), _decision(st, v)],
        ],
    )
    table(
        st.tr("共享义务（已到实现进度的协定条目）", "Obligations (due agreement items)"),
        [
            st.tr("协定/目录", "agreement/catalog"),
            st.tr("使用部门", "consumer"),
            st.tr("更新频度", "frequency"),
            st.tr("最近交付", "last delivery"),
            st.tr("本年度记录数", "records this period"),
            st.tr("持续交付", "covered"),
        ],
        [
            [
                f"{o['agreement']}/{o['catalog']} {o['catalog_name']}",
                o["consumer_name"],
                f"{o['expected']['update_frequency']} (≤{o['expected']['max_gap_days']}d)",
                o["delivered"]["last_day"] or "—",
                o["delivered"]["records_in_period"],
                st.tr("是", "yes") if o["covered"] else st.tr("否", "no"),
            ]
            for o in ev.get("obligations", [])
        ],
    )
    if ev.get("orders"):
        table(
            st.tr("逾期整改通知", "Overdue rectification orders"),
            [
                st.tr("通知", "order"),
                st.tr("状态", "status"),
                st.tr("截止日", "deadline"),
                st.tr("逾期工作日", "workdays overdue"),
            ],
            [[o["code"], o["status"], o["deadline"], o["workdays_overdue"]] for o in ev["orders"]],
        )
    table(
        st.tr("经过", "Trail"),
        [
            "#",
            st.tr("日期", "on"),
            st.tr("事件", "event"),
            st.tr("比例/金额", "percent/amount"),
            st.tr("策略", "policy"),
        ],
        [
            [
                i,
                e.get("on"),
                st.tr(*_TRAIL.get(str(e.get("event")), (str(e.get("event")), str(e.get("event"))))),
                f"{e.get('percent', '')} / {e.get('amount', '')}",
                e.get("policy_version", ""),
            ]
            for i, e in enumerate(ev.get("trail", []), start=1)
        ],
    )


@app.command("decide")
def cuts_decide(
    ctx: typer.Context,
    project: str,
    period: Annotated[str, PeriodOpt],
    accept: Annotated[
        bool | None,
        typer.Option(
            "--accept/--decline", help="采纳或不采纳（必选其一） / accept or decline (one is required)"
        ),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="理由（采纳与不采纳均须填写） / reason (required either way)"),
    ] = None,
    actor: Annotated[str, typer.Option("--as", help="财政部门用户 / a finance user")] = "",
    as_json: bool = JsonOpt,
) -> None:
    """财政部门采纳或不采纳削减建议（须说明理由） / finance accepts or declines a recommendation, with a reason."""
    with guarded(ctx, as_json) as st:
        if accept is None:
            raise UsageError("须指定 --accept（采纳）或 --decline（不采纳）", "give --accept or --decline")
        if not actor:
            raise UsageError(
                "须用 --as 指定作出决定的财政部门用户", "give the deciding finance user with --as"
            )
        decided = cuts.decide_cut(st.app, project, period, actor, accept=accept, reason=reason)
        v = governed.cuts_for(st.app, actor, [decided])[0]
        if as_json:
            emit_json(v.to_dict(st.lang))
            return
        out.print(
            st.tr(
                f"{v.project} {v.period} 年度运维经费削减建议{v.status.label()}：削减 {v.percent}%，{v.amount} 元"
                f"（策略 {v.policy_version}，{cuts.CLAUSE}）；理由：{v.decision_reason}",
                f"{v.project} {v.period} O&M cut recommendation {v.status.value}: {v.percent}%, {v.amount} yuan "
                f"(policy {v.policy_version}, {cuts.CLAUSE}); reason: {v.decision_reason}",
            ),
            markup=False,
        )


# ---------------------------------------------------------------------------------------------- policy


def _policy_rows(st: State, p: Policy) -> None:
    r = p.rectification
    table(
        st.tr(
            f"治理策略 {p.version}（摘要 {p.digest()[:12]}）",
            f"Governance policy {p.version} ({p.digest()[:12]})",
        ),
        [st.tr("项", "setting"), st.tr("值", "value")],
        [
            [st.tr("整改期限（工作日）", "rectification workdays"), r.workdays],
            [
                st.tr("截止前提醒（工作日）", "reminders (workdays before)"),
                ", ".join(str(x) for x in r.reminders),
            ],
            [st.tr("协定到期提示（天）", "agreement expiry notice (days)"), p.agreement_expiry_notice_days],
            [st.tr("共享覆盖率阈值", "coverage threshold"), p.cuts.coverage_threshold],
        ],
    )
    if r.escalation:
        table(
            st.tr("逾期升级", "Escalation"),
            [
                st.tr("级别", "level"),
                st.tr("逾期工作日 ≥", "workdays overdue ≥"),
                st.tr("名称", "name"),
                st.tr("通知", "notify"),
            ],
            [[e.level, e.after_workdays, e.name, ", ".join(e.notify)] for e in r.escalation],
        )
    table(
        st.tr(
            f"削减档位（{cuts.CLAUSE}，满足任一条件即适用，取最高比例）",
            f"Cut tiers ({cuts.CLAUSE}; either condition, highest percent)",
        ),
        [
            "#",
            st.tr("最长逾期工作日 ≥", "max workdays overdue ≥"),
            st.tr("覆盖率 ≤", "coverage ≤"),
            st.tr("比例(%)", "percent"),
        ],
        [
            [
                i,
                "—" if t.min_overdue_workdays is None else t.min_overdue_workdays,
                "—" if t.max_coverage is None else t.max_coverage,
                t.percent,
            ]
            for i, t in enumerate(p.cuts.tiers, start=1)
        ],
    )


def _minute(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)


@policy_app.command("show")
def policy_show(ctx: typer.Context, as_json: bool = JsonOpt, actor: str | None = AsOpt) -> None:
    """查看生效的治理策略及历史版本 / the active policy, its digest, thresholds, tiers and version history."""
    with guarded(ctx, as_json) as st:
        policy, history = policy_service.show_policy(st.app, actor)
        if as_json:
            emit_json(
                {
                    "version": policy.version,
                    "digest": policy.digest(),
                    "policy": policy.model_dump(mode="json"),
                    "history": history,
                }
            )
            return
        _policy_rows(st, policy)
        table(
            st.tr("策略版本历史（最新在前）", "Version history (newest first)"),
            [
                st.tr("版本", "version"),
                st.tr("摘要", "digest"),
                st.tr("生效", "active"),
                st.tr("启用时间(UTC)", "activated (UTC)"),
                st.tr("启用人", "by"),
            ],
            [
                [
                    h["version"],
                    str(h["digest"])[:12],
                    "✓" if h["active"] else "",
                    _minute(h["activated_at"]),
                    h["activated_by"],
                ]
                for h in history
            ],
        )


@policy_app.command("load")
def policy_load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="策略文件（YAML 或 JSON） / policy file (YAML or JSON)")],
    as_json: bool = JsonOpt,
    actor: str | None = AsOpt,
) -> None:
    """校验并启用新的策略版本；校验不通过则拒绝，原策略继续有效 / validate and activate a policy version."""
    with guarded(ctx, as_json) as st:
        policy = policy_service.load_policy(st.app, file, actor)
        if as_json:
            emit_json({"version": policy.version, "digest": policy.digest(), "active": True})
            return
        out.print(
            st.tr(
                f"治理策略 {policy.version} 已生效（摘要 {policy.digest()[:12]}）；此后的整改通知和削减建议均引用该版本",
                f"governance policy {policy.version} is active ({policy.digest()[:12]}); later orders and "
                "recommendations cite it",
            ),
            markup=False,
        )


@policy_app.command("check")
def policy_check(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="策略文件（YAML 或 JSON） / policy file (YAML or JSON)")],
    as_json: bool = JsonOpt,
) -> None:
    """只校验策略文件，不启用 / validate a policy file without loading it."""
    with guarded(ctx, as_json) as st:
        policy = load_policy_file(file)
        if as_json:
            emit_json({"valid": True, "version": policy.version, "digest": policy.digest()})
            return
        out.print(
            st.tr(
                f"策略文件有效：版本 {policy.version}", f"the policy file is valid: version {policy.version}"
            )
        )
        _policy_rows(st, policy)

"""`govflow project …`, `govflow event`, `govflow review add`, `govflow opinion add`: projects and the decisions
on them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from govflow.cli.common import (
    AsOpt,
    JsonOpt,
    emit_json,
    guarded,
    out,
    parse_date,
    print_reasons,
    table,
)
from govflow.cli.listing import listing
from govflow.lifecycle import services
from govflow.reads.trail import action_text, actor_text, note_text, outcome_text, phase_text
from govflow.states.errors import RuleRefused
from govflow.states.phases import Event, Phase
from govflow.states.vocabulary import deadline_label

project_app = typer.Typer(
    help="项目：查看、列表、历程、预检 / projects: show, list, history, check", no_args_is_help=True
)
review_app = typer.Typer(help="评审意见（第十条第一款） / stage reviews", no_args_is_help=True)
opinion_app = typer.Typer(
    help="相关部门意见（第九条） / opinions of related departments", no_args_is_help=True
)


@project_app.command("show")
def project_show(ctx: typer.Context, code: str, as_json: bool = JsonOpt, actor: str | None = AsOpt) -> None:
    """查看一个项目 / show one project."""
    with guarded(ctx, as_json) as st:
        view = services.show_project(st.app, code, actor)
        if as_json:
            emit_json(view.to_dict(st.lang))
            return
        d = view.to_dict(st.lang)
        rows = [
            [st.tr("编号", "code"), d["code"]],
            [st.tr("名称", "name"), d["name"]],
            [st.tr("阶段", "phase"), f"{d['phase_label']} ({d['phase']})"],
            [st.tr("版本", "version"), d["version"]],
            [st.tr("牵头部门", "lead department"), f"{d['lead_department_name']} ({d['lead_department']})"],
            [st.tr("相关部门", "related departments"), "、".join(d["departments"])],
            [st.tr("年度运维经费（元）", "annual O&M budget (yuan)"), d["om_budget"]],
            [
                st.tr("目录条目 / 协定 / 协定条目", "catalog / agreements / items"),
                f"{d['catalog_items']} / {d['agreements']} / {d['agreement_items']}",
            ],
            [st.tr("意见 / 评审", "opinions / reviews"), f"{d['opinions']} / {d['reviews']}"],
            [
                st.tr("可执行事件", "possible events"),
                "、".join(f"{e} {Event(e).label(st.lang)}" for e in d["next_events"]),
            ],
        ]
        table(st.tr("项目", "Project"), [st.tr("项", "field"), st.tr("值", "value")], rows)


@project_app.command("list")
def project_list(
    ctx: typer.Context,
    phase: Annotated[Phase | None, typer.Option(help="按阶段筛选 / filter by phase")] = None,
    department: Annotated[
        str | None, typer.Option(help="按牵头部门筛选 / filter by lead department code")
    ] = None,
    overdue: Annotated[
        bool,
        typer.Option(
            "--overdue", help="只列出有逾期整改通知的项目（第十一条） / only projects with an overdue order"
        ),
    ] = False,
    as_json: bool = JsonOpt,
    actor: str | None = AsOpt,
) -> None:
    """列出项目 / list projects."""
    with guarded(ctx, as_json) as st:
        rows = services.list_projects(
            st.app, actor, phase=phase and phase.value, department=department, overdue=overdue
        )
        listing(
            st,
            as_json,
            rows,
            (f"项目（{len(rows)} 个）", f"Projects ({len(rows)})"),
            [
                ("编号", "code"),
                ("名称", "name"),
                ("阶段", "phase"),
                ("版本", "version"),
                ("牵头部门", "lead"),
            ],
            lambda: [
                [r["code"], r["name"], Phase(r["phase"]).label(st.lang), r["version"], r["lead_name"]]
                for r in rows
            ],
        )


@project_app.command("check")
def project_check(ctx: typer.Context, code: str, as_json: bool = JsonOpt, actor: str | None = AsOpt) -> None:
    """预检：下一步事件现在会被怎样判断（不触发、不记录）；报送建议书时附受理的判断 / dry run of the next events
    (nothing fired or recorded); submit_proposal shows what intake would refuse too."""
    with guarded(ctx, as_json) as st:
        checks = services.dry_run(st.app, code, actor)
        if as_json:
            emit_json([c.to_dict(st.lang) for c in checks])
            return
        for c in checks:
            who = "" if c.permitted else st.tr("（他人办理）", " (done by others)")
            verdict = (
                st.tr("可以办理", "would go through") if not c.reasons else st.tr("将被拒绝：", "refused:")
            )
            out.print(f"{c.event.value} {c.event.label(st.lang)}{who}: {verdict}", markup=False)
            print_reasons(st, c.reasons, to_err=False)
            if c.then is not None and c.then.reasons:
                out.print(
                    st.tr(f"  随后{c.then.event.label()}将被拒绝：", f"  then {c.then.event.value} refused:"),
                    markup=False,
                )
                print_reasons(st, c.then.reasons, to_err=False)


@project_app.command("history")
def project_history(
    ctx: typer.Context, code: str, as_json: bool = JsonOpt, actor: str | None = AsOpt
) -> None:
    """项目历程：每个被接受和被拒绝的事件及其理由 / every accepted and refused event with reasons."""
    with guarded(ctx, as_json) as st:
        rows = services.project_history(st.app, code, actor)
        if as_json:
            emit_json(rows)
            return
        body = []
        for r in rows:
            reasons = "；".join(
                x.get("message_en" if st.lang == "en" else "message", "") for x in r["reasons"]
            )
            moved = (
                f"{phase_text(r['from_phase'], st.lang)} → {phase_text(r['to_phase'], st.lang)}"
                if r["from_phase"] or r["to_phase"]
                else ""
            )
            body.append(
                [
                    r["seq"],
                    r["occurred_at"].strftime("%Y-%m-%d %H:%M"),
                    action_text(r["action"], st.lang),
                    outcome_text(r["outcome"], st.lang),
                    actor_text(r["actor"], r["role"], r["actor_name"], st.lang),
                    moved,
                    reasons or note_text(r, st.lang),
                ]
            )
        table(
            st.tr(f"项目 {code} 历程", f"History of {code}"),
            [
                "#",
                st.tr("时间(UTC)", "time (UTC)"),
                st.tr("事件", "event"),
                st.tr("结果", "outcome"),
                st.tr("操作人", "actor"),
                st.tr("阶段", "phase"),
                st.tr("理由/说明", "reasons / note"),
            ],
            body,
        )


# ---------------------------------------------------------------------------------------------- events


def event(
    ctx: typer.Context,
    code: str,
    event: Annotated[str, typer.Argument(help="事件 / event: " + ", ".join(e.value for e in Event))],
    actor: Annotated[str, typer.Option("--as", help="操作用户 / acting user")],
    reason: Annotated[str | None, typer.Option(help="理由（refuse、withdraw 必填） / reason")] = None,
    at: Annotated[
        str | None, typer.Option(help="生效时间（补录历史），ISO 格式带时区 / effective time")
    ] = None,
    expect_version: Annotated[int | None, typer.Option(help="预期版本（乐观锁） / expected version")] = None,
    override: Annotated[
        str | None,
        typer.Option(
            help="批复时不采纳评审意见（某重点判为不符合）的理由，记入审计（第十条第一款） / approve: why the "
            "review's 'not met' is set aside (audited)"
        ),
    ] = None,
    as_json: bool = JsonOpt,
) -> None:
    """触发生命周期事件；被规则拒绝时列出每个未满足条件及条款（退出码 3） / fire a lifecycle event."""
    with guarded(ctx, as_json) as st:
        when = None
        if at is not None:
            try:
                when = datetime.fromisoformat(at)
            except ValueError as exc:
                raise typer.BadParameter(f"--at: {at}") from exc
        res = services.fire_event(
            st.app,
            code,
            event,
            actor,
            reason=reason,
            at=when,
            expect_version=expect_version,
            override=override,
        )
        if as_json:
            emit_json(res.to_dict(st.lang))
        elif res.accepted:
            out.print(
                st.tr(
                    f"已{res.event.zh}：{code} {res.from_phase.zh} → {res.to_phase.zh}（版本 {res.version}）",
                    f"{res.event.en}: {code} {res.from_phase.en} → {res.to_phase.en} (version {res.version})",
                )
            )
            if res.order:
                out.print(
                    st.tr(
                        f"已下达整改通知 {res.order}，整改期限 {deadline_label(res.deadline)}",
                        f"rectification order {res.order}, deadline {deadline_label(res.deadline, 'en')}",
                    )
                )
        else:
            out.print(
                st.tr(f"「{res.event.zh}」被拒绝（项目 {code}）：", f"'{res.event.en}' refused for {code}:"),
                style="bold red",
            )
            print_reasons(st, res.reasons, to_err=False)
            if res.to_phase is not res.from_phase:
                out.print(
                    st.tr(f"项目已退回「{res.to_phase.zh}」", f"the project returned to '{res.to_phase.en}'")
                )
        if not res.accepted:
            raise typer.Exit(RuleRefused.exit_code)


# ---------------------------------------------------------------------------------------------- reviews, opinions


@review_app.command("add")
def review_add(
    ctx: typer.Context,
    code: str,
    actor: Annotated[str, typer.Option("--as", help="评审机构用户 / review agency user")],
    stage: Annotated[str, typer.Option(help="proposal | feasibility | design")],
    judgment: Annotated[
        list[str],
        typer.Option(
            "--judgment",
            "-j",
            help="重点=判断[:意见]，如 agreement=met:协定完备；五个重点 agreement catalog infrastructure aggregation technical，判断 met|partly|not_met",
        ),
    ],
    on: Annotated[str | None, typer.Option("--date", help="评审日期 YYYY-MM-DD（默认今天）")] = None,
    agency: Annotated[str | None, typer.Option(help="评审机构名称 / agency name")] = None,
    conclusion: Annotated[str | None, typer.Option(help="评审结论 / conclusion")] = None,
    against: Annotated[
        bool, typer.Option("--against", help="评审结论不同意批复 / the conclusion is against approval")
    ] = False,
    as_json: bool = JsonOpt,
) -> None:
    """登记阶段评审意见：对五个评审重点逐一作出明确判断（第十条第一款） / record a stage review."""
    with guarded(ctx, as_json) as st:
        parsed: dict[str, tuple[str, str | None]] = {}
        for j in judgment:
            key, sep, rest = j.partition("=")
            if not sep:
                raise typer.BadParameter(
                    f"--judgment {j}: 须为 重点=判断[:意见] / must be point=judgment[:comment]"
                )
            value, _, comment = rest.partition(":")
            parsed[key.strip()] = (value.strip(), comment.strip() or None)
        day = parse_date(on, "--date") if on else st.app.clock().date()
        version = services.record_review(
            st.app,
            code,
            actor,
            stage=stage,
            agency=agency,
            on=day,
            judgments=parsed,
            conclusion=conclusion,
            against_approval=against,
        )
        if as_json:
            emit_json({"project": code, "stage": stage, "version": version})
        else:
            out.print(
                st.tr(
                    f"已登记 {code} 的{stage}评审意见（版本 {version}）",
                    f"review recorded for {code} ({stage}), version {version}",
                )
            )


@opinion_app.command("add")
def opinion_add(
    ctx: typer.Context,
    code: str,
    actor: Annotated[str, typer.Option("--as", help="登记用户 / user")],
    department: Annotated[str, typer.Option(help="出具意见的相关部门代码 / department code")],
    verdict: Annotated[str, typer.Option(help="agree | agree_with_changes | unmet_needs")],
    unmet: Annotated[
        list[str] | None,
        typer.Option("--unmet", help="未满足的共享需求：名称[:目录编码] / unmet need: name[:catalog code]"),
    ] = None,
    on: Annotated[str | None, typer.Option("--date", help="日期 YYYY-MM-DD（默认今天）")] = None,
    comment: Annotated[str | None, typer.Option(help="意见说明 / comment")] = None,
    condition: Annotated[
        list[str] | None,
        typer.Option(
            "--condition",
            help="修改意见（修改后同意时必填，可多次） / a change asked for (agree_with_changes; repeatable)",
        ),
    ] = None,
    as_json: bool = JsonOpt,
) -> None:
    """登记相关部门或提供部门的意见（第九条 征求意见） / record a department's opinion."""
    with guarded(ctx, as_json) as st:
        needs: list[dict[str, str | None]] = []
        for u in unmet or []:
            name, _, cat = u.partition(":")
            needs.append({"name": name.strip(), "catalog": cat.strip() or None})
        day = parse_date(on, "--date") if on else st.app.clock().date()
        version = services.record_opinion(
            st.app,
            code,
            actor,
            department=department,
            on=day,
            verdict=verdict,
            unmet_needs=needs,
            comment=comment,
            conditions=list(condition or []),
        )
        if as_json:
            emit_json({"project": code, "department": department, "verdict": verdict, "version": version})
        else:
            out.print(
                st.tr(
                    f"已登记 {department} 对 {code} 的意见（版本 {version}）",
                    f"opinion of {department} on {code} recorded, version {version}",
                )
            )


@opinion_app.command("answer")
def opinion_answer(
    ctx: typer.Context,
    code: str,
    actor: Annotated[str, typer.Option("--as", help="牵头部门用户 / lead department user")],
    department: Annotated[str, typer.Option(help="出具意见的部门代码 / department code")],
    condition: Annotated[
        int, typer.Option("--condition", min=1, help="第几项修改意见（从 1 起） / which, from 1")
    ],
    answer: Annotated[str, typer.Option("--answer", help="答复 / the answer")],
    as_json: bool = JsonOpt,
) -> None:
    """牵头部门答复“修改后同意”的一项修改意见；未答复的修改意见使批复不予通过（第九条） / answer a condition."""
    with guarded(ctx, as_json) as st:
        version = services.answer_condition(
            st.app, code, actor, department=department, condition=condition, answer=answer
        )
        if as_json:
            emit_json({"project": code, "department": department, "condition": condition, "version": version})
        else:
            out.print(
                st.tr(
                    f"已答复 {department} 的第 {condition} 项修改意见（版本 {version}）",
                    f"condition {condition} of {department} answered (version {version})",
                )
            )

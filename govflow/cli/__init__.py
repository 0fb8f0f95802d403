"""The ``govflow`` command (typer). People get tables in zh-CN (``--lang en`` for English); machines ``--json``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from govflow.access import auth
from govflow.cli.common import (
    AsOpt,
    JsonOpt,
    State,
    emit_json,
    guarded,
    out,
    parse_date,
    print_reasons,
    table,
)
from govflow.lifecycle import portfolio, services
from govflow.settings import Settings
from govflow.states.errors import RuleRefused
from govflow.states.lifecycle import mermaid
from govflow.states.phases import Event, Phase

app = typer.Typer(
    help="govflow：电子政务项目全生命周期信息共享治理（发改高技〔2013〕733号）。\n\n"
    "govflow: lifecycle governance of e-government projects under the NDRC guidance 733号文.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
project_app = typer.Typer(help="项目：查看、列表、历程 / projects: show, list, history", no_args_is_help=True)
audit_app = typer.Typer(help="审计链：校验与查阅 / the audit trail: verify and read", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日历（法定节假日与调休） / working-day calendar", no_args_is_help=True)
review_app = typer.Typer(help="评审意见（第十条第一款） / stage reviews", no_args_is_help=True)
opinion_app = typer.Typer(
    help="相关部门意见（第九条） / opinions of related departments", no_args_is_help=True
)
user_app = typer.Typer(help="用户管理 / users", no_args_is_help=True)
app.add_typer(project_app, name="project")
app.add_typer(audit_app, name="audit")
app.add_typer(calendar_app, name="calendar")
app.add_typer(review_app, name="review")
app.add_typer(opinion_app, name="opinion")
app.add_typer(user_app, name="user")


@app.callback()
def main(
    ctx: typer.Context,
    lang: Annotated[str, typer.Option("--lang", help="界面语言 zh|en / language")] = "",
) -> None:
    settings = Settings()
    chosen = (lang or settings.lang or "zh").lower()
    if chosen not in ("zh", "en"):
        raise typer.BadParameter("--lang 须为 zh 或 en / must be zh or en")
    ctx.obj = State(settings, chosen)


# ---------------------------------------------------------------------------------------------- setup


@app.command()
def init(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """创建或升级数据库（幂等） / create or migrate the database (idempotent)."""
    with guarded(ctx, as_json) as st:
        before, after = services.init_db(st.app)
        if as_json:
            emit_json(
                {
                    "database": st.app.engine.url.render_as_string(hide_password=True),
                    "from": before,
                    "to": after,
                }
            )
        elif before == after:
            out.print(st.tr(f"数据库已是最新版本（{after}）", f"database is up to date ({after})"))
        else:
            out.print(
                st.tr(
                    f"数据库已升级：{before or '空'} → {after}",
                    f"database migrated: {before or 'empty'} → {after}",
                )
            )


@app.command()
def diagram(ctx: typer.Context) -> None:
    """以 Mermaid 输出生命周期状态机（由状态机所用的同一张表生成） / the lifecycle machine as Mermaid."""
    with guarded(ctx) as st:
        typer.echo(mermaid(st.lang), nl=False)


# ---------------------------------------------------------------------------------------------- projects


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
    phase: Annotated[str | None, typer.Option(help="按阶段筛选 / filter by phase")] = None,
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
        if phase is not None and phase not in {p.value for p in Phase}:
            raise typer.BadParameter(f"--phase: {', '.join(p.value for p in Phase)}")
        rows = services.list_projects(st.app, actor, phase=phase, department=department, overdue=overdue)
        if as_json:
            emit_json(rows)
            return
        table(
            st.tr(f"项目（{len(rows)} 个）", f"Projects ({len(rows)})"),
            [
                st.tr("编号", "code"),
                st.tr("名称", "name"),
                st.tr("阶段", "phase"),
                st.tr("版本", "version"),
                st.tr("牵头部门", "lead"),
            ],
            [
                [r["code"], r["name"], Phase(r["phase"]).label(st.lang), r["version"], r["lead_name"]]
                for r in rows
            ],
        )


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
                f"{r['from_phase'] or ''} → {r['to_phase'] or ''}" if r["from_phase"] or r["to_phase"] else ""
            )
            body.append(
                [
                    r["seq"],
                    r["occurred_at"].strftime("%Y-%m-%d %H:%M"),
                    r["action"],
                    r["outcome"],
                    f"{r['actor']} ({r['role']})",
                    moved,
                    reasons or (r["note"] or ""),
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


@app.command()
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
            st.app, code, event, actor, reason=reason, at=when, expect_version=expect_version
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
                        f"已下达整改通知 {res.order}，整改期限 {res.deadline}",
                        f"rectification order {res.order}, deadline {res.deadline}",
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
            st.app, code, actor, stage=stage, agency=agency, on=day, judgments=parsed, conclusion=conclusion
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
    as_json: bool = JsonOpt,
) -> None:
    """登记相关部门意见（第九条 征求意见） / record a related department's opinion."""
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


# ---------------------------------------------------------------------------------------------- audit


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """校验审计链：完整则退出码 0，否则 1 并指出第一条异常事件 / verify the hash chain."""
    with guarded(ctx, as_json) as st:
        rep = services.verify_audit(st.app)
        if as_json:
            emit_json(
                {
                    "ok": rep.ok,
                    "checked": rep.checked,
                    "first_bad_seq": rep.first_bad_seq,
                    "first_bad_id": rep.first_bad_id,
                    "problem": rep.problem_en if st.lang == "en" else rep.problem,
                }
            )
        elif rep.ok:
            out.print(
                st.tr(f"审计链完整：共 {rep.checked} 条事件", f"audit chain intact: {rep.checked} events")
            )
        else:
            out.print(
                st.tr("审计链被篡改：", "audit chain broken: ")
                + ((rep.problem_en if st.lang == "en" else rep.problem) or ""),
                style="bold red",
            )
        if not rep.ok:
            raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------- calendar


@calendar_app.command("add-workdays")
def calendar_add_workdays(
    ctx: typer.Context,
    start: Annotated[str, typer.Argument(help="起算日 YYYY-MM-DD（不计入） / start date, not counted")],
    n: Annotated[int, typer.Argument(help="工作日数 / working days", min=0)],
    as_json: bool = JsonOpt,
) -> None:
    """起算日之后第 N 个工作日（法定节假日与调休） / the N-th working day after a date."""
    with guarded(ctx, as_json) as st:
        d = parse_date(start, "DATE")
        cal = st.app.calendar
        result = cal.add_workdays(d, n)
        skipped = cal.skipped(d, n)
        if as_json:
            emit_json(
                {
                    "date": result.isoformat(),
                    "start": d.isoformat(),
                    "workdays": n,
                    "source": cal.source,
                    "skipped": [{"date": x.isoformat(), "kind": k} for x, k in skipped],
                }
            )
            return
        out.print(st.tr(f"{d} 之后第 {n} 个工作日：{result}", f"{n} working days after {d}: {result}"))
        kinds = {
            "holiday": st.tr("法定节假日", "holiday"),
            "weekend": st.tr("周末", "weekend"),
            "makeup_workday": st.tr("调休上班", "make-up working day"),
        }
        for x, k in skipped:
            out.print(f"  {x} {kinds.get(k, k)}")


# ---------------------------------------------------------------------------------------------- users


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: str,
    role: Annotated[
        str, typer.Option(help="department | program_office | review_agency | finance | audit | admin")
    ],
    department: Annotated[str | None, typer.Option(help="所属部门代码 / department code")] = None,
    display_name: Annotated[str | None, typer.Option(help="显示名 / display name")] = None,
    actor: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """新增用户（管理员） / add a user (admin)."""
    with guarded(ctx, as_json) as st:
        services.add_user(
            st.app, actor, name=name, role=role, department=department, display_name=display_name
        )
        if as_json:
            emit_json({"name": name, "role": role, "department": department})
        else:
            out.print(st.tr(f"已新增用户 {name}（{role}）", f"user {name} ({role}) added"))


def _user_state_done(st: State, state: auth.UserState, as_json: bool) -> None:
    if as_json:
        emit_json(state.to_dict())
        return
    zh, en = ("启用", "active") if state.active else ("停用", "inactive")
    if not state.changed:
        out.print(st.tr(f"用户 {state.name} 已是{zh}状态，未做改动", f"user {state.name} was already {en}"))
    elif state.active:
        out.print(
            st.tr(
                f"已启用用户 {state.name}；如需 API 令牌请重新签发（govflow user token {state.name}）",
                f"user {state.name} activated; issue a new API token if needed (govflow user token {state.name})",
            ),
            markup=False,
        )
    else:
        out.print(
            st.tr(
                f"已停用用户 {state.name}：不能再登录，已有会话立即失效，API 令牌已吊销",
                f"user {state.name} deactivated: no more sign-ins, open sessions end now, API token revoked",
            )
        )


@user_app.command("deactivate")
def user_deactivate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="用户名 / user name")],
    reason: Annotated[str, typer.Option("--reason", help="停用理由（必填，记入审计链） / reason (required)")],
    actor: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """停用用户：不能再登录，会话与 API 令牌立即失效（管理员；不能停用自己或最后一名管理员） / deactivate a user."""
    with guarded(ctx, as_json) as st:
        _user_state_done(st, auth.set_active(st.app, actor, name, False, reason), as_json)


@user_app.command("activate")
def user_activate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="用户名 / user name")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="启用说明（记入审计链） / note for the audit trail")
    ] = None,
    actor: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """重新启用已停用的用户（管理员；API 令牌须重新签发） / reactivate a user (admin)."""
    with guarded(ctx, as_json) as st:
        _user_state_done(st, auth.set_active(st.app, actor, name, True, reason), as_json)


# ---------------------------------------------------------------------------------------------- bulk input


@app.command()
def load(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="项目组合文档（YAML 或 JSON） / portfolio document")],
    actor: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """导入项目组合文档：整体校验，任一行有误则逐行报告且不写入任何数据 / load a portfolio, all-or-nothing."""
    with guarded(ctx, as_json) as st:
        summary = services.load_portfolio(st.app, file, actor)
        if as_json:
            emit_json({"loaded": True, **summary.to_dict()})
            return
        labels = {
            "departments_created": ("新建部门", "departments created"),
            "departments_reused": ("沿用已有部门", "departments reused"),
            "users": ("用户", "users"),
            "projects": ("项目", "projects"),
            "onboarded": ("按现阶段纳入", "onboarded at a later phase"),
            "catalog_items": ("目录条目", "catalog items"),
            "agreements": ("共享协定", "agreements"),
            "agreement_items": ("协定条目", "agreement items"),
            "opinions": ("相关部门意见", "opinions"),
            "reviews": ("评审意见", "reviews"),
            "evidence_rows": ("交付记录行", "evidence rows"),
            "evidence_days": ("交付记录（按条目/部门/日汇总）", "evidence days"),
        }
        table(
            st.tr(f"已导入 {file.name}", f"Loaded {file.name}"),
            [st.tr("项", "item"), st.tr("数量", "count")],
            [[st.tr(*labels.get(k, (k, k))), v] for k, v in summary.to_dict().items()],
        )


@app.command()
def schema(ctx: typer.Context) -> None:
    """输出项目组合文档的 JSON Schema / print the portfolio document's JSON Schema."""
    with guarded(ctx):
        emit_json(portfolio.schema())


catalog_app = typer.Typer(help="共享信息目录（第九条） / sharing catalog", no_args_is_help=True)
evidence_app = typer.Typer(help="交付记录（交换平台导出） / delivery evidence", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
app.add_typer(evidence_app, name="evidence")


@catalog_app.command("import")
def catalog_import(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="项目编号 / project code")],
    file: Annotated[Path, typer.Argument(help="CSV 或 XLSX 文件 / CSV or XLSX file")],
    actor: Annotated[str, typer.Option("--as", help="牵头部门用户 / lead department user")],
    as_json: bool = JsonOpt,
) -> None:
    """从 CSV/XLSX 导入或细化项目的共享信息目录；任一行有误则不写入 / import or refine a project's catalog."""
    with guarded(ctx, as_json) as st:
        res = services.import_catalog(st.app, code, file, actor)
        if as_json:
            emit_json({"project": code, **res})
        else:
            out.print(
                st.tr(
                    f"{code}：新增 {res['added']} 条目录条目，细化 {res['refined']} 条（版本 {res['version']}）",
                    f"{code}: {res['added']} catalog items added, {res['refined']} refined (version {res['version']})",
                )
            )


@evidence_app.command("import")
def evidence_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV 或 XLSX 文件：project, catalog, consumer, date, records")],
    actor: str | None = AsOpt,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="以本文件为准替换库中同一条目、使用部门和日期的已有记录（更正后的导出） / replace the records "
            "already on record for the same item, consumer and day (a corrected export)",
        ),
    ] = False,
    as_json: bool = JsonOpt,
) -> None:
    """导入交换平台的交付记录（按条目、使用部门、日期汇总）；任一行有误则不写入 / import delivery evidence.

    同一文件不能重复导入；库中已有同一条目、使用部门和日期记录的行视为重复，须加 --replace 替换 /
    the same file is never imported twice; rows for an item, consumer and day already on record are refused
    unless --replace is given.
    """
    with guarded(ctx, as_json) as st:
        n = services.import_evidence(st.app, file, actor, replace=replace)
        if as_json:
            emit_json({"imported": n})
        else:
            out.print(
                st.tr(
                    f"已导入交付记录：{n} 个（条目、使用部门、日期）",
                    f"evidence imported: {n} (item, consumer, day) rows",
                )
            )


@app.command()
def demo(
    ctx: typer.Context,
    reset: Annotated[
        bool, typer.Option("--reset", help="先删除 SQLite 演示库再开始 / start from a fresh SQLite file")
    ] = False,
    as_json: bool = JsonOpt,
) -> None:
    """演示：导入浙江省演示项目组合，走完各类生命周期决定，并校验审计链 / run the demo."""
    from govflow.demo import reset_sqlite, run_demo

    with guarded(ctx, as_json) as st:
        if reset:
            reset_sqlite(st.settings.database_url)

        def say(zh: str, en: str) -> None:
            if not as_json:
                out.print(st.tr(zh, en), markup=False)

        report = run_demo(st.app, say)
        if as_json:
            emit_json(
                {
                    "steps": report.steps,
                    "phases": report.phases,
                    "audit_events": report.audit_events,
                    "chain_ok": report.chain_ok,
                }
            )
        if not report.chain_ok:
            raise typer.Exit(1)


# ---------------------------------------------------------------------------------------------- governance groups
# Each lives in its own module (imported last: they use govflow.cli.common, not this package's names).

from govflow.cli import cuts as _cuts  # noqa: E402
from govflow.cli import notify as _notify  # noqa: E402
from govflow.cli import orders as _orders  # noqa: E402
from govflow.cli import report as _report  # noqa: E402
from govflow.cli import run as _run  # noqa: E402

app.add_typer(_run.app, name="run")
app.command("schedule")(_run.schedule)
app.add_typer(_orders.app, name="order")
app.add_typer(_cuts.app, name="cuts")
app.add_typer(_cuts.policy_app, name="policy")
app.add_typer(_report.app, name="report")
app.add_typer(_notify.app, name="notify")

from govflow.cli import serve as _serve  # noqa: E402

_serve.register(app, user_app)


# ---------------------------------------------------------------------------------------------- proposal materials

agreement_app = typer.Typer(
    help="信息共享协定与联合发文（第八条） / sharing agreements", no_args_is_help=True
)
needs_app = typer.Typer(help="信息共享需求分析（第九条） / the needs analysis", no_args_is_help=True)
app.add_typer(agreement_app, name="agreement")
app.add_typer(needs_app, name="needs")


@agreement_app.command("add")
def agreement_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="项目编号 / project code")],
    file: Annotated[
        Path, typer.Argument(help="YAML/JSON：agreements: [...]（格式同项目组合文档） / agreements file")
    ],
    actor: Annotated[str, typer.Option("--as", help="牵头部门用户 / lead department user")],
    as_json: bool = JsonOpt,
) -> None:
    """登记共享协定或联合发文：第八条各项约定齐全才写入，任一处有误则不写入 / add agreements to a project."""
    with guarded(ctx, as_json) as st:
        res = services.add_agreements(st.app, code, file, actor)
        if as_json:
            emit_json({"project": code, **res})
        else:
            out.print(
                st.tr(
                    f"{code}：已登记 {res['agreements']} 份协定、{res['agreement_items']} 个条目（版本 {res['version']}）",
                    f"{code}: {res['agreements']} agreements with {res['agreement_items']} items added (version {res['version']})",
                )
            )


@needs_app.command("set")
def needs_set(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="项目编号 / project code")],
    actor: Annotated[str, typer.Option("--as", help="牵头部门用户 / lead department user")],
    internal: Annotated[str | None, typer.Option(help="部门内部共享需求 / internal needs")] = None,
    external: Annotated[str | None, typer.Option(help="部门外部共享需求 / external needs")] = None,
    central_local: Annotated[
        str | None, typer.Option("--central-local", help="中央和地方之间的共享需求 / central–local needs")
    ] = None,
    as_json: bool = JsonOpt,
) -> None:
    """填写需求分析的三个维度（部门内部、外部、中央和地方之间） / set the needs analysis."""
    with guarded(ctx, as_json) as st:
        version = services.set_needs_analysis(
            st.app, code, actor, internal=internal, external=external, central_local=central_local
        )
        if as_json:
            emit_json({"project": code, "version": version})
        else:
            out.print(
                st.tr(
                    f"{code}：需求分析已更新（版本 {version}）",
                    f"{code}: needs analysis updated (version {version})",
                )
            )

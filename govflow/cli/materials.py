"""Bulk input and proposal materials: `load`, `schema`, `catalog import`, `evidence import`, `agreement add`,
`agreement renew`, `agreement versions`, `needs set`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from govflow.cli.common import (
    AsOpt,
    Command,
    JsonOpt,
    emit_json,
    guarded,
    out,
    parse_date,
    table,
)
from govflow.governance import agreements as agreement_cases
from govflow.lifecycle import portfolio, services
from govflow.lifecycle.services import App

catalog_app = typer.Typer(help="共享信息目录（第九条） / sharing catalog", no_args_is_help=True)
evidence_app = typer.Typer(help="交付记录（交换平台导出） / delivery evidence", no_args_is_help=True)
agreement_app = typer.Typer(
    help="信息共享协定与联合发文（第八条） / sharing agreements", no_args_is_help=True
)
needs_app = typer.Typer(help="信息共享需求分析（第九条） / the needs analysis", no_args_is_help=True)


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


def schema(ctx: typer.Context) -> None:
    """输出项目组合文档的 JSON Schema / print the portfolio document's JSON Schema."""
    with guarded(ctx):
        emit_json(portfolio.schema())


CodeArg = Annotated[str, typer.Argument(help="项目编号 / project code")]
LeadOpt = Annotated[str, typer.Option("--as", help="牵头部门用户 / lead department user")]


def _into_project(
    service: Callable[[App, str, Path, str], dict[str, int]],
    file_help: str,
    said: Callable[[str, dict[str, int]], tuple[str, str]],
    doc: str,
) -> Command:
    """A file written into one project by its lead department: the counts as JSON, or one sentence."""
    file_arg = typer.Argument(..., help=file_help)

    def command(
        ctx: typer.Context,
        code: CodeArg,
        file: Path = file_arg,
        actor: str = typer.Option(..., "--as", help="牵头部门用户 / lead department user"),
        as_json: bool = JsonOpt,
    ) -> None:
        with guarded(ctx, as_json) as st:
            res = service(st.app, code, file, actor)
            if as_json:
                emit_json({"project": code, **res})
            else:
                out.print(st.tr(*said(code, res)))

    command.__doc__ = doc
    return command


catalog_app.command("import")(
    _into_project(
        services.import_catalog,
        "CSV 或 XLSX 文件 / CSV or XLSX file",
        lambda code, r: (
            f"{code}：新增 {r['added']} 条目录条目，细化 {r['refined']} 条（版本 {r['version']}）",
            f"{code}: {r['added']} catalog items added, {r['refined']} refined (version {r['version']})",
        ),
        "从 CSV/XLSX 导入或细化项目的共享信息目录；任一行有误则不写入 / import or refine a project's catalog.",
    )
)


@catalog_app.command("authorize")
def catalog_authorize(
    ctx: typer.Context,
    code: CodeArg,
    item: Annotated[str, typer.Argument(help="目录条目编码 / catalog item code")],
    actor: Annotated[
        str, typer.Option("--as", help="提供部门或项目审批部门用户 / the provider's or program office user")
    ],
    department: Annotated[
        list[str] | None,
        typer.Option("--department", help="被授权部门（可多次） / authorized department (repeatable)"),
    ] = None,
    everyone: Annotated[bool, typer.Option("--all", help="授权所有政务部门 / all departments")] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="调整理由 / why")] = None,
    as_json: bool = JsonOpt,
) -> None:
    """调整目录条目的授权使用范围（第八条 及时调整授权）；超出新范围的协定条目在下次巡查时成为问题 / adjust scope."""
    with guarded(ctx, as_json) as st:
        res = agreement_cases.authorize_catalog_item(
            st.app,
            code,
            item,
            actor,
            departments=list(department or []),
            all_departments=everyone,
            reason=reason,
        )
        if as_json:
            emit_json(res)
            return
        out.print(
            st.tr(
                f"{code}：目录条目 {item} 的授权使用范围已调整（版本 {res['version']}）；超出新范围的协定条目 "
                f"{len(res['outside'])} 个，将在下次巡查时列为问题",
                f"{code}: the authorized scope of {item} is adjusted (version {res['version']}); "
                f"{len(res['outside'])} agreement items fall outside it and become findings at the next sweep",
            )
        )
        for o in res["outside"]:
            out.print(f"  - {o['message_en' if st.lang == 'en' else 'message']}")


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


agreement_app.command("add")(
    _into_project(
        services.add_agreements,
        "YAML/JSON：agreements: [...]（格式同项目组合文档） / agreements file",
        lambda code, r: (
            f"{code}：已登记 {r['agreements']} 份协定、{r['agreement_items']} 个条目（版本 {r['version']}）",
            f"{code}: {r['agreements']} agreements with {r['agreement_items']} items added "
            f"(version {r['version']})",
        ),
        "登记共享协定或联合发文：第八条各项约定齐全才写入，任一处有误则不写入 / add agreements to a project.",
    )
)


@agreement_app.command("renew")
def agreement_renew(
    ctx: typer.Context,
    code: CodeArg,
    agreement: Annotated[str, typer.Argument(help="协定编号 / agreement code")],
    until: Annotated[str, typer.Option("--until", help="续签后的共享期限 YYYY-MM-DD / new end of the term")],
    actor: LeadOpt,
    signed_on: Annotated[
        str | None, typer.Option("--signed-on", help="续签日期，默认今天 / day signed, default today")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="说明 / note")] = None,
    as_json: bool = JsonOpt,
) -> None:
    """续签共享协定（第八条 共享期限）：新版本留痕，协定到期问题及其整改通知随即关闭 / renew an agreement."""
    with guarded(ctx, as_json) as st:
        res = agreement_cases.renew_agreement(
            st.app,
            code,
            agreement,
            actor,
            until=parse_date(until, "--until"),
            signed_on=parse_date(signed_on, "--signed-on") if signed_on else None,
            reason=reason,
        )
        if as_json:
            emit_json(res)
            return
        out.print(
            st.tr(
                f"{code}：共享协定 {agreement} 已续签至 {res['term_end']}（第 {res['version']} 版）；关闭协定到期"
                f"问题 {len(res['findings_closed'])} 个、整改通知 {res['orders_closed']} 份",
                f"{code}: agreement {agreement} renewed until {res['term_end']} (version {res['version']}); "
                f"{len(res['findings_closed'])} expiry findings and {res['orders_closed']} orders closed",
            )
        )


@agreement_app.command("amend")
def agreement_amend(
    ctx: typer.Context,
    code: CodeArg,
    file: Annotated[
        Path, typer.Argument(help="YAML/JSON：agreements: [...]（协定编号须已存在） / agreements file")
    ],
    actor: LeadOpt,
    reason: Annotated[str | None, typer.Option("--reason", help="修订理由 / why")] = None,
    as_json: bool = JsonOpt,
) -> None:
    """修订已签署的共享协定（同编号整份替换为新版本，按新协定同样校验，任一处有误则不写入） / amend agreements."""
    with guarded(ctx, as_json) as st:
        res = agreement_cases.amend_agreements(st.app, code, file, actor, reason=reason)
        if as_json:
            emit_json(res)
            return
        done = "、".join(f"{a['agreement']}（第 {a['version']} 版）" for a in res["amended"])
        done_en = ", ".join(f"{a['agreement']} (version {a['version']})" for a in res["amended"])
        out.print(st.tr(f"{code}：已修订共享协定 {done}", f"{code}: agreements amended: {done_en}"))


@agreement_app.command("terminate")
def agreement_terminate(
    ctx: typer.Context,
    code: CodeArg,
    agreement: Annotated[str, typer.Argument(help="协定编号 / agreement code")],
    actor: Annotated[str, typer.Option("--as", help="项目审批部门用户 / program office user")],
    reason: Annotated[str | None, typer.Option("--reason", help="终止理由（必填） / why (required)")] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="终止日期，默认今天 / day it ends, default today")
    ] = None,
    as_json: bool = JsonOpt,
) -> None:
    """终止共享协定（项目审批部门决定，记录理由）：终止日后其条目不再是共享义务 / terminate an agreement."""
    with guarded(ctx, as_json) as st:
        res = agreement_cases.terminate_agreement(
            st.app, code, agreement, actor, on=parse_date(on, "--on") if on else None, reason=reason
        )
        if as_json:
            emit_json(res)
            return
        out.print(
            st.tr(
                f"{code}：共享协定 {agreement} 自 {res['terminated_on']} 起终止（第 {res['version']} 版）",
                f"{code}: agreement {agreement} terminated from {res['terminated_on']} (version {res['version']})",
            )
        )


@agreement_app.command("versions")
def agreement_versions(
    ctx: typer.Context,
    code: CodeArg,
    agreement: Annotated[str, typer.Argument(help="协定编号 / agreement code")],
    actor: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """协定签署后的各个版本（续签）及每次变更前后的约定 / an agreement's versions after signing."""
    with guarded(ctx, as_json) as st:
        rows = agreement_cases.agreement_versions(st.app, code, agreement, actor)
        if as_json:
            emit_json(rows)
            return
        kinds = {
            "renewed": ("续签", "renewed"),
            "amended": ("修订", "amended"),
            "terminated": ("终止", "terminated"),
        }
        table(
            st.tr(f"{code} 共享协定 {agreement} 的版本", f"versions of agreement {agreement} of {code}"),
            [st.tr(*w) for w in (("版本", "version"), ("变更", "change"), ("日期", "on"), ("经办", "by"),
                                 ("期限", "term"), ("说明", "note"))],
            [
                [r["version"], st.tr(*kinds.get(r["kind"], (r["kind"], r["kind"]))), r["on"], r["actor"],
                 f"{r['before']['term_end']} → {r['after']['term_end']}", r["reason"] or ""]
                for r in rows
            ],
        )  # fmt: skip


@needs_app.command("set")
def needs_set(
    ctx: typer.Context,
    code: CodeArg,
    actor: LeadOpt,
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

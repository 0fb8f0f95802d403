"""`govflow report …`: overdue rectifications (audit), cut recommendations (finance), portfolio by phase.

Every report takes ``--as-of`` (default: today in Beijing) and answers what was true at the end of that day;
``--format table|json|csv|xlsx`` (``--json`` is short for ``--format json``) and ``--output FILE``. pandas is
imported only when a report runs, so that the rest of the CLI starts quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from govflow.cli.common import AsOpt, Command, JsonOpt, State, guarded, out, parse_date

app = typer.Typer(
    help="报表：逾期整改（审计）、运维经费削减建议（财政）、项目组合；格式 table / json / csv / xlsx / reports",
    no_args_is_help=True,
)


class Fmt(StrEnum):
    """The output formats (mirrors ``govflow.reads.reports.Format``, which this module does not import eagerly)."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


FormatOpt = typer.Option(
    Fmt.TABLE, "--format", "-f", help="输出格式：table 表格 | json | csv（带 BOM，Excel 可直接打开）| xlsx"
)
OutputOpt = typer.Option(
    None,
    "--output",
    "-o",
    help="写入该文件（xlsx 未指定时写入当前目录的默认文件名） / write to this file",
    dir_okay=False,
)
AsOfOpt = typer.Option(
    None, "--as-of", help="报表日期 YYYY-MM-DD，反映当日结束时的情况（默认北京时间今天） / report date"
)


def _format(fmt: Fmt, as_json: bool) -> Fmt:
    if as_json and fmt not in (Fmt.TABLE, Fmt.JSON):
        raise typer.BadParameter(
            f"--json 与 --format {fmt.value} 冲突 / --json conflicts with --format {fmt.value}"
        )
    return Fmt.JSON if as_json else fmt


def _as_of(st: State, value: str | None) -> date:
    from govflow.reads.reports import local_today

    return parse_date(value, "--as-of") if value else local_today(st.app)


def _emit(st: State, build: Callable[[], Any], fmt: Fmt, output: Path | None, default_name: str) -> None:
    """Build the report, then write it; a file written is announced (on stdout, it is not the report)."""
    from govflow.reads.reports import render

    df = build()
    path = output
    if fmt is Fmt.XLSX and path is None:
        path = Path(default_name)
    written = render(df, fmt.value, path, st.lang)
    if written is not None:
        rows = len(df)
        out.print(
            st.tr(f"已写入 {written}（{rows} 行）", f"written to {written} ({rows} rows)"),
            markup=False,
        )


def _day_report(kind: str, doc: str) -> Command:
    """A report of one day (``overdue``, ``portfolio``): ``govflow.reads.reports.<kind>_report``."""

    def command(
        ctx: typer.Context,
        as_of: str | None = AsOfOpt,
        fmt: Fmt = FormatOpt,
        output: Path | None = OutputOpt,
        as_json: bool = JsonOpt,
        actor: str | None = AsOpt,
    ) -> None:
        f = _format(fmt, as_json)
        with guarded(ctx, f is Fmt.JSON) as st:
            from govflow.reads import reports

            build: Callable[..., Any] = getattr(reports, f"{kind}_report")
            day = _as_of(st, as_of)
            _emit(st, lambda: build(st.app, day, actor), f, output, f"govflow-{kind}-{day}.xlsx")

    command.__doc__ = doc
    return command


app.command("overdue")(
    _day_report(
        "overdue",
        """逾期整改报表（审计，733号文 第十一条） / overdue rectification orders (audit).

    截至该日结束时逾期未整改的整改通知：整改期限、逾期工作日数（法定节假日不计、调休上班日计入）、按现行策略
    的升级级别，按逾期工作日数从多到少排列。 Orders overdue at the end of that day, most overdue first.
    """,
    )
)


@app.command("cuts")
def cuts(
    ctx: typer.Context,
    period: Annotated[
        str | None, typer.Option("--period", help="预算年度 YYYY（默认报表日期所在年度） / budget year")
    ] = None,
    as_of: str | None = AsOfOpt,
    fmt: Fmt = FormatOpt,
    output: Path | None = OutputOpt,
    as_json: bool = JsonOpt,
    actor: str | None = AsOpt,
) -> None:
    """运维经费削减建议报表（财政，733号文 第十一条） / O&M cut recommendations (finance).

    该预算年度在报表日期及以前测算的削减建议：比例、金额、年度运维经费、策略版本、证据，以及当日的决定状态。
    The recommendations of a budget year as they stood at the end of that day.
    """
    f = _format(fmt, as_json)
    with guarded(ctx, f is Fmt.JSON) as st:
        from govflow.reads.reports import cuts_report

        day = _as_of(st, as_of)
        year = period or str(day.year)
        _emit(
            st,
            lambda: cuts_report(st.app, year, actor, as_of=day),
            f,
            output,
            f"govflow-cuts-{year}-{day}.xlsx",
        )


app.command("portfolio")(
    _day_report(
        "portfolio",
        """项目组合报表：各牵头部门的项目按阶段计数 / projects per lead department and phase.

    阶段按审计记录推算为该日结束时的阶段（尚未纳入管理的项目不计），含合计行与合计列。
    Phases as of the end of that day, from the audit trail, with totals.
    """,
    )
)

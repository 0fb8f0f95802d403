"""`govflow calendar import` and `govflow calendar years`: calendar years as data (SPEC §4)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from govflow.cli.common import AsOpt, JsonOpt, State, emit_json, guarded, out, table
from govflow.governance.calendar_years import KnownYear, import_calendar, known_years


def register(calendar_app: typer.Typer) -> None:
    calendar_app.command("import")(calendar_import)
    calendar_app.command("years")(calendar_years)


def _json(y: KnownYear) -> dict[str, object]:
    return {
        "year": y.year,
        "origin": y.origin,
        "source": y.source,
        "holidays": y.holidays,
        "workdays": y.workdays,
        "imported_by": y.imported_by,
        "imported_at": y.imported_at.isoformat() if y.imported_at else None,
    }


def _table(st: State, years: list[KnownYear], title: str) -> None:
    table(
        title,
        [
            st.tr(*c)
            for c in (
                ("年份", "year"),
                ("来源", "origin"),
                ("依据", "source"),
                ("放假日", "days off"),
                ("调休上班日", "make-up workdays"),
                ("导入人", "imported by"),
                ("导入时间", "imported at"),
            )
        ],
        [
            [
                y.year,
                y.origin_label(st.lang),
                y.source,
                y.holidays,
                y.workdays,
                y.imported_by or "—",
                y.imported_at.isoformat(timespec="seconds") if y.imported_at else "—",
            ]
            for y in years
        ],
    )


def calendar_import(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="YAML 或 JSON：{years: {2027: {holidays: […], workdays: […], source: …}}}")
    ],
    actor: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """导入一年或数年的放假与调休安排（依据国务院办公厅通知；仅管理员；整年校验） / import calendar years."""
    with guarded(ctx, as_json) as st:
        imported = import_calendar(st.app, file, actor)
        if as_json:
            emit_json({"imported": [_json(y) for y in imported]})
            return
        _table(st, imported, st.tr("已导入的工作日历年份", "calendar years imported"))


def calendar_years(ctx: typer.Context, actor: str | None = AsOpt, as_json: bool = JsonOpt) -> None:
    """列出工作日历已有数据的年份及其依据 / list the years the working-day calendar knows, with their source."""
    with guarded(ctx, as_json) as st:
        years = known_years(st.app, actor)
        if as_json:
            emit_json([_json(y) for y in years])
            return
        _table(st, years, st.tr("工作日历年份", "calendar years"))
        last = years[-1].year if years else None
        if last is not None:
            out.print(
                st.tr(
                    f"{last + 1} 年尚无数据：截止日期落在该年的整改通知要等管理员导入后才能确定。",
                    f"{last + 1} has no data yet: deadlines falling in it wait until an administrator imports it.",
                )
            )

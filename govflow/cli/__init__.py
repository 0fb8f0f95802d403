"""The ``govflow`` command (typer). People get tables in zh-CN (``--lang en`` for English); machines ``--json``.

This module assembles the command groups, each in its own module: :mod:`.admin` (init, demo, audit, calendar,
users), :mod:`.projects` (projects, events, reviews, opinions), :mod:`.materials` (portfolio, catalog, evidence,
agreements, needs), :mod:`.run` (the scheduled checks), :mod:`.orders`, :mod:`.cuts`, :mod:`.report`,
:mod:`.notify`, :mod:`.serve`.
"""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from govflow.cli import admin, materials, projects
from govflow.cli import calendar as _calendar
from govflow.cli import cuts as _cuts
from govflow.cli import notify as _notify
from govflow.cli import orders as _orders
from govflow.cli import report as _report
from govflow.cli import run as _run
from govflow.cli import serve as _serve
from govflow.cli.common import State
from govflow.settings import Settings

app = typer.Typer(
    help="govflow：电子政务项目全生命周期信息共享治理（发改高技〔2013〕733号）。\n\n"
    "govflow: lifecycle governance of e-government projects under the NDRC guidance 733号文.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    lang: Annotated[str, typer.Option("--lang", help="界面语言 zh|en / language")] = "",
) -> None:
    try:
        settings = Settings()
    except ValidationError as exc:
        # a bad GOVFLOW_* variable: say which and why (exit 2, as for any usage error), never a traceback
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"])
            typer.echo(f"配置错误 / configuration error: GOVFLOW_{where.upper()}: {err['msg']}", err=True)
        raise typer.Exit(2) from None
    chosen = (lang or settings.lang or "zh").lower()
    if chosen not in ("zh", "en"):
        raise typer.BadParameter("--lang 须为 zh 或 en / must be zh or en")
    ctx.obj = State(settings, chosen)
    ctx.call_on_close(ctx.obj.close)


app.command()(admin.init)
app.command()(admin.diagram)
app.add_typer(projects.project_app, name="project")
app.command()(projects.event)
app.add_typer(admin.audit_app, name="audit")
app.add_typer(admin.calendar_app, name="calendar")
_calendar.register(admin.calendar_app)
app.add_typer(projects.review_app, name="review")
app.add_typer(projects.opinion_app, name="opinion")
app.add_typer(admin.user_app, name="user")
app.command()(materials.load)
app.command()(materials.schema)
app.add_typer(materials.catalog_app, name="catalog")
app.add_typer(materials.evidence_app, name="evidence")
app.command()(admin.demo)
app.add_typer(_run.app, name="run")
app.command("schedule")(_run.schedule)
app.add_typer(_orders.app, name="order")
app.add_typer(_cuts.app, name="cuts")
app.add_typer(_cuts.policy_app, name="policy")
app.add_typer(_report.app, name="report")
app.add_typer(_notify.app, name="notify")
_serve.register(app, admin.user_app)
app.add_typer(materials.agreement_app, name="agreement")
app.add_typer(materials.needs_app, name="needs")

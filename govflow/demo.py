"""`govflow demo`: the zh-CN demo portfolio worked through its life, through the same service layer as the CLI.

It shows each kind of decision the lifecycle makes: a project going from draft to operation, a refused intake
(不予受理), a refused approval (不予审批), a failed acceptance that opens a rectification order (限期整改), a
permission denial, and finally the audit chain verified.

The demo runs on the real date: the portfolio file is written around :data:`DEMO_DAY`, and every date in it is
moved by the same number of days so that the story happens around today (Beijing date). When the 20-working-day
deadline of the failed acceptance reaches into a year the working-day calendar has no data for yet, the order is
issued with its deadline pending (期限待定), as in production, and the demo says so.
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from govflow.lifecycle import services
from govflow.lifecycle.services import App, EventResult
from govflow.models.db import unit_of_work
from govflow.models.tables import Project
from govflow.states.errors import PermissionDenied, UsageError
from govflow.states.phases import Event, Phase

DEMO_FILE = "demo-portfolio.yaml"


@dataclass
class DemoReport:
    steps: list[dict[str, Any]] = field(default_factory=list)
    phases: dict[str, int] = field(default_factory=dict)
    audit_events: int = 0
    chain_ok: bool = False


def demo_portfolio() -> Path:
    return Path(__file__).resolve().parent / "data" / DEMO_FILE


def reset_sqlite(url: str) -> None:
    """Remove the SQLite file behind ``url`` (with its WAL files); other databases are never dropped."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        raise UsageError(
            "--reset 只能用于 SQLite 文件数据库；请为演示提供一个空数据库",
            "--reset only works on a SQLite file database; give the demo an empty database",
        )
    for suffix in ("", "-wal", "-shm"):
        Path(u.database + suffix).unlink(missing_ok=True)


#: The day the demo portfolio file is written around (its due dates, opinions and deliveries).
DEMO_DAY = date(2026, 11, 26)
#: That day at 10:00 in Beijing: the "now" of tests that use the portfolio file as it is.
DEMO_NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
BEIJING_TEN = time(2, 0, tzinfo=UTC)


def demo_clock(start: datetime = DEMO_NOW) -> Callable[[], datetime]:
    """A clock that starts at the demo's today (10:00 in Beijing) and moves a minute per reading, so that the
    story's steps follow each other in the trail in the order they are told."""
    ticks = itertools.count()
    return lambda: start + timedelta(minutes=next(ticks))


def portfolio_on(today: date, into: Path) -> Path:
    """The demo portfolio with every date moved by ``today - DEMO_DAY`` days, written into the folder ``into``."""
    delta = today - DEMO_DAY

    def shift(value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value + delta
        if isinstance(value, dict):
            return {k: shift(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shift(v) for v in value]
        return value

    doc = yaml.safe_load(demo_portfolio().read_text(encoding="utf-8"))
    path = into / DEMO_FILE
    path.write_text(yaml.safe_dump(shift(doc), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run_demo(app: App, say: Callable[[str, str], None], today: date | None = None) -> DemoReport:
    """Run the demo on an empty database around ``today`` (default: today's Beijing date); ``say(zh, en)``
    narrates each step."""
    day = today or services.business_date(app.clock())
    app = dataclasses.replace(app, clock=demo_clock(datetime.combine(day, BEIJING_TEN)))
    services.init_db(app)
    with unit_of_work(app.engine, write=False) as s:
        if s.execute(select(func.count()).select_from(Project)).scalar_one():
            raise UsageError(
                "数据库中已有项目；演示需要空数据库（使用 govflow demo --reset 重建 SQLite 演示库）",
                "the database already holds projects; the demo needs an empty one (govflow demo --reset)",
            )
    report = DemoReport()
    with tempfile.TemporaryDirectory() as tmp:
        summary = services.load_portfolio(app, portfolio_on(day, Path(tmp)), None)
    say(
        f"演示日期：{day.isoformat()}（演示项目组合的日期均以此为“今天”）",
        f"demo date: {day.isoformat()} (the portfolio's dates are set around it)",
    )
    say(
        f"已导入演示项目组合：{summary.projects} 个项目、{summary.catalog_items} 个目录条目、{summary.agreements} 份协定",
        f"loaded the demo portfolio: {summary.projects} projects, {summary.catalog_items} catalog items, {summary.agreements} agreements",
    )

    def step(code: str, event: Event, actor: str, reason: str | None = None) -> EventResult:
        res = services.fire_event(app, code, event, actor, reason=reason)
        report.steps.append(res.to_dict())
        if res.accepted:
            say(
                f"  {code} {event.zh}（{actor}）：{res.from_phase.zh} → {res.to_phase.zh}",
                f"  {code} {event.en} ({actor}): {res.from_phase.en} → {res.to_phase.en}",
            )
        else:
            say(f"  {code} {event.zh}（{actor}）被拒绝：", f"  {code} {event.en} ({actor}) refused:")
            for r in res.reasons:
                say(f"    - {r.message}（{r.clause}）", f"    - {r.message_en} ({r.clause})")
            if res.to_phase is not res.from_phase:
                say(f"    项目退回「{res.to_phase.zh}」", f"    the project returned to '{res.to_phase.en}'")
        if res.order and res.deadline is not None:
            say(
                f"    已下达整改通知 {res.order}，整改期限 {res.deadline}（20 个工作日，第十一条）",
                f"    rectification order {res.order}, deadline {res.deadline} (20 working days, 第十一条)",
            )
        elif res.order:
            year = next(y for y in itertools.count(day.year) if y not in app.calendar.years)
            say(
                f"    已下达整改通知 {res.order}，整改期限待定：20 个工作日落入 {year} 年，而 {year} 年工作日历尚未导入；"
                f"管理员导入后，下一次运行按通知日起算确定期限并通知（第十一条）",
                f"    rectification order {res.order}, deadline pending: 20 working days reach into {year}, whose "
                f"working-day calendar is not imported yet; once an administrator imports it, the next run sets the "
                f"deadline from the notice date and sends the notice (第十一条)",
            )
        return res

    say(
        "ZJ-2026-001：材料齐全的项目从编制走到运行维护",
        "ZJ-2026-001: a complete project from draft to operation",
    )
    for event, actor in [
        (Event.SUBMIT_PROPOSAL, "li"),
        (Event.INTAKE, "wang"),
        (Event.APPROVE, "wang"),
        (Event.SUBMIT_FEASIBILITY, "li"),
        (Event.APPROVE, "wang"),
        (Event.SUBMIT_DESIGN, "li"),
        (Event.APPROVE, "wang"),
        (Event.REQUEST_ACCEPTANCE, "li"),
        (Event.PASS_ACCEPTANCE, "wang"),
    ]:
        step("ZJ-2026-001", event, actor)

    say(
        "ZJ-2026-002：缺少共享协定和相关部门意见，不予受理",
        "ZJ-2026-002: no agreement and a missing opinion, intake refused",
    )
    step("ZJ-2026-002", Event.SUBMIT_PROPOSAL, "zhao")
    step("ZJ-2026-002", Event.INTAKE, "wang")

    say(
        "ZJ-2026-003：相关部门的共享需求未被满足，不予审批",
        "ZJ-2026-003: a related department's need is unmet, approval refused",
    )
    step("ZJ-2026-003", Event.SUBMIT_PROPOSAL, "lin")
    step("ZJ-2026-003", Event.INTAKE, "wang")
    if not step("ZJ-2026-003", Event.APPROVE, "wang").accepted:
        step(
            "ZJ-2026-003",
            Event.REFUSE,
            "wang",
            "信息共享协定不满足省公安厅的共享需求（733号文 第十条第二款）",
        )

    say(
        "ZJ-2026-004：到期的共享未交付，不予通过验收并限期整改",
        "ZJ-2026-004: due sharing not delivered, acceptance failed",
    )
    step("ZJ-2026-004", Event.REQUEST_ACCEPTANCE, "chen")
    if not step("ZJ-2026-004", Event.PASS_ACCEPTANCE, "wang").accepted:
        step("ZJ-2026-004", Event.FAIL_ACCEPTANCE, "wang", "C-001、C-002 到期未实现共享")

    say(
        "权限：财政部门用户不能批复项目（拒绝并记入审计）",
        "permissions: a finance user may not approve (denied and audited)",
    )
    try:
        services.fire_event(app, "ZJ-2026-003", Event.APPROVE, "qian")
    except PermissionDenied as exc:
        for r in exc.reasons:
            say(f"  拒绝：{r.message}", f"  denied: {r.message_en}")

    rows = services.list_projects(app)
    for row in rows:
        report.phases[row["phase"]] = report.phases.get(row["phase"], 0) + 1
    chain = services.verify_audit(app)
    report.audit_events, report.chain_ok = chain.checked, chain.ok
    say("项目阶段汇总：", "projects per phase:")
    for p in Phase:
        if p.value in report.phases:
            say(f"  {p.zh}：{report.phases[p.value]}", f"  {p.en}: {report.phases[p.value]}")
    say(
        f"审计链{'完整' if chain.ok else '异常'}：共 {chain.checked} 条事件",
        f"audit chain {'intact' if chain.ok else 'BROKEN'}: {chain.checked} events",
    )
    return report

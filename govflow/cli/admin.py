"""Setting up and keeping govflow: `init`, `diagram`, `demo`, `audit verify`, `calendar add-workdays`,
`user …`."""

from __future__ import annotations

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
)
from govflow.governance import anchoring
from govflow.lifecycle import services
from govflow.states.lifecycle import mermaid

audit_app = typer.Typer(help="审计链：校验与查阅 / the audit trail: verify and read", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日历（法定节假日与调休） / working-day calendar", no_args_is_help=True)
user_app = typer.Typer(help="用户管理 / users", no_args_is_help=True)


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


def diagram(ctx: typer.Context) -> None:
    """以 Mermaid 输出生命周期状态机（由状态机所用的同一张表生成） / the lifecycle machine as Mermaid."""
    with guarded(ctx) as st:
        typer.echo(mermaid(st.lang), nl=False)


def demo(
    ctx: typer.Context,
    reset: Annotated[
        bool, typer.Option("--reset", help="先删除 SQLite 演示库再开始 / start from a fresh SQLite file")
    ] = False,
    on: Annotated[
        str | None,
        typer.Option(
            "--on",
            help="演示的“今天”（YYYY-MM-DD，默认今天的北京日期） / the demo's today (default: today in Beijing)",
        ),
    ] = None,
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

        report = run_demo(st.app, say, parse_date(on, "--on") if on else None)
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


# ---------------------------------------------------------------------------------------------- audit


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """校验审计链：逐条校验哈希链，并与数据库之外的每个锚点（GOVFLOW_ANCHOR_FILE）核对；完整则退出码 0，
    否则 1 并指出问题 / verify the hash chain and hold it to every anchor outside the database."""
    with guarded(ctx, as_json) as st:
        rep = services.verify_audit(st.app)
        anchored = st.settings.anchor_file is not None
        if as_json:
            emit_json(
                {
                    "ok": rep.ok,
                    "checked": rep.checked,
                    "first_bad_seq": rep.first_bad_seq,
                    "first_bad_id": rep.first_bad_id,
                    "problem": rep.problem_en if st.lang == "en" else rep.problem,
                    "anchored": anchored,
                    "anchors": rep.anchors,
                    "anchor_seq": rep.anchor_seq,
                    "anchor_at": rep.anchor_at,
                }
            )
        elif rep.ok:
            out.print(
                st.tr(f"审计链完整：共 {rep.checked} 条事件", f"audit chain intact: {rep.checked} events")
            )
            if rep.anchor_at is not None:
                when = rep.anchor_at.isoformat(timespec="seconds")
                out.print(
                    st.tr(
                        f"与 {rep.anchors} 个锚点相符（最近：{when}，第 {rep.anchor_seq} 号）",
                        f"matches {rep.anchors} anchors (latest: {when}, #{rep.anchor_seq})",
                    )
                )
            else:
                out.print(
                    st.tr(
                        "注意：尚无锚点，无法发现末尾删除或整体重算哈希；请设置 GOVFLOW_ANCHOR_FILE 并运行 "
                        "govflow audit anchor"
                        if not anchored
                        else "注意：锚点文件中尚无锚点；请运行 govflow audit anchor",
                        "note: no anchor yet, so a cut end or a re-hashed chain cannot be seen; set "
                        "GOVFLOW_ANCHOR_FILE and run govflow audit anchor"
                        if not anchored
                        else "note: the anchor file holds no anchor yet; run govflow audit anchor",
                    ),
                    style="yellow",
                )
        else:
            out.print(
                st.tr("审计链被篡改：", "audit chain broken: ")
                + ((rep.problem_en if st.lang == "en" else rep.problem) or ""),
                style="bold red",
            )
        if not rep.ok:
            raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """写入审计链锚点：先校验审计链，再把事件数、链首哈希与时间以锚点密钥（HMAC-SHA256）签名，追加到
    GOVFLOW_ANCHOR_FILE；链不完整则不写，退出码 1 / verify the chain, then append a keyed checkpoint of it.

    密钥来自 GOVFLOW_ANCHOR_KEY_FILE（或 GOVFLOW_ANCHOR_KEY），从不存入数据库；每晚的 govflow run all 也会写入。
    The key comes from GOVFLOW_ANCHOR_KEY_FILE (or GOVFLOW_ANCHOR_KEY) and never enters the database; the
    nightly `govflow run all` writes one too.
    """
    with guarded(ctx, as_json) as st:
        made = anchoring.write(st.app)
        file = st.settings.anchor_file
        if as_json:
            emit_json(anchoring.summary(made, file) if file else {})
        else:
            out.print(
                st.tr(
                    f"已写入锚点：第 {made.seq} 号事件，链首 {made.head[:16]}…，{made.at.isoformat(timespec='seconds')}"
                    f"（密钥编号 {made.key_id}）→ {file}",
                    f"anchor written: event #{made.seq}, head {made.head[:16]}…, "
                    f"{made.at.isoformat(timespec='seconds')} (key id {made.key_id}) → {file}",
                ),
                markup=False,
            )


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

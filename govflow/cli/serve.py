"""``govflow serve`` (the REST API under uvicorn) and the sign-in commands ``govflow user password|token``.

Registered by the CLI package with :func:`register`, so that this module owns its commands entirely.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from govflow.access import auth
from govflow.cli.common import AsOpt, JsonOpt, emit_json, guarded, out
from govflow.lifecycle.services import App


def register(app: typer.Typer, user_app: typer.Typer) -> None:
    """Add ``serve`` to the root command and ``password`` and ``token`` to ``govflow user``."""
    app.command("serve")(serve)
    user_app.command("password")(user_password)
    user_app.command("token")(user_token)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="监听地址 / address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口 / port", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="工作进程数（大于 1 时按环境变量重建配置） / worker processes", min=1, max=64)
    ] = 1,
) -> None:
    """启动 REST API（OpenAPI 文档在 /docs） / serve the REST API (OpenAPI docs at /docs).

    配置来自环境变量：GOVFLOW_DATABASE_URL、GOVFLOW_SECRET_KEY、GOVFLOW_PRODUCTION 等；生产模式下拒绝占位密钥。
    Configuration comes from the environment (GOVFLOW_DATABASE_URL, GOVFLOW_SECRET_KEY, GOVFLOW_PRODUCTION …);
    production mode refuses a placeholder secret.
    """
    import uvicorn

    from govflow.api import ApiSettings
    from govflow.web.site import create_site

    with guarded(ctx) as st:
        settings = ApiSettings()
        # Exit 2 naming `govflow init` before listening, not a 500 on the first request.
        App.from_settings(settings).ready().engine.dispose()
        application = create_site(settings)  # refuses placeholder secrets in production before listening
        out.print(
            st.tr(
                f"govflow 工作台：http://{host}:{port}/web/ ，API 文档：http://{host}:{port}/docs（{'生产' if settings.production else '开发'}模式）",
                f"govflow dashboard: http://{host}:{port}/web/ , API docs: http://{host}:{port}/docs ({'production' if settings.production else 'development'} mode)",
            )
        )
        if workers == 1:
            uvicorn.run(application, host=host, port=port, proxy_headers=True, log_level="info")
        else:
            uvicorn.run(
                "govflow.web.site:from_environment",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                proxy_headers=True,
                log_level="info",
            )


def user_password(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="用户名 / user name")],
    stdin: Annotated[
        bool, typer.Option("--stdin", help="从标准输入读一行口令（脚本用） / read the password from stdin")
    ] = False,
    actor: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """设置用户口令（至少 12 个字符、三类字符） / set a user's password (12+ characters of three kinds)."""
    with guarded(ctx, as_json) as st:
        if stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt(
                st.tr("新口令", "new password"), hide_input=True, confirmation_prompt=True
            )
        auth.set_password(st.app, actor, name, password)
        if as_json:
            emit_json({"name": name, "password_set": True})
        else:
            out.print(st.tr(f"已设置用户 {name} 的口令", f"password set for {name}"))


def user_token(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="用户名 / user name")],
    revoke: Annotated[bool, typer.Option("--revoke", help="吊销而不签发 / revoke instead")] = False,
    actor: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """签发（替换）或吊销用户的 API 令牌；令牌只显示这一次 / issue (replace) or revoke an API token."""
    with guarded(ctx, as_json) as st:
        if revoke:
            auth.revoke_token(st.app, actor, name)
            if as_json:
                emit_json({"name": name, "revoked": True})
            else:
                out.print(st.tr(f"已吊销用户 {name} 的 API 令牌", f"API token of {name} revoked"))
            return
        token = auth.issue_token(st.app, actor, name)
        if as_json:
            emit_json({"name": name, "token": token})
        else:
            out.print(
                st.tr(f"用户 {name} 的 API 令牌（只显示这一次）：", f"API token for {name} (shown once):")
            )
            typer.echo(token)

"""`govflow notify …`: the notification outbox and its channels."""

from __future__ import annotations

import typer

app = typer.Typer(help="通知：发件箱与渠道 / notifications", no_args_is_help=True)

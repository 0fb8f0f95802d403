"""`govflow order …`: rectification orders (整改通知) — list, show, evidence, verification, extension."""

from __future__ import annotations

import typer

app = typer.Typer(help="整改通知（限期整改，第十一条） / rectification orders", no_args_is_help=True)

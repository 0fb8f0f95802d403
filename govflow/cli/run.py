"""`govflow run …` and `govflow schedule`: the scheduled governance flows (Prefect)."""

from __future__ import annotations

import typer

app = typer.Typer(help="运行治理流程 / run the governance flows", no_args_is_help=True)

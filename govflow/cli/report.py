"""`govflow report …`: overdue rectifications (audit), cut recommendations (finance), portfolio by phase."""

from __future__ import annotations

import typer

app = typer.Typer(help="报表：table / json / csv / xlsx / reports", no_args_is_help=True)

"""`govflow cuts …` and `govflow policy …`: O&M cut recommendations for finance, and the governance policy."""

from __future__ import annotations

import typer

app = typer.Typer(help="运维经费削减建议（第十一条） / O&M cut recommendations", no_args_is_help=True)
policy_app = typer.Typer(help="治理策略（版本化） / governance policy", no_args_is_help=True)

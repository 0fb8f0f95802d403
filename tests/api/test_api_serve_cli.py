"""``govflow serve`` and ``govflow user password|token``, registered on a root command the way the CLI package
registers them (``register(app, user_app)``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from govflow.access import auth
from govflow.cli.common import State
from govflow.cli.serve import register
from govflow.demo import demo_portfolio
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.models.db import make_engine
from govflow.settings import Settings

#: the commands are thin over use cases that the other suites run on both databases
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def cli(db_url: str) -> Iterator[tuple[typer.Typer, App]]:
    engine = make_engine(db_url)
    gov = App(Settings(database_url=db_url), engine)
    services.load_portfolio(gov, demo_portfolio(), None)
    root = typer.Typer(no_args_is_help=True)
    user_app = typer.Typer(no_args_is_help=True)
    root.add_typer(user_app, name="user")

    @root.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = State(gov.settings, "zh", gov)

    register(root, user_app)
    yield root, gov
    engine.dispose()


def test_commands_have_help(cli: tuple[typer.Typer, App]) -> None:
    root, _ = cli
    for args in (["serve", "--help"], ["user", "password", "--help"], ["user", "token", "--help"]):
        r = CliRunner().invoke(root, args)
        assert r.exit_code == 0 and "/" in r.output, r.output


def test_password_from_stdin_then_sign_in(cli: tuple[typer.Typer, App]) -> None:
    root, gov = cli
    r = CliRunner().invoke(root, ["user", "password", "li", "--stdin", "--json"], input="Li-Weidong-2026!\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"name": "li", "password_set": True}
    assert auth.authenticate(gov, "li", "Li-Weidong-2026!").actor.name == "li"
    weak = CliRunner().invoke(root, ["user", "password", "li", "--stdin"], input="weak\n")
    assert weak.exit_code == 3 and "GB/T 22239-2019" in weak.output
    denied = CliRunner().invoke(
        root, ["user", "password", "li", "--stdin", "--as", "wang"], input="Xx-1234567890\n"
    )
    assert denied.exit_code == 3  # PermissionDenied is a refusal (SPEC §5 exit 3)


def test_token_is_shown_once_and_can_be_revoked(cli: tuple[typer.Typer, App]) -> None:
    root, gov = cli
    r = CliRunner().invoke(root, ["user", "token", "qian", "--json"])
    assert r.exit_code == 0, r.output
    token = json.loads(r.stdout)["token"]
    assert auth.actor_for_token(gov, token).name == "qian"
    assert CliRunner().invoke(root, ["user", "token", "qian", "--revoke"]).exit_code == 0
    with pytest.raises(auth.Unauthenticated):
        auth.actor_for_token(gov, token)
    assert CliRunner().invoke(root, ["user", "token", "nobody"]).exit_code == 4


def test_serve_refuses_production_with_the_placeholder_secret(
    cli: tuple[typer.Typer, App], monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    root, _ = cli
    monkeypatch.setenv("GOVFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("GOVFLOW_PRODUCTION", "1")
    monkeypatch.delenv("GOVFLOW_SECRET_KEY", raising=False)
    r = CliRunner().invoke(root, ["serve", "--port", "8765"])
    assert r.exit_code == 2 and "GOVFLOW_SECRET_KEY" in r.output

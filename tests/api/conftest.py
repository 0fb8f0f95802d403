"""The REST API in-process (FastAPI's TestClient over httpx) on the demo portfolio, on SQLite and PostgreSQL.

``gov`` is the application with the clock pinned to the demo portfolio's "today" (ticking a second per
reading); ``tokens`` holds an API token for every demo user; ``client`` talks to ``create_app`` on that
application. Passwords are set only where a test signs in, since argon2 is slow on purpose.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from govflow.access import auth
from govflow.api import ApiSettings, create_app
from govflow.demo import demo_portfolio
from govflow.lifecycle import services
from govflow.lifecycle.services import App

from .support import DEMO_USERS, NOW, As


def make_app(engine: Engine, db_url: str) -> App:
    ticks = itertools.count()
    return App(ApiSettings(database_url=db_url), engine, clock=lambda: NOW + timedelta(seconds=next(ticks)))


@pytest.fixture
def gov(engine: Engine, db_url: str) -> App:
    app = make_app(engine, db_url)
    services.load_portfolio(app, demo_portfolio(), None)
    return app


@pytest.fixture
def tokens(gov: App) -> dict[str, str]:
    return {name: auth.issue_token(gov, None, name) for name in DEMO_USERS}


@pytest.fixture
def settings(db_url: str) -> ApiSettings:
    return ApiSettings(database_url=db_url)


@pytest.fixture
def client(gov: App, settings: ApiSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, app=gov)) as c:
        yield c


@pytest.fixture
def as_(tokens: dict[str, str]) -> As:
    return As(tokens)

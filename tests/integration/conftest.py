"""The application most integration tests start from: the demo portfolio loaded, the clock at the demo's "today"
(2026-11-26 10:00 in Beijing) ticking a second per reading. A module needing another start defines its own
``app``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from govflow.demo import demo_portfolio
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.settings import Settings

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


@pytest.fixture
def app(engine: Engine, db_url: str) -> Iterator[App]:
    clock = iter(NOW + timedelta(seconds=i) for i in range(10_000))
    application = App(Settings(database_url=db_url), engine, clock=lambda: next(clock))
    services.load_portfolio(application, demo_portfolio(), None)
    yield application

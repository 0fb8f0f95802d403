"""Browser tests: Playwright drives Debian's Chromium against a live uvicorn server on the demo portfolio.

The server runs in a thread on a free 127.0.0.1 port over a SQLite file; its clock starts at the demo
portfolio's "today" and can be moved (``site.clock.move_to``) to let the scheduled flows find overdue orders.
Without ``/usr/bin/chromium`` the tests are skipped, unless ``GOVFLOW_REQUIRE_BROWSER=1`` (CI) makes them fail.
Never ``playwright install``: the browser is the system's.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("GOVFLOW_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("GOVFLOW_REQUIRE_BROWSER") == "1"
PASSWORD = "Demo-Passw0rd!2026"
#: the users the tests sign in as, one per role (argon2 is slow on purpose: no more than needed)
PEOPLE = ("wang", "li", "zhao", "zhou", "chen", "pingshen", "qian", "zheng", "admin")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, never a downloaded one. Every browser test needs this fixture (through ``browser``)
    and the in-process page tests do not, so a missing Chromium skips exactly the browser tests."""
    if not CHROMIUM.exists():
        if REQUIRE_BROWSER:
            pytest.fail(f"{CHROMIUM} is missing and GOVFLOW_REQUIRE_BROWSER=1 (apt-get install chromium)")
        pytest.skip(
            f"no Chromium at {CHROMIUM} (apt-get install chromium); GOVFLOW_REQUIRE_BROWSER=1 to fail"
        )
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


class Clock:
    """Starts at ``start`` and moves a second per reading; ``move_to`` jumps (never back in a test)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._ticks = itertools.count()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=next(self._ticks))

    def move_to(self, start: datetime) -> None:
        self.start, self._ticks = start, itertools.count()


@dataclass
class Site:
    base: str
    gov: Any  # govflow.lifecycle.services.App
    clock: Clock
    artifacts: Path
    pages: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Site]:
    import uvicorn

    from govflow.api import ApiSettings
    from govflow.demo import DEMO_NOW
    from govflow.lifecycle.services import App, init_db
    from govflow.models.db import make_engine
    from govflow.web.site import create_site, seed_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
    settings = ApiSettings(database_url=url)
    clock = Clock(DEMO_NOW)
    gov = App(settings, make_engine(url), clock=clock)
    init_db(gov)
    seed_demo(gov, PASSWORD, PEOPLE)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_site(settings, app=gov), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    artifacts = pytestconfig.rootpath / "test-artifacts" / "web"
    artifacts.mkdir(parents=True, exist_ok=True)
    try:
        yield Site(f"http://127.0.0.1:{port}", gov, clock, artifacts)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        gov.engine.dispose()

"""The REST API with the dashboard mounted, for ``uvicorn --factory govflow.web.site:from_environment``, the
browser tests and ``bench/web.py`` until :func:`govflow.api.app.create_app` includes :data:`web_router` itself."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from govflow.access import auth
from govflow.api import ApiSettings, create_app
from govflow.demo import demo_portfolio
from govflow.lifecycle import services
from govflow.lifecycle.services import App
from govflow.web import errors as web_errors
from govflow.web import web_router


def create_site(settings: ApiSettings, *, app: App | None = None) -> FastAPI:
    """The API of ``create_app`` plus the pages under ``/web`` (``/`` leads to them)."""
    api = create_app(settings, app=app)
    api.include_router(web_router)
    web_errors.install(api)

    @api.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/web/", status_code=307)

    return api


def from_environment() -> FastAPI:
    return create_site(ApiSettings())


#: every user of the demo portfolio (``govflow/data/demo-portfolio.yaml``)
DEMO_USERS = ("wang", "li", "zhao", "zhou", "chen", "lin", "xu", "pingshen", "qian", "zheng", "admin")


def seed_demo(app: App, password: str, users: tuple[str, ...] = DEMO_USERS) -> None:
    """Load the demo portfolio into an empty, migrated database and give ``users`` the same password."""
    services.load_portfolio(app, demo_portfolio(), None)
    for name in users:
        auth.set_password(app, None, name, password)

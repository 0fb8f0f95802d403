"""The server-rendered zh-CN (and English) dashboard per role (SPEC §5): ``web_router`` mounts under ``/web``.

It signs people in with the REST API's session cookie (:mod:`govflow.api.deps`), so one sign-in serves both,
and calls the same use cases as the CLI and the API; it never writes a table itself.
"""

from fastapi import APIRouter

from govflow.web.account import router as _account_router
from govflow.web.admin_pages import router as _admin_router
from govflow.web.orders import router as _orders_router
from govflow.web.oversight import router as _oversight_router
from govflow.web.prepare import router as _prepare_router
from govflow.web.routes import router as _pages_router

web_router = APIRouter()
web_router.include_router(_pages_router)
web_router.include_router(_prepare_router)
web_router.include_router(_orders_router)
web_router.include_router(_oversight_router)
web_router.include_router(_admin_router)
web_router.include_router(_account_router)

__all__ = ["web_router"]

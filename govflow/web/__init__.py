"""The server-rendered zh-CN (and English) dashboard per role (SPEC §5): ``web_router`` mounts under ``/web``.

It signs people in with the REST API's session cookie (:mod:`govflow.api.deps`), so one sign-in serves both,
and calls the same use cases as the CLI and the API; it never writes a table itself.
"""

from govflow.web.routes import router as web_router

__all__ = ["web_router"]

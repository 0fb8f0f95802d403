"""The REST API (FastAPI): every route calls one use case of the service layer, which checks permissions."""

from govflow.api.app import create_app
from govflow.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]

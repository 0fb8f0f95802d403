"""Settings of the web entry point: the base :class:`~govflow.settings.Settings` plus what only a server needs.

Read once where the server starts (``govflow serve``) and handed to :func:`govflow.api.create_app`.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from govflow.governance import anchoring
from govflow.settings import Settings, weak_secret
from govflow.states.errors import UsageError

#: the shipped value of ``GOVFLOW_SECRET_KEY``: fine on a developer's machine, refused in production
PLACEHOLDER_SECRET = "change-me-insecure-development-secret"


class ApiSettings(Settings):
    #: signs session cookies; in production a random value of at least 32 characters (``openssl rand -hex 32``)
    secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    #: how long a browser session lasts after sign-in, seconds
    session_max_age: int = Field(default=8 * 3600, ge=60, le=7 * 24 * 3600)
    #: largest accepted upload (catalog, evidence, portfolio), bytes
    upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)

    def check_production(self) -> None:
        """Refuse to serve production with a secret anybody can read in the source or guess, or without the
        audit anchor the audit pages verify the chain against (a random key, never in the database)."""
        if not self.production:
            return
        secret = self.secret_key.get_secret_value()
        if weak_secret(secret, (PLACEHOLDER_SECRET,)):
            raise UsageError(
                "生产模式（GOVFLOW_PRODUCTION=1）须设置随机的 GOVFLOW_SECRET_KEY（至少 32 个字符，"
                "如 openssl rand -hex 32 的输出）",
                "production mode (GOVFLOW_PRODUCTION=1) needs a random GOVFLOW_SECRET_KEY of at least 32 "
                "characters (e.g. the output of openssl rand -hex 32)",
            )
        anchoring.setup(self)

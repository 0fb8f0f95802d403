"""Language of a response: ``Accept-Language`` picks zh-CN or English, the settings decide otherwise."""

from __future__ import annotations

from starlette.requests import HTTPConnection

SUPPORTED = ("zh", "en")


def negotiate(header: str | None, default: str = "zh") -> str:
    """The supported language the client prefers most (``en-GB;q=0.8, zh;q=0.9`` → ``zh``)."""
    best, best_q = default if default in SUPPORTED else "zh", -1.0
    for part in (header or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if lang in SUPPORTED and q > best_q and q > 0:
            best, best_q = lang, q
    return best


def request_lang(conn: HTTPConnection) -> str:
    default = getattr(conn.app.state, "default_lang", "zh")
    return negotiate(conn.headers.get("accept-language"), default)

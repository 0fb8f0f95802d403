"""What a notification is and what sending one promises (the port the dispatch flow talks to).

A :class:`Notifier` delivers one rendered :class:`Notice` to channel URLs (apprise URLs in production, anything
in tests). It makes exactly one attempt per channel and never retries on its own: retries, backoff and the
"never twice once delivered" bookkeeping belong to the outbox (``govflow.governance.dispatch``), which can see the database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Notice:
    """One rendered message for the people holding ``role`` (one outbox row)."""

    key: str
    topic: str
    role: str
    title: str
    body: str
    project: str | None = None


class DeliveryFailed(Exception):
    """At least one channel did not accept the notice.

    ``reason`` is safe to store and show (no tokens or passwords); ``delivered`` lists the channels of the call
    that did accept it, so that a retry can leave them out instead of notifying them a second time.
    """

    def __init__(self, reason: str, delivered: Iterable[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delivered = tuple(delivered)


class Notifier(Protocol):
    def send(self, message: Notice, channels: Sequence[str]) -> None:
        """Deliver ``message`` to every channel, one attempt each; raise :class:`DeliveryFailed` unless all
        of them accepted it."""
        ...


def channel_id(url: str) -> str:
    """A stable name for a channel that reveals nothing of its URL (which usually holds a token)."""
    return "ch-" + hashlib.sha256(url.encode()).hexdigest()[:12]


#: schemes whose host part is an ordinary server name (safe to show); for the others the "host" is the token
_HOST_SCHEMES = frozenset(
    {"mailto", "mailtos", "json", "jsons", "form", "forms", "xml", "xmls", "http", "https"}
)
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*)://[^\s'\"<>]+", re.IGNORECASE)
_SECRET_PARAM = re.compile(r"((?:access_token|token|key|secret|password|pass|sign)=)[^&\s]+", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``scheme://host[:port]`` for server URLs (user, password, path and query dropped), ``scheme://***``
    for token URLs such as ``dingtalk://TOKEN``; always followed by the :func:`channel_id`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return f"***（{channel_id(url)}）"
    shown = "***"
    if scheme.lower() in _HOST_SCHEMES:
        hostport = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
        shown = hostport or "***"
    return f"{scheme.lower()}://{shown}（{channel_id(url)}）"


def scrub(text: str) -> str:
    """Remove URLs and token-like query parameters from a message before it is stored or shown."""
    text = _URL.sub(lambda m: f"{m.group(1).lower()}://…", text)
    return _SECRET_PARAM.sub(r"\1***", text)

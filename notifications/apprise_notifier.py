"""The apprise adapter: the only module that imports apprise (tests/unit/test_architecture.py keeps it so).

One attempt per channel and no retries of apprise's own (``default_service_retry=0``; the channel file refuses
``retry=`` and ``optional=yes``, which would hide a failure): the outbox owns retries and backoff. Each channel
gets its own cached :class:`apprise.Apprise` so that a partial failure names the channels that did accept.

Time limits: ``timeout_seconds`` bounds every send twice over — as the asset's per-service budget and as the
``notify(timeout=…)`` call limit. Below that, HTTP channels (json://, form://, dingtalk://, wecombot://,
feishu://) use apprise's socket timeouts ``cto=`` / ``rto=`` (4 s each unless the URL says otherwise), and
mailto:// uses ``cto=`` (15 s) for the whole SMTP conversation.

Receivers can drop repeats (the outbox delivers at least once): every notice carries its stable message key.
Webhooks (json://, form://, xml://) get it as the HTTP header ``X-Govflow-Message-Key`` and as the payload field
``govflow_message_key``; e-mail as the header ``X-Govflow-Message-Key``; every channel, those without headers
(dingtalk://, wecombot://, feishu://) included, in the text's last line (消息编号 … / message key …). The
header value is the key percent-encoded as UTF-8 (an ASCII key reads as itself). Apprise's own URL syntax adds
them (``+Header=value``, ``:field=value``), on a copy of the channel URL made for the message.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

with warnings.catch_warnings():
    # apprise's e-mail plugin imports imghdr (for PGPy), deprecated on Python 3.11-3.12: import it once, quietly,
    # so that the first mailto:// channel does not raise a DeprecationWarning inside a send.
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):
        import imghdr  # noqa: F401

import apprise

from govflow.notifications.base import DeliveryFailed, Notice, mask_url, scrub
from govflow.notifications.config import NotifyConfig
from govflow.states.errors import UsageError

log = logging.getLogger(__name__)

#: the HTTP / mail header and the webhook payload field that carry a notice's message key
KEY_HEADER = "X-Govflow-Message-Key"
KEY_FIELD = "govflow_message_key"
_HEADER_SCHEMES = frozenset({"json", "jsons", "form", "forms", "xml", "xmls", "mailto", "mailtos"})
_PAYLOAD_SCHEMES = frozenset({"json", "jsons", "form", "forms", "xml", "xmls"})


def header_value(key: str) -> str:
    """The key as a header value: percent-encoded UTF-8 except printable ASCII (an ASCII key is unchanged)."""
    return quote(key, safe="/:@!$&'()*+,;=-._~")


def _url_value(text: str) -> str:
    """``text`` as a value of an apprise URL parameter: apprise 2 unquotes ``+`` and ``:`` values twice (when it
    parses the URL and again in the plugin), so it is quoted twice (tests/integration/test_dispatch.py checks
    what arrives)."""
    return quote(quote(text, safe=""), safe="")


def keyed_url(url: str, key: str) -> str:
    """``url`` with the message key added as a header (and a payload field) where the channel has them."""
    scheme = url.partition("://")[0].lower()
    if scheme not in _HEADER_SCHEMES:
        return url
    # the header gets the key percent-encoded (headers are ASCII), the payload the key itself
    extra = [f"+{KEY_HEADER}={_url_value(header_value(key))}"]
    if scheme in _PAYLOAD_SCHEMES:
        extra.append(f":{KEY_FIELD}={_url_value(key)}")
    base, hash_, fragment = url.partition("#")
    joined = base + ("&" if "?" in base else "?") + "&".join(extra)
    return joined + hash_ + fragment


class AppriseNotifier:
    def __init__(self, *, timeout_seconds: float = 30.0) -> None:
        self.timeout_seconds = timeout_seconds
        self._asset = apprise.AppriseAsset(
            storage_mode="memory",  # no cache files on the server
            service_timeout=timeout_seconds,
            async_mode=False,
            default_service_retry=0,
        )
        self._cache: dict[str, apprise.Apprise] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: NotifyConfig) -> AppriseNotifier:
        """A notifier for a channel file, refusing it (:class:`UsageError`) if apprise cannot use a URL."""
        notifier = cls(timeout_seconds=config.timeout_seconds)
        notifier.check(config)
        return notifier

    def check(self, config: NotifyConfig) -> None:
        problems = [
            f"  - roles.{where}[{i}]：apprise 无法识别渠道地址 {mask_url(url)}（令牌格式或参数有误）"
            for where, urls in config.all_channels().items()
            for i, url in enumerate(urls)
            if self._apprise_for(url) is None
        ]
        if problems:
            raise UsageError(
                f"通知渠道配置文件 {config.source} 无效，未采用：\n" + "\n".join(problems),
                f"notification channel file {config.source} is invalid: apprise cannot use some URLs\n"
                + "\n".join(
                    p.replace("：apprise 无法识别渠道地址", ": apprise cannot use") for p in problems
                ),
            )

    def send(self, message: Notice, channels: Sequence[str]) -> None:
        delivered: list[str] = []
        problems: list[str] = []
        for url in dict.fromkeys(channels):
            try:
                why = self._send_one(url, message)
            except Exception as exc:  # a plugin bug is a failed send like any other, never a lost message
                why = scrub(f"{type(exc).__name__}: {exc}")
            if why is None:
                delivered.append(url)
            else:
                problems.append(f"{mask_url(url)}：{why}")
        if problems:
            raise DeliveryFailed("；".join(problems), delivered)

    def _send_one(self, url: str, message: Notice) -> str | None:
        """None when the channel accepted the notice, else why not (no secrets)."""
        ap = self._apprise_for(url)
        if ap is None:
            return "apprise 无法识别渠道地址 / apprise cannot use this URL"
        keyed = keyed_url(url, message.key)
        if keyed != url:  # the message's own copy of the channel (not cached: the key differs every time)
            ap = apprise.Apprise(asset=self._asset)
            if not ap.add(keyed):
                return "apprise 无法识别渠道地址 / apprise cannot use this URL"
        result = ap.notify(body=message.body, title=message.title, timeout=self.timeout_seconds)
        try:
            return None if bool(result) else _reason(result)
        finally:
            close = getattr(
                result, "close", None
            )  # apprise 2 results hold log files; apprise 1 returned a bool
            if callable(close):
                close()

    def _apprise_for(self, url: str) -> apprise.Apprise | None:
        with self._lock:
            if url not in self._cache:
                ap = apprise.Apprise(asset=self._asset)
                if not ap.add(url):
                    return None
                self._cache[url] = ap
            return self._cache[url]


def _reason(result: Any) -> str:
    """The overall status and what apprise logged about it (masked by apprise's secure logging, scrubbed
    again here)."""
    if not hasattr(result, "logs"):
        return "FAILURE"
    messages = list(dict.fromkeys(e.message for e in result.logs() if e.level in ("WARNING", "ERROR")))
    text = result.status.name + (": " + " | ".join(messages[:3]) if messages else "")
    return scrub(str(text))[:500]

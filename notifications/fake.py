"""A recording :class:`~notifications.base.Notifier` for tests (a fake, not a mock: it keeps the contract).

fake = FakeNotifier()
fake.fail("通道故障")                # every channel refuses from now on
fake.fail("down", channels={"json://b"})  # only these channels refuse
fake.heal()
fake.keys()                          # keys delivered, in order, once per channel
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from govflow.notifications.base import DeliveryFailed, Notice


@dataclass(frozen=True)
class Delivery:
    channel: str
    notice: Notice


class FakeNotifier:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.attempts: list[tuple[str, tuple[str, ...]]] = []  # (key, channels) of every send call
        self._reason: str | None = None
        self._failing: frozenset[str] | None = None  # None: all channels, when failing
        self._lock = threading.Lock()

    def fail(
        self, reason: str = "模拟故障 / simulated outage", channels: Iterable[str] | None = None
    ) -> None:
        with self._lock:
            self._reason = reason
            self._failing = None if channels is None else frozenset(channels)

    def heal(self) -> None:
        with self._lock:
            self._reason, self._failing = None, None

    def send(self, message: Notice, channels: Sequence[str]) -> None:
        with self._lock:
            self.attempts.append((message.key, tuple(channels)))
            refused = [c for c in channels if self._refuses(c)]
            accepted = [c for c in channels if c not in refused]
            self.deliveries.extend(Delivery(c, message) for c in accepted)
            reason = self._reason
        if refused:
            raise DeliveryFailed(f"{reason}（{len(refused)} 个渠道）", accepted)

    def _refuses(self, channel: str) -> bool:
        return self._reason is not None and (self._failing is None or channel in self._failing)

    def keys(self, channel: str | None = None) -> list[str]:
        with self._lock:
            return [d.notice.key for d in self.deliveries if channel is None or d.channel == channel]

    def notices(self, channel: str | None = None) -> list[Notice]:
        with self._lock:
            return [d.notice for d in self.deliveries if channel is None or d.channel == channel]

"""Messages that must go out once: a key is claimed in the `notifications` table before posting, settled with the
Slack ts after, and released if Slack refused, so a retry can post it and a replay cannot post it twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.store import Store


class SentOnce:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def sent(self, key: str) -> bool:
        return self.store.notifications.sent(key)

    def claim(self, key: str, channel: str = "") -> bool:
        """True for the one caller that may post this message."""
        return self.store.notifications.claim(key, channel, self.clock())

    def settle(self, key: str, ts: str) -> None:
        self.store.notifications.settle(key, ts)

    def release(self, key: str) -> None:
        self.store.notifications.release(key)

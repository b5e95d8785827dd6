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
        with self.store.transaction() as db:
            return db.execute("SELECT 1 FROM notifications WHERE key = ?", [key]).fetchone() is not None

    def claim(self, key: str, channel: str = "") -> bool:
        """True for the one caller that may post this message."""
        with self.store.transaction() as db:
            cur = db.execute("INSERT OR IGNORE INTO notifications (key, channel, ts, sent_at) VALUES (?, ?, '', ?)",
                             [key, channel, self.clock().isoformat()])
            return cur.rowcount == 1

    def settle(self, key: str, ts: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE notifications SET ts = ? WHERE key = ?", [ts, key])

    def release(self, key: str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM notifications WHERE key = ?", [key])

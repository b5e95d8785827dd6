"""Messages that must go out once (`notifications`) and the daily digests' ledger (`digest_sends`)."""

from __future__ import annotations

from datetime import date, datetime

from bot.store.engine import Engine, insert_new_sql


class NotificationTables:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- sent once -----------------------------------------------------------------------------------------

    def sent(self, key: str) -> bool:
        return self.engine.one("SELECT 1 FROM notifications WHERE key = ?", [key]) is not None

    def claim(self, key: str, channel: str, at: datetime) -> bool:
        """True for the one caller that may post this message."""
        with self.engine.write() as conn:
            cur = conn.execute(
                insert_new_sql("notifications", ["key", "channel", "ts", "sent_at"], key=["key"]),
                [key, channel, "", at.isoformat()],
            )
            return cur.rowcount == 1

    def settle(self, key: str, ts: str) -> None:
        with self.engine.write() as conn:
            conn.execute("UPDATE notifications SET ts = ? WHERE key = ?", [ts, key])

    def release(self, key: str) -> None:
        with self.engine.write() as conn:
            conn.execute("DELETE FROM notifications WHERE key = ?", [key])

    # ---- digest ledger -------------------------------------------------------------------------------------

    def claim_digest(self, team: str, day: date, recipient: str, now: datetime) -> bool:
        """True when this caller may send (never claimed, or the last try failed). Each branch is one statement
        that checks and writes at once, so of replicas claiming together exactly one gets True."""
        with self.engine.write() as conn:
            new = conn.execute(
                insert_new_sql(
                    "digest_sends",
                    ["team", "day", "recipient", "state", "claimed_at", "error"],
                    key=["team", "day", "recipient"],
                ),
                [team, day.isoformat(), recipient, "sending", now.isoformat(), ""],
            )
            if new.rowcount == 1:
                return True
            retry = conn.execute(
                "UPDATE digest_sends SET state = 'sending', claimed_at = ?, error = '' "
                "WHERE team = ? AND day = ? AND recipient = ? AND state = 'failed'",
                [now.isoformat(), team, day.isoformat(), recipient],
            )
            return bool(retry.rowcount == 1)

    def finish_digest(
        self, team: str, day: date, recipient: str, *, state: str, now: datetime, channel: str, ts: str, error: str
    ) -> None:
        with self.engine.write() as conn:
            conn.execute(
                "UPDATE digest_sends SET state = ?, channel = ?, ts = ?, sent_at = ?, error = ? "
                "WHERE team = ? AND day = ? AND recipient = ?",
                [state, channel, ts, now.isoformat(), error[:500], team, day.isoformat(), recipient],
            )

    def digest_states(self, team: str, day: date) -> dict[str, str]:
        rows = self.engine.all(
            "SELECT recipient, state FROM digest_sends WHERE team = ? AND day = ?", [team, day.isoformat()]
        )
        return {r[0]: r[1] for r in rows}

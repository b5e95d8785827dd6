"""Small state beside the mirror: per-account read times, named watermarks, the Slack user cache, the Slack
event ids already taken, what the database is (`meta`) and the Desk accounts Throughline created (`desk_links`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.store.engine import Engine, insert_new_sql, upsert_sql


class StateTables:
    """Mixed into `Store`."""

    engine: Engine

    def mark_fetched(self, account_id: str, at: datetime) -> None:
        with self.engine.write() as conn:
            conn.execute(
                upsert_sql("account_fetches", ["account_id", "fetched_at"], key=["account_id"]),
                [account_id, at.isoformat()],
            )

    def fetched_at(self, account_id: str) -> datetime | None:
        row = self.engine.one("SELECT fetched_at FROM account_fetches WHERE account_id = ?", [account_id])
        return datetime.fromisoformat(row[0]) if row else None

    def get_watermark(self, name: str) -> str | None:
        row = self.engine.one("SELECT value FROM watermarks WHERE name = ?", [name])
        return row[0] if row else None

    def set_watermark(self, name: str, value: str) -> None:
        with self.engine.write() as conn:
            conn.execute(upsert_sql("watermarks", ["name", "value"], key=["name"]), [name, value])

    def delete_watermark(self, name: str) -> None:
        with self.engine.write() as conn:
            conn.execute("DELETE FROM watermarks WHERE name = ?", [name])

    def slack_user_for(self, email: str) -> tuple[str | None, datetime] | None:
        """(user id or None for "no Slack user", when we asked), or None when never asked."""
        row = self.engine.one("SELECT user_id, fetched_at FROM slack_users WHERE email = ?", [email.strip().lower()])
        return (row[0] or None, datetime.fromisoformat(row[1])) if row else None

    def remember_slack_user(self, email: str, user_id: str | None, at: datetime) -> None:
        with self.engine.write() as conn:
            conn.execute(
                upsert_sql("slack_users", ["email", "user_id", "fetched_at"], key=["email"]),
                [email.strip().lower(), user_id or "", at.isoformat()],
            )

    def slack_email_for(self, user_id: str) -> str:
        """The email a Slack user was last seen with in owner look-ups ("" if never)."""
        row = self.engine.one(
            "SELECT email FROM slack_users WHERE user_id = ? ORDER BY fetched_at DESC LIMIT 1", [user_id]
        )
        return str(row[0]) if row else ""

    def remember_slack_event(self, event_id: str, at: datetime) -> bool:
        """True the first time `event_id` is seen."""
        with self.engine.write() as conn:
            cur = conn.execute(
                insert_new_sql("slack_event_ids", ["event_id", "received_at"], key=["event_id"]),
                [event_id[:200], at.isoformat()],
            )
            return cur.rowcount == 1

    def prune_slack_events(self, before: datetime) -> int:
        with self.engine.write() as conn:
            return int(conn.execute("DELETE FROM slack_event_ids WHERE received_at < ?", [before.isoformat()]).rowcount)

    # ---- what the database is (bot/db_identity.py) --------------------------------------------------------------
    def meta_values(self, keys: Sequence[str]) -> dict[str, str]:
        marks = ", ".join("?" for _ in keys)
        return {
            str(k): str(v)
            for k, v in self.engine.all(f"SELECT key, value FROM meta WHERE key IN ({marks})", list(keys))
        }

    def set_meta(self, values: dict[str, str]) -> None:
        with self.engine.write() as conn:
            for key, value in values.items():
                conn.execute(upsert_sql("meta", ["key", "value"], key=["key"]), [key, value])

    # ---- Desk accounts Throughline created (desk_links) ----------------------------------------------------------
    def record_desk_link(self, crm_account_id: str, desk_account_id: str, at: datetime) -> None:
        with self.engine.write() as conn:
            conn.execute(
                upsert_sql("desk_links", ["crm_account_id", "desk_account_id", "created_at"], key=["crm_account_id"]),
                [crm_account_id, desk_account_id, at.isoformat()],
            )

    def desk_link(self, crm_account_id: str) -> str | None:
        """The Desk account id Throughline created for this CRM account, or None."""
        row = self.engine.one("SELECT desk_account_id FROM desk_links WHERE crm_account_id = ?", [crm_account_id])
        return str(row[0]) if row else None

    def desk_links(self) -> dict[str, str]:
        """Every link Throughline recorded: Desk account id → CRM account id."""
        return {str(d): str(c) for c, d in self.engine.all("SELECT crm_account_id, desk_account_id FROM desk_links")}

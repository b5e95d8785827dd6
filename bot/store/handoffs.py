"""The handoffs table and its write-ahead log of Zoho writes (`zoho_writes`). Rows go in and come out by column
name, as dicts; the handoff feature (bot.handoff.repo) owns what the values mean."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bot.store.engine import Engine, insert_new_sql, marks

HANDOFF_COLUMNS = (
    "deal_id", "account_id", "state", "kind", "plan", "missing", "owner_email", "finance_channel", "finance_ts",
    "support_ts", "books_customer_id", "document_id", "document_number", "desk_account_id", "desk_contact_id",
    "error", "approved_by", "approved_at", "rejected_by", "rejected_reason", "created_at", "updated_at", "version",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(HANDOFF_COLUMNS)} FROM handoffs"


class HandoffTables:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, deal_id: str) -> dict[str, Any] | None:
        row = self.engine.one(f"{_SELECT} WHERE deal_id = ?", [deal_id])
        return dict(row) if row else None

    def in_states(self, states: Iterable[str]) -> list[dict[str, Any]]:
        states = list(states)
        return [
            dict(r)
            for r in self.engine.all(f"{_SELECT} WHERE state IN ({marks(len(states))}) ORDER BY created_at", states)
        ]

    def of_account(self, account_id: str, states: Iterable[str]) -> list[dict[str, Any]]:
        states = list(states)
        return [
            dict(r)
            for r in self.engine.all(
                f"{_SELECT} WHERE account_id = ? AND state IN ({marks(len(states))}) ORDER BY created_at",
                [account_id, *states],
            )
        ]

    def rows(
        self,
        *,
        state: str | None = None,
        owner_email: str | None = None,
        limit: int = -1,
        changed_around: tuple[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Most recently changed first, optionally one state or one deal owner's. `changed_around` (first, last ISO
        dates): only those last changed from the day before `first` to the day after `last` (as stored: ISO text
        whatever its offset, so a day's margin each side; the caller checks the exact day)."""
        where: list[str] = []
        params: list[Any] = []
        if state is not None:
            where.append("state = ?")
            params.append(state)
        if changed_around is not None:
            first, last = (date.fromisoformat(d) for d in changed_around)
            where.append("updated_at >= ? AND updated_at < ?")
            params += [(first - timedelta(days=1)).isoformat(), (last + timedelta(days=2)).isoformat()]
        if owner_email is not None:
            where.append("owner_email = ?")
            params.append(owner_email.strip().lower())
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY updated_at DESC, deal_id"
        if limit >= 0:
            sql += " LIMIT ?"
            params.append(limit)
        return [dict(r) for r in self.engine.all(sql, params)]

    def thread_for(self, deal_id: str, account_id: str) -> dict[str, Any] | None:
        """The handoff whose Slack messages a notice about this deal (or else its account) belongs under."""
        row = self.engine.one(
            "SELECT deal_id, finance_channel, finance_ts, support_ts FROM handoffs "
            "WHERE (deal_id = ? OR (account_id = ? AND account_id != '')) AND (finance_ts != '' OR support_ts != '') "
            "ORDER BY CASE WHEN deal_id = ? THEN 0 ELSE 1 END, updated_at DESC LIMIT 1",
            [deal_id, account_id, deal_id],
        )
        return dict(row) if row else None

    def create(self, row: Mapping[str, Any]) -> bool:
        """Insert unless one exists for the deal; True when this call created it."""
        columns = list(row)
        with self.engine.write() as conn:
            cur = conn.execute(insert_new_sql("handoffs", columns, key=["deal_id"]), [row[c] for c in columns])
            return cur.rowcount == 1

    def insert_many(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rows as given, replacing any for the same deals (tests and benchmarks set up handoffs this way)."""
        with self.engine.write() as conn:
            for row in rows:
                conn.execute("DELETE FROM handoffs WHERE deal_id = ?", [row["deal_id"]])
                conn.execute(f"INSERT INTO handoffs ({', '.join(row)}) VALUES ({marks(len(row))})", list(row.values()))

    def update(self, deal_id: str, changes: Mapping[str, Any], expect: Sequence[str] | None) -> dict[str, Any] | None:
        """Apply `changes` if the handoff is in one of `expect` (any state when None); the new row or None. The
        check and the write are one statement, so concurrent callers cannot both pass the check."""
        unknown = set(changes) - set(HANDOFF_COLUMNS)
        if unknown:
            raise ValueError(f"not handoff columns: {sorted(unknown)}")
        sets = ", ".join(f"{k} = ?" for k in changes) + ", version = version + 1"
        sql = f"UPDATE handoffs SET {sets} WHERE deal_id = ?"
        params = [*changes.values(), deal_id]
        if expect is not None:
            sql += f" AND state IN ({marks(len(expect))})"
            params += list(expect)
        with self.engine.write() as conn:
            if conn.execute(sql, params).rowcount != 1:
                return None
            row = conn.execute(f"{_SELECT} WHERE deal_id = ?", [deal_id]).fetchone()
        return dict(row)

    def claim(
        self,
        deal_id: str,
        changes: Mapping[str, Any],
        expect: Sequence[str],
        expired_in: Sequence[str],
        at: datetime,
        until: datetime,
    ) -> dict[str, Any] | None:
        """As `update`, from a state in `expect`, or in `expired_in` when the last claim ran out by `at`; the
        caller holds the handoff until `until`. One statement: of replicas claiming at once, one gets the row."""
        unknown = set(changes) - set(HANDOFF_COLUMNS)
        if unknown:
            raise ValueError(f"not handoff columns: {sorted(unknown)}")
        sets = ", ".join(f"{k} = ?" for k in changes) + ", claimed_until = ?, version = version + 1"
        sql = (
            f"UPDATE handoffs SET {sets} WHERE deal_id = ? AND (state IN ({marks(len(expect))}) "
            f"OR (state IN ({marks(len(expired_in))}) AND claimed_until <= ?))"
        )
        params = [*changes.values(), until.isoformat(), deal_id, *expect, *expired_in, at.isoformat()]
        with self.engine.write() as conn:
            if conn.execute(sql, params).rowcount != 1:
                return None
            row = conn.execute(f"{_SELECT} WHERE deal_id = ?", [deal_id]).fetchone()
        return dict(row)

    # ---- write-ahead log of Zoho writes -------------------------------------------------------------------

    def step(self, key: str) -> dict[str, Any] | None:
        row = self.engine.one("SELECT key, step, state, result_id FROM zoho_writes WHERE key = ?", [key])
        return dict(row) if row else None

    def step_started(self, key: str, deal_id: str, step: str, at: datetime) -> None:
        with self.engine.write() as conn:
            conn.execute(
                insert_new_sql("zoho_writes", ["key", "deal_id", "step", "state", "started_at"], key=["key"]),
                [key, deal_id, step, "started", at.isoformat()],
            )

    def step_done(self, key: str, result_id: str, at: datetime) -> None:
        with self.engine.write() as conn:
            conn.execute(
                "UPDATE zoho_writes SET state = 'done', result_id = ?, finished_at = ? WHERE key = ?",
                [result_id, at.isoformat(), key],
            )

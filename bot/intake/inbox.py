"""The webhook inbox: every delivery is stored here before it is acknowledged, then processed in the background.

States: `pending` (waiting for its first try), `failed` (a try raised; retried at `next_attempt_at` with
exponential backoff, or never again once `next_attempt_at` is empty after MAX_ATTEMPTS), `done`, and
`rejected` (a delivery refused at the door — wrong secret, bad body, unknown type — kept for the record and
never processed). `(source, identity)` is unique, so a replayed delivery is stored once.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from bot.store import Store

State = Literal["pending", "failed", "done", "rejected"]
STATES: tuple[State, ...] = ("pending", "failed", "done", "rejected")
MAX_ATTEMPTS = 10
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
ERROR_CHARS = 2000

_COLUMNS = "id, source, identity, received_at, body, state, attempts, next_attempt_at, error, processed_at"


@dataclass(frozen=True)
class InboxEntry:
    id: int
    source: str
    identity: str
    received_at: datetime
    body: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    error: str
    processed_at: datetime | None

    def json(self) -> Any:
        return json.loads(self.body)


def backoff(attempts: int) -> timedelta:
    """Wait before try number `attempts + 1`: 30 s, 1 min, 2 min, … capped at an hour."""
    return min(FIRST_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _entry(row: tuple[Any, ...]) -> InboxEntry:
    def when(v: str | None) -> datetime | None:
        return datetime.fromisoformat(v) if v else None

    return InboxEntry(int(row[0]), row[1], row[2], datetime.fromisoformat(row[3]), row[4], row[5], int(row[6]),
                      when(row[7]), row[8] or "", when(row[9]))


SECRET_KEYS = frozenset({"token", "secret", "webhook_secret", "access_token", "refresh_token", "client_secret"})
MASK = "***"
_SECRET_IN_TEXT = re.compile(r"""((?:token|secret)["']?\s*[:=]\s*["']?)[^"'&\s,}]+""", re.IGNORECASE)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if str(k).lower() in SECRET_KEYS and v not in (None, "") else _masked(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def without_secrets(text: str) -> str:
    """The body with every secret-bearing field masked (CRM notifications carry the webhook secret as `token`):
    JSON and forms field by field, anything else by pattern. Stored bodies and `inbox show` go through this."""
    try:
        return json.dumps(_masked(json.loads(text)), sort_keys=True) if text.strip() else text
    except (ValueError, RecursionError):
        pass
    if "=" in text and "\n" not in text and " " not in text:
        pairs = parse_qsl(text, keep_blank_values=True)
        if pairs:
            return urlencode([(k, MASK if k.lower() in SECRET_KEYS and v else v) for k, v in pairs])
    return _SECRET_IN_TEXT.sub(lambda m: m.group(1) + MASK, text)


def _text(body: str | bytes | Any) -> str:
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    if isinstance(body, str):
        return body
    return json.dumps(body, default=str, sort_keys=True)


class Inbox:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def add(self, source: str, identity: str, body: str | bytes | Any) -> bool:
        """Store a delivery durably (committed when this returns). False when (source, identity) was already
        stored: a replay, not processed again."""
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO inbox (source, identity, received_at, body, state) VALUES (?, ?, ?, ?, ?)",
                [source, identity, self.clock().isoformat(), _text(body), "pending"])
            return cur.rowcount == 1

    def add_many(self, source: str, items: Sequence[tuple[str, str | bytes | Any]], *,
                 state: Literal["pending", "done"] = "pending") -> int:
        """Several (identity, body) of one delivery in one transaction; answers how many were new. With
        state "done" the entries are only marked as seen (a baseline), never processed."""
        now = self.clock().isoformat()
        added = 0
        with self.store.transaction() as db:
            for identity, body in items:
                cur = db.execute(
                    "INSERT OR IGNORE INTO inbox (source, identity, received_at, body, state, processed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [source, identity, now, _text(body), state, now if state == "done" else None])
                added += cur.rowcount
        return added

    def reject(self, source: str, body: str | bytes | Any, error: str, *, authenticated: bool = True) -> int:
        """Record a refused delivery (never processed); answers its id.

        The body is kept with its secret-bearing fields masked (`without_secrets`). A delivery that did not
        present the secret is anyone's: its body is not kept, and such refusals are
        counted in one row per source, status and minute (in `attempts`), so a flood cannot grow the database.
        """
        now = self.clock()
        if not authenticated:
            identity = f"rejected-unauthenticated:{error[:3]}:{now:%Y-%m-%dT%H:%M}"
            with self.store.transaction() as db:
                db.execute("INSERT OR IGNORE INTO inbox (source, identity, received_at, body, state, error, attempts) "
                           "VALUES (?, ?, ?, '', 'rejected', ?, 0)", [source, identity, now.isoformat(),
                                                                     error[:ERROR_CHARS]])
                db.execute("UPDATE inbox SET attempts = attempts + 1 WHERE source = ? AND identity = ?",
                           [source, identity])
                row = db.execute("SELECT id FROM inbox WHERE source = ? AND identity = ?",
                                 [source, identity]).fetchone()
            return int(row[0])
        identity = f"rejected:{now.isoformat()}:{secrets.token_hex(4)}"
        text = without_secrets(_text(body)[:20_000])  # a refused CRM delivery may carry the secret as `token`
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO inbox (source, identity, received_at, body, state, error) "
                "VALUES (?, ?, ?, ?, 'rejected', ?)", [source, identity, self.clock().isoformat(), text,
                                                      error[:ERROR_CHARS]])
            return int(cur.lastrowid or 0)

    def pending(self, now: datetime | None = None, limit: int = 100) -> list[InboxEntry]:
        """Entries due for a try at `now`: pending ones, and failed ones whose backoff has passed; oldest first."""
        at = (now or self.clock()).isoformat()
        with self.store.transaction() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM inbox WHERE state = 'pending' "
                "OR (state = 'failed' AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?) "
                "ORDER BY id LIMIT ?", [at, limit]).fetchall()
        return [_entry(r) for r in rows]

    def next_due(self) -> datetime | None:
        """When the earliest failed entry may be retried (None if nothing waits)."""
        with self.store.transaction() as db:
            row = db.execute("SELECT min(next_attempt_at) FROM inbox WHERE state = 'failed'").fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def mark_done(self, entry_id: int) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE inbox SET state = 'done', attempts = attempts + 1, error = NULL, "
                       "next_attempt_at = NULL, processed_at = ? WHERE id = ?", [self.clock().isoformat(), entry_id])

    def mark_failed(self, entry_id: int, error: str) -> InboxEntry | None:
        """Keep the entry with its error; schedule the next try with backoff (none after MAX_ATTEMPTS)."""
        with self.store.transaction() as db:
            row = db.execute("SELECT attempts FROM inbox WHERE id = ?", [entry_id]).fetchone()
            if row is None:
                return None
            attempts = int(row[0]) + 1
            now = self.clock()
            retry = (now + backoff(attempts)).isoformat() if attempts < MAX_ATTEMPTS else None
            db.execute("UPDATE inbox SET state = 'failed', attempts = ?, error = ?, next_attempt_at = ?, "
                       "processed_at = ? WHERE id = ?", [attempts, error[:ERROR_CHARS], retry, now.isoformat(),
                                                        entry_id])
        return self.get(entry_id)

    def list(self, state: str | None = None, limit: int = 50) -> list[InboxEntry]:
        """Newest first, optionally one state."""
        sql = f"SELECT {_COLUMNS} FROM inbox"
        params: list[Any] = []
        if state:
            sql += " WHERE state = ?"
            params.append(state)
        sql += " ORDER BY id DESC LIMIT ?"
        with self.store.transaction() as db:
            rows = db.execute(sql, [*params, limit]).fetchall()
        return [_entry(r) for r in rows]

    def get(self, entry_id: int) -> InboxEntry | None:
        with self.store.transaction() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM inbox WHERE id = ?", [entry_id]).fetchone()
        return _entry(row) if row else None

    def replay(self, entry_id: int) -> bool:
        """Queue an entry to be processed again now (any state but rejected); False if unknown or rejected."""
        with self.store.transaction() as db:
            cur = db.execute("UPDATE inbox SET state = 'pending', next_attempt_at = NULL "
                             "WHERE id = ? AND state != 'rejected'", [entry_id])
            return cur.rowcount == 1

    def replay_failed(self) -> int:
        """Queue every failed entry for a try now; answers how many."""
        with self.store.transaction() as db:
            cur = db.execute("UPDATE inbox SET state = 'pending', next_attempt_at = NULL WHERE state = 'failed'")
            return int(cur.rowcount)

    def counts(self) -> dict[str, int]:
        with self.store.transaction() as db:
            rows = db.execute("SELECT state, count(*) FROM inbox GROUP BY state").fetchall()
        return {state: 0 for state in STATES} | {r[0]: int(r[1]) for r in rows}

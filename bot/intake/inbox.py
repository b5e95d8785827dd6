"""The webhook inbox: every delivery is stored here before it is acknowledged, then processed in the background.

States: `pending` (waiting for its first try), `failed` (a try raised; retried at `next_attempt_at` with
exponential backoff, or never again once `next_attempt_at` is empty after MAX_ATTEMPTS), `done`, and
`rejected` (a delivery refused at the door — wrong secret, bad body, unknown type — kept for the record and
never processed). `(source, identity)` is unique, so a replayed delivery is stored once.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from bot.store import Store
from bot.store.inbox import STATES, InboxEntry, NewEntry, Refusal

__all__ = ["STATES", "Inbox", "InboxEntry", "State", "backoff"]

State = Literal["pending", "failed", "done", "rejected"]
MAX_ATTEMPTS = 10
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
ERROR_CHARS = 2000
# How long a replica holds the entries it claimed: one that dies mid-item leaves them to another after this. Well
# above a batch's processing time (Zoho re-reads and Slack posts, retried), or a slow batch could run twice.
CLAIM_LEASE = timedelta(minutes=2)


def backoff(attempts: int) -> timedelta:
    """Wait before try number `attempts + 1`: 30 s, 1 min, 2 min, … capped at an hour."""
    return min(FIRST_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


SECRET_KEYS = frozenset({"token", "secret", "webhook_secret", "access_token", "refresh_token", "client_secret"})
MASK = "***"
_SECRET_IN_TEXT = re.compile(r"""((?:token|secret)["']?\s*[:=]\s*["']?)[^"'&\s,}]+""", re.IGNORECASE)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: MASK if str(k).lower() in SECRET_KEYS and v not in (None, "") else _masked(v) for k, v in value.items()
        }
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
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"  # this replica's claims

    def claim(self, limit: int = 100) -> list[InboxEntry]:
        """Due entries no other replica holds, now this one's for CLAIM_LEASE; oldest first."""
        now = self.clock()
        # SQLite: one process, whose drains are serialised; a claim from an earlier start is a dead one's.
        expired_by = now if self.store.shared else datetime.max.replace(tzinfo=UTC)
        return self.store.inbox.claim(self.owner, now, now + CLAIM_LEASE, limit, expired_by=expired_by)

    def release(self, entry_ids: Sequence[int]) -> None:
        self.store.inbox.release(self.owner, entry_ids)

    def add(self, source: str, identity: str, body: str | bytes | Any) -> bool:
        """Store a delivery durably (committed when this returns). False when (source, identity) was already
        stored: a replay, not processed again."""
        [added], _ = self.store.inbox.add([NewEntry(source, identity, _text(body))], [], self.clock())
        return added

    def add_many(
        self,
        source: str,
        items: Sequence[tuple[str, str | bytes | Any]],
        *,
        state: Literal["pending", "done"] = "pending",
    ) -> int:
        """Several (identity, body) of one delivery in one transaction; answers how many were new. With
        state "done" the entries are only marked as seen (a baseline), never processed."""
        entries = [NewEntry(source, identity, _text(body), state) for identity, body in items]
        added, _ = self.store.inbox.add(entries, [], self.clock())
        return sum(added)

    async def add_delivery(
        self,
        source: str,
        items: Sequence[tuple[str, str | bytes | Any]],
        refused: Sequence[tuple[str | bytes | Any, str]],
    ) -> int:
        """One webhook delivery: its items (identity, body) and the parts refused (body, reason), committed
        together with concurrent deliveries (group commit) before this returns. Answers how many items were new."""
        entries = [NewEntry(source, identity, body if type(body) is str else _text(body)) for identity, body in items]
        refusals = [self.refusal(source, body, reason) for body, reason in refused] if refused else []
        added, _ = await self.store.inbox.add_durably(entries, refusals, self.clock())
        return sum(added)

    def refusal(self, source: str, body: str | bytes | Any, error: str, *, authenticated: bool = True) -> Refusal:
        """How a refused delivery is kept (see `reject`)."""
        now = self.clock()
        if not authenticated:
            identity = f"rejected-unauthenticated:{error[:3]}:{now:%Y-%m-%dT%H:%M}"
            return Refusal(source, "", error[:ERROR_CHARS], identity, counted=True)
        identity = f"rejected:{now.isoformat()}:{secrets.token_hex(4)}"
        text = without_secrets(_text(body)[:20_000])  # a refused CRM delivery may carry the secret as `token`
        return Refusal(source, text, error[:ERROR_CHARS], identity, counted=False)

    def reject(self, source: str, body: str | bytes | Any, error: str, *, authenticated: bool = True) -> int:
        """Record a refused delivery (never processed); answers its id.

        The body is kept with its secret-bearing fields masked (`without_secrets`). A delivery that did not
        present the secret is anyone's: its body is not kept, and such refusals are
        counted in one row per source, status and minute (in `attempts`), so a flood cannot grow the database.
        """
        _, [entry_id] = self.store.inbox.add(
            [], [self.refusal(source, body, error, authenticated=authenticated)], self.clock()
        )
        return entry_id

    def pending(self, now: datetime | None = None, limit: int = 100) -> list[InboxEntry]:
        """Entries due for a try at `now`: pending ones, and failed ones whose backoff has passed; oldest first."""
        return self.store.inbox.due(now or self.clock(), limit)

    def next_due(self) -> datetime | None:
        """When the earliest failed entry may be retried (None if nothing waits)."""
        return self.store.inbox.next_due()

    def mark_done(self, entry_id: int) -> None:
        self.store.inbox.mark_done([entry_id], self.clock())

    def mark_failed(self, entry_id: int, error: str) -> InboxEntry | None:
        """Keep the entry with its error; schedule the next try with backoff (none after MAX_ATTEMPTS)."""
        now = self.clock()

        def retry_at(attempts: int) -> datetime | None:
            return now + backoff(attempts) if attempts < MAX_ATTEMPTS else None

        if self.store.inbox.mark_failed(entry_id, error[:ERROR_CHARS], now, retry_at) is None:
            return None
        return self.get(entry_id)

    def list(self, state: str | None = None, limit: int = 50) -> list[InboxEntry]:
        """Newest first, optionally one state."""
        return self.store.inbox.list(state, limit)

    def get(self, entry_id: int) -> InboxEntry | None:
        return self.store.inbox.get(entry_id)

    def replay(self, entry_id: int) -> bool:
        """Queue an entry to be processed again now (any state but rejected); False if unknown or rejected."""
        return self.store.inbox.replay(entry_id)

    def replay_failed(self) -> int:
        """Queue every failed entry for a try now; answers how many."""
        return self.store.inbox.replay_failed()

    def counts(self) -> dict[str, int]:
        return self.store.inbox.counts()

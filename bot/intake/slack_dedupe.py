"""Slack deliveries taken once. Events API delivery ids (`slack_event_ids`): the first delivery of an `event_id`
is taken, Slack's retries of it are not (the Bolt middleware in `handlers.slack_events`). Signed requests
(`RequestClaim`): Slack's signature has no nonce, so the same signed request could be sent again within its
five-minute window; each is taken once, its digest kept durably beside the event ids."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.store import Store

KEEP = timedelta(days=2)  # Slack retries within minutes; ids older than this are pruned


def remember_event(store: Store, event_id: str, at: datetime) -> bool:
    """True the first time `event_id` is seen."""
    return store.remember_slack_event(event_id, at)


def prune_event_ids(store: Store, now: datetime) -> int:
    return store.prune_slack_events(now - KEEP)


class RequestClaim:
    """One signed request's claim: `take()` (blocking: on a store thread) writes its key durably the first time it
    is called and answers whether this request is the first with that key; later calls answer the same without
    asking the database again, so whoever holds the claim may take it where it is cheapest (alone, or in the same
    store call as a read it needs anyway)."""

    def __init__(self, store: Store, key: str, at: datetime) -> None:
        self.store = store
        self.key = key
        self.at = at
        self._first: bool | None = None

    @property
    def decided(self) -> bool:
        return self._first is not None

    @property
    def first(self) -> bool:
        """The answer of `take()`; False until it was taken."""
        return bool(self._first)

    def take(self) -> bool:
        if self._first is None:
            self._first = remember_event(self.store, self.key, self.at)
        return self._first

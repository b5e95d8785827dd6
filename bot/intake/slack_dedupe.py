"""Slack Events API delivery ids (`slack_event_ids`): the first delivery of an `event_id` is taken, Slack's
retries of it are not. Used by the Bolt middleware in `handlers.slack_events`."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.store import Store

KEEP = timedelta(days=2)  # Slack retries within minutes; ids older than this are pruned


def remember_event(store: Store, event_id: str, at: datetime) -> bool:
    """True the first time `event_id` is seen."""
    return store.remember_slack_event(event_id, at)


def prune_event_ids(store: Store, now: datetime) -> int:
    return store.prune_slack_events(now - KEEP)

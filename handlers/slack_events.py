"""Slack Events API retries: Slack re-sends an event it thinks we missed (with `X-Slack-Retry-Num`). The
middleware keeps each `event_id` in `slack_event_ids` and lets only its first delivery through — keyed on the
event id alone, so a first delivery that happens to carry a retry header is never dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.store import Store

KEEP = timedelta(days=2)  # Slack retries within minutes; ids older than this are pruned


def remember_event(store: Store, event_id: str, at: datetime) -> bool:
    """True the first time `event_id` is seen."""
    with store.transaction() as db:
        cur = db.execute("INSERT OR IGNORE INTO slack_event_ids (event_id, received_at) VALUES (?, ?)",
                         [event_id[:200], at.isoformat()])
        return cur.rowcount == 1


def prune_event_ids(store: Store, now: datetime) -> int:
    with store.transaction() as db:
        return int(db.execute("DELETE FROM slack_event_ids WHERE received_at < ?",
                              [(now - KEEP).isoformat()]).rowcount)


async def dedupe_slack_events(body: dict[str, Any], context: AsyncBoltContext,
                              next: Callable[[], Awaitable[Any]]) -> Any:
    event_id = body.get("event_id") if isinstance(body, dict) and body.get("type") == "event_callback" else None
    if isinstance(event_id, str) and event_id:
        deps = context["deps"]
        if not await asyncio.to_thread(remember_event, deps.store, event_id, deps.clock()):
            return BoltResponse(status=200, body="")  # a retry of an event already taken
    return await next()

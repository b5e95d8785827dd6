"""Slack Events API retries: Slack re-sends an event it thinks we missed (with `X-Slack-Retry-Num`). This
middleware lets only the first delivery of each `event_id` through — keyed on the event id alone, so a first
delivery that happens to carry a retry header is never dropped. Registered once, in `bot.app.create_bolt`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.intake.slack_dedupe import remember_event


async def dedupe_slack_events(body: dict[str, Any], context: AsyncBoltContext,
                              next: Callable[[], Awaitable[Any]]) -> Any:
    event_id = body.get("event_id") if isinstance(body, dict) and body.get("type") == "event_callback" else None
    if isinstance(event_id, str) and event_id:
        deps = context["deps"]
        if not await asyncio.to_thread(remember_event, deps.store, event_id, deps.clock()):
            return BoltResponse(status=200, body="")  # a retry of an event already taken
    return await next()

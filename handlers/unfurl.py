"""`link_shared` → `chat.unfurl`: Zoho CRM, Books and Desk links become record cards (see `bot.feed.unfurls`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError

from bot.errors import ThroughlineError
from bot.feed.unfurls import Unfurler

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.event("link_shared")(link_shared)


async def link_shared(event: dict[str, Any], context: AsyncBoltContext) -> None:
    deps = context["deps"]
    urls = [str(link.get("url") or "") for link in event.get("links") or [] if isinstance(link, dict)]
    channel = str(event.get("channel") or "")
    unfurler = Unfurler(deps.store, deps.zoho, deps.structure, deps.accounts.links, deps.clock)
    try:
        unfurls = await unfurler.unfurls(channel, urls)
    except ThroughlineError as exc:
        log.warning("unfurl skipped: %s", exc.user_message())
        return
    if not unfurls:
        return
    where: dict[str, Any] = {"channel": channel, "ts": event.get("message_ts")}
    if event.get("unfurl_id") and (not channel or channel == "COMPOSER" or not event.get("message_ts")):
        where = {"unfurl_id": event["unfurl_id"], "source": event.get("source") or "composer"}
    try:
        await deps.slack.chat_unfurl(unfurls=unfurls, **where)
    except SlackApiError as exc:
        log.warning("chat.unfurl failed: %s", exc.response.get("error"))

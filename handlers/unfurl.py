"""`link_shared` → `chat.unfurl`: Zoho CRM, Books and Desk links become record cards (see `bot.feed.unfurls`)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.deps import deps_of


def register(app: AsyncApp) -> None:
    app.event("link_shared")(link_shared)


async def link_shared(event: dict[str, Any], context: AsyncBoltContext) -> None:
    deps = deps_of(context)
    urls = [str(link.get("url") or "") for link in event.get("links") or [] if isinstance(link, dict)]
    channel = str(event.get("channel") or "")
    unfurls = await deps.unfurler.unfurls(channel, urls)  # a failure: one line from the Bolt error handler
    if not unfurls:
        return
    where: dict[str, Any] = {"channel": channel, "ts": event.get("message_ts")}
    if event.get("unfurl_id") and (not channel or channel == "COMPOSER" or not event.get("message_ts")):
        where = {"unfurl_id": event["unfurl_id"], "source": event.get("source") or "composer"}
    await deps.slack.chat_unfurl(unfurls=unfurls, **where)

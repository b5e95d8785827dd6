"""App Home: `app_home_opened` → `views.publish` with the user's accounts, approvals and recent handoffs.

The user's Zoho identity is their Slack email (`SlackDirectory.email_for`). Approver status follows
`[approvers] invoice` (user ids or user-group ids).
"""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import deps_of
from bot.reports.home_service import build_home


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(home_opened)


async def home_opened(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    if event.get("tab", "home") != "home":
        return  # the Messages tab
    deps = deps_of(context)
    user_id = str(event.get("user") or "")
    if not user_id:
        return
    email = await deps.directory.email_for(user_id)  # a failure: one line from the Bolt error handler
    approver = await deps.approval.allowed(user_id, "invoice")
    view = await asyncio.to_thread(build_home, deps, email, approver)
    await client.views_publish(user_id=user_id, view=view)

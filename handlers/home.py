"""App Home: `app_home_opened` → `views.publish` with the user's accounts, approvals and recent handoffs.

The user's Zoho identity is their Slack email (`SlackDirectory.email_for`). Approver status follows
`[approvers] invoice` (user ids or user-group ids).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.reports.home_service import build_home

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(home_opened)


async def home_opened(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    if event.get("tab", "home") != "home":
        return  # the Messages tab
    deps: Deps = context["deps"]
    user_id = str(event.get("user") or "")
    if not user_id:
        return
    try:
        email = await deps.directory.email_for(user_id)
        approver = await deps.approvers.allowed(user_id, deps.structure.approvers.invoice)
        view = await asyncio.to_thread(build_home, deps, email, approver)
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        log.warning("could not publish the Home tab for %s: %s", user_id, exc.response.get("error"))
    except Exception:
        log.exception("building the Home tab for %s failed", user_id)

"""App Home: `app_home_opened` → `views.publish` with the user's accounts, approvals and recent handoffs.

The user's Zoho identity is their Slack email: first from the `slack_users` cache (filled by owner lookups),
else `users.info` (scope users:read.email), remembered for next time. Approver status follows
`[approvers] invoice` (user ids or user-group ids).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps, app_links
from bot.reports.compute import config_from
from bot.reports.data import account_names, accounts_owned_by, deals_by_id, handoffs_for, load_mirror
from bot.reports.home import HomeInput, home_view
from bot.reports.retention import account_health

log = logging.getLogger(__name__)
RECENT = 10


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
        email = await user_email(deps, client, user_id)
        approver = await deps.handoffs.approvers.allowed(user_id, deps.structure.approvers.invoice)
        view = await asyncio.to_thread(build_home, deps, email, approver)
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        log.warning("could not publish the Home tab for %s: %s", user_id, exc.response.get("error"))
    except Exception:
        log.exception("building the Home tab for %s failed", user_id)


def _cached_email(deps: Deps, user_id: str) -> str:
    with deps.store.transaction() as db:
        row = db.execute("SELECT email FROM slack_users WHERE user_id = ? ORDER BY fetched_at DESC LIMIT 1",
                         [user_id]).fetchone()
    return str(row[0]) if row else ""


async def user_email(deps: Deps, client: AsyncWebClient, user_id: str) -> str:
    """The user's email (lower case), "" when Slack will not say."""
    email = await asyncio.to_thread(_cached_email, deps, user_id)
    if email:
        return email
    try:
        answer = await client.users_info(user=user_id)
    except SlackApiError as exc:
        log.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
        return ""
    email = str(((answer.get("user") or {}).get("profile") or {}).get("email") or "").strip().lower()
    if email:
        await asyncio.to_thread(deps.store.remember_slack_user, email, user_id, deps.clock())
    return email


def build_home(deps: Deps, email: str, approver: bool) -> dict[str, Any]:
    """Blocking (SQLite): run in a thread."""
    now = deps.clock()
    tz = deps.structure.tz
    owned = accounts_owned_by(deps.store, email) if email else []
    mine = load_mirror(deps.store, account_ids=owned, handoffs=False)
    waiting, recent = handoffs_for(deps.store, email, approver, RECENT)
    mentioned = [*(waiting or []), *recent]
    rows = account_health(mine, now.astimezone(tz).date(), config_from(deps.structure))
    return home_view(HomeInput(
        email=email, accounts=rows, approvals=waiting, recent=recent,
        deals=deals_by_id(deps.store, [h.deal_id for h in mentioned]), now=now, tz=tz,
        links=app_links(deps.settings, deps.structure),
        account_names=account_names(deps.store, [h.account_id for h in mentioned])))

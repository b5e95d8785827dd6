"""Zoho owner email → Slack user, through `users.lookupByEmail`, cached in the store.

Both hits and misses are cached (a miss for less time), so a card never waits on Slack for an owner it has
already looked up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

HIT_TTL = timedelta(days=7)
MISS_TTL = timedelta(hours=6)


class _UserCache(Protocol):
    def slack_user_for(self, email: str) -> tuple[str | None, datetime] | None: ...

    def remember_slack_user(self, email: str, user_id: str | None, at: datetime) -> None: ...

    def slack_email_for(self, user_id: str) -> str: ...


class SlackDirectory:
    def __init__(self, client: AsyncWebClient, cache: _UserCache, clock: Callable[[], datetime]) -> None:
        self._client = client
        self._cache = cache
        self._clock = clock

    def cached(self, email: str) -> tuple[bool, str | None]:
        """(known, user_id) from the cache alone; known is False when Slack must be asked."""
        if not email:
            return True, None
        entry = self._cache.slack_user_for(email.lower())
        if entry is None:
            return False, None
        user_id, fetched_at = entry
        ttl = HIT_TTL if user_id else MISS_TTL
        if self._clock() - fetched_at > ttl:
            return False, user_id
        return True, user_id

    async def user_id_for(self, email: str) -> str | None:
        known, user_id = self.cached(email)
        if known:
            return user_id
        try:
            answer = await self._client.users_lookupByEmail(email=email)
            user_id = (answer.get("user") or {}).get("id") or None
        except SlackApiError as exc:
            if exc.response.get("error") != "users_not_found":
                return user_id  # Slack trouble: keep whatever we had, try again next time
            user_id = None
        self._cache.remember_slack_user(email.lower(), user_id, self._clock())
        return user_id

    async def mention_for(self, email: str) -> str | None:
        user_id = await self.user_id_for(email)
        return f"<@{user_id}>" if user_id else None

    async def email_for(self, user_id: str) -> str:
        """A Slack user's email (lower case): from the cache the owner look-ups fill, else `users.info`
        (scope users:read.email), remembered for next time; "" when Slack will not say."""
        email = await asyncio.to_thread(self._cache.slack_email_for, user_id)
        if email:
            return email
        try:
            answer = await self._client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
            return ""
        email = str(((answer.get("user") or {}).get("profile") or {}).get("email") or "").strip().lower()
        if email:
            await asyncio.to_thread(self._cache.remember_slack_user, email, user_id, self._clock())
        return email

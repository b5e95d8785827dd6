"""Posting feed notices to Slack: once per key, grouped per account, at most N messages a second per channel.

- **Once**: a notice's key is claimed in the `notifications` table before posting; if Slack refuses, the
  claim is removed and the error raised, so the inbox retries the event and only unsent keys are posted.
- **Grouped**: a notice of the same kind about the same account, for the same place, within the grouping
  window updates the first message into "3 new tickets for Acme in 10 minutes" instead of posting again.
- **Paced**: an `aiolimiter.AsyncLimiter` per channel keeps within Slack's one message a second.
- **Owner**: the owner's email → Slack user (`SlackDirectory`) → a DM opened with `conversations.open`;
  when the owner has no Slack user, the notice goes to the routing's fallback channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from aiolimiter import AsyncLimiter
from slack_sdk.web.async_client import AsyncWebClient

from bot.announcer import OwnerAnnouncer
from bot.blocks import Message
from bot.feed.blocks import notice_message
from bot.feed.rules import Notice
from bot.money import to_tz
from bot.sent_once import SentOnce
from bot.slack_users import SlackDirectory
from bot.store import Store
from bot.zoho.links import AppLinks

log = logging.getLogger(__name__)


@dataclass
class _Group:
    channel: str
    ts: str
    started: datetime
    notices: list[Notice] = field(default_factory=list)


@dataclass(frozen=True)
class Sent:
    key: str
    channel: str
    ts: str
    grouped: bool


class Notifier:
    def __init__(
        self,
        slack: AsyncWebClient,
        store: Store,
        directory: SlackDirectory,
        clock: Callable[[], datetime],
        links: AppLinks,
        tz: tzinfo | None = None,
        *,
        window: timedelta = timedelta(minutes=10),
        per_second: float = 1.0,
        announcer: OwnerAnnouncer | None = None,
    ) -> None:
        self.slack = slack
        self.store = store
        self.announcer = announcer or OwnerAnnouncer(slack, directory)  # the owner's DM, else the fallback
        self.clock = clock
        self.links = links
        self.tz = tz
        self.window = window
        self.per_second = per_second
        self._groups: dict[tuple[str, str, str, str], _Group] = {}
        self._once = SentOnce(store, clock)
        self._limiters: dict[str, AsyncLimiter] = {}
        self._locks: dict[str, asyncio.Lock] = {}  # one per channel: groups stay consistent, channels independent

    # The sent-once ledger is SQLite: on the store's threads, never on the event loop.
    async def sent(self, key: str) -> bool:
        return await self._once.store.run(self._once.sent, key)

    async def _claim(self, key: str, channel: str) -> bool:
        return await self._once.store.run(self._once.claim, key, channel)

    async def _settle(self, key: str, ts: str) -> None:
        await self._once.store.run(self._once.settle, key, ts)

    async def _release(self, key: str) -> None:
        await self._once.store.run(self._once.release, key)

    def _limiter(self, channel: str) -> AsyncLimiter:
        limiter = self._limiters.get(channel)
        if limiter is None:
            # max_rate per time_period; one token at a time so bursts never exceed the pace
            limiter = self._limiters[channel] = AsyncLimiter(1, 1 / self.per_second)
        return limiter

    async def _where(self, notice: Notice) -> tuple[str, str]:
        """(channel, thread_ts) for a notice; ("", "") when it has nowhere to go."""
        if notice.channel:
            return notice.channel, notice.thread_ts
        channel, dm = await self.announcer.destination(notice.owner_email, notice.fallback_channel)
        return (channel, "") if dm else (channel, notice.thread_ts)

    async def send(self, notice: Notice) -> Sent | None:
        """Post (or group) one notice; None when its key was sent before or it has nowhere to go. Raises on
        Slack errors after releasing the key, so a retry posts it."""
        if await self.sent(notice.key):
            return None
        channel, thread = await self._where(notice)
        if not channel:
            log.info("notice %s has no destination (owner without Slack user, no fallback)", notice.key)
            await self._claim(notice.key, "")
            return None
        async with self._locks.setdefault(channel, asyncio.Lock()):
            if not await self._claim(notice.key, channel):
                return None
            try:
                return await self._post(notice, channel, thread)
            except BaseException:
                await self._release(notice.key)
                raise

    async def _post(self, notice: Notice, channel: str, thread: str) -> Sent:
        now = self.clock()
        today = to_tz(now, self.tz).date()
        self._groups = {k: g for k, g in self._groups.items() if now - g.started < self.window}
        group_key = (channel, thread, notice.account_id, notice.kind)
        group = self._groups.get(group_key) if notice.account_id else None
        if group is not None:
            notices = [*group.notices, notice]
            message = notice_message(notices, self.links, today, self.tz, span=now - group.started)
            async with self._limiter(channel):
                await self.slack.chat_update(channel=group.channel, ts=group.ts, **message.as_kwargs())
            group.notices = notices
            await self._settle(notice.key, group.ts)
            return Sent(notice.key, group.channel, group.ts, grouped=True)
        message = notice_message([notice], self.links, today, self.tz)
        ts = await self.post(channel, message, thread)
        if self.window > timedelta(0) and notice.account_id:
            self._groups[group_key] = _Group(channel, ts, now, [notice])
        await self._settle(notice.key, ts)
        return Sent(notice.key, channel, ts, grouped=False)

    async def post(self, channel: str, message: Message, thread_ts: str = "") -> str:
        """chat.postMessage at the channel's pace; answers the message ts."""
        extra: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        async with self._limiter(channel):
            answer = await self.slack.chat_postMessage(
                channel=channel, unfurl_links=False, **extra, **message.as_kwargs()
            )
        return str(answer.get("ts") or "")

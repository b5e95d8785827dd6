"""The handoff's Slack posts: the one #finance message (posted once, then updated in place), the deal owner's
notes (their DM, else #sales, through `OwnerAnnouncer`) and the #support handover, each at most once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.announcer import OwnerAnnouncer
from bot.blocks import Message
from bot.config import OperatingStructure
from bot.handoff import blocks as hb
from bot.handoff.repo import Handoff, HandoffRepo
from bot.sent_once import SentOnce
from bot.slack_users import SlackDirectory
from bot.store import Store
from bot.zoho.links import AppLinks

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)


class HandoffPoster:
    def __init__(
        self,
        *,
        repo: HandoffRepo,
        store: Store,
        slack: AsyncWebClient,
        structure: OperatingStructure,
        links: AppLinks,
        directory: SlackDirectory,
        announcer: OwnerAnnouncer,
        clock: Callable[[], datetime],
    ) -> None:
        self.repo, self.store, self.slack, self.structure = repo, store, slack, structure
        self.links, self.directory, self.announcer, self.clock = links, directory, announcer, clock
        self.once = SentOnce(store, clock)

    def _db(self, method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        """Store work off the event loop."""
        return self.store.run(method, *args, **kwargs)

    async def show(self, h: Handoff) -> None:
        """Post the #finance message the first time, update it in place afterwards."""
        channel = h.finance_channel or self.structure.channels.finance
        if not channel:
            log.warning("handoff %s: [channels] finance is not configured, nothing posted", h.deal_id)
            return
        owner = await self.directory.mention_for(h.owner_email) if h.owner_email else None
        message = hb.finance_message(h, self.links, self.structure.tz, self.clock(), owner_mention=owner)
        try:
            if h.finance_ts:
                await self.slack.chat_update(channel=channel, ts=h.finance_ts, **message.as_kwargs())
                return
            posted = await self.slack.chat_postMessage(channel=channel, unfurl_links=False, **message.as_kwargs())
            await self._db(self.repo.update, h.deal_id, finance_channel=channel, finance_ts=str(posted["ts"]))
        except SlackApiError as exc:
            log.error("handoff %s: Slack refused the #finance message: %s", h.deal_id, exc.response.get("error"))

    async def tell_owner_missing(self, h: Handoff) -> None:
        if not any(m.where == "crm" for m in h.missing):
            return  # only finance can close these gaps (Edit): nothing to ask of the deal owner
        key = "handoff-missing:" + h.deal_id + ":" + ",".join(sorted(m.field for m in h.missing))
        await self.tell_owner(h, hb.owner_missing_note(h.plan, h.missing, self.links), once=key)

    async def tell_owner(self, h: Handoff, message: Message, *, once: str = "") -> None:
        """A direct message to the deal owner, or a post in #sales when the owner is not a Slack user."""
        try:
            channel, _ = await self.announcer.destination(h.owner_email, self.structure.channels.sales)
        except SlackApiError as exc:
            log.error("handoff %s: could not open the owner's DM: %s", h.deal_id, exc.response.get("error"))
            return
        if not channel or (once and not await self._db(self.once.claim, once, channel)):
            return
        try:
            posted = await self.slack.chat_postMessage(channel=channel, unfurl_links=False, **message.as_kwargs())
            if once:
                await self._db(self.once.settle, once, str(posted["ts"]))
        except SlackApiError as exc:
            if once:
                await self._db(self.once.release, once)  # the next change or replay tries again
            log.error("handoff %s: could not tell the owner: %s", h.deal_id, exc.response.get("error"))

    async def hand_over_to_support(self, h: Handoff) -> None:
        channel, key = self.structure.channels.support, f"handoff-support:{h.deal_id}"
        if not channel or not await self._db(self.once.claim, key, channel):
            return
        owner = await self.directory.mention_for(h.owner_email) if h.owner_email else None
        try:
            posted = await self.slack.chat_postMessage(
                channel=channel, unfurl_links=False, **hb.support_handover(h, self.links, owner).as_kwargs()
            )
            await self._db(self.once.settle, key, str(posted["ts"]))
            await self._db(self.repo.update, h.deal_id, support_ts=str(posted["ts"]))
        except SlackApiError as exc:
            await self._db(self.once.release, key)
            log.error("handoff %s: Slack refused the #support handover: %s", h.deal_id, exc.response.get("error"))

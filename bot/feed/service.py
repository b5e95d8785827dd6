"""The feed wired to the dispatcher: for each event, read the account's context from the mirror, route it
(`bot.feed.rules.route`) and post the notices (`bot.feed.notify.Notifier`). `build_deps` builds one and
`subscribe`s it to the dispatcher."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.config import OperatingStructure
from bot.events import (
    DealChanged,
    Dispatcher,
    Event,
    InvoiceOverdue,
    InvoicePaid,
    TicketEscalated,
    TicketOpened,
    TicketOverdue,
)
from bot.feed.notify import Notifier
from bot.feed.rules import FeedContext, HandoffThread, route
from bot.store import Store
from bot.zoho.clients import ZohoClients

FEED_EVENTS: tuple[type[Event], ...] = (
    TicketOpened,
    TicketEscalated,
    TicketOverdue,
    InvoiceOverdue,
    InvoicePaid,
    DealChanged,
)


class FeedService:
    def __init__(
        self,
        store: Store,
        structure: OperatingStructure,
        notifier: Notifier,
        clock: Callable[[], datetime],
        zoho: ZohoClients | None = None,
    ) -> None:
        self.store = store
        self.zoho = zoho
        self.structure = structure
        self.notifier = notifier
        self.clock = clock

    def context(self, event: Event) -> FeedContext:
        account_id = event.account_id
        deal_id = ""
        if isinstance(event, DealChanged):
            deal_id = event.deal.id
        elif isinstance(event, InvoiceOverdue | InvoicePaid):
            deal_id = event.invoice.deal_id
        account = self.store.get_account(account_id) if account_id else None
        deals = self.store.deals_of_account(account_id) if account_id else []
        row = self.store.handoffs.thread_for(deal_id, account_id)
        handoff = (
            HandoffThread(row["deal_id"], row["finance_channel"], row["finance_ts"], row["support_ts"]) if row else None
        )
        return FeedContext(now=self.clock(), account=account, deals=deals, handoff=handoff)

    async def _mirror_account(self, account_id: str) -> None:
        """An account the mirror has never seen: read it and its deals from CRM (routing needs the owner and
        whether a deal is open)."""
        if not account_id or self.zoho is None or await self.store.run(self.store.get_account, account_id) is not None:
            return
        account = await self.zoho.crm.get_account(account_id)
        if account is not None:
            await self.store.run(self.store.upsert_deals, await self.zoho.crm.account_deals(account_id))
            await self.store.run(self.store.upsert_accounts, [account])

    def subscribe(self, events: Dispatcher) -> None:
        """Hear every event the feed posts about."""
        for kind in FEED_EVENTS:
            events.subscribe(kind, self.handle)

    async def handle(self, event: Event) -> None:
        await self._mirror_account(event.account_id)
        context = await self.store.run(self.context, event)  # SQLite reads, off the event loop
        for notice in route(event, context, self.structure):
            await self.notifier.send(notice)

"""The feed wired to the dispatcher: for each event, read the account's context from the mirror, route it
(`bot.feed.rules.route`) and post the notices (`bot.feed.notify.Notifier`). `register_feed(deps)` is called once by
`build_deps`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.blocks import AppLinks
from bot.config import OperatingStructure
from bot.events import DealChanged, Event, InvoiceOverdue, InvoicePaid, TicketEscalated, TicketOpened, TicketOverdue
from bot.feed.notify import Notifier, Sent
from bot.feed.rules import FeedContext, HandoffThread, route
from bot.store import Store
from bot.zoho.clients import ZohoClients

if TYPE_CHECKING:
    from bot.deps import Deps

EXTRAS_KEY = "feed"
FEED_EVENTS: tuple[type[Event], ...] = (
    TicketOpened, TicketEscalated, TicketOverdue, InvoiceOverdue, InvoicePaid, DealChanged)


class FeedService:
    def __init__(self, store: Store, structure: OperatingStructure, notifier: Notifier,
                 clock: Callable[[], datetime], zoho: ZohoClients | None = None) -> None:
        self.store = store
        self.zoho = zoho
        self.structure = structure
        self.notifier = notifier
        self.clock = clock
        self.sent: list[Sent] = []  # this process's posts, newest last (the demo and benchmarks read it)

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
        handoff = HandoffThread(row["deal_id"], row["finance_channel"], row["finance_ts"], row["support_ts"]) \
            if row else None
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

    async def handle(self, event: Event) -> None:
        await self._mirror_account(event.account_id)
        context = await self.store.run(self.context, event)  # SQLite reads, off the event loop
        for notice in route(event, context, self.structure):
            sent = await self.notifier.send(notice)
            if sent is not None:
                self.sent.append(sent)


def register_feed(deps: Deps) -> FeedService:
    """Subscribe the feed to the dispatcher (once per Deps) and keep it on `deps.extras["feed"]`."""
    existing = deps.extras.get(EXTRAS_KEY)
    if isinstance(existing, FeedService):
        return existing
    routing = deps.structure.routing
    links: AppLinks = deps.accounts.links
    notifier = Notifier(deps.slack, deps.store, deps.directory, deps.clock, links, deps.structure.tz,
                        window=timedelta(seconds=routing.group_window_seconds),
                        per_second=routing.per_channel_per_second)
    service = FeedService(deps.store, deps.structure, notifier, deps.clock, deps.zoho)
    for kind in FEED_EVENTS:
        deps.events.subscribe(kind, service.handle)
    deps.extras[EXTRAS_KEY] = service
    return service

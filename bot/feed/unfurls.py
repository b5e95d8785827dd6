"""Unfurling Zoho links pasted in Slack: the record's card, showing only what the channel may see.

Recognised links (any Zoho data centre, `zoho.*` or `zohocloud.ca`):
- CRM `…/crm[/orgN]/tab/Accounts/{id}` (account card) and `…/tab/Potentials/{id}` or `…/tab/Deals/{id}` (deal);
- Books `…/app/{org}#/invoices/{id}` (invoice) and `…#/contacts/{id}` (the customer's account card);
- Desk `…/tickets/details/{id}` or `…#Cases/dv/{id}` (ticket) and `…/accounts/details/{id}` (account card).

Visibility rule: invoice cards unfurl only in the finance channel and `[unfurl] invoice_channels`; amounts (deal
value, outstanding) show only in the sales, finance and leadership channels and `[unfurl] money_channels`,
and are left off elsewhere (other channels, DMs, the message composer). Records are read from the mirror,
and from Zoho only when the mirror lacks them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.config import OperatingStructure
from bot.feed.blocks import account_unfurl, deal_unfurl, invoice_unfurl, ticket_unfurl
from bot.models import Account, Deal, Invoice, Ticket
from bot.money import to_tz
from bot.store import Store
from bot.zoho.clients import ZohoClients
from bot.zoho.links import AppLinks

_HOST = r"https?://(?P<app>crm|books|desk)\.zoho(?:cloud)?\.[a-z.]{2,10}"
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("account", re.compile(_HOST + r"/crm/(?:[\w-]+/)?tab/Accounts/(?P<id>\d{1,30})")),
    ("deal", re.compile(_HOST + r"/crm/(?:[\w-]+/)?tab/(?:Potentials|Deals)/(?P<id>\d{1,30})")),
    ("invoice", re.compile(_HOST + r"/app/\d+#/invoices/(?P<id>\d{1,30})")),
    ("books_customer", re.compile(_HOST + r"/app/\d+#/contacts/(?P<id>\d{1,30})")),
    ("ticket", re.compile(_HOST + r"/.*?(?:tickets/details/|#Cases/dv/)(?P<id>\d{1,30})")),
    ("desk_account", re.compile(_HOST + r"/.*?accounts/details/(?P<id>\d{1,30})")),
)
MAX_LINKS = 5


@dataclass(frozen=True)
class ZohoLink:
    kind: str  # account, deal, invoice, books_customer, ticket, desk_account
    record_id: str
    url: str


def parse_link(url: str) -> ZohoLink | None:
    for kind, pattern in PATTERNS:
        found = pattern.match(url.strip())
        if found:
            return ZohoLink(kind, found.group("id"), url)
    return None


def may_see_invoices(channel: str, structure: OperatingStructure) -> bool:
    allowed = {structure.channels.finance, *structure.unfurl.invoice_channels} - {""}
    return channel in allowed


def may_see_money(channel: str, structure: OperatingStructure) -> bool:
    teams = structure.channels
    allowed = {teams.sales, teams.finance, teams.leadership, *structure.unfurl.money_channels} - {""}
    return channel in allowed


class Unfurler:
    def __init__(
        self,
        store: Store,
        zoho: ZohoClients,
        structure: OperatingStructure,
        links: AppLinks,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.zoho = zoho
        self.structure = structure
        self.links = links
        self.clock = clock

    async def unfurls(self, channel: str, urls: Sequence[str]) -> dict[str, dict[str, Any]]:
        """url → unfurl (blocks) for the links this channel may see; others are left out."""
        if not self.structure.unfurl.enabled:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for url in list(dict.fromkeys(urls))[:MAX_LINKS]:
            link = parse_link(url)
            if link is None:
                continue
            card = await self._card(link, channel)
            if card is not None:
                out[url] = card
        return out

    async def _card(self, link: ZohoLink, channel: str) -> dict[str, Any] | None:
        tz = self.structure.tz
        now = self.clock()
        today = to_tz(now, tz).date()
        money = may_see_money(channel, self.structure)
        if link.kind == "deal":
            deal = await self._one(Deal, link.record_id) or await self.zoho.crm.get_deal(link.record_id)
            return deal_unfurl(deal, self.links, tz, show_money=money) if deal else None
        if link.kind == "invoice":
            if not may_see_invoices(channel, self.structure):
                return None
            invoice = await self._one(Invoice, link.record_id) or await self.zoho.books.get_invoice(link.record_id)
            return invoice_unfurl(invoice, self.links, today, tz) if invoice else None
        if link.kind == "ticket":
            ticket = await self._one(Ticket, link.record_id) or await self.zoho.desk.get_ticket(link.record_id)
            return ticket_unfurl(ticket, self.links, now, tz) if ticket else None
        account_id = link.record_id if link.kind == "account" else await self._account_for(link)
        if not account_id:
            return None
        snapshot = await self.store.run(self.store.snapshot, account_id, now)
        if snapshot is None:
            account: Account | None = await self.zoho.crm.get_account(account_id)
            return account_unfurl(account, [], [], [], self.links, today, show_money=money) if account else None
        return account_unfurl(
            snapshot.account, snapshot.deals, snapshot.tickets, snapshot.invoices, self.links, today, show_money=money
        )

    async def _one(self, model: Any, record_id: str) -> Any:
        return await self.store.run(self.store.get_record, model, record_id)

    async def _account_for(self, link: ZohoLink) -> str:
        if link.kind == "books_customer":
            return await self.store.run(self.store.crm_account_of, books_customer_id=link.record_id)
        return await self.store.run(self.store.crm_account_of, desk_account_id=link.record_id)

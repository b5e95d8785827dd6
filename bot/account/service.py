"""The `/account` use case: resolve what the user typed, then build the card from the mirror or from Zoho.

Answering has two speeds. `answer_from_mirror` never does I/O beyond SQLite, so the command can be answered
inside the acknowledgement; when it returns None, `answer` asks Zoho (the three apps concurrently), updates the
mirror and answers through the response URL. Zoho failures never escape: the card is drawn from the mirror and
marked stale, or the user gets a message that says what failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot import blocks
from bot.account import card as account_card
from bot.account import health
from bot.account.lookup import (
    Query,
    Resolution,
    normalise_name,
    parse_query,
    resolve,
)
from bot.blocks import Message
from bot.config import OperatingStructure
from bot.errors import ZohoError, with_advice
from bot.models import Account, AccountSnapshot, BooksCustomer, Contact, Deal, DeskAccount, Invoice, Payment, Ticket
from bot.slack_users import SlackDirectory
from bot.store import Store
from bot.sync import COMPLETED
from bot.zoho.clients import ZohoClients
from bot.zoho.links import AppLinks

# Typos rarely hit the first letters: the remote fallback asks CRM for names starting with these.
PREFIX_LEN = 3

log = logging.getLogger(__name__)

Late = Callable[["AccountAnswer"], Awaitable[None]]
Kind = Literal["card", "pick", "not_found", "usage", "error"]


@dataclass
class AccountAnswer:
    kind: Kind
    message: Message
    account_id: str | None = None


@dataclass
class MirrorCard:
    """What one card needs, read from the mirror (on a store thread); `AccountService.draw` makes the card."""

    snapshot: AccountSnapshot
    mention: str | None  # `<@U…>` of the owner, when a Slack user
    now: datetime
    shareable: bool


@dataclass
class _Fetched:
    """What one concurrent read of the three apps brought back; a None list means that app failed."""

    account: Account | None = None
    deals: list[Deal] | None = None
    contacts: list[Contact] | None = None
    customers: list[BooksCustomer] | None = None
    invoices: list[Invoice] | None = None
    payments: list[Payment] | None = None
    desk_account: DeskAccount | None = None
    tickets: list[Ticket] | None = None
    failures: list[str] = field(default_factory=list)


@dataclass
class _Failure:
    at: datetime
    reason: str
    partial: bool  # some of the three apps answered


class AccountService:
    def __init__(
        self,
        *,
        store: Store,
        zoho: ZohoClients,
        structure: OperatingStructure,
        directory: SlackDirectory,
        links: AppLinks,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.zoho = zoho
        self.structure = structure
        self.directory = directory
        self.links = links
        self.clock = clock
        self.rules = health.rules_from(structure.health)
        # account id → (when, what failed) for the last read from Zoho that did not fully succeed
        self._failures: dict[str, _Failure] = {}
        self._background: set[asyncio.Future[None]] = set()

    # ---- entry points ------------------------------------------------------------------------------------

    def answer_from_mirror(self, text: str) -> AccountAnswer | None:
        """The answer when the mirror alone suffices (fresh data, owner already mapped); else None."""
        read = self.read_from_mirror(text)
        return self.draw(read) if isinstance(read, MirrorCard) else read

    def read_from_mirror(self, text: str) -> AccountAnswer | MirrorCard | None:
        """`answer_from_mirror`'s reads (blocking: on a store thread), with a card left to `draw`. All of them share
        one snapshot (one transaction); the sync watermark and the account's read time are read once."""
        query = parse_query(text)
        if query.kind == "empty":
            return AccountAnswer("usage", account_card.usage())
        with self.store.reading():
            resolution = resolve(query, self.store)
            synced = self.store.get_watermark(COMPLETED)
            if not self._trusted(resolution, synced):
                return None
            answer = self._answer_for(query, resolution)
            if answer.kind != "card":
                return answer
            assert answer.account_id
            fetched = self.store.fetched_at(answer.account_id)
            if not self._fresh(fetched, synced):
                return None
            return self._mirror_card(answer.account_id, fetched, require_cached_owner=True)

    async def answer(self, text: str, *, late: Late | None = None) -> AccountAnswer:
        """The full answer, asking Zoho where the mirror cannot answer."""
        query = parse_query(text)
        if query.kind == "empty":
            return AccountAnswer("usage", account_card.usage())
        resolution, synced = await self.store.run(self._resolve, query)
        searched: dict[str, Account] = {}
        if not self._trusted(resolution, synced):
            try:
                searched = {a.id: a for a in await self._search_zoho(query)}
            except ZohoError as exc:
                if not resolution.matches:
                    return AccountAnswer(
                        "error",
                        blocks.error_message(
                            with_advice(f"Could not search Zoho for “{query.value}”: {exc.user_message()}")
                        ),
                    )
            else:
                resolution = await self.store.run(resolve, query, self.store)  # what CRM found is mirrored now
        answer = self._answer_for(query, resolution)
        if answer.kind != "card":
            return answer
        assert answer.account_id
        return await self.card(answer.account_id, late=late, just_read=searched.get(answer.account_id))

    async def card(
        self, account_id: str, *, shareable: bool = True, late: Late | None = None, just_read: Account | None = None
    ) -> AccountAnswer:
        """The card for one account: from the mirror if fresh, else read from Zoho first (`just_read`: the
        account as CRM's search returned it a moment ago, not asked for again).

        If Zoho takes longer than `lookup.zoho_wait_seconds`, the mirror's card (marked as still being read) is
        returned at once; the read goes on, and `late` receives the up-to-date card when it finishes.
        """
        if not await self.store.run(self._is_fresh, account_id):
            reading = asyncio.ensure_future(self.refresh(account_id, just_read=just_read))
            done, _ = await asyncio.wait({reading}, timeout=self.structure.lookup.zoho_wait_seconds)
            if not done:
                self._keep(self._follow_up(reading, account_id, shareable, late))
                return await self.store.run(self._slow_answer, account_id, shareable)
            reading.result()
        return await self._card_now(account_id, shareable)

    def _ever_read(self, account_id: str) -> bool:
        """Whether the mirror holds this account's deals, invoices and tickets (not just its name)."""
        return self.store.fetched_at(account_id) is not None or self.store.get_watermark(COMPLETED) is not None

    async def _card_now(self, account_id: str, shareable: bool) -> AccountAnswer:
        failure = self._failures.get(account_id)
        if failure and not failure.partial and not await self.store.run(self._ever_read, account_id):
            return AccountAnswer(
                "error",
                blocks.error_message(
                    with_advice(
                        f"Zoho did not answer, and Throughline has not read this account before: {failure.reason}"
                    )
                ),
            )
        account = await self.store.run(self.store.get_account, account_id)
        if account is not None and account.owner.email:
            await self.directory.user_id_for(account.owner.email)
        answer = await self.store.run(
            self._card_from_mirror, account_id, require_cached_owner=False, shareable=shareable
        )
        if answer is None:
            return AccountAnswer(
                "error",
                blocks.error_message(
                    "That account is no longer in Zoho CRM, or Zoho did not answer. Try `/account` with its name."
                ),
            )
        return answer

    def _slow_answer(self, account_id: str, shareable: bool) -> AccountAnswer:
        note = "Zoho is slow to answer: showing what Throughline last read; this card updates when Zoho answers."
        if self._ever_read(account_id):
            answer = self._card_from_mirror(
                account_id, require_cached_owner=False, shareable=shareable, stale_reason=note
            )
            if answer is not None:
                return answer
        return AccountAnswer(
            "error",
            blocks.error_message(
                "Zoho is slow to answer. The card will appear here as soon as CRM, Books and Desk reply."
            ),
        )

    async def _follow_up(
        self, reading: asyncio.Future[list[str]], account_id: str, shareable: bool, late: Late | None
    ) -> None:
        await asyncio.wait({reading})
        try:
            reading.result()
            if late is not None:
                await late(await self._card_now(account_id, shareable))
        except Exception:  # nobody awaits this task: record the failure rather than lose it
            log.exception("updating the card of account %s after a slow Zoho read failed", account_id)

    def _keep(self, work: Awaitable[None]) -> None:
        """Run `work` in the background, holding a reference until it ends (asyncio keeps only weak ones)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---- resolving the query -----------------------------------------------------------------------------

    def _resolve(self, query: Query) -> tuple[Resolution, str | None]:
        """The mirror's resolution and the sync completion watermark, from one snapshot."""
        with self.store.reading():
            return resolve(query, self.store), self.store.get_watermark(COMPLETED)

    def _trusted(self, resolution: Resolution, synced: str | None) -> bool:
        """Whether the mirror's resolution can be given without asking CRM. An exact hit always can; a fuzzy hit
        or a pick list only when the mirror holds every account (a sync has completed: `synced`); "nothing
        matches" never, since the account may have been created since."""
        if resolution.kind == "single" and resolution.matches[0].exact:
            return True
        return resolution.kind != "not_found" and synced is not None

    async def _search_zoho(self, query: Query) -> list[Account]:
        """Ask CRM for accounts matching the query and put them in the mirror, where `resolve` will find them."""
        crm = self.zoho.crm
        if query.kind == "id":
            account = await crm.get_account(query.value)
            accounts = [account] if account else []
        elif query.kind == "email":
            contacts = await crm.search_contacts_by_email(query.value)
            ids = sorted({c.account_id for c in contacts if c.account_id})
            accounts = await crm.get_accounts(ids) if ids else []
            await self.store.run(self.store.upsert_contacts, contacts)
        else:
            accounts = await self._search_by_name(query.value.split(".")[0] if query.kind == "domain" else query.value)
        await self.store.run(self.store.upsert_accounts, accounts)
        return accounts

    async def _search_by_name(self, name: str) -> list[Account]:
        """CRM's word search, then (it does not forgive typos) names starting like the query's words, so the
        fuzzy matcher has candidates to rank."""
        crm = self.zoho.crm
        accounts = await crm.search_accounts(name)
        if accounts:
            return accounts
        prefixes = sorted({w[:PREFIX_LEN].casefold() for w in normalise_name(name).split() if len(w) >= PREFIX_LEN})
        found = await asyncio.gather(*(crm.search_accounts(p, mode="starts_with") for p in prefixes[:3]))
        unique = {a.id: a for chunk in found for a in chunk}
        return list(unique.values())

    def _answer_for(self, query: Query, resolution: Resolution) -> AccountAnswer:
        if resolution.kind == "single":
            return AccountAnswer("card", account_card.working(query.value), resolution.matches[0].id)
        if resolution.kind == "pick":
            return AccountAnswer("pick", account_card.pick_list(query.value, resolution.matches))
        return AccountAnswer("not_found", account_card.not_found(query.value, resolution.matches))

    # ---- freshness and fetching --------------------------------------------------------------------------

    def _is_fresh(self, account_id: str) -> bool:
        return self._fresh(self.store.fetched_at(account_id), self.store.get_watermark(COMPLETED))

    def _fresh(self, fetched: datetime | None, synced: str | None) -> bool:
        """Read from Zoho within the freshness window: the account itself (`fetched`), or the whole mirror by a
        sync that finished recently (`synced`, the completion watermark)."""
        window = timedelta(minutes=self.structure.lookup.freshness_minutes)
        times = [t for t in (fetched, datetime.fromisoformat(synced) if synced else None) if t is not None]
        return bool(times) and self.clock() - max(times) <= window

    async def refresh(self, account_id: str, *, just_read: Account | None = None) -> list[str]:
        """Read one account from the three apps concurrently and update the mirror. Returns failures."""
        known = just_read or await self.store.run(self.store.get_account, account_id)
        if known is None:
            # Desk is found through the account's name: learn it first (only for an id never seen before).
            try:
                known = await self.zoho.crm.get_account(account_id)
            except ZohoError as exc:
                self._failures[account_id] = _Failure(self.clock(), exc.user_message(), partial=False)
                return [exc.user_message()]
            if known is None:
                return []
            await self.store.run(self.store.upsert_accounts, [known])
        snapshot = await self.store.run(self.store.snapshot, account_id, self.clock())
        fetched = await self._fetch(account_id, known, snapshot, just_read=just_read)
        await self.store.run(self._save, account_id, fetched)
        return fetched.failures

    async def _fetch(
        self, account_id: str, known: Account | None, mirror: AccountSnapshot | None, just_read: Account | None = None
    ) -> _Fetched:
        """One round trip per app where the mirror already knows the cross-app links, all three in parallel.
        Only what the card shows is read: invoices, not payments (collected = invoiced − outstanding), and no
        contacts; payments and contacts are left to the sync (and Books' payment webhooks), and the mirror's are
        kept as they are."""
        crm, books, desk = self.zoho.crm, self.zoho.books, self.zoho.desk
        got = _Fetched()

        async def from_crm() -> None:
            got.contacts = list(mirror.contacts) if mirror else []  # kept, not read: the card shows none
            if just_read is not None:  # CRM's search returned it a moment ago
                got.account = just_read
                got.deals = await crm.account_deals(account_id)
                return
            got.account, got.deals = await asyncio.gather(crm.get_account(account_id), crm.account_deals(account_id))

        async def from_books() -> None:
            customers = (
                [mirror.books_customer]
                if mirror and mirror.books_customer
                else await books.find_customers(zcrm_account_id=account_id)
            )
            invoice_lists = await asyncio.gather(
                *(books.list_invoices(customer_id=c.id, account_id=account_id) for c in customers)
            )
            got.customers = customers
            got.invoices = [i for chunk in invoice_lists for i in chunk]
            got.payments = list(mirror.payments) if mirror else []  # kept, not read (see above)

        async def from_desk() -> None:
            # Tickets come from ticket search (list rows lack escalation and overdue). The Desk account: the
            # mirror's (linked by Zoho), else the one Throughline created (read alongside the tickets), else
            # found by name (one search, then the best hits' detail for their CRM link, with the tickets alongside).
            desk_account = mirror.desk_account if mirror and mirror.desk_account else None
            created = None if desk_account else await self.store.run(self.store.desk_link, account_id)
            if created:
                desk_account, got.tickets = await asyncio.gather(
                    desk.get_account(created), desk.account_tickets(created, account_id=account_id)
                )
            elif desk_account:
                got.tickets = await desk.account_tickets(desk_account.id, account_id=account_id)
            else:
                desk_account, got.tickets = await desk.find_account_with_tickets(
                    account_id, known.name if known else "", account_id=account_id
                )
            got.desk_account = desk_account

        async def guarded(read: Callable[[], Awaitable[None]]) -> None:
            try:
                await read()
            except ZohoError as exc:
                got.failures.append(exc.user_message())

        await asyncio.gather(guarded(from_crm), guarded(from_books), guarded(from_desk))
        return got

    def _save(self, account_id: str, f: _Fetched) -> None:
        now = self.clock()
        if f.account is not None:
            self.store.upsert_accounts([f.account])
        if not f.failures and f.account is not None:
            self.store.replace_account_snapshot(
                AccountSnapshot(
                    account=f.account,
                    contacts=f.contacts or [],
                    deals=f.deals or [],
                    books_customer=f.customers[0] if f.customers else None,
                    invoices=f.invoices or [],
                    payments=f.payments or [],
                    desk_account=f.desk_account,
                    tickets=f.tickets or [],
                    read_at=now,
                )
            )
            if f.customers and len(f.customers) > 1:
                self.store.upsert_books_customers(f.customers)
            return
        # Partial answer: keep what arrived, leave the rest of the mirror as it was, and do not mark it fresh.
        if f.deals is not None:
            self.store.upsert_deals(f.deals)
        if f.contacts is not None:
            self.store.upsert_contacts(f.contacts)
        if f.customers:
            self.store.upsert_books_customers(f.customers)
        if f.invoices:
            self.store.upsert_invoices(f.invoices)
        if f.payments:
            self.store.upsert_payments(f.payments)
        if f.desk_account is not None:
            self.store.upsert_desk_accounts([f.desk_account])
        if f.tickets:
            self.store.upsert_tickets(f.tickets)
        self._failures[account_id] = _Failure(now, "; ".join(f.failures), partial=len(f.failures) < 3)

    # ---- rendering ---------------------------------------------------------------------------------------

    def _card_from_mirror(
        self, account_id: str, *, require_cached_owner: bool, shareable: bool = True, stale_reason: str = ""
    ) -> AccountAnswer | None:
        with self.store.reading():
            card = self._mirror_card(
                account_id,
                self.store.fetched_at(account_id),
                require_cached_owner=require_cached_owner,
                shareable=shareable,
                stale_reason=stale_reason,
            )
        return self.draw(card) if card is not None else None

    def _mirror_card(
        self,
        account_id: str,
        fetched: datetime | None,
        *,
        require_cached_owner: bool,
        shareable: bool = True,
        stale_reason: str = "",
    ) -> MirrorCard | None:
        """What the card of one account needs from the mirror; `fetched`: when it was last read from Zoho."""
        now = self.clock()
        snapshot = self.store.snapshot(account_id, now)
        if snapshot is None:
            return None
        mention: str | None = None
        if snapshot.account.owner.email:
            known, user_id = self.directory.cached(snapshot.account.owner.email)
            if require_cached_owner and not known:
                return None
            mention = f"<@{user_id}>" if user_id else None
        failure = self._failures.get(account_id)
        if failure and (fetched is None or failure.at > fetched):
            stale_reason = stale_reason or failure.reason
        if stale_reason:
            snapshot.stale = True
            snapshot.stale_reason = stale_reason
            snapshot.read_at = fetched or snapshot.read_at
        elif fetched is not None:
            snapshot.read_at = fetched
        return MirrorCard(snapshot, mention, now, shareable)

    def draw(self, card: MirrorCard) -> AccountAnswer:
        """The card's figures, health and blocks (pure Python: where the caller is, no store thread needed)."""
        snapshot, now = card.snapshot, card.now
        today = now.astimezone(self.structure.tz).date()
        figures = health.figures(snapshot, today, self.rules)
        verdict = health.assess(snapshot, today, self.rules, figs=figures)
        message = account_card.account_card(
            snapshot,
            verdict,
            figures,
            owner_mention=card.mention,
            tz=self.structure.tz,
            now=now,
            links=self.links,
            shareable=card.shareable,
        )
        return AccountAnswer("card", message, snapshot.account.id)

"""Zoho Desk v1 client: accounts, tickets, contacts. Every call carries the `orgId` header.

Read the documented way (zoho/zohodesk-oas `v1.0/Ticket.json`, `Search.json`, `Account.json`):

- Tickets come from `GET /tickets/search`, never from `GET /tickets`: only search rows (and ticket detail) carry
  `modifiedTime`, `isEscalated` and `isOverDue`, and only search filters by `modifiedTimeRange`. Search pages
  with `from` 0..999 and `limit` ≤ 100, so a time window holding more than 1,000 tickets is split into smaller
  windows (`_windows`) until each fits: a 50,000-ticket org syncs completely.
- `GET /accounts` pages with a 1-based `from` (the spec's default is 1) and its rows carry the CRM link
  (`zohoCRMAccount`) but no `modifiedTime`; `/accounts/search` rows carry `modifiedTime` but no CRM link, so a
  changed account is re-read in detail (`GET /accounts/{id}`) for its link.
- `POST /accounts` takes only `ACCOUNT_WRITE_KEYS`: the API cannot set the CRM link (Zoho's own CRM–Desk
  integration does), so Throughline remembers which Desk account it created for which CRM account itself.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from bot.errors import ZohoNotFound, ZohoRequestError
from bot.models import DeskAccount, Ticket
from bot.zoho.auth import TokenCache
from bot.zoho.endpoints import ZohoEndpoints
from bot.zoho.parse import desk_account_from_desk, parse_datetime, ticket_from_desk
from bot.zoho.transport import CallCounter, RetryPolicy, ZohoLimits, build_transport
from bot.zoho.writes import NewDeskAccount, NewDeskContact

log = logging.getLogger(__name__)

PAGE_SIZE = 100
SEARCH_REACH = 1000  # Search.json: `from` 0..999, so at most the first 1,000 results of one query
SPLIT_TARGET = 800  # a split aims at windows this full, leaving room for uneven spread
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # Search.json's time pattern accepts years 19xx/20xx only
LATEST = datetime(2099, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
DETAIL_CANDIDATES = 2  # name-search hits read in detail (for the CRM link) per cold lookup
CHANGED_ACCOUNTS_IN_DETAIL = 100  # more changed accounts than this: one full list is cheaper than details
ACCOUNT_WRITE_KEYS = frozenset(
    {
        "accountName",
        "website",
        "phone",
        "email",
        "country",
        "code",
        "cf",
        "city",
        "customFields",
        "street",
        "annualrevenue",
        "description",
        "industry",
        "state",
        "ownerId",
        "fax",
        "associatedSLAIds",
        "layoutId",
    }
)  # Account.json accountjson


def desk_time(dt: datetime) -> str:
    """Search.json's instant format, `yyyy-MM-ddThh:mm:ss.SSSZ`, in UTC."""
    dt = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _ms(dt: datetime) -> datetime:
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


class DeskClient:
    """Typed Desk calls over the shared `httpx.AsyncClient`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoints: ZohoEndpoints,
        token_cache: TokenCache,
        org_id: str,
        counter: CallCounter | None = None,
        retry: RetryPolicy = RetryPolicy(),
        limits: ZohoLimits = ZohoLimits(),
    ) -> None:
        self.org_id = org_id
        self.page_size = PAGE_SIZE
        self.transport = build_transport(
            http,
            app="desk",
            base_url=lambda: endpoints.desk_base,
            auth_cache=token_cache,
            counter=counter,
            retry=retry,
            limits=limits,
            headers={"orgId": org_id},
        )

    # --- paging -------------------------------------------------------------------------------------------

    async def pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int | None = None, first: int = 1
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Raw pages of a Desk list whose `from` starts at `first` (1 for `/accounts`, `/accounts/{id}/tickets`
        per Account.json); stops at a short page, an empty answer (204) or after `limit` records."""
        start, seen = first, 0
        while True:
            size = self.page_size if limit is None else max(1, min(self.page_size, limit - seen))
            body = await self.transport.get(path, params={**(params or {}), "from": start, "limit": size})
            rows = list((body or {}).get("data") or [])
            if rows:
                yield rows
            seen += len(rows)
            if len(rows) < size or (limit is not None and seen >= limit):
                return
            start += len(rows)

    async def _search_page(
        self, path: str, params: Mapping[str, Any], start: int, size: int
    ) -> tuple[list[dict[str, Any]], int]:
        body = await self.transport.get(path, params={**params, "from": start, "limit": size})
        rows = list((body or {}).get("data") or [])
        try:
            count = int((body or {}).get("count") or 0)
        except (TypeError, ValueError):
            count = 0
        return rows, max(count, len(rows))

    async def search(
        self, path: str, params: Mapping[str, Any], *, limit: int = SEARCH_REACH
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of one search query (`from` 0..999): at most its first `limit` (≤ 1,000) results."""
        start, limit = 0, min(limit, SEARCH_REACH)
        while start < limit:
            size = min(self.page_size, limit - start)
            rows, _ = await self._search_page(path, params, start, size)
            if rows:
                yield rows
            if len(rows) < size:
                return
            start += len(rows)

    async def modified_between(
        self, path: str, lo: datetime, hi: datetime, params: Mapping[str, Any] | None = None
    ) -> AsyncGenerator[list[dict[str, Any]]]:
        """Every record of a search `path` modified in [lo, hi], newest first, however many there are.

        One query reaches 1,000 results; a window holding more is cut into sub-windows of about `SPLIT_TARGET`
        results each (by time, between its newest and oldest record), recursively.
        """
        base = {**(params or {}), "sortBy": "-modifiedTime"}
        query = {**base, "modifiedTimeRange": f"{desk_time(lo)},{desk_time(hi)}"}
        rows, count = await self._search_page(path, query, 0, self.page_size)
        if not rows:
            return
        if count < SEARCH_REACH:  # exactly 1,000 may mean "1,000 or more": split then too
            yield rows
            if len(rows) == self.page_size:
                async for page in self._rest(path, query, start=len(rows), limit=count):
                    yield page
            return
        newest = parse_datetime(rows[0].get("modifiedTime")) or hi
        oldest_rows, _ = await self._search_page(path, {**query, "sortBy": "modifiedTime"}, 0, 1)
        oldest = (parse_datetime(oldest_rows[0].get("modifiedTime")) if oldest_rows else None) or lo
        lo, hi = max(lo, _ms(oldest)), min(hi, _ms(newest))
        span_ms = int((hi - lo) / timedelta(milliseconds=1))
        if span_ms <= 0:  # more than 1,000 changes in one millisecond: nothing can reach the rest
            log.warning(
                "Desk search %s: %d records modified at %s, only %d are reachable",
                path,
                count,
                desk_time(lo),
                SEARCH_REACH,
            )
            yield rows
            async for page in self._rest(path, query, start=len(rows), limit=SEARCH_REACH):
                yield page
            return
        parts = min(max(2, math.ceil(count / SPLIT_TARGET)), span_ms + 1)
        edges = [lo + timedelta(milliseconds=span_ms * i // parts) for i in range(parts + 1)]
        for i in range(parts - 1, -1, -1):  # newest window first
            start = edges[i] if i == 0 else edges[i] + timedelta(milliseconds=1)
            if start > edges[i + 1]:
                continue
            async for page in self.modified_between(path, start, edges[i + 1], params):
                yield page

    async def _rest(
        self, path: str, query: Mapping[str, Any], *, start: int, limit: int
    ) -> AsyncIterator[list[dict[str, Any]]]:
        limit = min(limit, SEARCH_REACH)
        while start < limit:
            size = min(self.page_size, limit - start)
            rows, _ = await self._search_page(path, query, start, size)
            if rows:
                yield rows
            if len(rows) < size:
                return
            start += len(rows)

    async def _get(self, path: str) -> dict[str, Any] | None:
        try:
            body = await self.transport.get(path)
        except ZohoNotFound:
            return None
        return body if isinstance(body, dict) and body.get("id") else None

    # --- accounts -----------------------------------------------------------------------------------------

    async def iter_accounts(self, modified_since: datetime | None = None) -> AsyncIterator[list[DeskAccount]]:
        """Desk accounts with their CRM link, page by page.

        Without `modified_since`: the whole `GET /accounts` list. With it: `/accounts/search` by
        `modifiedTimeRange` finds what changed, and each is re-read in detail for its CRM link (search rows do
        not carry it); when more than `CHANGED_ACCOUNTS_IN_DETAIL` changed, the whole list is read instead.
        """
        if modified_since is not None:
            changed: list[str] = []
            async with aclosing(self.modified_between("/accounts/search", modified_since, LATEST)) as searched:
                async for rows in searched:
                    changed.extend(str(r["id"]) for r in rows if r.get("id"))
                    if len(changed) > CHANGED_ACCOUNTS_IN_DETAIL:
                        break
            if len(changed) <= CHANGED_ACCOUNTS_IN_DETAIL:
                for chunk in range(0, len(changed), 10):
                    found = await asyncio.gather(*(self.get_account(i) for i in changed[chunk : chunk + 10]))
                    accounts = [a for a in found if a is not None]
                    if accounts:
                        yield accounts
                return
        async for rows in self.pages("/accounts"):
            yield [desk_account_from_desk(r) for r in rows]

    async def get_account(self, desk_account_id: str) -> DeskAccount | None:
        """`GET /accounts/{id}`: the account with its CRM link and modifiedTime; None when it does not exist."""
        record = await self._get(f"/accounts/{quote(desk_account_id, safe='')}")
        return desk_account_from_desk(record) if record else None

    async def search_accounts(self, name: str, *, contains: bool = True, limit: int = PAGE_SIZE) -> list[DeskAccount]:
        """Accounts whose name contains (or, `contains=False`, equals) `name`; none (204) → [].

        `GET /accounts/search?accountName=*name*` (`*` is Desk's wildcard; the value needs 3 characters). Search
        rows carry no CRM link: `crm_account_id` is empty here whatever Desk holds (read the detail for it).
        """
        name = name.strip().strip("*")
        pattern = f"*{name}*" if contains else name
        if not name or len(pattern) < 3:
            return []
        found: list[DeskAccount] = []
        async for rows in self.search("/accounts/search", {"accountName": pattern}, limit=limit):
            found.extend(desk_account_from_desk(r) for r in rows)
        return found

    async def find_account_for_crm(self, crm_account_id: str, name_hint: str) -> DeskAccount | None:
        """The Desk account linked to a CRM account, found by name: one search, then the detail of the best
        `DETAIL_CANDIDATES` hits (exact names first) for their `zohoCRMAccount`. An exact-name account with no
        CRM link is taken only when it is the one such candidate."""
        candidates = await self._candidates(name_hint)
        details = await asyncio.gather(*(self.get_account(a.id) for a in candidates[:DETAIL_CANDIDATES]))
        return _choose(crm_account_id, name_hint, candidates, [d for d in details if d is not None])

    async def find_account_with_tickets(
        self, crm_account_id: str, name_hint: str, *, account_id: str = "", limit: int = 200
    ) -> tuple[DeskAccount | None, list[Ticket]]:
        """`find_account_for_crm` and that account's tickets, with the best hit's tickets read alongside its
        detail: a cold lookup costs one search plus one round trip (search, detail, ticket search)."""
        candidates = await self._candidates(name_hint)
        if not candidates:
            return None, []
        guess = candidates[0]
        details, tickets = await asyncio.gather(
            asyncio.gather(*(self.get_account(a.id) for a in candidates[:DETAIL_CANDIDATES])),
            self.account_tickets(guess.id, account_id=account_id, limit=limit),
        )
        chosen = _choose(crm_account_id, name_hint, candidates, [d for d in details if d is not None])
        if chosen is None:
            return None, []
        if chosen.id != guess.id:
            tickets = await self.account_tickets(chosen.id, account_id=account_id, limit=limit)
        return chosen, tickets

    async def _candidates(self, name_hint: str) -> list[DeskAccount]:
        wanted = name_hint.strip().casefold()
        found = await self.search_accounts(name_hint)
        return sorted(found, key=lambda a: (a.name.strip().casefold() != wanted, a.id))

    async def create_account(self, payload: Mapping[str, Any]) -> DeskAccount:
        """`POST /accounts` (`accountName` required; only `ACCOUNT_WRITE_KEYS`, so never a CRM link)."""
        extra = sorted(set(payload) - ACCOUNT_WRITE_KEYS)
        if extra:
            raise ValueError(f"Desk's POST /accounts does not take {', '.join(extra)} (Account.json accountjson)")
        body = await self.transport.request("POST", "/accounts", json=dict(payload))
        return desk_account_from_desk(_created(body, "account"))

    async def create_account_for(self, new: NewDeskAccount) -> DeskAccount:
        """A new Desk account from its typed description (`bot.zoho.writes`)."""
        return await self.create_account(new.body())

    async def account_contacts(self, desk_account_id: str) -> list[dict[str, Any]]:
        """Desk's contacts of one account (raw JSON rows), all pages. `from` is 1-based here as on the account
        routes Account.json documents the same way (Contact.json gives no default)."""
        path = f"/accounts/{quote(desk_account_id, safe='')}/contacts"
        return [row async for rows in self.pages(path) for row in rows]

    async def create_contact(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /contacts` (`lastName` required); Desk's contact JSON."""
        body = await self.transport.request("POST", "/contacts", json=dict(payload))
        return dict(_created(body, "contact"))

    async def create_contact_for(self, new: NewDeskContact) -> dict[str, Any]:
        """A new Desk contact from its typed description (`bot.zoho.writes`)."""
        return await self.create_contact(new.body())

    # --- tickets ------------------------------------------------------------------------------------------

    async def account_tickets(self, desk_account_id: str, *, limit: int = 200, account_id: str = "") -> list[Ticket]:
        """Up to `limit` tickets of a Desk account, newest change first, with escalation and overdue flags:
        `GET /tickets/search?accountId=…` (account ticket list rows lack them). `account_id` is the CRM id."""
        tickets: list[Ticket] = []
        params = {"accountId": desk_account_id, "sortBy": "-modifiedTime"}
        async for rows in self.search("/tickets/search", params, limit=limit):
            tickets.extend(ticket_from_desk(r, account_id=account_id) for r in rows)
        return tickets[:limit]

    async def iter_tickets(
        self,
        modified_since: datetime | None = None,
        *,
        crm_account_ids: Mapping[str, str] | None = None,
        until: datetime = LATEST,
    ) -> AsyncIterator[list[Ticket]]:
        """Every ticket modified since `modified_since` (all of them without it), newest first, page by page,
        from ticket search in windows of at most 1,000. `crm_account_ids` maps Desk → CRM account ids."""
        links = crm_account_ids or {}
        since = EARLIEST if modified_since is None else max(EARLIEST, modified_since)
        async for rows in self.modified_between("/tickets/search", since, until):
            page = [ticket_from_desk(r) for r in rows]
            for ticket in page:
                ticket.account_id = links.get(ticket.desk_account_id, "")
            yield page

    async def get_ticket(self, ticket_id: str, *, account_id: str = "") -> Ticket | None:
        record = await self._get(f"/tickets/{quote(ticket_id, safe='')}")
        return ticket_from_desk(record, account_id=account_id) if record else None


def _choose(
    crm_account_id: str, name_hint: str, candidates: list[DeskAccount], details: list[DeskAccount]
) -> DeskAccount | None:
    """The detail whose CRM link is this account; else the one exact-name candidate, when Zoho links it to none."""
    for account in details:
        if account.crm_account_id == crm_account_id:
            return account
    wanted = name_hint.strip().casefold()
    unlinked = [a for a in details if not a.crm_account_id and a.name.strip().casefold() == wanted]
    exact = [a for a in candidates if a.name.strip().casefold() == wanted]
    return unlinked[0] if len(unlinked) == 1 and len(exact) == 1 else None


def _created(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping) or not body.get("id"):
        raise ZohoRequestError(f"Desk answered without the created {what}", app="desk")
    return body

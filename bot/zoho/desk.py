"""Zoho Desk v1 client: accounts, tickets, contacts. Every call carries the `orgId` header.

Desk lists page with `from`/`limit` (≤ 100) and have no "more" flag: a short page is the last one. A Desk
account links to CRM through `zohoCRMAccount.id`; tickets get the CRM `account_id` stamped from it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from bot.errors import ZohoNotFound, ZohoRequestError
from bot.models import DeskAccount, Ticket
from bot.zoho.auth import TokenCache
from bot.zoho.endpoints import ZohoEndpoints
from bot.zoho.parse import desk_account_from_desk, ticket_from_desk
from bot.zoho.transport import CallCounter, RetryPolicy, ZohoLimits, build_transport

PAGE_SIZE = 100


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
        self, path: str, params: Mapping[str, Any] | None = None, *, limit: int | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Raw pages of a Desk list; stops at a short page, an empty answer (204) or after `limit` records."""
        start, seen = 0, 0
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

    async def _get(self, path: str) -> dict[str, Any] | None:
        try:
            body = await self.transport.get(path)
        except ZohoNotFound:
            return None
        return body if isinstance(body, dict) and body.get("id") else None

    # --- accounts -----------------------------------------------------------------------------------------

    async def iter_accounts(self, modified_since: datetime | None = None) -> AsyncIterator[list[DeskAccount]]:
        """All Desk accounts, page by page (records older than `modified_since` are dropped client-side)."""
        since = modified_since.replace(tzinfo=UTC) if modified_since and not modified_since.tzinfo else modified_since
        async for rows in self.pages("/accounts"):
            accounts = [desk_account_from_desk(r) for r in rows]
            if since is not None:
                accounts = [a for a in accounts if a.modified_time is None or a.modified_time >= since]
            if accounts:
                yield accounts

    async def get_account(self, desk_account_id: str) -> DeskAccount | None:
        record = await self._get(f"/accounts/{quote(desk_account_id, safe='')}")
        return desk_account_from_desk(record) if record else None

    async def search_accounts(self, name: str, *, contains: bool = True, limit: int = PAGE_SIZE) -> list[DeskAccount]:
        """Accounts whose name contains (or, `contains=False`, equals) `name`; none (204) → [].

        `GET /accounts/search?accountName=*name*`: Desk search takes `*` as a wildcard.
        """
        name = name.strip().strip("*")
        if not name:
            return []
        pattern = f"*{name}*" if contains else name
        found: list[DeskAccount] = []
        async for rows in self.pages("/accounts/search", {"accountName": pattern}, limit=limit):
            found.extend(desk_account_from_desk(r) for r in rows)
        return found

    async def find_account_for_crm(self, crm_account_id: str, name_hint: str) -> DeskAccount | None:
        """The Desk account linked to a CRM account: searched by name, matched on `zohoCRMAccount.id`.

        Falls back to an exact (case-insensitive) name match only when that Desk account has no CRM link.
        """
        candidates = await self.search_accounts(name_hint)
        for account in candidates:
            if account.crm_account_id and account.crm_account_id == crm_account_id:
                return account
        wanted = name_hint.strip().casefold()
        unlinked = [a for a in candidates if not a.crm_account_id and a.name.strip().casefold() == wanted]
        return unlinked[0] if len(unlinked) == 1 else None

    async def create_account(self, payload: Mapping[str, Any]) -> DeskAccount:
        """`POST /accounts` (`accountName` required)."""
        body = await self.transport.request("POST", "/accounts", json=dict(payload))
        return desk_account_from_desk(_created(body, "account"))

    async def account_contacts(self, desk_account_id: str) -> list[dict[str, Any]]:
        """Desk's contacts of one account (raw JSON rows), all pages."""
        rows: list[dict[str, Any]] = []
        path = f"/accounts/{quote(desk_account_id, safe='')}/contacts"
        start = 0
        while True:
            body = await self.transport.get(path, params={"from": start, "limit": PAGE_SIZE})
            page = list((body or {}).get("data") or [])
            rows.extend(page)
            if len(page) < PAGE_SIZE:
                return rows
            start += PAGE_SIZE

    async def create_contact(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /contacts` (`lastName` required); Desk's contact JSON."""
        body = await self.transport.request("POST", "/contacts", json=dict(payload))
        return dict(_created(body, "contact"))

    # --- tickets ------------------------------------------------------------------------------------------

    async def account_tickets(self, desk_account_id: str, *, limit: int = 200, account_id: str = "") -> list[Ticket]:
        """Up to `limit` tickets of a Desk account, newest change first; `account_id` is the CRM id to stamp."""
        path = f"/accounts/{quote(desk_account_id, safe='')}/tickets"
        tickets: list[Ticket] = []
        async for rows in self.pages(path, {"sortBy": "-modifiedTime"}, limit=limit):
            tickets.extend(ticket_from_desk(r, account_id=account_id) for r in rows)
        return tickets[:limit]

    async def iter_tickets(
        self,
        sort_by: str = "-modifiedTime",
        stop_before: datetime | None = None,
        *,
        crm_account_ids: Mapping[str, str] | None = None,
    ) -> AsyncIterator[list[Ticket]]:
        """All tickets, page by page, skipping those modified before `stop_before`; with the default
        `-modifiedTime` order the walk ends at the first one. `crm_account_ids` maps Desk → CRM account ids."""
        if stop_before is not None and stop_before.tzinfo is None:
            stop_before = stop_before.replace(tzinfo=UTC)
        links = crm_account_ids or {}
        async for rows in self.pages("/tickets", {"sortBy": sort_by}):
            page: list[Ticket] = []
            for row in rows:
                ticket = ticket_from_desk(row)
                ticket.account_id = links.get(ticket.desk_account_id, "")
                if stop_before and ticket.modified_time and ticket.modified_time < stop_before:
                    if sort_by != "-modifiedTime":
                        continue  # not sorted by change time: skip it, keep walking
                    if page:
                        yield page
                    return
                page.append(ticket)
            if page:
                yield page

    async def get_ticket(self, ticket_id: str, *, account_id: str = "") -> Ticket | None:
        record = await self._get(f"/tickets/{quote(ticket_id, safe='')}")
        return ticket_from_desk(record, account_id=account_id) if record else None


def _created(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping) or not body.get("id"):
        raise ZohoRequestError(f"Desk answered without the created {what}", app="desk")
    return body

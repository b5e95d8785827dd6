"""Zoho CRM v8 client: accounts, contacts, deals, products, search, COQL, writes and notification channels."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from bot.errors import ZohoNotFound, ZohoRequestError
from bot.models import Account, Contact, Deal, DealLines, Product
from bot.zoho.auth import TokenCache
from bot.zoho.endpoints import ZohoEndpoints
from bot.zoho.parse import (
    account_from_crm,
    contact_from_crm,
    deal_from_crm,
    parse_datetime,
    product_line_from_crm,
    quote_lines_from_crm,
    text,
)
from bot.zoho.transport import CallCounter, RetryPolicy, ZohoLimits, build_transport, error_fields

T = TypeVar("T")

ACCOUNT_FIELDS = (
    "Account_Name,Owner,Phone,Website,Industry,Account_Type,Billing_Street,Billing_City,Billing_State,"
    "Billing_Code,Billing_Country,Currency,Created_Time,Modified_Time"
)
CONTACT_FIELDS = "First_Name,Last_Name,Full_Name,Email,Phone,Mobile,Account_Name,Modified_Time"
DEAL_FIELDS = (
    "Deal_Name,Stage,Amount,Currency,Closing_Date,Account_Name,Contact_Name,Owner,Pipeline,Probability,Type,"
    "Description,Created_Time,Modified_Time"
)
PRODUCT_FIELDS = "Product_Name,Product_Code,Unit_Price"
QUOTE_LIST_FIELDS = "Subject,Quote_Stage,Deal_Name,Grand_Total,Modified_Time"
# Quote stages that are not the deal's agreed lines (CRM's standard picklist; orgs may rename them).
DEAD_QUOTE_STAGES = frozenset({"closed lost", "rejected", "declined", "cancelled"})
PREFERRED_QUOTE_STAGES = frozenset({"confirmed", "closed won", "accepted"})

PER_PAGE = 200
PAGE_LIMIT = 2000  # `page` reaches only the first 2,000 records; beyond, `page_token`
MAX_IDS = 100  # ids= and PUT/POST batches
SEARCH_MODES = ("word", "starts_with", "equals")


def escape_criteria(value: str) -> str:
    """Escape a value for a CRM search criteria: backslash, `(`, `)` and `,` get a backslash."""
    out = value.replace("\\", "\\\\")
    for char in "(),":
        out = out.replace(char, f"\\{char}")
    return out


def if_modified_since(when: datetime) -> str:
    """ISO-8601 with offset, as CRM wants it in `If-Modified-Since` (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.isoformat(timespec="seconds")


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CrmClient:
    """Typed CRM calls over the shared `httpx.AsyncClient`. Returns `bot.models`; raises `bot.errors`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoints: ZohoEndpoints,
        token_cache: TokenCache,
        counter: CallCounter | None = None,
        retry: RetryPolicy = RetryPolicy(),
        limits: ZohoLimits = ZohoLimits(),
    ) -> None:
        self.per_page = PER_PAGE
        self.transport = build_transport(
            http,
            app="crm",
            base_url=lambda: endpoints.crm_base(token_cache.api_domain),
            auth_cache=token_cache,
            counter=counter,
            retry=retry,
            limits=limits,
        )

    # --- reading ------------------------------------------------------------------------------------------

    async def _get_one(self, module: str, record_id: str, fields: str) -> dict[str, Any] | None:
        try:
            body = await self.transport.get(f"/{module}/{quote(record_id, safe='')}", params={"fields": fields})
        except ZohoNotFound:
            return None
        rows = (body or {}).get("data") or []
        return rows[0] if rows else None

    async def get_account(self, account_id: str) -> Account | None:
        record = await self._get_one("Accounts", account_id, ACCOUNT_FIELDS)
        return account_from_crm(record) if record else None

    async def get_deal(self, deal_id: str) -> Deal | None:
        record = await self._get_one("Deals", deal_id, DEAL_FIELDS)
        return deal_from_crm(record) if record else None

    async def get_contact(self, contact_id: str) -> Contact | None:
        record = await self._get_one("Contacts", contact_id, CONTACT_FIELDS)
        return contact_from_crm(record) if record else None

    async def get_accounts(self, ids: Sequence[str]) -> list[Account]:
        """Accounts by id, `ids=` in chunks of 100; unknown ids are simply missing from the answer."""
        accounts: list[Account] = []
        for chunk in _chunks(list(dict.fromkeys(ids)), MAX_IDS):
            body = await self.transport.get("/Accounts", params={"ids": ",".join(chunk), "fields": ACCOUNT_FIELDS})
            accounts.extend(account_from_crm(r) for r in (body or {}).get("data") or [])
        return accounts

    async def pages(
        self,
        path: str,
        fields: str,
        *,
        modified_since: datetime | None = None,
        params: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Raw record pages of a list, related list or search, following `more_records`.

        Uses `page` for the first 2,000 records and `page_token` (from `info.next_page_token`) beyond.
        """
        headers = {"If-Modified-Since": if_modified_since(modified_since)} if modified_since else None
        page, page_token, seen = 1, None, 0
        while True:
            query: dict[str, Any] = {**(params or {}), "fields": fields, "per_page": self.per_page}
            if page_token:
                query["page_token"] = page_token
            else:
                query["page"] = page
            body = await self.transport.get(path, params=query, headers=headers)
            rows = (body or {}).get("data") or []
            if rows:
                yield rows
            seen += len(rows)
            info = (body or {}).get("info") or {}
            if not rows or not info.get("more_records") or (limit is not None and seen >= limit):
                return
            if page_token or page * self.per_page >= PAGE_LIMIT:
                page_token = info.get("next_page_token")
                if not page_token:
                    raise ZohoRequestError(
                        f"CRM has more than {PAGE_LIMIT} records at {path} but sent no next_page_token",
                        app="crm",
                    )
            else:
                page += 1

    async def _iter(
        self, module: str, fields: str, parse: Callable[[Mapping[str, Any]], T], modified_since: datetime | None
    ) -> AsyncIterator[list[T]]:
        async for rows in self.pages(f"/{module}", fields, modified_since=modified_since):
            yield [parse(r) for r in rows]

    def iter_accounts(self, modified_since: datetime | None = None) -> AsyncIterator[list[Account]]:
        return self._iter("Accounts", ACCOUNT_FIELDS, account_from_crm, modified_since)

    def iter_contacts(self, modified_since: datetime | None = None) -> AsyncIterator[list[Contact]]:
        return self._iter("Contacts", CONTACT_FIELDS, contact_from_crm, modified_since)

    def iter_deals(self, modified_since: datetime | None = None) -> AsyncIterator[list[Deal]]:
        return self._iter("Deals", DEAL_FIELDS, deal_from_crm, modified_since)

    async def _collect(self, path: str, fields: str, parse: Callable[[Mapping[str, Any]], T], **kw: Any) -> list[T]:
        out: list[T] = []
        async for rows in self.pages(path, fields, **kw):
            out.extend(parse(r) for r in rows)
        return out

    async def account_deals(self, account_id: str) -> list[Deal]:
        return await self._collect(f"/Accounts/{quote(account_id, safe='')}/Deals", DEAL_FIELDS, deal_from_crm)

    async def account_contacts(self, account_id: str) -> list[Contact]:
        path = f"/Accounts/{quote(account_id, safe='')}/Contacts"
        return await self._collect(path, CONTACT_FIELDS, contact_from_crm)

    async def deal_products(self, deal_id: str) -> list[Product]:
        """The deal's Products related list: a plain association, so every `quantity` is None."""
        path = f"/Deals/{quote(deal_id, safe='')}/Products"
        return await self._collect(path, PRODUCT_FIELDS, product_line_from_crm)

    async def deal_quotes(self, deal_id: str) -> list[dict[str, Any]]:
        """The deal's Quotes related list (rows without line items)."""
        path = f"/Deals/{quote(deal_id, safe='')}/Quotes"
        return await self._collect(path, QUOTE_LIST_FIELDS, dict)

    async def get_quote(self, quote_id: str) -> dict[str, Any] | None:
        """A quote with all its fields, line items (`Quoted_Items`) included."""
        try:
            body = await self.transport.get(f"/Quotes/{quote(quote_id, safe='')}")
        except ZohoNotFound:
            return None
        rows = (body or {}).get("data") or []
        return rows[0] if rows else None

    async def deal_lines(self, deal_id: str) -> DealLines:
        """The deal's lines with quantities and prices when CRM has them: the line items of its quote (the newest
        confirmed one, else the newest that is not lost). Without a quote, the product association with
        quantities unknown; never an invented quantity."""
        quotes = [
            q for q in await self.deal_quotes(deal_id) if text(q.get("Quote_Stage")).casefold() not in DEAD_QUOTE_STAGES
        ]
        if quotes:

            def rank(q: dict[str, Any]) -> tuple[bool, datetime]:
                stage = text(q.get("Quote_Stage")).casefold()
                modified = parse_datetime(q.get("Modified_Time")) or datetime.min.replace(tzinfo=UTC)
                return stage in PREFERRED_QUOTE_STAGES, modified

            chosen = max(quotes, key=rank)
            record = await self.get_quote(text(chosen.get("id")))
            lines = quote_lines_from_crm(record) if record else []
            if lines and all(line.quantity is not None for line in lines):
                return DealLines(
                    source="quote",
                    lines=lines,
                    quote_id=text(chosen.get("id")),
                    quote_name=text(chosen.get("Subject")),
                    quote_stage=text(chosen.get("Quote_Stage")),
                    quotes=len(quotes),
                )
        products = await self.deal_products(deal_id)
        return DealLines(source="products" if products else "none", lines=products, quotes=len(quotes))

    # --- search and COQL ----------------------------------------------------------------------------------

    async def search_accounts(self, word: str, *, mode: str = "word", limit: int = PER_PAGE) -> list[Account]:
        """Accounts matching `word`: `mode="word"` (any field), or `starts_with` / `equals` on Account_Name.

        An empty answer (HTTP 204, e.g. a record not indexed yet) is `[]`.
        """
        word = word.strip()
        if not word:
            return []
        if mode == "word":
            params = {"word": word}
        elif mode in SEARCH_MODES:
            params = {"criteria": f"(Account_Name:{mode}:{escape_criteria(word)})"}
        else:
            raise ValueError(f"search mode must be one of {SEARCH_MODES}")
        found = await self._collect("/Accounts/search", ACCOUNT_FIELDS, account_from_crm, params=params, limit=limit)
        return found[:limit]

    async def search_contacts_by_email(self, email: str) -> list[Contact]:
        email = email.strip()
        if not email:
            return []
        params = {"email": email}
        return await self._collect("/Contacts/search", CONTACT_FIELDS, contact_from_crm, params=params)

    async def coql(self, query: str) -> list[dict[str, Any]]:
        """Rows of a COQL `select` (at most 2,000 per call; page with `limit offset, count` in the query)."""
        body = await self.transport.request("POST", "/coql", json={"select_query": query}, idempotent=True)
        return list((body or {}).get("data") or [])

    # --- writing ------------------------------------------------------------------------------------------

    async def _write(self, method: str, module: str, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for chunk in _chunks(list(records), MAX_IDS):
            body = await self.transport.request(method, f"/{module}", json={"data": list(chunk)})
            results.extend((body or {}).get("data") or [])
        _raise_on_error_rows(module, results)
        return results

    async def update(self, module: str, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """`PUT /{module}` in batches of 100; per-record results, `ZohoRequestError` if any row failed.

        Our own writes fire CRM workflows and notifications again: callers must guard against loops.
        """
        return await self._write("PUT", module, records)

    async def create(self, module: str, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """`POST /{module}` in batches of 100; never retried on timeouts/5xx (it could create twice)."""
        return await self._write("POST", module, records)

    async def watch(
        self,
        *,
        channel_id: int | str,
        events: Sequence[str],
        notify_url: str,
        token: str,
        expiry: datetime | None = None,
        return_affected_field_values: bool = True,
    ) -> list[dict[str, Any]]:
        """Subscribe a new channel (`POST /actions/watch`). Expiry defaults to 1 hour, at most a week."""
        channel = _channel(channel_id, events, notify_url, token, expiry, return_affected_field_values)
        body = await self.transport.request("POST", "/actions/watch", json={"watch": [channel]}, idempotent=True)
        rows = list((body or {}).get("watch") or [])
        _raise_on_error_rows("actions/watch", rows)
        return rows

    async def update_watch(
        self,
        *,
        channel_id: int | str,
        events: Sequence[str],
        notify_url: str,
        token: str,
        expiry: datetime,
        return_affected_field_values: bool = True,
    ) -> list[dict[str, Any]]:
        """Renew a live channel: `PATCH /actions/watch` (updateNotificationInfo) with a new `channel_expiry`.
        `channel_id`, `notify_url` and `events` are required by the spec even when unchanged."""
        channel = _channel(channel_id, events, notify_url, token, expiry, return_affected_field_values)
        body = await self.transport.request("PATCH", "/actions/watch", json={"watch": [channel]}, idempotent=True)
        rows = list((body or {}).get("watch") or [])
        _raise_on_error_rows("actions/watch", rows)
        return rows

    async def watch_channel(self, channel_id: int | str) -> dict[str, Any] | None:
        """The live channel as CRM holds it (`GET /actions/watch?channel_id=`), or None."""
        body = await self.transport.get("/actions/watch", params={"channel_id": str(channel_id)})
        rows = [r for r in (body or {}).get("watch") or [] if str(r.get("channel_id")) == str(channel_id)]
        return rows[0] if rows else None

    async def read_fields(self, module: str, record_id: str, fields: Sequence[str]) -> dict[str, Any] | None:
        """The record's raw values of `fields` (for checking a write landed where we meant it to)."""
        return await self._get_one(module, record_id, ",".join(fields))

    async def unwatch(self, channel_ids: Sequence[int | str]) -> list[dict[str, Any]]:
        params = {"channel_ids": ",".join(str(c) for c in channel_ids)}
        body = await self.transport.request("DELETE", "/actions/watch", params=params)
        return list((body or {}).get("watch") or [])


def _channel(
    channel_id: int | str,
    events: Sequence[str],
    notify_url: str,
    token: str,
    expiry: datetime | None,
    return_affected_field_values: bool,
) -> dict[str, Any]:
    if len(token) > 50:
        raise ValueError("the CRM notification token may be at most 50 characters")
    channel: dict[str, Any] = {
        "channel_id": int(channel_id),
        "events": list(events),
        "notify_url": notify_url,
        "token": token,
        "return_affected_field_values": return_affected_field_values,
    }
    if expiry is not None:
        channel["channel_expiry"] = if_modified_since(expiry)
    return channel


def _raise_on_error_rows(module: str, rows: Sequence[Mapping[str, Any]]) -> None:
    failed = [r for r in rows if str(r.get("status", "")).lower() == "error"]
    if not failed:
        return
    code, message, details = error_fields("crm", failed[0])
    field = details.get("api_name") or ""
    where = f" ({field})" if field else ""
    raise ZohoRequestError(
        f"{len(failed)} of {len(rows)} {module} records were refused: {code}{where}: {message}",
        app="crm",
        code=code,
        details={"errors": failed, **details},
    )

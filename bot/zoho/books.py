"""Zoho Books v3 client: customers, invoices, estimates, payments. Every call carries `organization_id`.

List methods read every page (`page_context.has_more_page`). Books links a customer to CRM through
`zcrm_account_id`; pass `account_id=` to stamp the CRM account onto invoices and payments you already know
belong to it.

Reading what changed uses only documented list parameters (zoho/books-java-wrappers: ContactsApi,
InvoicesApi, CustomerPaymentsApi), never a guessed `last_modified_time` filter:
- customers: `sort_column=last_modified_time&sort_order=D`, stopping at the first row older than the watermark;
- invoices (which cannot be sorted by modification): new ones by `sort_column=created_time&sort_order=D` down to
  the watermark, a detail read of the invoices new payments were applied to, and, on a sweep (the caller decides
  how often: it reads every open invoice), the invoices that can still change (`status=draft`, `status=unpaid`,
  kept when modified since) plus a detail read of each invoice the mirror held open that is in neither list;
- payments (list rows carry no modification time and no applied invoices): `sort_column=date&sort_order=D` down to
  a look-back before the watermark; applied invoices from `invoice_numbers` when the mirror knows those numbers,
  else from `GET /customerpayments/{id}`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from bot.errors import ZohoNotFound, ZohoRequestError
from bot.models import BooksCustomer, Invoice, Payment
from bot.zoho.auth import TokenCache
from bot.zoho.endpoints import ZohoEndpoints
from bot.zoho.parse import (
    customer_from_books,
    estimate_from_books,
    invoice_from_books,
    parse_date,
    parse_datetime,
    payment_from_books,
    text,
)
from bot.zoho.transport import CallCounter, RetryPolicy, ZohoLimits, build_transport
from bot.zoho.writes import NewBooksCustomer, NewBooksDocument

T = TypeVar("T")
log = logging.getLogger(__name__)
PER_PAGE = 200
INVOICE_STATUSES = ("draft", "sent", "viewed", "overdue", "unpaid", "partially_paid", "paid", "void")
OPEN_INVOICE_FILTERS = ("draft", "unpaid")  # `status` values (InvoicesApi); unpaid = sent, overdue, part-paid
# A payment can be recorded with an earlier date than the day it is entered: look this far behind the watermark
# (callers widen it when they sweep).
PAYMENT_LOOKBACK = timedelta(days=2)
# invoice numbers -> invoice ids, for the numbers the mirror knows
NumberResolver = Callable[[list[str]], dict[str, str]]


def books_time(when: datetime) -> str:
    """Books' own timestamp spelling, `2026-03-04T10:15:00+0000` (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S%z")


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class BooksClient:
    """Typed Books calls over the shared `httpx.AsyncClient`, rate-limited per organisation."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoints: ZohoEndpoints,
        token_cache: TokenCache,
        organization_id: str,
        counter: CallCounter | None = None,
        retry: RetryPolicy = RetryPolicy(),
        limits: ZohoLimits = ZohoLimits(),
    ) -> None:
        self.organization_id = organization_id
        self.per_page = PER_PAGE
        self.transport = build_transport(
            http,
            app="books",
            base_url=lambda: endpoints.books_base(token_cache.api_domain),
            auth_cache=token_cache,
            counter=counter,
            retry=retry,
            limits=limits,
            params={"organization_id": organization_id},
        )

    # --- paging -------------------------------------------------------------------------------------------

    async def pages(self, path: str, key: str, params: Mapping[str, Any] | None = None) -> AsyncIterator[list[dict]]:
        """Raw pages of a list (`key` is the resource list key: `contacts`, `invoices`, ...)."""
        page = 1
        while True:
            body = await self.transport.get(path, params={**(params or {}), "page": page, "per_page": self.per_page})
            rows = list((body or {}).get(key) or [])
            if rows:
                yield rows
            context = (body or {}).get("page_context") or {}
            if not rows or not context.get("has_more_page"):
                return
            page += 1

    async def _all(self, path: str, key: str, params: Mapping[str, Any], parse: Callable[[dict], T]) -> list[T]:
        out: list[T] = []
        async for rows in self.pages(path, key, params):
            out.extend(parse(r) for r in rows)
        return out

    async def _get(self, path: str, key: str) -> dict[str, Any] | None:
        try:
            body = await self.transport.get(path)
        except ZohoNotFound:
            return None
        record = (body or {}).get(key)
        return record if isinstance(record, dict) else None

    # --- customers ----------------------------------------------------------------------------------------

    async def find_customers(
        self,
        zcrm_account_id: str | None = None,
        contact_name: str | None = None,
        email: str | None = None,
        search_text: str | None = None,
    ) -> list[BooksCustomer]:
        params = {
            "zcrm_account_id": zcrm_account_id,
            "contact_name": contact_name,
            "email": email,
            "search_text": search_text,
        }
        rows = await self._all("/contacts", "contacts", params, lambda r: r)
        return [customer_from_books(r) for r in rows if r.get("contact_type") in (None, "", "customer")]

    async def newest_first(
        self,
        path: str,
        key: str,
        column: str,
        since: datetime,
        stamp: Callable[[Mapping[str, Any]], datetime | None],
        params: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[list[dict]]:
        """Pages sorted by `column` descending, down to the first row stamped before `since` (then stops)."""
        since = _aware(since)
        query = {**(params or {}), "sort_column": column, "sort_order": "D"}
        async for rows in self.pages(path, key, query):
            kept = [r for r in rows if (t := stamp(r)) is None or _aware(t) >= since]
            if kept:
                yield kept
            if len(kept) < len(rows):
                return  # sorted newest first: everything after this row is older still

    async def iter_customers(self, modified_since: datetime | None = None) -> AsyncIterator[list[BooksCustomer]]:
        rows_of = (
            self.pages("/contacts", "contacts")
            if modified_since is None
            else self.newest_first(
                "/contacts",
                "contacts",
                "last_modified_time",
                modified_since,
                lambda r: parse_datetime(r.get("last_modified_time")),
            )
        )
        async for rows in rows_of:
            if customers := [customer_from_books(r) for r in rows if r.get("contact_type") in (None, "", "customer")]:
                yield customers

    async def get_customer(self, customer_id: str) -> BooksCustomer | None:
        record = await self._get(f"/contacts/{quote(customer_id, safe='')}", "contact")
        return customer_from_books(record) if record else None

    async def create_contact(self, payload: Mapping[str, Any]) -> BooksCustomer:
        """`POST /contacts` (`contact_name` required); the new customer."""
        body = await self.transport.request("POST", "/contacts", json=dict(payload))
        return customer_from_books(_resource(body, "contact"))

    async def create_customer(self, new: NewBooksCustomer) -> BooksCustomer:
        """A new Books customer from its typed description (`bot.zoho.writes`)."""
        return await self.create_contact(new.body())

    async def import_crm_account(self, crm_account_id: str) -> str:
        """Create (or link) the Books customer for a CRM account through Books' CRM integration; its id."""
        body = await self.transport.request("POST", f"/crm/account/{quote(crm_account_id, safe='')}/import")
        for holder in (body, (body or {}).get("data"), (body or {}).get("contact")):
            if not isinstance(holder, Mapping):
                continue
            if contact_id := text(holder.get("contact_id") or holder.get("customer_id")):
                return contact_id
        raise ZohoRequestError("Books imported the CRM account but returned no contact_id", app="books")

    # --- invoices and estimates ---------------------------------------------------------------------------

    async def list_invoices(
        self,
        customer_id: str | None = None,
        status: str | None = None,
        reference_number: str | None = None,
        zcrm_potential_id: str | None = None,
        *,
        account_id: str = "",
    ) -> list[Invoice]:
        return await self._documents("invoice", customer_id, status, reference_number, zcrm_potential_id, account_id)

    async def list_estimates(
        self,
        customer_id: str | None = None,
        status: str | None = None,
        reference_number: str | None = None,
        zcrm_potential_id: str | None = None,
        *,
        account_id: str = "",
    ) -> list[Invoice]:
        return await self._documents("estimate", customer_id, status, reference_number, zcrm_potential_id, account_id)

    async def _documents(
        self,
        kind: str,
        customer_id: str | None,
        status: str | None,
        reference_number: str | None,
        zcrm_potential_id: str | None,
        account_id: str,
    ) -> list[Invoice]:
        """Invoices or estimates (same filters, same paging) as `Invoice` models of that kind."""
        params = {
            "customer_id": customer_id,
            "status": status,
            "reference_number": reference_number,
            "zcrm_potential_id": zcrm_potential_id,
        }
        parse = invoice_from_books if kind == "invoice" else estimate_from_books
        return await self._all(f"/{kind}s", f"{kind}s", params, lambda r: parse(r, account_id=account_id))

    async def iter_invoices(
        self, modified_since: datetime | None = None, open_ids: Collection[str] = (), *, sweep: bool = True
    ) -> AsyncIterator[list[Invoice]]:
        """Every invoice (no watermark), or what changed since `modified_since`: invoices created since; with
        `sweep`, the draft and unpaid ones modified since (the open lists are read whole: Books cannot sort or
        filter invoices by modification, so callers sweep now and then, not every time) and a fresh read of each of
        `open_ids` (the mirror's open invoices) in neither list. (Invoices that new payments were applied to:
        `read_invoices`.)"""
        if modified_since is None:
            async for rows in self.pages("/invoices", "invoices"):
                yield [invoice_from_books(r) for r in rows]
            return
        seen: set[str] = set()
        created = self.newest_first(
            "/invoices", "invoices", "created_time", modified_since, lambda r: parse_datetime(r.get("created_time"))
        )
        async for rows in created:
            seen.update(text(r.get("invoice_id")) for r in rows)
            yield [invoice_from_books(r) for r in rows]
        since = _aware(modified_since)
        for status in OPEN_INVOICE_FILTERS if sweep else ():
            async for rows in self.pages("/invoices", "invoices", {"status": status}):
                # Only what changed since the watermark (a row without a modification time counts as changed).
                fresh = [
                    r
                    for r in rows
                    if text(r.get("invoice_id")) not in seen
                    and ((t := parse_datetime(r.get("last_modified_time"))) is None or _aware(t) >= since)
                ]
                seen.update(text(r.get("invoice_id")) for r in rows)
                if fresh:
                    yield [invoice_from_books(r) for r in fresh]
        closed = []
        for invoice_id in (i for i in (open_ids if sweep else ()) if i not in seen):
            if (invoice := await self.get_invoice(invoice_id)) is not None:
                closed.append(invoice)
        if closed:
            yield closed

    async def read_invoices(self, invoice_ids: Collection[str], page: int = 50) -> AsyncIterator[list[Invoice]]:
        """Invoices by id (`GET /invoices/{id}` each), in pages; ids Books no longer knows are skipped."""
        found: list[Invoice] = []
        for invoice_id in dict.fromkeys(invoice_ids):
            if (invoice := await self.get_invoice(invoice_id)) is not None:
                found.append(invoice)
            if len(found) >= page:
                yield found
                found = []
        if found:
            yield found

    async def get_invoice(self, invoice_id: str, *, account_id: str = "") -> Invoice | None:
        record = await self._get(f"/invoices/{quote(invoice_id, safe='')}", "invoice")
        return invoice_from_books(record, account_id=account_id) if record else None

    async def create_invoice(self, payload: Mapping[str, Any], *, account_id: str = "") -> Invoice:
        """`POST /invoices` (`customer_id` required); Books answers it as a draft. Never retried on 5xx."""
        body = await self.transport.request("POST", "/invoices", json=dict(payload))
        return invoice_from_books(_resource(body, "invoice"), account_id=account_id)

    async def create_document(self, new: NewBooksDocument, *, account_id: str = "") -> Invoice:
        """A new draft invoice or estimate from its typed description (`bot.zoho.writes`)."""
        create = self.create_invoice if new.kind == "invoice" else self.create_estimate
        return await create(new.body(), account_id=account_id)

    async def create_estimate(self, payload: Mapping[str, Any], *, account_id: str = "") -> Invoice:
        body = await self.transport.request("POST", "/estimates", json=dict(payload))
        return estimate_from_books(_resource(body, "estimate"), account_id=account_id)

    # --- payments -----------------------------------------------------------------------------------------

    async def list_payments(
        self,
        customer_id: str | None = None,
        *,
        account_id: str = "",
        applied: bool = False,
    ) -> list[Payment]:
        """A customer's payments. List rows carry no applied invoices: `applied=True` reads them (per payment)."""
        rows = await self._all("/customerpayments", "customerpayments", {"customer_id": customer_id}, dict)
        if applied:
            rows = await self._with_applied(rows)
        return [payment_from_books(r, account_id=account_id) for r in rows]

    async def get_payment(self, payment_id: str, *, account_id: str = "") -> Payment | None:
        """`GET /customerpayments/{id}`: the payment with the invoices it was applied to."""
        record = await self._get(f"/customerpayments/{quote(payment_id, safe='')}", "payment")
        return payment_from_books(record, account_id=account_id) if record else None

    async def iter_payments(
        self,
        modified_since: datetime | None = None,
        resolve: NumberResolver | None = None,
        lookback: timedelta = PAYMENT_LOOKBACK,
    ) -> AsyncIterator[list[Payment]]:
        """Every payment, or those dated from `lookback` before `modified_since`, newest first, with their
        applied invoices (from `invoice_numbers` through `resolve`, else from the payment's detail)."""
        if modified_since is None:
            rows_of = self.pages("/customerpayments", "customerpayments")
        else:
            floor = _aware(modified_since) - lookback

            def day(r: Mapping[str, Any]) -> datetime | None:
                when = parse_date(r.get("date"))
                return datetime(when.year, when.month, when.day, tzinfo=UTC) if when else None

            rows_of = self.newest_first(
                "/customerpayments",
                "customerpayments",
                "date",
                floor.replace(hour=0, minute=0, second=0, microsecond=0),
                day,
            )
        async for rows in rows_of:
            yield [payment_from_books(r) for r in await self._with_applied(rows, resolve)]

    async def _with_applied(self, rows: list[dict], resolve: NumberResolver | None = None) -> list[dict]:
        """Rows with `invoices` filled in: from `invoice_numbers` when `resolve` knows every number, else from
        the payment's detail (`GET /customerpayments/{id}`, the documented home of applied invoices)."""
        out = []
        for row in rows:
            if isinstance(row.get("invoices"), list):
                out.append(row)
                continue
            raw = row.get("invoice_numbers")
            numbers = [n.strip() for n in str(raw or "").split(",") if n.strip()]
            if raw is not None and not numbers:
                out.append({**row, "invoices": []})  # applied to nothing (an advance payment)
                continue
            known = resolve(numbers) if resolve and numbers else {}
            if numbers and all(n in known for n in numbers):
                out.append({**row, "invoices": [{"invoice_id": known[n], "invoice_number": n} for n in numbers]})
                continue
            detail = await self._get(f"/customerpayments/{quote(text(row.get('payment_id')), safe='')}", "payment")
            out.append({**row, **detail} if detail else row)
        return out


def _resource(body: Any, key: str) -> Mapping[str, Any]:
    record = body.get(key) if isinstance(body, Mapping) else None
    if not isinstance(record, Mapping):
        raise ZohoRequestError(f"Books answered without the created {key}", app="books")
    return record

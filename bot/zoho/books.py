"""Zoho Books v3 client: customers, invoices, estimates, payments. Every call carries `organization_id`.

List methods read every page (`page_context.has_more_page`). Books links a customer to CRM through
`zcrm_account_id`; pass `account_id=` to stamp the CRM account onto invoices and payments you already know
belong to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
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
    payment_from_books,
    text,
)
from bot.zoho.transport import CallCounter, RetryPolicy, ZohoLimits, build_transport

T = TypeVar("T")
PER_PAGE = 200
INVOICE_STATUSES = ("draft", "sent", "viewed", "overdue", "unpaid", "partially_paid", "paid", "void")


def books_time(when: datetime) -> str:
    """Books' own timestamp spelling, `2026-03-04T10:15:00+0000` (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S%z")


def _since(items: list[T], since: datetime | None, modified: Callable[[T], datetime | None]) -> list[T]:
    """Drop records older than `since` (the server filter is the first line; this keeps us exact)."""
    if since is None:
        return items
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return [i for i in items if (m := modified(i)) is None or m >= since]


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

    async def iter_customers(self, modified_since: datetime | None = None) -> AsyncIterator[list[BooksCustomer]]:
        params = {"last_modified_time": books_time(modified_since)} if modified_since else {}
        async for rows in self.pages("/contacts", "contacts", params):
            customers = [customer_from_books(r) for r in rows if r.get("contact_type") in (None, "", "customer")]
            if kept := _since(customers, modified_since, lambda c: c.modified_time):
                yield kept

    async def get_customer(self, customer_id: str) -> BooksCustomer | None:
        record = await self._get(f"/contacts/{quote(customer_id, safe='')}", "contact")
        return customer_from_books(record) if record else None

    async def create_contact(self, payload: Mapping[str, Any]) -> BooksCustomer:
        """`POST /contacts` (`contact_name` required); the new customer."""
        body = await self.transport.request("POST", "/contacts", json=dict(payload))
        return customer_from_books(_resource(body, "contact"))

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
        modified_since: datetime | None = None,
        *,
        account_id: str = "",
    ) -> list[Invoice]:
        return await self._documents("invoice", customer_id, status, reference_number, zcrm_potential_id,
                                     modified_since, account_id)

    async def list_estimates(
        self,
        customer_id: str | None = None,
        status: str | None = None,
        reference_number: str | None = None,
        zcrm_potential_id: str | None = None,
        modified_since: datetime | None = None,
        *,
        account_id: str = "",
    ) -> list[Invoice]:
        return await self._documents("estimate", customer_id, status, reference_number, zcrm_potential_id,
                                     modified_since, account_id)

    async def _documents(self, kind: str, customer_id: str | None, status: str | None, reference_number: str | None,
                         zcrm_potential_id: str | None, modified_since: datetime | None,
                         account_id: str) -> list[Invoice]:
        """Invoices or estimates (same filters, same paging) as `Invoice` models of that kind."""
        params = {
            "customer_id": customer_id,
            "status": status,
            "reference_number": reference_number,
            "zcrm_potential_id": zcrm_potential_id,
            "last_modified_time": books_time(modified_since) if modified_since else None,
        }
        parse = invoice_from_books if kind == "invoice" else estimate_from_books
        found = await self._all(f"/{kind}s", f"{kind}s", params, lambda r: parse(r, account_id=account_id))
        return _since(found, modified_since, lambda i: i.modified_time)

    async def iter_invoices(self, modified_since: datetime | None = None) -> AsyncIterator[list[Invoice]]:
        params = {"last_modified_time": books_time(modified_since)} if modified_since else {}
        async for rows in self.pages("/invoices", "invoices", params):
            if kept := _since([invoice_from_books(r) for r in rows], modified_since, lambda i: i.modified_time):
                yield kept

    async def get_invoice(self, invoice_id: str, *, account_id: str = "") -> Invoice | None:
        record = await self._get(f"/invoices/{quote(invoice_id, safe='')}", "invoice")
        return invoice_from_books(record, account_id=account_id) if record else None

    async def create_invoice(self, payload: Mapping[str, Any], *, account_id: str = "") -> Invoice:
        """`POST /invoices` (`customer_id` required); Books answers it as a draft. Never retried on 5xx."""
        body = await self.transport.request("POST", "/invoices", json=dict(payload))
        return invoice_from_books(_resource(body, "invoice"), account_id=account_id)

    async def create_estimate(self, payload: Mapping[str, Any], *, account_id: str = "") -> Invoice:
        body = await self.transport.request("POST", "/estimates", json=dict(payload))
        return estimate_from_books(_resource(body, "estimate"), account_id=account_id)

    # --- payments -----------------------------------------------------------------------------------------

    async def list_payments(
        self,
        customer_id: str | None = None,
        modified_since: datetime | None = None,
        *,
        account_id: str = "",
    ) -> list[Payment]:
        params = {
            "customer_id": customer_id,
            "last_modified_time": books_time(modified_since) if modified_since else None,
        }
        payments = await self._all(
            "/customerpayments", "customerpayments", params, lambda r: payment_from_books(r, account_id=account_id)
        )
        return _since(payments, modified_since, lambda p: p.modified_time)

    async def iter_payments(self, modified_since: datetime | None = None) -> AsyncIterator[list[Payment]]:
        params = {"last_modified_time": books_time(modified_since)} if modified_since else {}
        async for rows in self.pages("/customerpayments", "customerpayments", params):
            if kept := _since([payment_from_books(r) for r in rows], modified_since, lambda p: p.modified_time):
                yield kept


def _resource(body: Any, key: str) -> Mapping[str, Any]:
    record = body.get(key) if isinstance(body, Mapping) else None
    if not isinstance(record, Mapping):
        raise ZohoRequestError(f"Books answered without the created {key}", app="books")
    return record

"""The Books contract: the client sends only documented list parameters and sort columns, and the sandbox answers
only documented keys and refuses undocumented parameters and create keys in Books' own error shape. Facts and
their sources are in books_spec.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.zoho.sandbox import Sandbox

from . import books_spec as spec
from .conftest import URL


@pytest.fixture
async def api(sb: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    c = sb.credentials
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sb.asgi_app()), base_url=URL, params={"organization_id": c.books_org_id}
    ) as client:
        token = (
            await client.post(
                "/oauth/v2/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "refresh_token": c.refresh_token,
                },
            )
        ).json()["access_token"]
        client.headers["Authorization"] = f"Zoho-oauthtoken {token}"
        yield client


async def test_the_client_sends_only_documented_parameters(sb, recorded):
    clients, recording = recorded
    books = clients.books
    books.per_page = 50
    account_id = sb.state.demo_account_id
    [customer] = await books.find_customers(zcrm_account_id=account_id)
    await books.find_customers(contact_name="Nobody Ltd")
    await books.list_invoices(customer_id=customer.id, reference_number="123")
    await books.list_estimates(customer_id=customer.id)
    await books.list_payments(customer_id=customer.id, applied=True)
    since = datetime.now(UTC) - timedelta(days=3)
    mirrored = [i async for page in books.iter_invoices() for i in page]
    open_ids = [i.id for i in mirrored if i.status not in ("paid", "void")][:3]
    for stream in (
        books.iter_customers(),
        books.iter_customers(modified_since=since),
        books.iter_invoices(modified_since=since, open_ids=open_ids),
        books.iter_payments(),
        books.iter_payments(modified_since=since),
    ):
        async for _ in stream:
            pass
    await books.get_customer(customer.id)

    lists = {e.path: e for e in spec.LISTS}
    seen = set()
    for request in (r for r in recording.requests if r.url.path.startswith("/books/")):
        params = set(request.url.params)
        endpoint = lists.get(request.url.path)
        if endpoint is None:  # a detail read
            assert params <= spec.DETAIL_PARAMS, f"{request.url.path} sends {params - spec.DETAIL_PARAMS}"
            continue
        seen.add(endpoint.path)
        assert params <= endpoint.params, f"{endpoint.path} sends {params - endpoint.params} ({endpoint.source})"
        if "sort_column" in params:
            assert request.url.params["sort_column"] in endpoint.sort_columns, endpoint.source
            assert request.url.params.get("sort_order") in ("A", "D")
    assert seen == {e.path for e in spec.LISTS}


@pytest.mark.parametrize("endpoint", spec.LISTS, ids=lambda e: e.key)
async def test_list_rows_carry_only_documented_keys(api, endpoint):
    r = await api.get(endpoint.path, params={"per_page": 200})
    rows = r.json()[endpoint.key]
    assert rows
    for row in rows:
        extra = set(row) - endpoint.row_keys
        assert not extra, f"{endpoint.key} rows carry {extra}, undocumented ({endpoint.source})"


@pytest.mark.parametrize("endpoint", spec.LISTS, ids=lambda e: e.key)
async def test_undocumented_parameters_and_sorts_are_refused(api, endpoint):
    for bad in ({"last_modified_time": "2026-01-01T00:00:00+0000"}, {"sort_column": "updated"}):
        r = await api.get(endpoint.path, params=bad)
        assert r.status_code == 400 and set(r.json()) == spec.ERROR_KEYS and r.json()["code"] == 2
    for column in endpoint.sort_columns:
        r = await api.get(endpoint.path, params={"sort_column": column, "sort_order": "D", "per_page": 5})
        assert r.status_code == 200, column


async def test_applied_invoices_come_with_the_payment_detail(api, sb):
    rows = (await api.get("/books/v3/customerpayments")).json()["customerpayments"]
    for row in rows[:10]:
        assert "invoices" not in row
        payment = (await api.get(f"/books/v3/customerpayments/{row['payment_id']}")).json()["payment"]
        assert payment["invoices"]
        for applied in payment["invoices"]:
            assert spec.PAYMENT_INVOICE_REQUIRED <= set(applied) <= spec.PAYMENT_INVOICE_KEYS
        assert row["invoice_numbers"] == ", ".join(a["invoice_number"] for a in payment["invoices"])


async def test_undocumented_create_keys_are_refused(api, sb):
    customer_id = sb.state.books_contact_by_crm_account[sb.state.demo_account_id]
    line = {"name": "Setup", "rate": 100.0, "quantity": 2}
    attempts = [
        ("/books/v3/contacts", {"contact_name": "Keyed Co", "zcrm_account_id": sb.state.demo_account_id}),
        ("/books/v3/contacts", {"contact_name": "Keyed Co", "billing_address": {"street": "1 Main"}}),
        ("/books/v3/invoices", {"customer_id": customer_id, "line_items": [line], "zcrm_potential_id": "1"}),
        ("/books/v3/invoices", {"customer_id": customer_id, "line_items": [{**line, "product_id": "9"}]}),
        ("/books/v3/estimates", {"customer_id": customer_id, "line_items": [line], "payment_terms": 30}),
    ]
    for path, body in attempts:
        r = await api.post(path, json=body)
        assert r.status_code == 400 and set(r.json()) == spec.ERROR_KEYS and r.json()["code"] == 2, (path, body)
    for path, body, allowed in (
        ("/books/v3/contacts", {"contact_name": "Keyed Co", "contact_type": "customer"}, spec.CONTACT_CREATE_KEYS),
        (
            "/books/v3/invoices",
            {"customer_id": customer_id, "line_items": [line], "payment_terms": 30},
            spec.INVOICE_CREATE_KEYS,
        ),
        ("/books/v3/estimates", {"customer_id": customer_id, "line_items": [line]}, spec.ESTIMATE_CREATE_KEYS),
    ):
        assert set(body) <= allowed and set(line) <= spec.LINE_ITEM_KEYS
        r = await api.post(path, json=body)
        assert r.status_code == 201 and r.json()["code"] == 0, r.json()

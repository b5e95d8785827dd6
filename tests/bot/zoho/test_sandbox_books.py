"""BooksClient against the sandbox over HTTP."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.errors import ZohoAuthError, ZohoRequestError
from bot.zoho.books import PAYMENT_LOOKBACK, BooksClient
from bot.zoho.sandbox.timefmt import books_ts

from .conftest import sandbox_clients


def demo_customer_id(sb) -> str:
    return sb.state.books_contact_by_crm_account[sb.state.demo_account_id]


async def test_wrong_organization_id_is_an_auth_error_without_refresh(sb):
    clients = sandbox_clients(sb)
    wrong = BooksClient(
        clients.http, endpoints=clients.endpoints, token_cache=clients.token_cache, organization_id="123"
    )
    with pytest.raises(ZohoAuthError) as info:
        await wrong.find_customers(zcrm_account_id=sb.state.demo_account_id)
    assert info.value.code == 6041 and "organization id" in str(info.value)
    assert sb.token_requests == 1 and len(sb.calls) == 1
    await clients.aclose()


async def test_find_customers_by_crm_account_name_email_and_text(sb, zoho):
    account_id = sb.state.demo_account_id
    [customer] = await zoho.books.find_customers(zcrm_account_id=account_id)
    assert customer.account_id == account_id and customer.id == demo_customer_id(sb)
    assert [c.id for c in await zoho.books.find_customers(contact_name=customer.name)] == [customer.id]
    assert customer.id in {c.id for c in await zoho.books.find_customers(email=customer.email)}
    assert customer.id in {c.id for c in await zoho.books.find_customers(search_text=customer.name[:5])}
    assert await zoho.books.find_customers(zcrm_account_id=sb.state.untidy["missing_from_books"][0]) == []


async def test_get_customer_and_unknown(sb, zoho):
    customer = await zoho.books.get_customer(demo_customer_id(sb))
    assert customer is not None and customer.payment_terms is not None
    assert await zoho.books.get_customer("460000999999999") is None


async def test_iter_customers_pages(sb, zoho):
    zoho.books.per_page = 5
    pages = [page async for page in zoho.books.iter_customers()]
    customers = [c for page in pages for c in page]
    expected = [c for c in sb.state.books_contacts.values() if c.get("contact_type", "customer") == "customer"]
    assert len(customers) == len(expected) and len(pages) >= 4
    assert zoho.call_counts["books"] == -(-len(sb.state.books_contacts) // 5)


async def test_list_invoices_all_pages_filters_and_stamp(sb, zoho):
    zoho.books.per_page = 7
    everything = await zoho.books.list_invoices()
    assert len(everything) == len(sb.state.books_invoices)
    assert zoho.call_counts["books"] == -(-len(everything) // 7)

    customer_id = demo_customer_id(sb)
    mine = await zoho.books.list_invoices(customer_id=customer_id, account_id=sb.state.demo_account_id)
    assert mine and all(i.customer_id == customer_id and i.account_id == sb.state.demo_account_id for i in mine)
    overdue = await zoho.books.list_invoices(status="overdue")
    assert all(i.status == "overdue" for i in overdue)
    deal_id = next(i.deal_id for i in mine if i.deal_id)
    assert all(i.deal_id == deal_id for i in await zoho.books.list_invoices(zcrm_potential_id=deal_id))


async def test_iter_invoices_since_a_watermark(sb, zoho):
    """Documented reads only: new invoices newest first by created_time, open ones changed since, and a detail
    read of a mirrored open invoice that left the open lists."""
    everything = [i async for page in zoho.books.iter_invoices() for i in page]
    assert len(everything) == len(sb.state.books_invoices)
    cutoff = sb.state.now() - timedelta(hours=1)
    new = await zoho.books.create_invoice(
        {"customer_id": everything[0].customer_id, "line_items": [{"name": "Extra", "rate": 10.0, "quantity": 1}]}
    )
    closed = next(i for i in everything if i.status == "sent")
    sb.state.books_invoices[closed.id].update(status="paid", balance=0.0, last_modified_time=books_ts(sb.state.now()))
    sb.calls.clear()
    changed = [i async for page in zoho.books.iter_invoices(modified_since=cutoff, open_ids=[closed.id]) for i in page]
    assert {new.id, closed.id} <= {i.id for i in changed}
    assert len(changed) < len(everything) / 4
    assert next(i for i in changed if i.id == closed.id).status == "paid"
    assert ("books", "GET", f"/books/v3/invoices/{closed.id}") in sb.calls


async def test_estimates_and_payments(sb, zoho):
    customer_id = demo_customer_id(sb)
    estimates = await zoho.books.list_estimates(customer_id=customer_id)
    assert estimates and all(e.kind == "estimate" for e in estimates)
    payments = await zoho.books.list_payments(customer_id=customer_id, account_id=sb.state.demo_account_id)
    assert payments and all(p.amount > 0 and not p.invoice_ids for p in payments)  # list rows do not say
    applied = await zoho.books.list_payments(customer_id=customer_id, applied=True)
    assert applied and all(p.invoice_ids for p in applied)
    one = await zoho.books.get_payment(applied[0].id)
    assert one is not None and one.invoice_ids == applied[0].invoice_ids
    assert all(p.account_id == sb.state.demo_account_id for p in payments)


async def test_iter_payments(sb, zoho):
    zoho.books.per_page = 10
    sb.calls.clear()
    payments = [p async for page in zoho.books.iter_payments() for p in page]
    assert len(payments) == len(sb.state.books_payments)
    assert all(p.invoice_ids for p in payments)  # from each payment's detail: no resolver given
    details = len([c for c in sb.calls if c[2].startswith("/books/v3/customerpayments/")])
    assert details == len(payments)
    # With the mirror's invoice numbers, no detail read is needed.
    numbers = {i["invoice_number"]: i["invoice_id"] for i in sb.state.books_invoices.values()}
    sb.calls.clear()
    resolved = [
        p
        async for page in zoho.books.iter_payments(resolve=lambda ns: {n: numbers[n] for n in ns if n in numbers})
        for p in page
    ]
    assert [p.invoice_ids for p in resolved] == [p.invoice_ids for p in payments]
    assert not [c for c in sb.calls if c[2].startswith("/books/v3/customerpayments/")]
    # Since a watermark: payments dated from the look-back before it, newest first, and no older.
    cutoff = datetime.combine(sorted(p.date for p in payments)[len(payments) // 2], datetime.min.time(), UTC)
    recent = [p async for page in zoho.books.iter_payments(modified_since=cutoff) for p in page]
    floor = (cutoff - PAYMENT_LOOKBACK).date()
    assert recent and all(p.date >= floor for p in recent)
    assert {p.id for p in recent} == {p.id for p in payments if p.date >= floor}


async def test_create_contact_invoice_and_estimate(sb, zoho):
    customer = await zoho.books.create_contact(
        {"contact_name": "Fresh Customer GmbH", "contact_type": "customer", "payment_terms": 15}
    )
    assert customer.id in sb.state.books_contacts and customer.payment_terms == 15
    line = {"name": "Consulting", "rate": 150.0, "quantity": 4}
    invoice = await zoho.books.create_invoice({"customer_id": customer.id, "line_items": [line]})
    assert invoice.status == "draft" and invoice.total == Decimal("600") and invoice.id in sb.state.books_invoices
    estimate = await zoho.books.create_estimate({"customer_id": customer.id, "line_items": [line]})
    assert estimate.kind == "estimate" and estimate.id in sb.state.books_estimates


async def test_create_errors_are_request_errors(sb, zoho):
    with pytest.raises(ZohoRequestError) as info:
        await zoho.books.create_invoice({"customer_id": "460000999999999", "line_items": []})
    assert info.value.app == "books" and "customer_id" in str(info.value)
    name = sb.state.books_contacts[demo_customer_id(sb)]["contact_name"]
    with pytest.raises(ZohoRequestError):
        await zoho.books.create_contact({"contact_name": name})


async def test_import_crm_account(sb, zoho):
    crm_id = sb.state.untidy["missing_from_books"][0]
    customer_id = await zoho.books.import_crm_account(crm_id)
    assert sb.state.books_contacts[customer_id]["zcrm_account_id"] == crm_id
    [found] = await zoho.books.find_customers(zcrm_account_id=crm_id)
    assert found.id == customer_id


async def test_books_time_spelling():
    from bot.zoho.books import books_time

    assert books_time(datetime(2026, 3, 4, 10, 15, tzinfo=UTC)) == "2026-03-04T10:15:00+0000"
    assert books_time(datetime(2026, 3, 4, 10, 15)) == "2026-03-04T10:15:00+0000"
    assert books_time(datetime(2026, 3, 4, 10, 15, tzinfo=UTC) + timedelta(0)).endswith("+0000")

"""BooksClient against the sandbox over HTTP."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.errors import ZohoAuthError, ZohoRequestError
from bot.zoho.books import BooksClient

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


async def test_list_invoices_modified_since(sb, zoho):
    invoices = await zoho.books.list_invoices()
    times = sorted(i.modified_time for i in invoices if i.modified_time)
    cutoff = times[len(times) // 2]
    recent = await zoho.books.list_invoices(modified_since=cutoff)
    assert recent and all(i.modified_time and i.modified_time >= cutoff for i in recent)
    assert len(recent) < len(invoices)
    pages = [p async for p in zoho.books.iter_invoices(modified_since=cutoff)]
    assert {i.id for p in pages for i in p} == {i.id for i in recent}


async def test_estimates_and_payments(sb, zoho):
    customer_id = demo_customer_id(sb)
    estimates = await zoho.books.list_estimates(customer_id=customer_id)
    assert estimates and all(e.kind == "estimate" for e in estimates)
    payments = await zoho.books.list_payments(customer_id=customer_id, account_id=sb.state.demo_account_id)
    assert payments and all(p.amount > 0 and p.invoice_ids for p in payments)
    assert all(p.account_id == sb.state.demo_account_id for p in payments)


async def test_iter_payments(sb, zoho):
    zoho.books.per_page = 10
    payments = [p async for page in zoho.books.iter_payments() for p in page]
    assert len(payments) == len(sb.state.books_payments)
    cutoff = sorted(p.modified_time for p in payments if p.modified_time)[len(payments) // 2]
    recent = [p async for page in zoho.books.iter_payments(modified_since=cutoff) for p in page]
    assert recent and all(p.modified_time and p.modified_time >= cutoff for p in recent)


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

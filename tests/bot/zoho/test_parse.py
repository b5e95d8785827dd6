from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.zoho.parse import (
    account_from_crm,
    contact_from_crm,
    customer_from_books,
    deal_from_crm,
    desk_account_from_desk,
    estimate_from_books,
    invoice_from_books,
    parse_datetime,
    parse_decimal,
    payment_from_books,
    product_line_from_crm,
    quote_line_from_crm,
    quote_lines_from_crm,
    ticket_from_desk,
)

CRM_ACCOUNT = {
    "id": "5725767000000411001",
    "Account_Name": "Zylker (EU), Ltd",
    "Owner": {"name": "Patricia Boyle", "id": "5725767000000258001", "email": "p.boyle@zylker.com"},
    "Phone": "+49 30 1234",
    "Website": None,
    "Industry": "Manufacturing",
    "Account_Type": None,
    "Billing_Street": "Unter den Linden 1",
    "Billing_City": "Berlin",
    "Billing_State": None,
    "Billing_Code": "10117",
    "Billing_Country": "Germany",
    "Currency": "EUR",
    "Created_Time": "2026-03-04T10:15:00+05:30",
    "Modified_Time": "2026-03-05T09:00:00+01:00",
    "$currency_symbol": "€",
}


def test_crm_account_with_nulls_and_offsets():
    account = account_from_crm(CRM_ACCOUNT)
    assert account.id == "5725767000000411001"
    assert account.name == "Zylker (EU), Ltd"
    assert account.owner.email == "p.boyle@zylker.com"
    assert account.website == "" and account.account_type == ""
    assert account.billing.code == "10117" and account.billing.state == ""
    assert account.created_time == datetime(2026, 3, 4, 4, 45, tzinfo=UTC)
    assert account.modified_time == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)


def test_crm_account_without_id_is_refused():
    with pytest.raises(ValueError):
        account_from_crm({"Account_Name": "x"})


def test_crm_contact_lookup_object_or_null():
    contact = contact_from_crm(
        {
            "id": "1",
            "First_Name": None,
            "Last_Name": "Ng",
            "Email": "ng@zylker.com",
            "Account_Name": {"name": "Zylker", "id": "42"},
            "Modified_Time": "2026-01-01T00:00:00+00:00",
        }
    )
    assert contact.account_id == "42" and contact.full_name == "Ng"
    orphan = contact_from_crm({"id": "2", "Full_Name": "Solo", "Account_Name": None})
    assert orphan.account_id == "" and orphan.last_name == "Solo"


def test_crm_deal_amount_date_and_lookups():
    deal = deal_from_crm(
        {
            "id": "9",
            "Deal_Name": "Renewal 2026",
            "Stage": "Negotiation/Review",
            "Amount": 12500.5,
            "Currency": "USD",
            "Closing_Date": "2026-06-30",
            "Account_Name": {"name": "Zylker", "id": "42"},
            "Contact_Name": None,
            "Owner": {"id": "7", "name": "Pat", "email": "pat@x.com"},
            "Pipeline": {"name": "Standard", "id": "55"},
            "Probability": 60,
            "Type": "Existing Business",
            "Description": None,
            "Modified_Time": "2026-03-04T10:15:00+05:30",
        }
    )
    assert deal.amount == Decimal("12500.5")
    assert deal.closing_date == date(2026, 6, 30)
    assert (deal.account_id, deal.account_name, deal.contact_id) == ("42", "Zylker", "")
    assert deal.pipeline == "Standard" and deal.probability == 60 and deal.deal_type == "Existing Business"
    assert deal_from_crm({"id": "10", "Deal_Name": "x", "Amount": None}).amount is None
    assert deal_from_crm({"id": "11", "Deal_Name": "x", "Amount": "99.90", "Pipeline": "Std"}).amount == Decimal(
        "99.90"
    )


def test_crm_product_association_has_no_quantity():
    product = product_line_from_crm({"id": "3", "Product_Name": "Widget", "Product_Code": "W-1", "Unit_Price": "20"})
    assert product.name == "Widget" and product.unit_price == Decimal("20") and product.quantity is None


def test_quote_line_items():
    quote = {
        "Quoted_Items": [
            {"Product_Name": {"id": "4", "name": "Gear"}, "Quantity": 3, "List_Price": 5.5, "Discount": 0},
            {"Product_Name": {"id": "5", "name": "Setup"}, "Quantity": 2, "List_Price": 100, "Discount": 20},
            {"Product_Name": {"id": "6", "name": "Odd"}, "List_Price": 1},  # no quantity: stays unknown
        ]
    }
    gear, setup, odd = quote_lines_from_crm(quote)
    assert (gear.id, gear.name, gear.quantity, gear.unit_price) == ("4", "Gear", Decimal("3"), Decimal("5.5"))
    assert setup.quantity * setup.unit_price == Decimal("180")  # the discount spread over the quantity
    assert odd.quantity is None
    older = quote_line_from_crm({"product": {"name": "Gear", "id": "4"}, "quantity": 3, "list_price": 5.5})
    assert (older.name, older.quantity, older.unit_price) == ("Gear", Decimal("3"), Decimal("5.5"))


BOOKS_CONTACT = {
    "contact_id": 460000000026049,
    "contact_name": "Zylker",
    "company_name": "Zylker Ltd",
    "contact_type": "customer",
    "zcrm_account_id": "42",
    "zcrm_contact_id": "",
    "email": "",
    "contact_persons": [{"email": "billing@zylker.com", "is_primary_contact": True}],
    "currency_code": "EUR",
    "outstanding_receivable_amount": "1,250.00",
    "payment_terms": 30,
    "payment_terms_label": "Net 30",
    "billing_address": {
        "address": "Unter den Linden 1",
        "street2": None,
        "city": "Berlin",
        "zip": "10117",
        "country": "Germany",
        "state": "",
    },
    "last_modified_time": "2026-03-04T10:15:00+0000",
}


def test_books_customer():
    customer = customer_from_books(BOOKS_CONTACT)
    assert customer.id == "460000000026049"  # numeric id kept as digits
    assert customer.account_id == "42" and customer.email == "billing@zylker.com"
    assert customer.outstanding == Decimal("1250.00")
    assert customer.payment_terms == 30 and customer.billing.city == "Berlin"
    assert customer.billing.street == "Unter den Linden 1"
    assert customer.modified_time == datetime(2026, 3, 4, 10, 15, tzinfo=UTC)


def test_books_invoice_estimate_payment():
    invoice = invoice_from_books(
        {
            "invoice_id": "982000000567114",
            "invoice_number": "INV-00003",
            "status": "overdue",
            "date": "2026-02-01",
            "due_date": "2026-03-03",
            "customer_id": "460000000026049",
            "customer_name": "Zylker",
            "currency_code": "EUR",
            "total": 1250,
            "balance": "250.5",
            "reference_number": "9",
            "zcrm_potential_id": "9",
            "invoice_url": "https://books.zoho.eu/x",
            "created_time": "2026-02-01T10:00:00+0530",
            "last_modified_time": None,
        },
        account_id="42",
    )
    assert invoice.kind == "invoice" and invoice.account_id == "42" and invoice.deal_id == "9"
    assert invoice.total == Decimal("1250") and invoice.balance == Decimal("250.5")
    assert invoice.due_date == date(2026, 3, 3) and invoice.modified_time is None
    assert invoice.created_time == datetime(2026, 2, 1, 4, 30, tzinfo=UTC)

    estimate = estimate_from_books(
        {"estimate_id": "5", "estimate_number": "EST-1", "status": "sent", "expiry_date": "2026-04-01", "total": "10"}
    )
    assert estimate.kind == "estimate" and estimate.due_date == date(2026, 4, 1) and estimate.total == Decimal("10")

    payment = payment_from_books(
        {
            "payment_id": "p1",
            "customer_id": "c",
            "amount": 100.1,
            "date": "2026-03-01",
            "invoices": [{"invoice_id": "982000000567114", "amount_applied": 100.1}],
        },
        account_id="42",
    )
    assert payment.amount == Decimal("100.1") and payment.invoice_ids == ["982000000567114"]
    assert payment.account_id == "42"


def test_desk_account_and_ticket():
    account = desk_account_from_desk(
        {
            "id": "1892000000143237",
            "accountName": "Zylker",
            "zohoCRMAccount": {"id": "42", "ownerId": "7"},
            "email": None,
            "website": "zylker.com",
            "webUrl": "https://desk.zoho.eu/a",
            "modifiedTime": None,
        }
    )
    assert account.crm_account_id == "42" and account.email == ""
    assert desk_account_from_desk({"id": "2", "accountName": "x", "zohoCRMAccount": None}).crm_account_id == ""

    ticket = ticket_from_desk(
        {
            "id": "1892000000042032",
            "ticketNumber": "101",
            "subject": "Printer on fire",
            "status": "Escalated",
            "statusType": "Open",
            "priority": None,
            "channel": "Email",
            "accountId": "1892000000143237",
            "contactId": None,
            "isEscalated": True,
            "isOverDue": "false",
            "dueDate": None,
            "createdTime": "2024-07-01T11:00:33.000Z",
            "modifiedTime": "2024-07-02T08:00:00.000Z",
            "closedTime": None,
            "webUrl": "https://desk.zoho.eu/t/101",
        },
        account_id="42",
    )
    assert ticket.desk_account_id == "1892000000143237" and ticket.account_id == "42"
    assert ticket.is_escalated and not ticket.is_overdue and ticket.priority == ""
    assert ticket.created_time == datetime(2024, 7, 1, 11, 0, 33, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-03-04T10:15:00+05:30", datetime(2026, 3, 4, 4, 45, tzinfo=UTC)),
        ("2026-03-04T10:15:00+0000", datetime(2026, 3, 4, 10, 15, tzinfo=UTC)),
        ("2024-07-01T11:00:33.000Z", datetime(2024, 7, 1, 11, 0, 33, tzinfo=UTC)),
        ("2026-03-04T10:15:00", datetime(2026, 3, 4, 10, 15, tzinfo=UTC)),
        (1719831633000, datetime(2024, 7, 1, 11, 0, 33, tzinfo=UTC)),
        ("1719831633000", datetime(2024, 7, 1, 11, 0, 33, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("not a date", None),
    ],
)
def test_parse_datetime(raw, expected):
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        (12, Decimal(12)),
        (0.1, Decimal("0.1")),
        ("1,234.50", Decimal("1234.50")),
        ("", None),
        (None, None),
        ("n/a", None),
    ],
)
def test_parse_decimal(raw, expected):
    assert parse_decimal(raw) == expected

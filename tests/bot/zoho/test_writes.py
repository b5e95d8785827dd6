"""The typed create records build the bodies the apps document."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.zoho.writes import (
    DocumentLine,
    NewBooksCustomer,
    NewBooksDocument,
    NewDeskAccount,
    NewDeskContact,
    PaymentTerms,
    PostalAddress,
)

NET30 = PaymentTerms(30, "Net 30")


def test_estimates_carry_no_payment_terms_and_names_are_clipped():
    line = DocumentLine(name="x" * 150, rate=Decimal("9.50"), quantity=Decimal("2"))
    invoice = NewBooksDocument("invoice", "c1", "d1", date(2026, 11, 2), [line], "n" * 600, NET30).body()
    estimate = NewBooksDocument("estimate", "c1", "d1", date(2026, 11, 2), [line], "", NET30).body()
    assert invoice["payment_terms"] == 30 and invoice["payment_terms_label"] == "Net 30"
    assert "payment_terms" not in estimate
    assert invoice["line_items"] == [{"name": "x" * 100, "description": "", "rate": 9.5, "quantity": 2.0}]
    assert len(invoice["notes"]) == 500 and invoice["date"] == "2026-11-02"


def test_books_customer_lists_its_contact_person_only_when_known():
    address = PostalAddress(street="1 Quay", city="Leeds", code="LS1", country="UK")
    bare = NewBooksCustomer("Northwind", address).body()
    assert bare["contact_persons"] == [] and "payment_terms" not in bare
    assert bare["billing_address"] == {"address": "1 Quay", "city": "Leeds", "state": "", "zip": "LS1", "country": "UK"}
    full = NewBooksCustomer("Northwind", address, "Ann", "Lee", "ann@nw.example", has_contact=True, terms=NET30).body()
    assert full["contact_persons"][0]["email"] == "ann@nw.example" and full["payment_terms"] == 30


def test_desk_bodies_leave_out_empty_address_fields():
    assert NewDeskAccount("Northwind", PostalAddress(city="Leeds")).body() == {
        "accountName": "Northwind",
        "city": "Leeds",
    }
    assert NewDeskContact("Lee", "7", email="a@b.example").body()["accountId"] == "7"

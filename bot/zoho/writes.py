"""What Throughline creates in Zoho, typed: each `New…` record builds the request body its app documents
(Books `POST /contacts`, `/invoices`, `/estimates`; Desk `POST /accounts`, `/contacts`). Callers fill in the
fields; the field names, clipping and which fields an app refuses live here, beside the clients that send them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal


@dataclass(frozen=True)
class PostalAddress:
    street: str = ""
    city: str = ""
    state: str = ""
    code: str = ""
    country: str = ""


@dataclass(frozen=True)
class PaymentTerms:
    days: int
    label: str  # what Books shows, e.g. "Net 30"


@dataclass(frozen=True)
class NewBooksCustomer:
    """A Books customer (`contact_type: customer`) with its primary contact person, if one is known."""

    name: str
    billing: PostalAddress
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    has_contact: bool = False
    terms: PaymentTerms | None = None

    def body(self) -> dict[str, Any]:
        person = {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "phone": self.phone,
            "is_primary_contact": True,
        }
        b = self.billing
        out: dict[str, Any] = {
            "contact_name": self.name,
            "company_name": self.name,
            "contact_type": "customer",
            "billing_address": {
                "address": b.street,
                "city": b.city,
                "state": b.state,
                "zip": b.code,
                "country": b.country,
            },
            "contact_persons": [person] if self.has_contact else [],
        }
        if self.terms is not None:
            out["payment_terms"] = self.terms.days
            out["payment_terms_label"] = self.terms.label
        return out


@dataclass(frozen=True)
class DocumentLine:
    name: str
    rate: Decimal
    quantity: Decimal
    description: str = ""


@dataclass(frozen=True)
class NewBooksDocument:
    """A draft invoice or estimate for one CRM deal (`reference_number` is the deal id: how a retry finds it)."""

    kind: Literal["invoice", "estimate"]
    customer_id: str
    reference_number: str
    day: date
    lines: list[DocumentLine] = field(default_factory=list)
    notes: str = ""
    terms: PaymentTerms | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "customer_id": self.customer_id,
            "reference_number": self.reference_number,
            "date": self.day.isoformat(),
            "line_items": [
                {
                    "name": line.name[:100],
                    "description": line.description,
                    "rate": float(line.rate),
                    "quantity": float(line.quantity),
                }
                for line in self.lines
            ],
            "notes": self.notes[:500],
        }
        if self.terms is not None and self.kind == "invoice":  # estimates have no payment terms
            out["payment_terms"] = self.terms.days
            out["payment_terms_label"] = self.terms.label
        return out


@dataclass(frozen=True)
class NewDeskAccount:
    """A Desk account: its name and address only (Desk's API cannot set the CRM link)."""

    name: str
    address: PostalAddress = PostalAddress()

    def body(self) -> dict[str, Any]:
        a = self.address
        return {
            k: v
            for k, v in {
                "accountName": self.name,
                "street": a.street,
                "city": a.city,
                "state": a.state,
                "country": a.country,
                "code": a.code,
            }.items()
            if v
        }


@dataclass(frozen=True)
class NewDeskContact:
    last_name: str
    account_id: str
    first_name: str = ""
    email: str = ""
    phone: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "lastName": self.last_name,
            "firstName": self.first_name,
            "email": self.email,
            "phone": self.phone,
            "accountId": self.account_id,
        }

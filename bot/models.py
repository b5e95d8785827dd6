"""Canonical models shared by connectors, store, domain logic and rendering.

Ids are Zoho's own ids as strings. `account_id` always means the CRM account id: it is the key that
links the three apps (Books `zcrm_account_id`, Desk `zohoCRMAccount.id`). Datetimes are timezone-aware UTC.
Money is Decimal in the record's own currency.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

_Date = date  # Invoice and Payment have a field named `date`, which shadows the type in their bodies


class Model(BaseModel):
    model_config = ConfigDict(frozen=False, extra="ignore")


class Owner(Model):
    id: str = ""
    name: str = ""
    email: str = ""


class Address(Model):
    street: str = ""
    city: str = ""
    state: str = ""
    code: str = ""
    country: str = ""

    def is_complete(self) -> bool:
        return bool(self.street and self.city and self.country)

    def one_line(self) -> str:
        return ", ".join(p for p in (self.street, self.city, self.state, self.code, self.country) if p)


class Account(Model):
    """A CRM account."""

    id: str
    name: str
    owner: Owner = Field(default_factory=Owner)
    website: str = ""
    phone: str = ""
    industry: str = ""
    account_type: str = ""
    billing: Address = Field(default_factory=Address)
    currency: str = ""
    created_time: datetime | None = None
    modified_time: datetime | None = None


class Contact(Model):
    """A CRM contact."""

    id: str
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    modified_time: datetime | None = None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class Product(Model):
    """A product line on a deal. `quantity` is None when CRM does not say: the deal's Products related list is a
    plain association (catalogue `Unit_Price`, no quantity, no deal price); only quote line items carry them."""

    id: str = ""
    name: str
    code: str = ""
    unit_price: Decimal = Decimal("0")
    quantity: Decimal | None = None


class DealLines(Model):
    """What CRM knows about a deal's lines: from its quote (`source="quote"`, quantities and prices known), from
    its product association only (`"products"`, quantities unknown), or nothing (`"none"`)."""

    source: str = "none"
    lines: list[Product] = Field(default_factory=list)
    quote_id: str = ""
    quote_name: str = ""
    quote_stage: str = ""
    quotes: int = 0  # how many usable quotes the deal has (the newest is used)


class Deal(Model):
    """A CRM deal. `stage` is CRM's own label; the vocabulary maps it to a canonical stage."""

    id: str
    name: str
    account_id: str = ""
    account_name: str = ""
    contact_id: str = ""
    stage: str = ""
    amount: Decimal | None = None
    currency: str = ""
    closing_date: date | None = None
    owner: Owner = Field(default_factory=Owner)
    pipeline: str = ""
    probability: int | None = None
    deal_type: str = ""
    description: str = ""
    created_time: datetime | None = None
    modified_time: datetime | None = None


class BooksCustomer(Model):
    """A Books contact of type customer."""

    id: str
    name: str
    company_name: str = ""
    account_id: str = ""  # zcrm_account_id
    crm_contact_id: str = ""  # zcrm_contact_id
    email: str = ""
    currency: str = ""
    outstanding: Decimal = Decimal("0")
    payment_terms: int | None = None
    payment_terms_label: str = ""
    billing: Address = Field(default_factory=Address)
    modified_time: datetime | None = None


class Invoice(Model):
    """A Books invoice (or estimate, with kind="estimate")."""

    id: str
    number: str = ""
    kind: str = "invoice"
    customer_id: str = ""
    customer_name: str = ""
    account_id: str = ""  # CRM account, through the customer's zcrm_account_id
    deal_id: str = ""  # zcrm_potential_id
    status: str = ""  # Books' own status label
    date: _Date | None = None
    due_date: _Date | None = None
    currency: str = ""
    total: Decimal = Decimal("0")
    balance: Decimal = Decimal("0")
    reference_number: str = ""
    url: str = ""
    created_time: datetime | None = None
    modified_time: datetime | None = None


class Payment(Model):
    """A Books customer payment."""

    id: str
    customer_id: str = ""
    account_id: str = ""
    amount: Decimal = Decimal("0")
    date: _Date | None = None
    currency: str = ""
    invoice_ids: list[str] = Field(default_factory=list)
    modified_time: datetime | None = None


class DeskAccount(Model):
    """A Desk account; `crm_account_id` comes from `zohoCRMAccount.id`."""

    id: str
    name: str
    crm_account_id: str = ""
    email: str = ""
    website: str = ""
    web_url: str = ""
    modified_time: datetime | None = None


class Ticket(Model):
    """A Desk ticket. `status` is Desk's label; `status_type` is Open, On Hold or Closed."""

    id: str
    number: str = ""
    subject: str = ""
    status: str = ""
    status_type: str = ""
    priority: str = ""
    channel: str = ""
    desk_account_id: str = ""
    account_id: str = ""  # CRM account, through the Desk account's zohoCRMAccount
    contact_id: str = ""
    is_escalated: bool = False
    is_overdue: bool = False
    due_date: datetime | None = None
    created_time: datetime | None = None
    modified_time: datetime | None = None
    closed_time: datetime | None = None
    web_url: str = ""

    @property
    def hours_to_close(self) -> float | None:
        """Hours from creation to close (never negative), or None unless Desk gave both instants."""
        if self.created_time is None or self.closed_time is None:
            return None
        return max((self.closed_time - self.created_time).total_seconds() / 3600, 0.0)


class AccountSnapshot(Model):
    """Everything the account card needs, read from the mirror at `read_at`."""

    account: Account
    contacts: list[Contact] = Field(default_factory=list)
    deals: list[Deal] = Field(default_factory=list)
    books_customer: BooksCustomer | None = None
    invoices: list[Invoice] = Field(default_factory=list)
    payments: list[Payment] = Field(default_factory=list)
    desk_account: DeskAccount | None = None
    tickets: list[Ticket] = Field(default_factory=list)
    read_at: datetime
    stale: bool = False
    stale_reason: str = ""

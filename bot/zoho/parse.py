"""Zoho JSON → canonical models. Pure functions, no I/O.

Zoho sends nulls almost anywhere, lookups as `{"id", "name"}` objects (or bare ids, or null), times in three
spellings (CRM `+05:30`, Books `+0000`, Desk `.000Z`) and amounts as numbers or strings. Everything here
tolerates all of that and never raises on a missing optional field; only a record without an id is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.models import (
    Account,
    Address,
    BooksCustomer,
    Contact,
    Deal,
    DeskAccount,
    Invoice,
    Owner,
    Payment,
    Product,
    Ticket,
)

Json = Mapping[str, Any]


# --- scalar helpers ---------------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A string for any scalar; "" for null. Numeric ids (Books sometimes sends them as numbers) keep digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def lookup_id(value: Any) -> str:
    """The id of a lookup field: `{"id": ..., "name": ...}`, a bare id, or null."""
    if isinstance(value, Mapping):
        return text(value.get("id"))
    return text(value)


def lookup_name(value: Any) -> str:
    """The display name of a lookup field (`name`), "" for a bare id or null."""
    if isinstance(value, Mapping):
        return text(value.get("name"))
    return ""


def parse_datetime(value: Any) -> datetime | None:
    """Any Zoho timestamp → aware UTC datetime. Naive values are taken as UTC; epoch numbers as ms."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    else:
        raw = str(value).strip()
        if raw.isdigit():
            return parse_datetime(int(raw))
        try:
            dt = datetime.fromisoformat(raw)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_date(value: Any) -> date | None:
    """`YYYY-MM-DD` (or a full timestamp) → date; "" and null → None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = str(value).strip()
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        return None


def parse_decimal(value: Any) -> Decimal | None:
    """Numbers or numeric strings (`"1,234.50"`) → Decimal; null, "" and junk → None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    raw = str(value).strip().replace(",", "")
    if not raw:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def money(value: Any) -> Decimal:
    """Like parse_decimal, but 0 when missing (totals, balances)."""
    parsed = parse_decimal(value)
    return parsed if parsed is not None else Decimal("0")


def parse_int(value: Any) -> int | None:
    parsed = parse_decimal(value)
    if parsed is None:
        return None
    try:
        return int(parsed)
    except (ValueError, OverflowError):
        return None


def parse_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "1"}
    return bool(value)


def _require_id(record: Json, key: str, what: str) -> str:
    record_id = text(record.get(key))
    if not record_id:
        raise ValueError(f"{what} without {key!r}")
    return record_id


def _owner(value: Any) -> Owner:
    if isinstance(value, Mapping):
        return Owner(id=text(value.get("id")), name=text(value.get("name")), email=text(value.get("email")))
    return Owner(id=text(value))


def _picklist(value: Any) -> str:
    """Picklists are strings, but some (Pipeline, layouts) arrive as `{"name", "id"}` objects."""
    if isinstance(value, Mapping):
        return text(value.get("name") or value.get("display_value") or value.get("id"))
    return text(value)


# --- CRM --------------------------------------------------------------------------------------------------


def account_from_crm(record: Json) -> Account:
    return Account(
        id=_require_id(record, "id", "CRM account"),
        name=text(record.get("Account_Name")),
        owner=_owner(record.get("Owner")),
        website=text(record.get("Website")),
        phone=text(record.get("Phone")),
        industry=_picklist(record.get("Industry")),
        account_type=_picklist(record.get("Account_Type")),
        billing=Address(
            street=text(record.get("Billing_Street")),
            city=text(record.get("Billing_City")),
            state=text(record.get("Billing_State")),
            code=text(record.get("Billing_Code")),
            country=text(record.get("Billing_Country")),
        ),
        currency=text(record.get("Currency")),
        created_time=parse_datetime(record.get("Created_Time")),
        modified_time=parse_datetime(record.get("Modified_Time")),
    )


def contact_from_crm(record: Json) -> Contact:
    first, last = text(record.get("First_Name")), text(record.get("Last_Name"))
    if not (first or last):
        last = text(record.get("Full_Name"))
    return Contact(
        id=_require_id(record, "id", "CRM contact"),
        account_id=lookup_id(record.get("Account_Name")),
        first_name=first,
        last_name=last,
        email=text(record.get("Email")),
        phone=text(record.get("Phone") or record.get("Mobile")),
        modified_time=parse_datetime(record.get("Modified_Time")),
    )


def deal_from_crm(record: Json) -> Deal:
    return Deal(
        id=_require_id(record, "id", "CRM deal"),
        name=text(record.get("Deal_Name")),
        account_id=lookup_id(record.get("Account_Name")),
        account_name=lookup_name(record.get("Account_Name")),
        contact_id=lookup_id(record.get("Contact_Name")),
        stage=_picklist(record.get("Stage")),
        amount=parse_decimal(record.get("Amount")),
        currency=text(record.get("Currency")),
        closing_date=parse_date(record.get("Closing_Date")),
        owner=_owner(record.get("Owner")),
        pipeline=_picklist(record.get("Pipeline")),
        probability=parse_int(record.get("Probability")),
        deal_type=_picklist(record.get("Type")),
        description=text(record.get("Description")),
        created_time=parse_datetime(record.get("Created_Time")),
        modified_time=parse_datetime(record.get("Modified_Time")),
    )


def product_line_from_crm(record: Json) -> Product:
    """A product from `Deals/{id}/Products`: a plain association, so the quantity stays unknown (None) and the
    price is the catalogue `Unit_Price`, not a deal price."""
    return Product(
        id=text(record.get("id")),
        name=text(record.get("Product_Name")),
        code=text(record.get("Product_Code")),
        unit_price=parse_decimal(record.get("Unit_Price")) or Decimal("0"),
        quantity=None,
    )


def quote_line_from_crm(record: Json) -> Product:
    """One line item of a quote: `Quoted_Items` (v7+: `Product_Name` lookup, `Quantity`, `List_Price`,
    `Discount`) or the older `Product_Details` (`product`, `quantity`, `list_price`, `Discount`).

    The rate is the list price less the line's discount spread over its quantity, so quantity x rate is what
    the customer was quoted for that line."""
    product = record.get("Product_Name", record.get("product"))
    product = product if isinstance(product, Mapping) else {}
    quantity = parse_decimal(record.get("Quantity", record.get("quantity")))
    price = parse_decimal(record.get("List_Price", record.get("list_price")))
    discount = parse_decimal(record.get("Discount")) or Decimal("0")
    rate = None
    if price is not None and quantity:
        rate = price - discount / quantity if discount else price
    return Product(
        id=lookup_id(product),
        name=lookup_name(product) or text(product.get("Product_Name")),
        code=text(product.get("Product_Code")),
        unit_price=rate if rate is not None else Decimal("0"),
        quantity=quantity if quantity and rate is not None else None,
    )


def quote_lines_from_crm(record: Json) -> list[Product]:
    items = record.get("Quoted_Items", record.get("Product_Details"))
    return [quote_line_from_crm(i) for i in items or [] if isinstance(i, Mapping)]


# --- Books ------------------------------------------------------------------------------------------------


def _books_address(value: Any) -> Address:
    if not isinstance(value, Mapping):
        return Address()
    street = ", ".join(p for p in (text(value.get("address")), text(value.get("street2"))) if p)
    return Address(
        street=street,
        city=text(value.get("city")),
        state=text(value.get("state")),
        code=text(value.get("zip")),
        country=text(value.get("country")),
    )


def _books_email(record: Json) -> str:
    email = text(record.get("email"))
    if email:
        return email
    for person in record.get("contact_persons") or []:
        if isinstance(person, Mapping) and person.get("is_primary_contact") and person.get("email"):
            return text(person.get("email"))
    return ""


def customer_from_books(record: Json) -> BooksCustomer:
    return BooksCustomer(
        id=_require_id(record, "contact_id", "Books contact"),
        name=text(record.get("contact_name")),
        company_name=text(record.get("company_name")),
        account_id=text(record.get("zcrm_account_id")),
        crm_contact_id=text(record.get("zcrm_contact_id")),
        email=_books_email(record),
        currency=text(record.get("currency_code")),
        outstanding=money(record.get("outstanding_receivable_amount", record.get("outstanding_receivable_amount_bcy"))),
        payment_terms=parse_int(record.get("payment_terms")),
        payment_terms_label=text(record.get("payment_terms_label")),
        billing=_books_address(record.get("billing_address")),
        modified_time=parse_datetime(record.get("last_modified_time")),
    )


def _document_from_books(record: Json, kind: str, account_id: str) -> Invoice:
    """A Books invoice or estimate; the two share every field but their id, number, url and due date keys."""
    invoice = kind == "invoice"
    return Invoice(
        id=_require_id(record, f"{kind}_id", f"Books {kind}"),
        number=text(record.get(f"{kind}_number")),
        kind=kind,
        customer_id=text(record.get("customer_id")),
        customer_name=text(record.get("customer_name")),
        account_id=account_id,
        deal_id=text(record.get("zcrm_potential_id")),
        status=text(record.get("status")),
        date=parse_date(record.get("date")),
        due_date=parse_date(record.get("due_date" if invoice else "expiry_date")),
        currency=text(record.get("currency_code")),
        total=money(record.get("total")),
        balance=money(record.get("balance")) if invoice else Decimal("0"),
        reference_number=text(record.get("reference_number")),
        url=text(record.get(f"{kind}_url")),
        created_time=parse_datetime(record.get("created_time")),
        modified_time=parse_datetime(record.get("last_modified_time")),
    )


def invoice_from_books(record: Json, *, account_id: str = "") -> Invoice:
    return _document_from_books(record, "invoice", account_id)


def estimate_from_books(record: Json, *, account_id: str = "") -> Invoice:
    """An estimate as an `Invoice(kind="estimate")`; `due_date` carries the estimate's `expiry_date`."""
    return _document_from_books(record, "estimate", account_id)


def payment_from_books(record: Json, *, account_id: str = "") -> Payment:
    invoice_ids = [
        text(row.get("invoice_id"))
        for row in record.get("invoices") or []
        if isinstance(row, Mapping) and row.get("invoice_id")
    ]
    return Payment(
        id=_require_id(record, "payment_id", "Books payment"),
        customer_id=text(record.get("customer_id")),
        account_id=account_id,
        amount=money(record.get("amount")),
        date=parse_date(record.get("date")),
        currency=text(record.get("currency_code")),
        invoice_ids=invoice_ids,
        modified_time=parse_datetime(record.get("last_modified_time")),
    )


# --- Desk -------------------------------------------------------------------------------------------------


def desk_account_from_desk(record: Json) -> DeskAccount:
    return DeskAccount(
        id=_require_id(record, "id", "Desk account"),
        name=text(record.get("accountName")),
        crm_account_id=lookup_id(record.get("zohoCRMAccount")),
        email=text(record.get("email")),
        website=text(record.get("website")),
        web_url=text(record.get("webUrl")),
        modified_time=parse_datetime(record.get("modifiedTime")),
    )


def ticket_from_desk(record: Json, *, account_id: str = "") -> Ticket:
    return Ticket(
        id=_require_id(record, "id", "Desk ticket"),
        number=text(record.get("ticketNumber")),
        subject=text(record.get("subject")),
        status=text(record.get("status")),
        status_type=text(record.get("statusType")),
        priority=text(record.get("priority")),
        channel=text(record.get("channel")),
        desk_account_id=text(record.get("accountId")) or lookup_id(record.get("account")),
        account_id=account_id,
        contact_id=text(record.get("contactId")) or lookup_id(record.get("contact")),
        is_escalated=parse_bool(record.get("isEscalated")),
        is_overdue=parse_bool(record.get("isOverDue")),
        due_date=parse_datetime(record.get("dueDate")),
        created_time=parse_datetime(record.get("createdTime")),
        modified_time=parse_datetime(record.get("modifiedTime")),
        closed_time=parse_datetime(record.get("closedTime")),
        web_url=text(record.get("webUrl")),
    )

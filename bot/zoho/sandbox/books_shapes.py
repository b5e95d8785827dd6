"""Books record shapes: which keys list rows carry, and builders for new records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.zoho.sandbox.state import Record, SandboxState
from bot.zoho.sandbox.timefmt import books_ts

# List rows carry fewer keys than the detail answer (billing_address, contact_persons, line_items: detail only).
CONTACT_LIST_KEYS = (
    "contact_id", "contact_name", "customer_name", "vendor_name", "company_name", "website", "contact_type",
    "customer_sub_type", "status", "email", "phone", "currency_id", "currency_code",
    "outstanding_receivable_amount", "unused_credits_receivable_amount", "payment_terms", "payment_terms_label",
    "is_linked_with_zohocrm", "zcrm_account_id", "zcrm_contact_id", "created_time", "last_modified_time",
)
INVOICE_LIST_KEYS = (
    "invoice_id", "invoice_number", "status", "date", "due_date", "customer_id", "customer_name", "company_name",
    "currency_code", "total", "balance", "last_payment_date", "reference_number", "zcrm_potential_id",
    "is_viewed_by_client", "created_time", "last_modified_time", "invoice_url",
)
ESTIMATE_LIST_KEYS = (
    "estimate_id", "estimate_number", "status", "date", "expiry_date", "customer_id", "customer_name",
    "company_name", "currency_code", "total", "reference_number", "zcrm_potential_id", "created_time",
    "last_modified_time", "estimate_url",
)
# zoho-api.md lists `invoices` on the list rows; real list rows also carry `invoice_numbers`: both are kept.
PAYMENT_LIST_KEYS = (
    "payment_id", "payment_number", "payment_mode", "date", "reference_number", "amount", "unused_amount",
    "customer_id", "customer_name", "currency_code", "invoice_numbers", "invoices", "description",
    "created_time", "last_modified_time",
)

PAYMENT_TERMS = {0: "Due on Receipt", 15: "Net 15", 30: "Net 30", 45: "Net 45", 60: "Net 60"}
UNPAID = ("sent", "viewed", "overdue", "partially_paid")
INVOICE_STATUSES = ("draft", "sent", "viewed", "overdue", "unpaid", "partially_paid", "paid", "void")
ESTIMATE_STATUSES = ("draft", "sent", "accepted", "declined", "invoiced", "expired")
CURRENCY_IDS = {"USD": "460000000000097", "EUR": "460000000000099", "GBP": "460000000000101"}


def pick(record: Record, keys: tuple[str, ...]) -> Record:
    return {k: record.get(k) for k in keys}


def address(source: dict[str, Any] | None) -> Record:
    source = source or {}
    return {
        "attention": source.get("attention", ""),
        "address": source.get("address", ""),
        "street2": source.get("street2", ""),
        "city": source.get("city", ""),
        "state": source.get("state", ""),
        "zip": source.get("zip", ""),
        "country": source.get("country", ""),
        "phone": source.get("phone", ""),
        "fax": source.get("fax", ""),
    }


def new_contact(state: SandboxState, data: dict[str, Any], *, created: str | None = None) -> Record:
    """A Books contact in detail shape from a create payload (validated by the caller)."""
    now = created or books_ts(state.now())
    by_id = {v: k for k, v in CURRENCY_IDS.items()}
    currency = str(data.get("currency_code") or by_id.get(str(data.get("currency_id") or ""), "USD"))
    terms = int(data.get("payment_terms") or 0)
    persons = []
    for i, p in enumerate(data.get("contact_persons") or []):
        persons.append(
            {
                "contact_person_id": state.new_id("books"),
                "salutation": p.get("salutation", ""),
                "first_name": p.get("first_name", ""),
                "last_name": p.get("last_name", ""),
                "email": p.get("email", ""),
                "phone": p.get("phone", ""),
                "mobile": p.get("mobile", ""),
                "is_primary_contact": bool(p.get("is_primary_contact", i == 0)),
            }
        )
    primary = next((p for p in persons if p["is_primary_contact"]), None)
    zcrm_account = str(data.get("zcrm_account_id") or "")
    return {
        "contact_id": state.new_id("books"),
        "contact_name": data["contact_name"],
        "customer_name": data["contact_name"],
        "vendor_name": "",
        "company_name": data.get("company_name", ""),
        "website": data.get("website", ""),
        "contact_type": data.get("contact_type", "customer"),
        "customer_sub_type": data.get("customer_sub_type", "business"),
        "status": "active",
        "email": primary["email"] if primary else "",
        "phone": primary["phone"] if primary else "",
        "currency_id": CURRENCY_IDS.get(currency, CURRENCY_IDS["USD"]),
        "currency_code": currency,
        "outstanding_receivable_amount": 0.0,
        "unused_credits_receivable_amount": 0.0,
        "payment_terms": terms,
        "payment_terms_label": data.get("payment_terms_label") or PAYMENT_TERMS.get(terms, f"Net {terms}"),
        "is_linked_with_zohocrm": bool(zcrm_account),
        "zcrm_account_id": zcrm_account,
        "zcrm_contact_id": str(data.get("zcrm_contact_id") or ""),
        "billing_address": address(data.get("billing_address")),
        "shipping_address": address(data.get("shipping_address")),
        "contact_persons": persons,
        "custom_fields": list(data.get("custom_fields") or []),
        "notes": data.get("notes", ""),
        "created_time": now,
        "last_modified_time": now,
    }


def due_from_terms(start: date, terms: int) -> date:
    return start + timedelta(days=terms)

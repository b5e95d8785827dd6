"""Books record shapes: which keys list rows carry, and builders for new records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.zoho.sandbox.state import Record, SandboxState
from bot.zoho.sandbox.timefmt import books_ts

# List rows carry fewer keys than the detail answer (billing_address, contact_persons, line_items: detail only).
CONTACT_LIST_KEYS = (
    "contact_id",
    "contact_name",
    "customer_name",
    "vendor_name",
    "company_name",
    "website",
    "contact_type",
    "customer_sub_type",
    "status",
    "email",
    "phone",
    "currency_id",
    "currency_code",
    "outstanding_receivable_amount",
    "unused_credits_receivable_amount",
    "payment_terms",
    "payment_terms_label",
    "is_linked_with_zohocrm",
    "zcrm_account_id",
    "zcrm_contact_id",
    "created_time",
    "last_modified_time",
)
INVOICE_LIST_KEYS = (
    "invoice_id",
    "invoice_number",
    "status",
    "date",
    "due_date",
    "customer_id",
    "customer_name",
    "company_name",
    "currency_code",
    "total",
    "balance",
    "last_payment_date",
    "reference_number",
    "zcrm_potential_id",
    "is_viewed_by_client",
    "created_time",
    "last_modified_time",
    "invoice_url",
)
ESTIMATE_LIST_KEYS = (
    "estimate_id",
    "estimate_number",
    "status",
    "date",
    "expiry_date",
    "customer_id",
    "customer_name",
    "company_name",
    "currency_code",
    "total",
    "reference_number",
    "zcrm_potential_id",
    "created_time",
    "last_modified_time",
    "estimate_url",
)
# Payment list rows as CustomerPaymentParser.getCustomerPayments reads them (books-java-wrappers): invoice
# *numbers* only; the applied invoices (`invoices`) come with GET /customerpayments/{id}. No modification time.
PAYMENT_LIST_KEYS = (
    "payment_id",
    "payment_number",
    "invoice_numbers",
    "date",
    "payment_mode",
    "amount",
    "bcy_amount",
    "unused_amount",
    "bcy_unused_amount",
    "account_id",
    "account_name",
    "description",
    "reference_number",
    "customer_id",
    "customer_name",
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


# ---- what each list endpoint accepts (books-java-wrappers ContactsApi / InvoicesApi / EstimatesApi /
# CustomerPaymentsApi javadoc; zcrm_* filters from Books' CRM-integration docs). Anything else is refused.
def _variants(*names: str) -> tuple[str, ...]:
    return tuple(v for n in names for v in (n, f"{n}_startswith", f"{n}_contains"))


def _ranges(*names: str) -> tuple[str, ...]:
    return tuple(
        v for n in names for v in (n, f"{n}_less_than", f"{n}_less_equals", f"{n}_greater_than", f"{n}_greater_equals")
    )


def _dates(*names: str) -> tuple[str, ...]:
    return tuple(v for n in names for v in (n, f"{n}_start", f"{n}_end", f"{n}_before", f"{n}_after"))


COMMON_LIST_PARAMS = ("organization_id", "page", "per_page", "sort_column", "sort_order", "filter_by", "search_text")
LIST_PARAMS: dict[str, frozenset[str]] = {
    "contacts": frozenset(
        COMMON_LIST_PARAMS
        + _variants("contact_name", "company_name", "first_name", "last_name", "address", "email", "phone")
        + ("zcrm_account_id", "zcrm_contact_id")
    ),
    "invoices": frozenset(
        COMMON_LIST_PARAMS
        + _variants(
            "invoice_number", "item_name", "item_description", "reference_number", "customer_name", "custom_field"
        )
        + _ranges("total", "balance")
        + _dates("date", "due_date")
        + ("item_id", "recurring_invoice_id", "email", "status", "customer_id", "zcrm_potential_id")
    ),
    "estimates": frozenset(
        COMMON_LIST_PARAMS
        + _variants(
            "estimate_number", "item_name", "item_description", "reference_number", "customer_name", "custom_field"
        )
        + _ranges("total")
        + _dates("date", "expiry_date")
        + ("item_id", "status", "customer_id", "zcrm_potential_id")
    ),
    "customerpayments": frozenset(
        COMMON_LIST_PARAMS
        + _variants("customer_name", "reference_number", "payment_mode", "notes")
        + _ranges("amount")
        + _dates("date")
        + ("customer_id", "invoice_id")
    ),
}
SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": (
        "contact_name",
        "first_name",
        "last_name",
        "email",
        "outstanding_receivable_amount",
        "outstanding_payable_amount",
        "created_time",
        "last_modified_time",
    ),
    "invoices": ("customer_name", "invoice_number", "date", "due_date", "total", "balance", "created_time"),
    "estimates": ("customer_name", "estimate_number", "date", "total", "created_time"),
    "customerpayments": (
        "customer_name",
        "unused_amount",
        "amount",
        "bcy_amount",
        "date",
        "reference_number",
        "account_name",
        "payment_mode",
    ),
}
INVOICE_FILTER_STATUSES = (
    "sent",
    "draft",
    "overdue",
    "paid",
    "void",
    "unpaid",
    "partially_paid",
    "partiallypaid",
    "viewed",
)
ESTIMATE_FILTER_STATUSES = ("draft", "sent", "invoiced", "accepted", "declined", "expired")

# Keys a create may carry (Books API v3 create-contact / create-invoice / create-estimate). Others are refused.
ADDRESS_KEYS = frozenset(
    {"attention", "address", "street2", "state_code", "city", "state", "zip", "country", "fax", "phone"}
)
CONTACT_PERSON_KEYS = frozenset(
    {
        "salutation",
        "first_name",
        "last_name",
        "email",
        "phone",
        "mobile",
        "designation",
        "department",
        "skype",
        "is_primary_contact",
        "enable_portal",
    }
)
CONTACT_CREATE_KEYS = frozenset(
    {
        "contact_name",
        "company_name",
        "website",
        "language_code",
        "contact_type",
        "customer_sub_type",
        "credit_limit",
        "tags",
        "is_portal_enabled",
        "currency_id",
        "payment_terms",
        "payment_terms_label",
        "notes",
        "billing_address",
        "shipping_address",
        "contact_persons",
        "default_templates",
        "custom_fields",
        "opening_balances",
        "vat_reg_no",
        "owner_id",
        "tax_reg_no",
        "country_code",
        "vat_treatment",
        "tax_treatment",
        "tax_regime",
        "is_tds_registered",
        "place_of_contact",
        "gst_no",
        "gst_treatment",
        "tax_authority_name",
        "avatax_exempt_no",
        "avatax_use_code",
        "tax_exemption_id",
        "tax_exemption_code",
        "tax_authority_id",
        "tax_id",
        "is_taxable",
        "facebook",
        "twitter",
        "track_1099",
        "tax_id_type",
        "tax_id_value",
    }
)
LINE_ITEM_KEYS = frozenset(
    {
        "item_id",
        "project_id",
        "time_entry_ids",
        "product_type",
        "hsn_or_sac",
        "sat_item_key_code",
        "unitkey_code",
        "warehouse_id",
        "expense_id",
        "expense_receipt_name",
        "name",
        "description",
        "item_order",
        "bcy_rate",
        "rate",
        "quantity",
        "unit",
        "discount_amount",
        "discount",
        "tags",
        "tax_id",
        "tds_tax_id",
        "tax_name",
        "tax_type",
        "tax_percentage",
        "tax_treatment_code",
        "header_name",
        "header_id",
        "location_id",
        "account_id",
        "item_custom_fields",
    }
)
_DOCUMENT_KEYS = frozenset(
    {
        "customer_id",
        "currency_id",
        "contact_persons",
        "reference_number",
        "template_id",
        "date",
        "exchange_rate",
        "discount",
        "is_discount_before_tax",
        "discount_type",
        "is_inclusive_tax",
        "salesperson_name",
        "custom_fields",
        "project_id",
        "line_items",
        "notes",
        "terms",
        "shipping_charge",
        "adjustment",
        "adjustment_description",
        "place_of_supply",
        "gst_treatment",
        "gst_no",
        "tax_authority_id",
        "tax_exemption_id",
        "location_id",
    }
)
INVOICE_CREATE_KEYS = _DOCUMENT_KEYS | {
    "invoice_number",
    "payment_terms",
    "payment_terms_label",
    "due_date",
    "recurring_invoice_id",
    "invoiced_estimate_id",
    "payment_options",
    "allow_partial_payments",
    "custom_body",
    "custom_subject",
    "reason",
}
ESTIMATE_CREATE_KEYS = _DOCUMENT_KEYS | {"estimate_number", "expiry_date", "custom_body", "custom_subject"}

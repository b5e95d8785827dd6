"""What Zoho documents for each Books v3 endpoint Throughline calls: allowed query parameters, the keys answers
carry, the keys a create may send, and where each fact comes from. Test data, kept apart from the sandbox on
purpose: a convenient key or parameter in the sandbox (or sent by the client) disagrees with it and fails a test.

Sources: `zoho/books-java-wrappers` (source/com/zoho/books/api/*Api.java javadoc for list parameters and sort
columns; source/com/zoho/books/parser/*Parser.java for the keys answers carry), Books API v3 pages (create
contact / invoice / estimate attributes), and `../shared/zoho-api.md` (Books section, CRM-link filters).
"""

from __future__ import annotations

from dataclasses import dataclass

WRAPPERS = "zoho/books-java-wrappers"


def variants(*names: str) -> frozenset[str]:
    return frozenset(v for n in names for v in (n, f"{n}_startswith", f"{n}_contains"))


def ranges(*names: str) -> frozenset[str]:
    return frozenset(
        v for n in names for v in (n, f"{n}_less_than", f"{n}_less_equals", f"{n}_greater_than", f"{n}_greater_equals")
    )


def dates(*names: str) -> frozenset[str]:
    return frozenset(v for n in names for v in (n, f"{n}_start", f"{n}_end", f"{n}_before", f"{n}_after"))


COMMON = frozenset({"organization_id", "page", "per_page", "sort_column", "sort_order", "filter_by", "search_text"})


@dataclass(frozen=True)
class ListEndpoint:
    path: str
    key: str  # the list's key in the answer
    params: frozenset[str]
    sort_columns: frozenset[str]
    row_keys: frozenset[str]  # keys a list row may carry
    source: str


CONTACTS = ListEndpoint(
    "/books/v3/contacts",
    "contacts",
    COMMON
    | variants("contact_name", "company_name", "first_name", "last_name", "address", "email", "phone")
    | {"zcrm_account_id", "zcrm_contact_id"},
    frozenset(
        {
            "contact_name",
            "first_name",
            "last_name",
            "email",
            "outstanding_receivable_amount",
            "outstanding_payable_amount",
            "created_time",
            "last_modified_time",
        }
    ),
    frozenset(
        {
            "contact_id",
            "contact_name",
            "customer_name",
            "vendor_name",
            "company_name",
            "website",
            "language_code",
            "contact_type",
            "customer_sub_type",
            "status",
            "source",
            "first_name",
            "last_name",
            "email",
            "phone",
            "mobile",
            "currency_id",
            "currency_code",
            "outstanding_receivable_amount",
            "outstanding_receivable_amount_bcy",
            "unused_credits_receivable_amount",
            "unused_credits_receivable_amount_bcy",
            "payment_terms",
            "payment_terms_label",
            "is_linked_with_zohocrm",
            "zcrm_account_id",
            "zcrm_contact_id",
            "created_time",
            "last_modified_time",
        }
    ),
    f"{WRAPPERS} ContactsApi.getContacts, ContactParser.getContacts; zoho-api.md (zcrm_* filters and keys)",
)
INVOICES = ListEndpoint(
    "/books/v3/invoices",
    "invoices",
    COMMON
    | variants("invoice_number", "item_name", "item_description", "reference_number", "customer_name", "custom_field")
    | ranges("total", "balance")
    | dates("date", "due_date")
    | {"item_id", "recurring_invoice_id", "email", "status", "customer_id", "zcrm_potential_id"},
    frozenset({"customer_name", "invoice_number", "date", "due_date", "total", "balance", "created_time"}),
    frozenset(
        {
            "invoice_id",
            "invoice_number",
            "status",
            "date",
            "due_date",
            "due_days",
            "customer_id",
            "customer_name",
            "company_name",
            "currency_id",
            "currency_code",
            "total",
            "balance",
            "last_payment_date",
            "payment_expected_date",
            "reference_number",
            "zcrm_potential_id",
            "is_viewed_by_client",
            "client_viewed_time",
            "is_emailed",
            "reminders_sent",
            "created_time",
            "last_modified_time",
            "invoice_url",
        }
    ),
    f"{WRAPPERS} InvoicesApi.getInvoices, InvoiceParser.getInvoices; zoho-api.md (invoice fields, zcrm_potential_id)",
)
ESTIMATES = ListEndpoint(
    "/books/v3/estimates",
    "estimates",
    COMMON
    | variants("estimate_number", "item_name", "item_description", "reference_number", "customer_name", "custom_field")
    | ranges("total")
    | dates("date", "expiry_date")
    | {"item_id", "status", "customer_id", "zcrm_potential_id"},
    frozenset({"customer_name", "estimate_number", "date", "total", "created_time"}),
    frozenset(
        {
            "estimate_id",
            "estimate_number",
            "status",
            "date",
            "expiry_date",
            "customer_id",
            "customer_name",
            "company_name",
            "currency_id",
            "currency_code",
            "total",
            "reference_number",
            "zcrm_potential_id",
            "created_time",
            "last_modified_time",
            "estimate_url",
        }
    ),
    f"{WRAPPERS} EstimatesApi.getEstimates, EstimateParser.getEstimates; zoho-api.md",
)
# No modification time, no applied invoices: only their numbers (CustomerPaymentParser.getCustomerPayments).
PAYMENTS = ListEndpoint(
    "/books/v3/customerpayments",
    "customerpayments",
    COMMON
    | variants("customer_name", "reference_number", "payment_mode", "notes")
    | ranges("amount")
    | dates("date")
    | {"customer_id", "invoice_id"},
    frozenset(
        {
            "customer_name",
            "unused_amount",
            "amount",
            "bcy_amount",
            "date",
            "reference_number",
            "account_name",
            "payment_mode",
        }
    ),
    frozenset(
        {
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
        }
    ),
    f"{WRAPPERS} CustomerPaymentsApi.getCustomerPayments, CustomerPaymentParser.getCustomerPayments",
)
LISTS = (CONTACTS, INVOICES, ESTIMATES, PAYMENTS)

# GET /customerpayments/{id}: where the applied invoices are documented (CustomerPaymentParser.getCustomerPayment).
PAYMENT_INVOICE_KEYS = frozenset(
    {
        "invoice_number",
        "invoice_payment_id",
        "invoice_id",
        "amount_applied",
        "tax_amount_withheld",
        "total",
        "balance",
        "date",
        "due_date",
    }
)
PAYMENT_INVOICE_REQUIRED = frozenset({"invoice_id", "amount_applied"})
# Detail reads take nothing but the organization.
DETAIL_PARAMS = frozenset({"organization_id"})

# ---- creates (Books API v3: Create a Contact / Create an invoice / Create an estimate) ---------------------------
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
        "contact_type",
        "customer_sub_type",
        "currency_id",
        "payment_terms",
        "payment_terms_label",
        "notes",
        "billing_address",
        "shipping_address",
        "contact_persons",
        "custom_fields",
        "language_code",
        "tags",
        "owner_id",
        "credit_limit",
        "is_portal_enabled",
        "default_templates",
    }
)
LINE_ITEM_KEYS = frozenset(
    {
        "item_id",
        "name",
        "description",
        "item_order",
        "rate",
        "quantity",
        "unit",
        "discount",
        "tax_id",
        "project_id",
        "tags",
        "account_id",
        "location_id",
        "item_custom_fields",
    }
)
INVOICE_CREATE_KEYS = frozenset(
    {
        "customer_id",
        "currency_id",
        "contact_persons",
        "invoice_number",
        "reference_number",
        "template_id",
        "date",
        "payment_terms",
        "payment_terms_label",
        "due_date",
        "discount",
        "is_discount_before_tax",
        "discount_type",
        "exchange_rate",
        "salesperson_name",
        "custom_fields",
        "line_items",
        "notes",
        "terms",
        "shipping_charge",
        "adjustment",
        "adjustment_description",
        "allow_partial_payments",
        "payment_options",
        "location_id",
    }
)
ESTIMATE_CREATE_KEYS = frozenset(
    {
        "customer_id",
        "currency_id",
        "contact_persons",
        "estimate_number",
        "reference_number",
        "template_id",
        "date",
        "expiry_date",
        "discount",
        "is_discount_before_tax",
        "discount_type",
        "exchange_rate",
        "salesperson_name",
        "custom_fields",
        "line_items",
        "notes",
        "terms",
        "shipping_charge",
        "adjustment",
        "adjustment_description",
        "location_id",
    }
)
# An error answer: a numeric code and a message (zoho-api.md; every wrapper's exception parser).
ERROR_KEYS = frozenset({"code", "message"})

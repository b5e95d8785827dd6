"""The CRM modules the sandbox serves: field API names, lookups, types, mandatory fields."""

from __future__ import annotations

from typing import Any

from bot.zoho.sandbox.timefmt import parse_ts

_COMMON = ("id", "Owner", "Created_Time", "Modified_Time", "Created_By", "Modified_By", "Description")

FIELDS: dict[str, frozenset[str]] = {
    "Accounts": frozenset(
        _COMMON
        + (
            "Account_Name",
            "Phone",
            "Website",
            "Industry",
            "Account_Type",
            "Billing_Street",
            "Billing_City",
            "Billing_State",
            "Billing_Code",
            "Billing_Country",
            "Currency",
            "Employees",
            "Annual_Revenue",
        )
    ),
    "Contacts": frozenset(
        _COMMON
        + (
            "First_Name",
            "Last_Name",
            "Full_Name",
            "Email",
            "Phone",
            "Mobile",
            "Title",
            "Account_Name",
            "Mailing_Street",
            "Mailing_City",
            "Mailing_State",
            "Mailing_Zip",
            "Mailing_Country",
        )
    ),
    "Deals": frozenset(
        _COMMON
        + (
            "Deal_Name",
            "Stage",
            "Amount",
            "Closing_Date",
            "Account_Name",
            "Contact_Name",
            "Pipeline",
            "Probability",
            "Type",
            "Lead_Source",
            "Currency",
            "Expected_Revenue",
            # A custom field the sandbox org has added, as orgs do to hold the Books invoice id.
            "Books_Invoice_ID",
        )
    ),
    "Products": frozenset(
        _COMMON + ("Product_Name", "Product_Code", "Unit_Price", "Product_Active", "Product_Category")
    ),
    # Line items live in the `Quoted_Items` subform (v7+ name; `Product_Details` before).
    "Quotes": frozenset(
        _COMMON
        + (
            "Subject",
            "Quote_Stage",
            "Deal_Name",
            "Account_Name",
            "Contact_Name",
            "Valid_Till",
            "Currency",
            "Quoted_Items",
            "Sub_Total",
            "Discount",
            "Tax",
            "Adjustment",
            "Grand_Total",
        )
    ),
}
# A Quoted_Items row: `Product_Name` lookup, quantity, list price, discount and the derived amounts.
QUOTED_ITEM_KEYS = (
    "id",
    "Product_Name",
    "Quantity",
    "List_Price",
    "Discount",
    "Total",
    "Total_After_Discount",
    "Tax",
    "Net_Total",
    "Description",
)

# lookup field -> module it points at, per module
LOOKUPS: dict[str, dict[str, str]] = {
    "Accounts": {},
    "Contacts": {"Account_Name": "Accounts"},
    "Deals": {"Account_Name": "Accounts", "Contact_Name": "Contacts"},
    "Products": {},
    "Quotes": {"Deal_Name": "Deals", "Account_Name": "Accounts", "Contact_Name": "Contacts"},
}
NAME_FIELD = {
    "Accounts": "Account_Name",
    "Contacts": "Full_Name",
    "Deals": "Deal_Name",
    "Products": "Product_Name",
    "Quotes": "Subject",
}
USER_FIELDS = ("Owner", "Created_By", "Modified_By")
USER_SUBFIELDS = frozenset({"id", "name", "email", "first_name", "last_name", "full_name"})
NUMERIC = frozenset(
    {
        "Amount",
        "Probability",
        "Unit_Price",
        "Expected_Revenue",
        "Employees",
        "Annual_Revenue",
        "Sub_Total",
        "Discount",
        "Tax",
        "Adjustment",
        "Grand_Total",
    }
)
DATES = frozenset({"Closing_Date", "Valid_Till"})
DATETIMES = frozenset({"Created_Time", "Modified_Time"})
READ_ONLY = frozenset({"id", "Created_Time", "Modified_Time", "Created_By", "Modified_By", "Full_Name"})
MANDATORY = {
    "Accounts": ("Account_Name",),
    "Contacts": ("Last_Name",),
    "Deals": ("Deal_Name", "Stage"),
    "Products": ("Product_Name",),
    "Quotes": ("Subject", "Quoted_Items"),
}
SORTABLE = ("id", "Created_Time", "Modified_Time")

# Related lists served: (parent module, related list API name) -> child module
RELATED: dict[tuple[str, str], str] = {
    ("Accounts", "Deals"): "Deals",
    ("Accounts", "Contacts"): "Contacts",
    ("Contacts", "Deals"): "Deals",
    ("Deals", "Products"): "Products",
    ("Deals", "Quotes"): "Quotes",
}


def module_name(raw: str) -> str | None:
    """Zoho matches module API names case-insensitively."""
    for name in FIELDS:
        if name.lower() == raw.lower():
            return name
    return None


def time_key(value: Any) -> str:
    """A string that sorts and compares like the instant (CRM's own +00:00 format passes straight through)."""
    if not isinstance(value, str):
        return ""
    if len(value) == 25 and value.endswith("+00:00"):
        return value
    dt = parse_ts(value)
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00") if dt else value


def project(record: dict[str, Any], module: str, fields: list[str] | None) -> dict[str, Any]:
    """The record limited to the requested fields (plus id); all fields when `fields` is None."""
    if fields is None:
        return dict(record)
    known = FIELDS[module]
    out: dict[str, Any] = {}
    for name in fields:
        if name in record or name in known:
            out[name] = record.get(name)
    out["id"] = record["id"]
    return out

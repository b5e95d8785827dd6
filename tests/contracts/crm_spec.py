"""What Zoho documents for each CRM v8 endpoint Throughline calls: allowed query parameters, the keys an answer
carries, and where each fact comes from. Test data, kept apart from the sandbox on purpose: a convenient key or
parameter added to the sandbox (or sent by the client) must disagree with this file and fail a test.

Sources: `zoho/crm-oas` v8.0 (records, related_records, search, coql, notifications), `zoho/zohocrm-python-sdk-8.0`,
and `../shared/zoho-api.md` (CRM section) where the OAS is silent.
"""

from __future__ import annotations

from dataclasses import dataclass

OAS = "zoho/crm-oas v8.0"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with {Module}/{id} placeholders, as the app calls it
    params: frozenset[str]  # documented query parameters
    source: str
    body_keys: frozenset[str] = frozenset()  # documented keys of one JSON body item (writes)


# ---- reads --------------------------------------------------------------------------------------------------------
LIST = Endpoint(
    "GET",
    "/crm/v8/{Module}",
    frozenset(
        {
            "fields",
            "ids",
            "sort_by",
            "sort_order",
            "page",
            "per_page",
            "page_token",
            "cvid",
            "territory_id",
            "include_child",
            "converted",
            "approved",
        }
    ),
    f"{OAS} records getRecords",
)
RECORD = Endpoint("GET", "/crm/v8/{Module}/{id}", frozenset({"fields"}), f"{OAS} records getRecord")
RELATED = Endpoint(
    "GET",
    "/crm/v8/{Module}/{id}/{Related}",
    frozenset({"fields", "ids", "page", "per_page", "page_token"}),
    f"{OAS} related_records getRelatedRecords",
)
SEARCH = Endpoint(
    "GET",
    "/crm/v8/{Module}/search",
    frozenset({"criteria", "email", "phone", "word", "converted", "approved", "page", "per_page", "fields", "type"}),
    f"{OAS} search searchRecords",
)
COQL = Endpoint("POST", "/crm/v8/coql", frozenset(), f"{OAS} coql", frozenset({"select_query"}))
UPDATE = Endpoint("PUT", "/crm/v8/{Module}", frozenset(), f"{OAS} records updateRecords", frozenset({"data"}))
WATCH_KEYS = frozenset(
    {
        "channel_id",
        "events",
        "notify_url",
        "token",
        "channel_expiry",
        "return_affected_field_values",
        "notify_on_related_action",
        "notification_condition",
    }
)
WATCH = Endpoint("POST", "/crm/v8/actions/watch", frozenset(), f"{OAS} notifications createNotifications", WATCH_KEYS)
WATCH_UPDATE = Endpoint(
    "PATCH",
    "/crm/v8/actions/watch",
    frozenset({"channel_id"}),
    f"{OAS} notifications updateNotificationInfo",
    WATCH_KEYS,
)
UNWATCH = Endpoint(
    "DELETE", "/crm/v8/actions/watch", frozenset({"channel_ids"}), f"{OAS} notifications disableNotifications"
)
WATCHED = Endpoint(
    "GET", "/crm/v8/actions/watch", frozenset({"module", "channel_id"}), f"{OAS} notifications getNotifications"
)
ENDPOINTS = (LIST, RECORD, RELATED, SEARCH, COQL, UPDATE, WATCH, WATCH_UPDATE, UNWATCH, WATCHED)

# ---- answers ------------------------------------------------------------------------------------------------------
# A record read answers exactly the requested `fields` plus `id` (records getRecords: "fields ... to be retrieved").
INFO_KEYS = frozenset(
    {
        "per_page",
        "count",
        "page",
        "sort_by",
        "sort_order",
        "more_records",
        "next_page_token",
        "previous_page_token",
        "page_token_expiry",
    }
)  # records getRecords response `info`
COQL_INFO_KEYS = frozenset({"count", "more_records"})  # coql response `info`
ERROR_KEYS = frozenset({"code", "details", "message", "status"})  # ErrorResponse (every operation)
RESULT_KEYS = frozenset({"code", "details", "message", "status"})  # per-record / per-channel write result
WATCH_EVENT_KEYS = frozenset({"channel_expiry", "resource_uri", "resource_id", "resource_name", "channel_id"})
# getNotifications rows (events as strings) and their info
WATCHED_KEYS = frozenset(
    {
        "notify_on_related_action",
        "channel_expiry",
        "return_affected_field_values",
        "resource_uri",
        "resource_id",
        "notify_url",
        "resource_name",
        "fields",
        "notification_condition",
        "channel_id",
        "events",
        "token",
    }
)
WATCHED_INFO_KEYS = frozenset({"per_page", "count", "page", "more_records"})

# The deal's Products related list is a plain association of Products records: their fields only, never a
# quantity or a deal price (related_records getRelatedRecords example "Contact with related Products";
# zoho-api.md). Line items live on quotes.
PRODUCT_FIELDS = frozenset(
    {
        "id",
        "Product_Name",
        "Product_Code",
        "Unit_Price",
        "Product_Active",
        "Product_Category",
        "Description",
        "Owner",
        "Created_Time",
        "Modified_Time",
        "Created_By",
        "Modified_By",
    }
)
LINE_ONLY_KEYS = frozenset({"Quantity", "List_Price", "quantity", "list_price", "Discount", "Total", "Net_Total"})
# A quote's line items (`Quoted_Items` subform, v7+; `Product_Details` before).
QUOTED_ITEM_KEYS = frozenset(
    {
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
    }
)
QUOTED_ITEM_REQUIRED = frozenset({"Product_Name", "Quantity", "List_Price"})

# What the app asks for (bot/zoho/crm.py): each must be a documented field of its module.
MODULE_FIELDS = {
    "Accounts": frozenset(
        {
            "Account_Name",
            "Owner",
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
            "Created_Time",
            "Modified_Time",
        }
    ),
    "Contacts": frozenset(
        {"First_Name", "Last_Name", "Full_Name", "Email", "Phone", "Mobile", "Account_Name", "Modified_Time"}
    ),
    "Deals": frozenset(
        {
            "Deal_Name",
            "Stage",
            "Amount",
            "Currency",
            "Closing_Date",
            "Account_Name",
            "Contact_Name",
            "Owner",
            "Pipeline",
            "Probability",
            "Type",
            "Description",
            "Created_Time",
            "Modified_Time",
        }
    ),
    "Products": frozenset({"Product_Name", "Product_Code", "Unit_Price"}),
    "Quotes": frozenset(
        {
            "Subject",
            "Quote_Stage",
            "Deal_Name",
            "Grand_Total",
            "Modified_Time",
            "Quoted_Items",
            "Account_Name",
            "Contact_Name",
            "Valid_Till",
            "Currency",
            "Sub_Total",
            "Discount",
            "Tax",
            "Adjustment",
            "Owner",
            "Created_Time",
            "Created_By",
            "Modified_By",
            "Description",
        }
    ),
}

"""Books writes: new invoices/estimates, and the CRM-account import."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.responses import JSONResponse, Response

from bot.zoho.sandbox.books_shapes import (
    ESTIMATE_CREATE_KEYS,
    INVOICE_CREATE_KEYS,
    LINE_ITEM_KEYS,
    PAYMENT_TERMS,
    new_contact,
)
from bot.zoho.sandbox.context import Ctx
from bot.zoho.sandbox.errors import books_error
from bot.zoho.sandbox.state import Record, SandboxState
from bot.zoho.sandbox.timefmt import books_ts, parse_date

CREATED_MESSAGE = {"invoice": "The invoice has been created.", "estimate": "The estimate has been created."}
# GUESSED: the import answer's wording and key (Books docs show {"contact_id": ...}; Billing's shows customer_id)
IMPORT_MESSAGE = "The customer has been imported."


def document_url(kind: str, org_id: str, doc_id: str) -> str:
    return f"https://books.zoho.com/app/{org_id}#/{kind}s/{doc_id}"


def build_document(
    state: SandboxState,
    kind: str,
    customer: Record,
    *,
    org_id: str,
    line_items: list[Record],
    doc_date: str,
    due_or_expiry: str,
    status: str = "draft",
    balance: float | None = None,
    reference_number: str = "",
    zcrm_potential_id: str = "",
    notes: str = "",
    payment_terms: int = 0,
    custom_fields: list[Any] | None = None,
    created: str | None = None,
    modified: str | None = None,
    last_payment_date: str = "",
    doc_id: str = "",
) -> Record:
    """An invoice or estimate in Books' detail shape (list rows are a projection of it)."""
    doc_id = doc_id or state.new_id("books")
    prefix = "INV" if kind == "invoice" else "EST"
    number = f"{prefix}-{state.next_number(kind):06d}"
    total = round(sum(float(li["item_total"]) for li in line_items), 2)
    now = created or books_ts(state.now())
    doc: Record = {
        f"{kind}_id": doc_id,
        f"{kind}_number": number,
        "status": status,
        "date": doc_date,
        "customer_id": customer["contact_id"],
        "customer_name": customer["contact_name"],
        "company_name": customer.get("company_name", ""),
        "currency_code": customer.get("currency_code", "USD"),
        "total": total,
        "reference_number": reference_number,
        "zcrm_potential_id": zcrm_potential_id,
        "created_time": now,
        "last_modified_time": modified or now,
        f"{kind}_url": document_url(kind, org_id, doc_id),
        "line_items": line_items,
        "sub_total": total,
        "notes": notes,
        "payment_terms": payment_terms,
        "payment_terms_label": PAYMENT_TERMS.get(payment_terms, f"Net {payment_terms}"),
        "custom_fields": custom_fields or [],
        "billing_address": customer.get("billing_address", {}),
    }
    if kind == "invoice":
        doc.update(
            {
                "due_date": due_or_expiry,
                "balance": total if balance is None else balance,
                "last_payment_date": last_payment_date,
                "is_viewed_by_client": status == "viewed",
            }
        )
    else:
        doc["expiry_date"] = due_or_expiry
    return doc


def line_item(state: SandboxState, raw: Record) -> Record:
    item = state.books_items.get(str(raw.get("item_id") or ""))
    rate_in = raw.get("rate")
    rate = float(rate_in if rate_in is not None else (item or {}).get("rate", 0.0))
    quantity_in = raw.get("quantity")
    quantity = float(quantity_in if quantity_in is not None else 1)
    return {
        "line_item_id": state.new_id("books"),
        "item_id": item["item_id"] if item else "",
        "name": raw.get("name") or (item or {}).get("name", ""),
        "description": raw.get("description", ""),
        "rate": rate,
        "quantity": quantity,
        "unit": raw.get("unit", ""),
        "item_total": round(rate * quantity, 2),
    }


async def create_document(ctx: Ctx, kind: str) -> Response:
    data = await ctx.json_body()
    if not isinstance(data, dict):
        return books_error(400, 4, "Invalid value passed for JSONString")  # GUESSED code
    allowed = INVOICE_CREATE_KEYS if kind == "invoice" else ESTIMATE_CREATE_KEYS
    extra = sorted(k for k in data if k not in allowed)
    extra += sorted(
        f"line_items.{k}"
        for li in data.get("line_items") or []
        if isinstance(li, dict)
        for k in li
        if k not in LINE_ITEM_KEYS
    )
    if extra:  # GUESSED code and wording: the stricter reading of keys the create docs do not list
        return books_error(400, 2, f"Invalid value passed for {extra[0]}")
    state = ctx.state
    customer = state.books_contacts.get(str(data.get("customer_id") or ""))
    if customer is None:
        return books_error(400, 2, "Invalid value passed for customer_id")  # GUESSED code
    raw_items = data.get("line_items")
    if not isinstance(raw_items, list) or not raw_items:
        return books_error(400, 2, "Invalid value passed for line_items")  # GUESSED
    for raw in raw_items:
        if not isinstance(raw, dict):
            return books_error(400, 2, "Invalid value passed for line_items")
        if raw.get("item_id") and str(raw["item_id"]) not in state.books_items:
            return books_error(400, 2, "Invalid value passed for item_id")
        if not raw.get("item_id") and not raw.get("name"):
            return books_error(400, 2, "Invalid value passed for line_items")
        for num in ("rate", "quantity"):
            if raw.get(num) is not None and not isinstance(raw[num], int | float):
                return books_error(400, 2, f"Invalid value passed for {num}")
    doc_date = parse_date(data.get("date")) or state.today
    terms_in = data.get("payment_terms")
    terms = int(terms_in if terms_in is not None else customer.get("payment_terms") or 0)
    end_key = "due_date" if kind == "invoice" else "expiry_date"
    end = parse_date(data.get(end_key)) or doc_date + timedelta(days=terms if kind == "invoice" else 30)
    doc = build_document(
        state,
        kind,
        customer,
        org_id=ctx.credentials.books_org_id,
        line_items=[line_item(state, raw) for raw in raw_items],
        doc_date=doc_date.isoformat(),
        due_or_expiry=end.isoformat(),
        reference_number=str(data.get("reference_number") or ""),
        zcrm_potential_id=str(data.get("zcrm_potential_id") or ""),
        notes=str(data.get("notes") or ""),
        payment_terms=terms,
        custom_fields=data.get("custom_fields") or [],
    )
    state.add_invoice(doc) if kind == "invoice" else state.add_estimate(doc)
    return JSONResponse({"code": 0, "message": CREATED_MESSAGE[kind], kind: doc}, status_code=201)


def import_crm_account(ctx: Ctx, crm_account_id: str) -> Response:
    """Create or link the Books customer for a CRM account (Books' CRM integration)."""
    state = ctx.state
    account = state.crm["Accounts"].get(crm_account_id)
    if account is None:
        return books_error(400, 2, "Invalid value passed for crm_account_id")  # GUESSED
    existing = state.books_contact_by_crm_account.get(crm_account_id)
    if existing is None:
        name = str(account.get("Account_Name") or "")
        same = next(
            (
                c
                for c in state.books_contacts.values()
                if str(c.get("contact_name", "")).lower() == name.lower() and not c.get("zcrm_account_id")
            ),
            None,
        )
        if same is not None:  # link the unlinked customer of the same name
            same.update(
                {
                    "zcrm_account_id": crm_account_id,
                    "is_linked_with_zohocrm": True,
                    "last_modified_time": books_ts(state.now()),
                }
            )
            state.books_contact_by_crm_account[crm_account_id] = same["contact_id"]
            existing = same["contact_id"]
        else:
            existing = state.add_books_contact(new_contact(state, _from_crm(state, account)))["contact_id"]
    return JSONResponse(
        {"code": 0, "message": IMPORT_MESSAGE, "data": {"customer_id": existing, "contact_id": existing}}
    )


def _from_crm(state: SandboxState, account: Record) -> Record:
    contacts = [
        state.crm["Contacts"][c]
        for c in state.crm_contacts_by_account.get(account["id"], [])
        if c in state.crm["Contacts"]
    ]
    return {
        "contact_name": account.get("Account_Name"),
        "company_name": account.get("Account_Name"),
        "website": account.get("Website") or "",
        "contact_type": "customer",
        "currency_code": account.get("Currency") or "USD",
        "payment_terms": 30,
        "zcrm_account_id": account["id"],
        "zcrm_contact_id": contacts[0]["id"] if contacts else "",
        "billing_address": {
            "address": account.get("Billing_Street") or "",
            "city": account.get("Billing_City") or "",
            "state": account.get("Billing_State") or "",
            "zip": account.get("Billing_Code") or "",
            "country": account.get("Billing_Country") or "",
            "phone": account.get("Phone") or "",
        },
        "contact_persons": [
            {
                "first_name": c.get("First_Name") or "",
                "last_name": c.get("Last_Name") or "",
                "email": c.get("Email") or "",
                "phone": c.get("Phone") or "",
                "is_primary_contact": i == 0,
            }
            for i, c in enumerate(contacts)
        ],
    }

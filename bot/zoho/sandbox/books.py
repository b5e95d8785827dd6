"""Books v3 (``/books/v3``): contacts, invoices, estimates, customer payments, CRM import."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from starlette.responses import JSONResponse, Response

from bot.zoho.sandbox.books_docs import create_document, import_crm_account
from bot.zoho.sandbox.books_shapes import (
    ADDRESS_KEYS,
    CONTACT_CREATE_KEYS,
    CONTACT_LIST_KEYS,
    CONTACT_PERSON_KEYS,
    ESTIMATE_FILTER_STATUSES,
    ESTIMATE_LIST_KEYS,
    INVOICE_FILTER_STATUSES,
    INVOICE_LIST_KEYS,
    LIST_PARAMS,
    PAYMENT_LIST_KEYS,
    SORT_COLUMNS,
    UNPAID,
    new_contact,
    pick,
)
from bot.zoho.sandbox.context import Ctx
from bot.zoho.sandbox.errors import books_error
from bot.zoho.sandbox.ordering import keep, ordered_page
from bot.zoho.sandbox.state import Record
from bot.zoho.sandbox.timefmt import books_ts, ts_key

MAX_PER_PAGE = 200
PAYMENT_LIST_ONLY = frozenset({"invoice_numbers"})  # the list row's summary of `invoices`


async def dispatch(ctx: Ctx) -> Response:
    parts, method = ctx.parts, ctx.method
    if parts == ["organizations"] and method == "GET":
        return organizations(ctx)
    org = ctx.query.get("organization_id")
    if not org:
        return books_error(400, 2, "Invalid value passed for organization_id")  # GUESSED code for missing
    if org != ctx.credentials.books_org_id:
        # Zoho's documented 6041; the HTTP status is GUESSED.
        return books_error(401, 6041, f"This user is not associated with the CompanyID/CompanyName:{org}.")
    if not parts:
        return books_error(404)
    head, rest = parts[0], parts[1:]
    state = ctx.state
    if head == "contacts":
        if not rest:
            return (
                list_contacts(ctx)
                if method == "GET"
                else await create_contact(ctx)
                if method == "POST"
                else books_error(405)
            )
        if len(rest) == 1 and method == "GET":
            found = state.books_contacts.get(rest[0])
            if not found:
                return books_error(404, 1002, "Contact does not exist.")  # GUESSED message
            return _ok({"contact": found})
        if len(rest) == 1 and method == "PUT":
            return await update_contact(ctx, rest[0])
    if head in ("invoices", "estimates"):
        kind = head[:-1]
        store = state.books_invoices if kind == "invoice" else state.books_estimates
        if not rest:
            if method == "GET":
                return list_documents(ctx, kind)
            if method == "POST":
                return await create_document(ctx, kind)
            return books_error(405)
        doc = store.get(rest[0])
        if doc is None:
            return books_error(404, 1002, f"{kind.capitalize()} does not exist.")
        if len(rest) == 1 and method == "GET":
            return _ok({kind: doc})
        if kind == "invoice" and rest[1:] == ["payments"] and method == "GET":
            return invoice_payments(ctx, rest[0])
    if head == "customerpayments":
        if not rest and method == "GET":
            return list_payments(ctx)
        if len(rest) == 1 and method == "GET":
            payment = state.books_payments.get(rest[0])
            if payment is None:
                return books_error(404, 1002, "Payment does not exist.")  # GUESSED message
            return _ok({"payment": {k: v for k, v in payment.items() if k not in PAYMENT_LIST_ONLY}})
    if head == "crm" and len(rest) == 3 and rest[0] == "account" and rest[2] == "import" and method == "POST":
        return import_crm_account(ctx, rest[1])
    if head == "items" and not rest and method == "GET":
        return _answer(ctx, "items", state.books_items, None, dict, "Items", ("name", "A", ("name", "rate")))
    return books_error(404)


def _ok(payload: dict[str, Any], message: str = "success", status: int = 200) -> Response:
    return JSONResponse({"code": 0, "message": message, **payload}, status_code=status)


def organizations(ctx: Ctx) -> Response:
    org = {
        "organization_id": ctx.credentials.books_org_id,
        "name": "Throughline Sandbox Co.",
        "is_default_org": True,
        "currency_code": "USD",
        "time_zone": "Etc/UTC",
        "is_org_active": True,
    }
    return _ok({"organizations": [org]})


def _answer(
    ctx: Ctx,
    key: str,
    store: dict[str, Record],
    rows: list[Record] | None,
    shape: Callable[[Record], Record],
    report: str,
    sort: tuple[str, str, Iterable[str]],
    applied_filter: str = "Status.All",
) -> Response:
    """Sort, page and wrap a list answer. `rows` None means the whole store; `sort` is (default column,
    default order, allowed columns)."""
    page, per_page = ctx.int_param("page", 1), ctx.int_param("per_page", MAX_PER_PAGE)
    if page is None or page < 1:
        return books_error(400, 2, "Invalid value passed for page")
    if per_page is None or per_page < 1 or per_page > MAX_PER_PAGE:
        return books_error(400, 2, "Invalid value passed for per_page")
    default_column, default_order, allowed = sort
    column = ctx.query.get("sort_column", default_column)
    if column not in allowed:
        return books_error(400, 2, "Invalid value passed for sort_column")
    order = ctx.query.get("sort_order", default_order)
    if order not in ("A", "D"):  # GUESSED: the wrappers and docs use only A and D
        return books_error(400, 2, "Invalid value passed for sort_order")

    def sort_key(r: Record) -> Any:
        value = r.get(column)
        if column.endswith("_time"):
            return (1, ts_key(value))
        if isinstance(value, int | float):
            return (0, value)
        return (1, str(value or "").lower())

    offset = (page - 1) * per_page
    chunk, total = ordered_page(
        ctx.state, f"books:{key}:{column}:{order}", store, sort_key, order == "D", rows, offset, per_page
    )
    context = {
        "page": page,
        "per_page": per_page,
        "has_more_page": offset + per_page < total,
        "report_name": report,
        "applied_filter": applied_filter,
        "sort_column": column,
        "sort_order": order,
        "search_criteria": [],
    }
    return _ok({key: [shape(r) for r in chunk], "page_context": context})


def undocumented_param(ctx: Ctx, resource: str) -> Response | None:
    """Books' answer to a query parameter its docs do not list for this list (GUESSED code and wording: the
    stricter reading, so a client relying on an undocumented filter fails here rather than in production)."""
    allowed = LIST_PARAMS[resource]
    extra = sorted(k for k in ctx.query if k not in allowed)
    return books_error(400, 2, f"Invalid value passed for {extra[0]}") if extra else None


def list_contacts(ctx: Ctx) -> Response:
    if (refused := undocumented_param(ctx, "contacts")) is not None:
        return refused
    q, state = ctx.query, ctx.state
    store = state.books_contacts
    rows: list[Record] | None = None
    if q.get("zcrm_account_id"):
        cid = state.books_contact_by_crm_account.get(q["zcrm_account_id"])
        rows = [store[cid]] if cid and cid in store else []
    if q.get("zcrm_contact_id"):
        rows = keep(rows, store, lambda r: r.get("zcrm_contact_id") == q["zcrm_contact_id"])
    if q.get("contact_name"):
        name = q["contact_name"].lower()
        rows = keep(rows, store, lambda r: str(r.get("contact_name", "")).lower() == name)
    if q.get("contact_name_contains"):
        part = q["contact_name_contains"].lower()
        rows = keep(rows, store, lambda r: part in str(r.get("contact_name", "")).lower())
    if q.get("email"):
        email = q["email"].lower()
        rows = keep(
            rows,
            store,
            lambda r: (
                str(r.get("email", "")).lower() == email
                or any(str(p.get("email", "")).lower() == email for p in r.get("contact_persons", []))
            ),
        )
    if q.get("search_text"):
        text = q["search_text"].lower()
        rows = keep(
            rows,
            store,
            lambda r: any(text in str(r.get(k) or "").lower() for k in ("contact_name", "company_name", "email")),
        )
    return _answer(
        ctx,
        "contacts",
        store,
        rows,
        lambda r: pick(r, CONTACT_LIST_KEYS),
        "Contacts",
        ("contact_name", "A", SORT_COLUMNS["contacts"]),
    )


async def create_contact(ctx: Ctx) -> Response:
    data = await ctx.json_body()
    if not isinstance(data, dict):
        return books_error(400, 4, "Invalid value passed for JSONString")  # GUESSED code
    if (refused := _extra_keys(data, CONTACT_CREATE_KEYS)) is not None:
        return refused
    for key in ("billing_address", "shipping_address"):
        if isinstance(data.get(key), dict) and (refused := _extra_keys(data[key], ADDRESS_KEYS, key)) is not None:
            return refused
    for person in data.get("contact_persons") or []:
        if isinstance(person, dict) and (refused := _extra_keys(person, CONTACT_PERSON_KEYS, "contact_persons")):
            return refused
    name = str(data.get("contact_name") or "").strip()
    if not name:
        return books_error(400, 4, "Please enter the contact name.")  # GUESSED code
    state = ctx.state
    if any(str(c.get("contact_name", "")).lower() == name.lower() for c in state.books_contacts.values()):
        return books_error(400, 3062, f'The customer "{name}" already exists. Please specify a different name.')
    data = dict(data, contact_name=name)
    if data.get("zcrm_account_id") and data["zcrm_account_id"] not in state.crm["Accounts"]:
        return books_error(400, 2, "Invalid value passed for zcrm_account_id")
    contact = state.add_books_contact(new_contact(state, data))
    return _ok({"contact": contact}, "The contact has been added.", status=201)


def _extra_keys(data: dict[str, Any], allowed: frozenset[str], where: str = "") -> Response | None:
    """Books' answer to a key its create docs do not list (GUESSED code 2 and wording: the stricter reading)."""
    extra = sorted(k for k in data if k not in allowed)
    if not extra:
        return None
    return books_error(400, 2, f"Invalid value passed for {where + '.' if where else ''}{extra[0]}")


# Keys `PUT /contacts/{id}` changes here. GUESSED: that `zcrm_account_id` is writable this way (Books documents
# linking through its CRM integration; the API page does not list the field on update).
_UPDATABLE = ("contact_name", "company_name", "website", "payment_terms", "zcrm_account_id", "zcrm_contact_id")


async def update_contact(ctx: Ctx, contact_id: str) -> Response:
    state = ctx.state
    contact = state.books_contacts.get(contact_id)
    if contact is None:
        return books_error(404, 1002, "Contact does not exist.")  # GUESSED message
    data = await ctx.json_body()
    if not isinstance(data, dict):
        return books_error(400, 4, "Invalid value passed for JSONString")  # GUESSED code
    crm_id = str(data.get("zcrm_account_id") or "")
    if "zcrm_account_id" in data and crm_id and crm_id not in state.crm["Accounts"]:
        return books_error(400, 2, "Invalid value passed for zcrm_account_id")
    changes = {k: data[k] for k in _UPDATABLE if k in data}
    if "zcrm_account_id" in changes:
        old = str(contact.get("zcrm_account_id") or "")
        if old and state.books_contact_by_crm_account.get(old) == contact_id:
            del state.books_contact_by_crm_account[old]
        changes["zcrm_account_id"] = crm_id
        changes["is_linked_with_zohocrm"] = bool(crm_id)
        if crm_id:
            state.books_contact_by_crm_account[crm_id] = contact_id
    contact.update(changes, last_modified_time=books_ts(state.now()))
    state.touch()
    return _ok({"contact": contact}, "Contact has been updated successfully.")


def list_documents(ctx: Ctx, kind: str) -> Response:
    if (refused := undocumented_param(ctx, f"{kind}s")) is not None:
        return refused
    q, state = ctx.query, ctx.state
    store = state.books_invoices if kind == "invoice" else state.books_estimates
    index = state.books_invoices_by_customer if kind == "invoice" else state.books_estimates_by_customer
    rows: list[Record] | None = None
    if q.get("customer_id"):
        rows = [store[i] for i in index.get(q["customer_id"], []) if i in store]
    status = q.get("status") or q.get("filter_by", "").replace("Status.", "").lower() or ""
    statuses = INVOICE_FILTER_STATUSES if kind == "invoice" else ESTIMATE_FILTER_STATUSES
    if q.get("status") and q["status"] not in statuses:
        return books_error(400, 2, "Invalid value passed for status")
    status = "partially_paid" if status in ("partiallypaid", "partially paid") else status
    if status and status != "all":
        wanted = UNPAID if status == "unpaid" else (status,)
        rows = keep(rows, store, lambda r: r.get("status") in wanted)
    for param in ("reference_number", "zcrm_potential_id", f"{kind}_number"):
        if q.get(param):
            rows = keep(rows, store, lambda r, p=param: str(r.get(p) or "") == q[p])  # type: ignore[misc]
    if q.get("date_start"):
        rows = keep(rows, store, lambda r: str(r.get("date") or "") >= q["date_start"])
    if q.get("date_end"):
        rows = keep(rows, store, lambda r: str(r.get("date") or "") <= q["date_end"])
    if q.get("search_text"):
        text = q["search_text"].lower()
        rows = keep(
            rows,
            store,
            lambda r: any(
                text in str(r.get(k) or "").lower() for k in (f"{kind}_number", "customer_name", "reference_number")
            ),
        )
    keys = INVOICE_LIST_KEYS if kind == "invoice" else ESTIMATE_LIST_KEYS
    report = "Invoices" if kind == "invoice" else "Estimates"
    applied = f"Status.{status.capitalize()}" if status else "Status.All"
    return _answer(
        ctx,
        f"{kind}s",
        store,
        rows,
        lambda r: pick(r, keys),
        report,
        ("created_time", "D", SORT_COLUMNS[f"{kind}s"]),
        applied,
    )


def list_payments(ctx: Ctx) -> Response:
    if (refused := undocumented_param(ctx, "customerpayments")) is not None:
        return refused
    q, state = ctx.query, ctx.state
    store = state.books_payments
    rows: list[Record] | None = None
    if q.get("customer_id"):
        rows = [store[i] for i in state.books_payments_by_customer.get(q["customer_id"], []) if i in store]
    if q.get("date_start"):
        rows = keep(rows, store, lambda r: str(r.get("date") or "") >= q["date_start"])
    if q.get("date_end"):
        rows = keep(rows, store, lambda r: str(r.get("date") or "") <= q["date_end"])
    if q.get("invoice_id"):
        rows = keep(rows, store, lambda r: any(a.get("invoice_id") == q["invoice_id"] for a in r.get("invoices", [])))
    return _answer(
        ctx,
        "customerpayments",
        store,
        rows,
        lambda r: _payment_row(r),
        "Customer Payments",
        ("date", "D", SORT_COLUMNS["customerpayments"]),
    )


def _payment_row(payment: Record) -> Record:
    row = pick(payment, PAYMENT_LIST_KEYS)
    row["invoice_numbers"] = ", ".join(a.get("invoice_number", "") for a in payment.get("invoices", []))
    row["bcy_amount"] = payment.get("bcy_amount", payment.get("amount"))
    row["bcy_unused_amount"] = payment.get("bcy_unused_amount", payment.get("unused_amount"))
    return row


def invoice_payments(ctx: Ctx, invoice_id: str) -> Response:
    state = ctx.state
    out = []
    for pid in state.books_payments_by_invoice.get(invoice_id, []):
        payment = state.books_payments[pid]
        for applied in payment.get("invoices", []):
            if applied["invoice_id"] != invoice_id:
                continue
            out.append(
                {
                    "payment_id": pid,
                    "payment_number": payment["payment_number"],
                    "invoice_id": invoice_id,
                    "invoice_payment_id": applied.get("invoice_payment_id", ""),
                    "payment_mode": payment.get("payment_mode", ""),
                    "description": payment.get("description", ""),
                    "date": payment["date"],
                    "reference_number": payment.get("reference_number", ""),
                    "exchange_rate": 1.0,
                    "amount": applied["amount_applied"],
                    "tax_amount_withheld": 0.0,
                    "is_single_invoice_payment": len(payment.get("invoices", [])) == 1,
                }
            )
    return _ok({"payments": out})

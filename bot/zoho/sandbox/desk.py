"""Desk v1 (``/api/v1``): tickets, ticket search, accounts, account search, contacts. ``orgId`` header on every call.

Built from Zoho's own OpenAPI files (public repo zoho/zohodesk-oas, ``v1.0/Ticket.json``, ``Search.json``,
``Account.json``), never from what the client would find convenient:

- Each route accepts only the query parameters its spec lists (`_PARAMS`); anything else is a 422 as Desk
  answers it. Sort values are the spec's enums (`/tickets` sorts only by dueDate, createdTime, recentThread).
- Each route answers only its documented keys (the ``*_KEYS`` tuples): a ticket **list row** has no
  ``modifiedTime``, ``isEscalated`` or ``isOverDue`` (those come with ticket detail and ticket search); an
  account list row has no ``modifiedTime``; account search rows carry no ``zohoCRMAccount``.
- ``from`` is 1-based on ``/accounts``, ``/accounts/{id}/tickets`` (spec default 1) and ``/accounts/{id}/contacts``,
  and 0-based, at most
  999, on search; a search never reaches past its 1,000th result. ``limit`` is 1..100.
- ``POST /accounts`` and ``PATCH /accounts/{id}`` take only the spec's keys: there is no CRM link field
  (``zohoCRMAccount`` is set by Zoho's own CRM–Desk integration).

GUESSED (docs silent, stricter reading taken): ``from`` below 1 on a 1-based route is refused; an extra query
parameter or body key answers ``422 UNPROCESSABLE_ENTITY`` naming it; account search sorts like the other
searches (relevance, modifiedTime, createdTime); `from` on ``/accounts/{id}/contacts`` starts at 1 like the Account.json
routes worded the same way (Contact.json gives no default); a contact's detail/create answer keys (not read).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse, Response

from bot.zoho.sandbox.context import Ctx
from bot.zoho.sandbox.errors import desk_error, desk_invalid_field, no_content
from bot.zoho.sandbox.ordering import keep, ordered_page
from bot.zoho.sandbox.state import Record
from bot.zoho.sandbox.timefmt import desk_ts, ts_key

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
SEARCH_MAX_FROM = 999  # Search.json: `from` 0..999; results past the 1,000th are out of reach
SEARCH_WINDOW = 1000
_CUSTOM = {f"customField{i}" for i in range(1, 11)}

# Query parameters each route's spec lists (orgId travels as a header).
_PARAMS: dict[str, set[str]] = {
    # Ticket.json getTickets
    "tickets": {
        "from",
        "limit",
        "sortBy",
        "include",
        "departmentIds",
        "priority",
        "status",
        "assignee",
        "channel",
        "receivedInDays",
        "viewId",
    },
    # Search.json searchTickets
    "tickets/search": {
        "from",
        "limit",
        "sortBy",
        "email",
        "phone",
        "ticketNumber",
        "accountName",
        "subject",
        "departmentId",
        "productName",
        "_all",
        "dueDateRange",
        "id",
        "productId",
        "contactId",
        "createdTimeRange",
        "priority",
        "assigneeId",
        "accountId",
        "modifiedTimeRange",
        "status",
        "channel",
        "customerResponseTimeRange",
        "description",
        "tag",
        "contactName",
        "category",
    }
    | _CUSTOM,
    # Ticket.json getTicket
    "ticket": {"include"},
    # Account.json getAccounts
    "accounts": {"from", "limit", "sortBy", "viewId", "fields", "filters", "filterId"},
    # Account.json getAccount
    "account": {"include"},
    # Search.json searchAccounts
    "accounts/search": {"from", "limit", "sortBy", "accountName", "createdTimeRange", "modifiedTimeRange", "id", "_all"}
    | _CUSTOM,
    # Account.json getTicketsByAccount
    "account tickets": {"from", "limit", "sortBy", "include", "departmentId", "dueDate", "isSpam"},
    # Contact.json getContacts
    "contacts": {"from", "limit", "sortBy", "include", "fields", "viewId", "filterId"},
    # Contact.json getContactsUnderAccount
    "account contacts": {"from", "limit", "sortBy", "isSpam"},
    # Contact.json getContact
    "contact": {"include"},
}
_SORTS: dict[str, set[str]] = {
    "tickets": {"dueDate", "createdTime", "recentThread"},
    "tickets/search": {"relevance", "modifiedTime", "createdTime", "customerResponseTime"},
    "accounts": {"website", "email", "phone", "accountName", "createdTime", "modifiedTime"},
    "accounts/search": {"relevance", "modifiedTime", "createdTime"},
    "account tickets": {"createdTime", "modifiedTime"},
    "contacts": {"firstName", "lastName", "phone", "email", "account", "createdTime", "modifiedTime"},
    "account contacts": {"firstName", "lastName", "phone", "fullName", "email", "createdTime", "modifiedTime"},
}
_INCLUDES: dict[str, set[str]] = {
    "tickets": {"contacts", "products", "departments", "team", "assignee"},
    "account tickets": {"contacts", "products", "departments", "team", "assignee", "isRead"},
    "ticket": {"contacts", "products", "assignee", "departments", "contract", "isRead", "team", "skills"},
    "account": {"owner"},
    "contacts": {"accounts"},
    "contact": {"accounts", "owner"},
}
_ONE_BASED = {"accounts", "account tickets", "account contacts"}
_SEARCH = {"tickets/search", "accounts/search"}
# Sort field → the record field it orders by (recentThread: the sandbox keeps no threads; modifiedTime stands in).
_SORT_FIELD = {"recentThread": "modifiedTime", "customerResponseTime": "modifiedTime", "relevance": "modifiedTime"}

# Keys of each answer (a subset of the documented schema; never a key outside it).
TICKET_LIST_KEYS = (
    "id",
    "ticketNumber",
    "subject",
    "status",
    "statusType",
    "priority",
    "channel",
    "departmentId",
    "contactId",
    "accountId",
    "assigneeId",
    "email",
    "phone",
    "createdTime",
    "closedTime",
    "dueDate",
    "isSpam",
    "webUrl",
)  # Ticket.json listviewCommonJson
ACCOUNT_TICKET_KEYS = (*TICKET_LIST_KEYS, "category", "subCategory", "layoutId")  # + getTicketsByAccountListObject
TICKET_SEARCH_KEYS = (*TICKET_LIST_KEYS, "modifiedTime", "isOverDue", "isEscalated", "cf")  # searchTicketResponseFields
TICKET_DETAIL_KEYS = (*TICKET_LIST_KEYS, "description", "modifiedTime", "isOverDue", "isEscalated", "cf")  # ticket
ACCOUNT_LIST_KEYS = ("id", "accountName", "email", "website", "phone", "webUrl", "createdTime", "zohoCRMAccount")
_ACCOUNT_COMMON = (
    "id",
    "accountName",
    "email",
    "website",
    "phone",
    "street",
    "city",
    "state",
    "country",
    "code",
    "industry",
    "description",
    "cf",
    "webUrl",
    "createdTime",
    "modifiedTime",
)
ACCOUNT_SEARCH_KEYS = _ACCOUNT_COMMON  # searchAccountResponseFields: no zohoCRMAccount
ACCOUNT_DETAIL_KEYS = (*_ACCOUNT_COMMON, "zohoCRMAccount")  # accountResponse
CONTACT_LIST_KEYS = (
    "id",
    "firstName",
    "lastName",
    "email",
    "phone",
    "mobile",
    "accountId",
    "zohoCRMContact",
    "createdTime",
    "webUrl",
)  # Contact.json listViewObject: no modifiedTime
CONTACT_DETAIL_KEYS = (*CONTACT_LIST_KEYS, "title", "modifiedTime")  # GUESSED: contactResponse not read
# Contact.json contactjson (createContact body, additionalProperties: false)
CONTACT_WRITE_KEYS = frozenset(
    {
        "lastName",
        "accountId",
        "firstName",
        "secondaryEmail",
        "phone",
        "mobile",
        "ownerId",
        "type",
        "email",
        "zip",
        "country",
        "twitter",
        "cf",
        "city",
        "customFields",
        "street",
        "facebook",
        "description",
        "state",
        "title",
    }
)
# Account.json accountjson / updateAccount_accountjson (additionalProperties: false)
ACCOUNT_WRITE_KEYS = frozenset(
    {
        "accountName",
        "website",
        "phone",
        "email",
        "country",
        "code",
        "cf",
        "city",
        "customFields",
        "street",
        "annualrevenue",
        "description",
        "industry",
        "state",
        "ownerId",
        "fax",
        "associatedSLAIds",
        "layoutId",
    }
)
_ACCOUNT_STORED = ("email", "website", "phone", "street", "city", "state", "country", "code", "description", "industry")

# Search.json: yyyy-MM-ddThh:mm:ss.SSSZ,yyyy-MM-ddThh:mm:ss.SSSZ (both ends)
_INSTANT = r"(19|20)\d\d-(0?[1-9]|1[012])-(0?[1-9]|[12]\d|3[01])T([01]?\d|2[0-3]):[0-5]?\d:[0-5]?\d([.]\d{0,3})?Z"
_RANGE = re.compile(rf"{_INSTANT},{_INSTANT}")


async def dispatch(ctx: Ctx) -> Response:
    parts, method = ctx.parts, ctx.method
    if parts == ["organizations"] and method == "GET":
        return JSONResponse(
            {
                "data": [
                    {
                        "id": ctx.credentials.desk_org_id,
                        "companyName": "Throughline Sandbox Co.",
                        "portalName": "throughline",
                        "isDefault": True,
                    }
                ]
            }
        )
    org = ctx.request.headers.get("orgid")
    if not org:
        return desk_error(422, "UNPROCESSABLE_ENTITY", "The header 'orgId' is missing.")  # GUESSED
    if org != ctx.credentials.desk_org_id:
        return desk_error(403, "OAUTH_ORG_MISMATCH", "The OAuthToken is not valid for specified organization.")
    state = ctx.state
    head, rest = (parts[0], parts[1:]) if parts else ("", [])
    if head == "tickets" and method == "GET":
        if not rest:
            return _tickets(ctx, "tickets", None, TICKET_LIST_KEYS)
        if rest == ["search"]:
            return ticket_search(ctx)
        if len(rest) == 1:
            return _one(ctx, "ticket", state.desk_tickets.get(rest[0]), TICKET_DETAIL_KEYS)
    if head == "accounts":
        if not rest and method == "GET":
            return _answer(ctx, "accounts", state.desk_accounts, None, ACCOUNT_LIST_KEYS, "accountName")
        if not rest and method == "POST":
            return await create_account(ctx)
        if rest == ["search"] and method == "GET":
            return account_search(ctx)
        if len(rest) == 1 and method == "GET":
            return _one(ctx, "account", state.desk_accounts.get(rest[0]), ACCOUNT_DETAIL_KEYS)
        if len(rest) == 1 and method == "PATCH":
            return await update_account(ctx, rest[0])
        if len(rest) == 2 and rest[1] == "tickets" and method == "GET":
            if rest[0] not in state.desk_accounts:
                return desk_error(404, "RESOURCE_NOT_FOUND", "The requested resource does not exist.")
            rows = [
                state.desk_tickets[t] for t in state.desk_tickets_by_account.get(rest[0], []) if t in state.desk_tickets
            ]
            return _tickets(ctx, "account tickets", rows, ACCOUNT_TICKET_KEYS)
        if len(rest) == 2 and rest[1] == "contacts" and method == "GET":
            if rest[0] not in state.desk_accounts:
                return desk_error(404, "RESOURCE_NOT_FOUND", "The requested resource does not exist.")
            rows = [c for c in state.desk_contacts.values() if c.get("accountId") == rest[0]]
            return _answer(ctx, "account contacts", state.desk_contacts, rows, CONTACT_LIST_KEYS, "lastName")
    if head == "contacts":
        if not rest and method == "GET":
            return _answer(ctx, "contacts", state.desk_contacts, None, CONTACT_LIST_KEYS, "lastName")
        if not rest and method == "POST":
            return await create_contact(ctx)
        if len(rest) == 1 and method == "GET":
            return _one(ctx, "contact", state.desk_contacts.get(rest[0]), CONTACT_DETAIL_KEYS)
    return desk_error(404)


def _tickets(ctx: Ctx, scope: str, rows: list[Record] | None, keys: tuple[str, ...]) -> Response:
    test = _ticket_filter(ctx)
    if test is not None:
        rows = keep(rows, ctx.state.desk_tickets, test)
    return _answer(ctx, scope, ctx.state.desk_tickets, rows, keys, "-createdTime")


def _project(record: Record, keys: tuple[str, ...]) -> Record:
    return {k: record.get(k) for k in keys}


def _included(ctx: Ctx, row: Record) -> Record:
    """``include=contacts,assignee,departments`` on ticket lists nests those records, as Desk does."""
    wanted = {p.strip() for p in ctx.query.get("include", "").split(",") if p.strip()}
    if not wanted or "ticketNumber" not in row:
        return row
    state = ctx.state
    if "contacts" in wanted:
        contact = state.desk_contacts.get(str(row.get("contactId")))
        account = state.desk_accounts.get(str(row.get("accountId")))
        row["contact"] = (
            None
            if contact is None
            else {
                "id": contact["id"],
                "firstName": contact.get("firstName"),
                "lastName": contact.get("lastName"),
                "email": contact.get("email"),
                "phone": contact.get("phone"),
                "account": None
                if account is None
                else {"id": account["id"], "accountName": account["accountName"], "website": account.get("website")},
            }
        )
    if "assignee" in wanted:
        agent = next((a for a in state.desk_agents if a["id"] == row.get("assigneeId")), None)
        row["assignee"] = dict(agent) if agent else None
    if "departments" in wanted:
        row["department"] = {"id": state.desk_department_id, "name": "Support"}
    return row


def _refused(ctx: Ctx, scope: str) -> Response | None:
    """422 for a query parameter the route's spec does not list, or an `include` value it does not allow."""
    extra = sorted(set(ctx.query.keys()) - _PARAMS[scope])
    if extra:
        return desk_error(422, "UNPROCESSABLE_ENTITY", f"Extra query parameter '{extra[0]}' is present in the input.")
    if "include" in ctx.query:
        wanted = {p.strip() for p in ctx.query["include"].split(",")}
        if not wanted <= _INCLUDES.get(scope, set()):
            return desk_invalid_field("include")
    return None


def _one(ctx: Ctx, scope: str, record: Record | None, keys: tuple[str, ...]) -> Response:
    refused = _refused(ctx, scope)
    if refused is not None:
        return refused
    if record is None:
        return desk_error(404, "RESOURCE_NOT_FOUND", "The requested resource does not exist.")
    return JSONResponse(_project(record, keys))


def _ticket_filter(ctx: Ctx) -> Callable[[Record], bool] | None:
    q = ctx.query
    checks: list[Callable[[Record], bool]] = []
    if q.get("status"):
        wanted = {s.strip().lower().replace(" ", "") for s in q["status"].split(",") if s.strip()}
        checks.append(
            lambda t: (
                str(t.get("status", "")).lower().replace(" ", "") in wanted
                or str(t.get("statusType", "")).lower().replace(" ", "") in wanted
            )
        )
    for param, key in (
        ("departmentId", "departmentId"),
        ("departmentIds", "departmentId"),
        ("accountId", "accountId"),
        ("contactId", "contactId"),
        ("priority", "priority"),
        ("channel", "channel"),
        ("id", "id"),
        ("ticketNumber", "ticketNumber"),
    ):
        if q.get(param):
            values = set(q[param].split(","))
            checks.append(lambda t, k=key, v=values: str(t.get(k)) in v)  # type: ignore[misc]
    if not checks:
        return None
    return lambda t: all(c(t) for c in checks)


def _window(ctx: Ctx, scope: str) -> tuple[int, int] | Response:
    """The 0-based start index and the page size, or Desk's 422."""
    refused = _refused(ctx, scope)
    if refused is not None:
        return refused
    one_based = scope in _ONE_BASED
    start, limit = ctx.int_param("from", 1 if one_based else 0), ctx.int_param("limit", DEFAULT_LIMIT)
    if start is None or start < (1 if one_based else 0) or (scope in _SEARCH and start > SEARCH_MAX_FROM):
        return desk_invalid_field("from")
    if limit is None or limit < 1 or limit > MAX_LIMIT:
        return desk_invalid_field("limit")
    return (start - 1 if one_based else start), limit


def _answer(
    ctx: Ctx,
    scope: str,
    store: dict[str, Record],
    rows: list[Record] | None,
    keys: tuple[str, ...],
    default_sort: str,
) -> Response:
    """One ``from``/``limit`` window of `rows` (None: the whole store), sorted by ``sortBy``; 204 when empty.
    Search answers also carry ``count`` (all matches, not only the reachable 1,000)."""
    window = _window(ctx, scope)
    if isinstance(window, Response):
        return window
    start, limit = window
    raw = ctx.query.get("sortBy", default_sort)
    desc = raw.startswith("-")
    name = raw.lstrip("-")
    if "sortBy" in ctx.query and name not in _SORTS[scope]:
        return desk_invalid_field("sortBy")
    field = _SORT_FIELD.get(name, name)
    search = scope in _SEARCH
    if search:
        limit = max(0, min(limit, SEARCH_WINDOW - start))

    def sort_key(r: Record) -> Any:
        value = r.get(field)
        if field.endswith("Time") or field == "dueDate":
            return ts_key(value)
        return str(value or "").lower()

    if isinstance(rows, ByModifiedTime) and field == "modifiedTime":  # already in this order: slice it
        total = len(rows)
        if desc:  # descending = ascending reversed: the page's rows, counted from the end
            chunk = rows[max(0, total - start - limit) : max(0, total - start)][::-1]
        else:
            chunk = rows[start : start + limit]
    else:
        chunk, total = ordered_page(
            ctx.state, f"desk:{scope}:{field}:{desc}", store, sort_key, desc, rows, start, limit
        )
    if not chunk:
        return no_content()
    body: dict[str, Any] = {"data": [_included(ctx, _project(r, keys)) for r in chunk]}
    if search:
        body["count"] = total
    return JSONResponse(body)


def _range(raw: str) -> tuple[str, str] | None:
    """``from,to`` (both ends, Search.json's pattern) as comparable keys; None when malformed."""
    text = raw.replace(" ", "+")
    if not _RANGE.fullmatch(text):
        return None
    lo, _, hi = text.partition(",")
    a, b = ts_key(lo), ts_key(hi)
    return (a, b) if a and b else None


def _wild(pattern: str, value: Any) -> bool:
    text, pat = str(value or "").lower(), pattern.lower()
    if pat.startswith("*") and pat.endswith("*") and len(pat) > 1:
        return pat.strip("*") in text
    if pat.endswith("*"):
        return text.startswith(pat.rstrip("*"))
    if pat.startswith("*"):
        return text.endswith(pat.lstrip("*"))
    return text == pat


class ByModifiedTime(list[Record]):
    """Records already in ascending (modifiedTime, id) order, the order `_answer` sorts by for `modifiedTime`:
    a page of them is a slice, not a sort of the whole window on every page request."""


def _modified_between(ctx: Ctx, store: dict[str, Record], lo: str, hi: str) -> list[Record]:
    """Records whose modifiedTime is in [lo, hi]: a cached sorted index, so a 50,000-ticket sync stays fast.

    In (modifiedTime, id) order when every record still carries the time the index was built from (a record
    edited in place without `state.touch()` makes it a plain list, sorted afresh as before)."""
    state = ctx.state
    name = f"desk:modified-index:{id(store)}"
    cached = state.sort_cache.get(name)
    if cached is None or cached[0] != state.version or cached[1] != len(store):
        # "time\0id" strings sort by time, then id; the sort cache holds lists of strings
        index = sorted(f"{ts_key(r.get('modifiedTime'))}\0{rid}" for rid, r in store.items())
        cached = (state.version, len(store), index)
        state.sort_cache[name] = cached
    keys = cached[2]
    i, j = bisect_left(keys, lo), bisect_right(keys, hi + "\1")
    rows = ByModifiedTime()
    in_order = True
    for key in keys[i:j]:
        stamp, _, rid = key.partition("\0")
        record = store.get(rid)
        if record is None:
            continue
        rows.append(record)
        if in_order and (ts_key(record.get("modifiedTime")) != stamp or str(record.get("id")) != rid):
            in_order = False
    return rows if in_order else list(rows)


def _time_ranges(
    ctx: Ctx, store: dict[str, Record], rows: list[Record] | None, ranges: tuple[tuple[str, str], ...]
) -> list[Record] | None | Response:
    q = ctx.query
    for param, field in ranges:
        if param not in q:
            continue
        window = _range(q[param])
        if window is None:
            return desk_invalid_field(param)
        lo, hi = window
        if field == "modifiedTime" and rows is None:
            rows = _modified_between(ctx, store, lo, hi)
        else:
            rows = keep(rows, store, lambda r, f=field, a=lo, b=hi: a <= ts_key(r.get(f)) <= b)  # type: ignore[misc]
    return rows


def ticket_search(ctx: Ctx) -> Response:
    q, store = ctx.query, ctx.state.desk_tickets
    refused = _refused(ctx, "tickets/search")
    if refused is not None:
        return refused
    found = _time_ranges(
        ctx,
        store,
        None,
        (("modifiedTimeRange", "modifiedTime"), ("createdTimeRange", "createdTime"), ("dueDateRange", "dueDate")),
    )
    if isinstance(found, Response):
        return found
    rows = found
    test = _ticket_filter(ctx)
    if test is not None:
        rows = keep(rows, store, test)
    for param in ("subject", "email", "phone"):
        if q.get(param):
            rows = keep(rows, store, lambda r, p=param: _wild(q[p], r.get(p)))  # type: ignore[misc]
    return _answer(ctx, "tickets/search", store, rows, TICKET_SEARCH_KEYS, "-modifiedTime")


def account_search(ctx: Ctx) -> Response:
    q, store = ctx.query, ctx.state.desk_accounts
    refused = _refused(ctx, "accounts/search")
    if refused is not None:
        return refused
    found = _time_ranges(ctx, store, None, (("modifiedTimeRange", "modifiedTime"), ("createdTimeRange", "createdTime")))
    if isinstance(found, Response):
        return found
    rows = found
    if q.get("id"):
        ids = set(q["id"].split(","))
        rows = keep(rows, store, lambda r: r["id"] in ids)
    if q.get("accountName"):
        if len(q["accountName"]) < 3:  # Search.json: minLength 3
            return desk_invalid_field("accountName")
        rows = keep(rows, store, lambda r: _wild(q["accountName"], r.get("accountName")))
    if q.get("_all"):
        rows = keep(rows, store, lambda r: any(_wild(q["_all"], r.get(k)) for k in ("accountName", "email", "website")))
    return _answer(ctx, "accounts/search", store, rows, ACCOUNT_SEARCH_KEYS, "accountName")


def _extra_keys(data: dict[str, Any], allowed: frozenset[str] = ACCOUNT_WRITE_KEYS) -> Response | None:
    extra = sorted(set(data) - allowed)
    if extra:
        return desk_error(422, "UNPROCESSABLE_ENTITY", f"Extra key '{extra[0]}' is present in the input.")
    return None


async def create_account(ctx: Ctx) -> Response:
    """`POST /accounts` (Account.json createAccount): `accountName` required, only the spec's keys."""
    data = await ctx.json_body()
    if not isinstance(data, dict):
        return desk_error(422, "UNPROCESSABLE_ENTITY", "The request body is not valid JSON.")
    refused = _extra_keys(data)
    if refused is not None:
        return refused
    name = str(data.get("accountName") or "").strip()
    if not name:
        return desk_invalid_field("accountName", "missing")
    state = ctx.state
    now = desk_ts(state.now())
    account: Record = {k: data.get(k, "") for k in _ACCOUNT_STORED}
    account.update(
        {
            "id": state.new_id("desk"),
            "accountName": name,
            "createdTime": now,
            "modifiedTime": now,
            "zohoCRMAccount": None,
            "cf": data.get("cf") or {},
        }
    )
    account["webUrl"] = f"https://desk.zoho.com/support/throughline/ShowHomePage.do#Accounts/dv/{account['id']}"
    state.add_desk_account(account)
    return JSONResponse(_project(account, ACCOUNT_DETAIL_KEYS))


async def update_account(ctx: Ctx, account_id: str) -> Response:
    """`PATCH /accounts/{id}` (Account.json updateAccount): only the keys sent change; no CRM link field."""
    state = ctx.state
    account = state.desk_accounts.get(account_id)
    if account is None:
        return desk_error(404, "RESOURCE_NOT_FOUND", "The requested resource does not exist.")
    data = await ctx.json_body()
    if not isinstance(data, dict):
        return desk_error(422, "UNPROCESSABLE_ENTITY", "The request body is not valid JSON.")
    refused = _extra_keys(data)
    if refused is not None:
        return refused
    changes: Record = {k: data[k] for k in (*_ACCOUNT_STORED, "accountName") if k in data}
    if "accountName" in changes and not str(changes["accountName"] or "").strip():
        return desk_invalid_field("accountName")
    account.update(changes, modifiedTime=desk_ts(state.now()))
    state.touch()
    return JSONResponse(_project(account, ACCOUNT_DETAIL_KEYS))


async def create_contact(ctx: Ctx) -> Response:
    data = await ctx.json_body()
    if not isinstance(data, dict):
        return desk_error(422, "UNPROCESSABLE_ENTITY", "The request body is not valid JSON.")
    refused = _extra_keys(data, CONTACT_WRITE_KEYS)
    if refused is not None:
        return refused
    if not str(data.get("lastName") or "").strip():
        return desk_invalid_field("lastName", "missing")
    state = ctx.state
    if data.get("accountId") and str(data["accountId"]) not in state.desk_accounts:
        return desk_invalid_field("accountId")
    now = desk_ts(state.now())
    contact: Record = {k: data.get(k, "") for k in ("firstName", "lastName", "email", "phone", "mobile", "title")}
    contact.update(
        {
            "id": state.new_id("desk"),
            "accountId": str(data.get("accountId") or "") or None,
            "zohoCRMContact": None,
            "createdTime": now,
            "modifiedTime": now,
        }
    )
    contact["webUrl"] = f"https://desk.zoho.com/support/throughline/ShowHomePage.do#Contacts/dv/{contact['id']}"
    state.add_desk_contact(contact)
    return JSONResponse(_project(contact, CONTACT_DETAIL_KEYS))

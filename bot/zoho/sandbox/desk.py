"""Desk v1 (``/api/v1``): tickets, accounts, contacts, account search. ``orgId`` header on every call.

Paging is ``from`` (0-based) and ``limit`` (1..100); unknown query parameters are refused with 422 as Desk
does. GUESSED: an empty list or search answers 204 with no body; default ``limit`` is 10.
"""

from __future__ import annotations

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
_PAGING = {"from", "limit", "include", "fields", "sortBy"}
_ALLOWED = {
    "tickets": _PAGING | {"status", "departmentId", "departmentIds", "viewId", "assignee", "channel", "priority",
                          "receivedInDays", "isSpam", "accountId", "contactId"},
    "tickets/search": _PAGING | {"status", "modifiedTimeRange", "createdTimeRange", "accountId", "contactId",
                                 "subject", "ticketNumber", "priority", "departmentId", "id", "_all"},
    "accounts": _PAGING | {"viewId"},
    "accounts/search": _PAGING | {"accountName", "_all", "id", "email", "website", "phone", "modifiedTimeRange",
                                  "createdTimeRange"},
    "contacts": _PAGING | {"viewId", "accountId"},
    "account tickets": _PAGING | {"status", "departmentId", "isSpam", "isFollowing"},
}
_TICKET_SORTS = {"modifiedTime": "modifiedTime", "createdTime": "createdTime", "dueDate": "dueDate",
                 "ticketNumber": "ticketNumber", "recentThread": "modifiedTime",
                 "customerResponseTime": "modifiedTime", "responseDueDate": "dueDate"}
_ACCOUNT_SORTS = {"accountName": "accountName", "createdTime": "createdTime", "modifiedTime": "modifiedTime"}
_CONTACT_SORTS = {"lastName": "lastName", "firstName": "firstName", "createdTime": "createdTime",
                  "modifiedTime": "modifiedTime", "email": "email"}
ACCOUNT_LIST_KEYS = ("id", "accountName", "email", "website", "phone", "zohoCRMAccount", "createdTime",
                     "modifiedTime", "webUrl")
TICKET_LIST_KEYS = ("id", "ticketNumber", "subject", "status", "statusType", "priority", "channel", "departmentId",
                    "contactId", "accountId", "assigneeId", "email", "phone", "createdTime", "modifiedTime",
                    "closedTime", "dueDate", "isOverDue", "isEscalated", "webUrl")
CONTACT_LIST_KEYS = ("id", "firstName", "lastName", "email", "phone", "accountId", "zohoCRMContact",
                     "createdTime", "modifiedTime", "webUrl")


async def dispatch(ctx: Ctx) -> Response:
    parts, method = ctx.parts, ctx.method
    if parts == ["organizations"] and method == "GET":
        return JSONResponse({"data": [{"id": ctx.credentials.desk_org_id, "companyName": "Throughline Sandbox Co.",
                                       "portalName": "throughline", "isDefault": True}]})
    org = ctx.request.headers.get("orgid")
    if not org:
        return desk_error(422, "UNPROCESSABLE_ENTITY", "The header 'orgId' is missing.")  # GUESSED
    if org != ctx.credentials.desk_org_id:
        return desk_error(403, "OAUTH_ORG_MISMATCH", "The OAuthToken is not valid for specified organization.")
    state = ctx.state
    head, rest = (parts[0], parts[1:]) if parts else ("", [])
    if head == "tickets" and method == "GET":
        if not rest:
            return _tickets(ctx, "tickets", None)
        if rest == ["search"]:
            return ticket_search(ctx)
        if len(rest) == 1:
            return _one(state.desk_tickets.get(rest[0]))
    if head == "accounts":
        if not rest and method == "GET":
            return _answer(ctx, "accounts", state.desk_accounts, None, _ACCOUNT_SORTS, ACCOUNT_LIST_KEYS, "accountName")
        if not rest and method == "POST":
            return await create_account(ctx)
        if rest == ["search"] and method == "GET":
            return account_search(ctx)
        if len(rest) == 1 and method == "GET":
            return _one(state.desk_accounts.get(rest[0]))
        if len(rest) == 1 and method == "PATCH":
            return await update_account(ctx, rest[0])
        if len(rest) == 2 and rest[1] == "tickets" and method == "GET":
            if rest[0] not in state.desk_accounts:
                return desk_error(404, "RESOURCE_NOT_FOUND", "The requested resource does not exist.")
            rows = [state.desk_tickets[t] for t in state.desk_tickets_by_account.get(rest[0], [])
                    if t in state.desk_tickets]
            return _tickets(ctx, "account tickets", rows)
        if len(rest) == 2 and rest[1] == "contacts" and method == "GET":
            return _contacts(ctx, [c for c in state.desk_contacts.values() if c.get("accountId") == rest[0]])
    if head == "contacts":
        if not rest and method == "GET":
            account = ctx.query.get("accountId")
            return _contacts(ctx, keep(None, state.desk_contacts, lambda c: c.get("accountId") == account)
                             if account else None)
        if not rest and method == "POST":
            return await create_contact(ctx)
        if len(rest) == 1 and method == "GET":
            return _one(state.desk_contacts.get(rest[0]))
    return desk_error(404)


def _tickets(ctx: Ctx, scope: str, rows: list[Record] | None) -> Response:
    test = _ticket_filter(ctx)
    if test is not None:
        rows = keep(rows, ctx.state.desk_tickets, test)
    return _answer(ctx, scope, ctx.state.desk_tickets, rows, _TICKET_SORTS, TICKET_LIST_KEYS, "-createdTime")


def _contacts(ctx: Ctx, rows: list[Record] | None) -> Response:
    return _answer(ctx, "contacts", ctx.state.desk_contacts, rows, _CONTACT_SORTS, CONTACT_LIST_KEYS, "lastName")


def _included(ctx: Ctx, row: Record) -> Record:
    """``include=contacts,assignee,departments`` on ticket lists nests those records, as Desk does."""
    wanted = {p.strip() for p in ctx.query.get("include", "").split(",") if p.strip()}
    if not wanted or "ticketNumber" not in row:
        return row
    state = ctx.state
    if "contacts" in wanted:
        contact = state.desk_contacts.get(str(row.get("contactId")))
        account = state.desk_accounts.get(str(row.get("accountId")))
        row["contact"] = None if contact is None else {
            "id": contact["id"], "firstName": contact.get("firstName"), "lastName": contact.get("lastName"),
            "email": contact.get("email"), "phone": contact.get("phone"),
            "account": None if account is None else {"id": account["id"], "accountName": account["accountName"],
                                                     "website": account.get("website")},
        }
    if "assignee" in wanted:
        agent = next((a for a in state.desk_agents if a["id"] == row.get("assigneeId")), None)
        row["assignee"] = dict(agent) if agent else None
    if "departments" in wanted:
        row["department"] = {"id": state.desk_department_id, "name": "Support"}
    return row


def _one(record: Record | None) -> Response:
    if record is None:
        return desk_error(404, "RESOURCE_NOT_FOUND", "The requested resource does not exist.")
    return JSONResponse(record)


def _ticket_filter(ctx: Ctx) -> Callable[[Record], bool] | None:
    q = ctx.query
    checks: list[Callable[[Record], bool]] = []
    if q.get("status"):
        wanted = {s.strip().lower().replace(" ", "") for s in q["status"].split(",") if s.strip()}
        checks.append(lambda t: str(t.get("status", "")).lower().replace(" ", "") in wanted
                      or str(t.get("statusType", "")).lower().replace(" ", "") in wanted)
    for key in ("departmentId", "accountId", "contactId", "priority", "channel"):
        if q.get(key):
            values = set(q[key].split(","))
            checks.append(lambda t, k=key, v=values: str(t.get(k)) in v)  # type: ignore[misc]
    if not checks:
        return None
    return lambda t: all(c(t) for c in checks)


def _window(ctx: Ctx, scope: str) -> tuple[int, int] | Response:
    extra = sorted(set(ctx.query.keys()) - _ALLOWED[scope])
    if extra:
        return desk_error(422, "UNPROCESSABLE_ENTITY", f"Extra query parameter '{extra[0]}' is present in the input.")
    start, limit = ctx.int_param("from", 0), ctx.int_param("limit", DEFAULT_LIMIT)
    if start is None or start < 0:
        return desk_invalid_field("from")
    if limit is None or limit < 1 or limit > MAX_LIMIT:
        return desk_invalid_field("limit")
    return start, limit


def _answer(
    ctx: Ctx,
    scope: str,
    store: dict[str, Record],
    rows: list[Record] | None,
    sorts: dict[str, str],
    keys: tuple[str, ...],
    default_sort: str,
    with_count: bool = False,
) -> Response:
    """One ``from``/``limit`` window of `rows` (None: the whole store), sorted by ``sortBy``; 204 when empty.
    Search answers also carry ``count``."""
    window = _window(ctx, scope)
    if isinstance(window, Response):
        return window
    start, limit = window
    raw = ctx.query.get("sortBy", default_sort)
    desc = raw.startswith("-")
    if with_count and raw.lstrip("-") == "relevance":
        raw, desc = default_sort, default_sort.startswith("-")
    field = sorts.get(raw.lstrip("-"))
    if field is None:
        return desk_invalid_field("sortBy")

    def sort_key(r: Record) -> Any:
        value = r.get(field)
        if field.endswith("Time") or field == "dueDate":
            return ts_key(value)
        if field == "ticketNumber":
            return int(value or 0)
        return str(value or "").lower()

    name = f"desk:{scope.split('/')[0].split()[-1]}:{field}:{desc}"
    chunk, total = ordered_page(ctx.state, name, store, sort_key, desc, rows, start, limit)
    if not chunk:
        return no_content()
    body: dict[str, Any] = {"data": [_included(ctx, {k: r.get(k) for k in keys}) for r in chunk]}
    if with_count:
        body["count"] = total
    return JSONResponse(body)


def _range(raw: str | None) -> tuple[str, str] | None:
    """``from,to`` (ISO) as comparable keys; an open end when `to` is missing."""
    if not raw:
        return None
    lo, _, hi = raw.replace(" ", "+").partition(",")
    a, b = ts_key(lo), ts_key(hi) if hi else "9999"
    if not a or not b:
        return None
    return a, b


def _wild(pattern: str, value: Any) -> bool:
    text, pat = str(value or "").lower(), pattern.lower()
    if pat.startswith("*") and pat.endswith("*") and len(pat) > 1:
        return pat.strip("*") in text
    if pat.endswith("*"):
        return text.startswith(pat.rstrip("*"))
    if pat.startswith("*"):
        return text.endswith(pat.lstrip("*"))
    return text == pat


def ticket_search(ctx: Ctx) -> Response:
    q, store = ctx.query, ctx.state.desk_tickets
    rows: list[Record] | None = None
    test = _ticket_filter(ctx)
    if test is not None:
        rows = keep(rows, store, test)
    for param, field in (("modifiedTimeRange", "modifiedTime"), ("createdTimeRange", "createdTime")):
        if q.get(param):
            window = _range(q[param])
            if window is None:
                return desk_invalid_field(param)
            rows = keep(rows, store, lambda r, f=field, w=window: w[0] <= ts_key(r.get(f)) <= w[1])  # type: ignore[misc]
    if q.get("subject"):
        rows = keep(rows, store, lambda r: _wild(q["subject"], r.get("subject")))
    if q.get("ticketNumber"):
        rows = keep(rows, store, lambda r: str(r.get("ticketNumber")) == q["ticketNumber"])
    return _answer(ctx, "tickets/search", store, rows, _TICKET_SORTS, TICKET_LIST_KEYS, "-modifiedTime", True)


def account_search(ctx: Ctx) -> Response:
    q, store = ctx.query, ctx.state.desk_accounts
    rows: list[Record] | None = None
    if q.get("id"):
        rows = [store[q["id"]]] if q["id"] in store else []
    for param in ("accountName", "email", "website", "phone"):
        if q.get(param):
            rows = keep(rows, store, lambda r, p=param: _wild(q[p], r.get(p)))  # type: ignore[misc]
    if q.get("_all"):
        rows = keep(rows, store, lambda r: any(_wild(q["_all"], r.get(k)) for k in ("accountName", "email", "website")))
    if q.get("modifiedTimeRange"):
        window = _range(q["modifiedTimeRange"])
        if window is None:
            return desk_invalid_field("modifiedTimeRange")
        lo, hi = window
        rows = keep(rows, store, lambda r: lo <= ts_key(r.get("modifiedTime")) <= hi)
    return _answer(ctx, "accounts/search", store, rows, _ACCOUNT_SORTS, ACCOUNT_LIST_KEYS, "accountName", True)


def _crm_ref(value: Any) -> Record | None:
    if isinstance(value, dict) and value.get("id"):
        return {"id": str(value["id"])}
    if isinstance(value, str | int) and str(value):
        return {"id": str(value)}
    return None


async def create_account(ctx: Ctx) -> Response:
    data = await ctx.json_body()
    if not isinstance(data, dict):
        return desk_error(422, "UNPROCESSABLE_ENTITY", "The request body is not valid JSON.")
    name = str(data.get("accountName") or "").strip()
    if not name:
        return desk_invalid_field("accountName", "missing")
    state = ctx.state
    now = desk_ts(state.now())
    account: Record = {k: data.get(k, "") for k in ("email", "website", "phone", "street", "city", "state",
                                                     "country", "code", "description", "industry")}
    account.update({"id": state.new_id("desk"), "accountName": name, "createdTime": now, "modifiedTime": now,
                    "zohoCRMAccount": _crm_ref(data.get("zohoCRMAccount")),  # GUESSED: settable through the API
                    "cf": data.get("cf") or {}})
    account["webUrl"] = f"https://desk.zoho.com/support/throughline/ShowHomePage.do#Accounts/dv/{account['id']}"
    state.add_desk_account(account)
    return JSONResponse(account)


_ACCOUNT_FIELDS = ("accountName", "email", "website", "phone", "street", "city", "state", "country", "code",
                   "description", "industry")


async def update_account(ctx: Ctx, account_id: str) -> Response:
    """`PATCH /accounts/{id}`: only the keys sent change. GUESSED: `zohoCRMAccount` is settable this way."""
    state = ctx.state
    account = state.desk_accounts.get(account_id)
    if account is None:
        return desk_error(404, "RESOURCE_NOT_FOUND", "The requested resource does not exist.")
    data = await ctx.json_body()
    if not isinstance(data, dict):
        return desk_error(422, "UNPROCESSABLE_ENTITY", "The request body is not valid JSON.")
    changes: Record = {k: data[k] for k in _ACCOUNT_FIELDS if k in data}
    if "accountName" in changes and not str(changes["accountName"] or "").strip():
        return desk_invalid_field("accountName")
    if "zohoCRMAccount" in data:
        ref = _crm_ref(data.get("zohoCRMAccount"))
        if ref is not None and ref["id"] not in state.crm["Accounts"]:
            return desk_invalid_field("zohoCRMAccount")
        old = _crm_ref(account.get("zohoCRMAccount"))
        if old is not None and state.desk_account_by_crm.get(old["id"]) == account_id:
            del state.desk_account_by_crm[old["id"]]
        if ref is not None:
            state.desk_account_by_crm[ref["id"]] = account_id
        changes["zohoCRMAccount"] = ref
    account.update(changes, modifiedTime=desk_ts(state.now()))
    state.touch()
    return JSONResponse(account)


async def create_contact(ctx: Ctx) -> Response:
    data = await ctx.json_body()
    if not isinstance(data, dict):
        return desk_error(422, "UNPROCESSABLE_ENTITY", "The request body is not valid JSON.")
    if not str(data.get("lastName") or "").strip():
        return desk_invalid_field("lastName", "missing")
    state = ctx.state
    if data.get("accountId") and str(data["accountId"]) not in state.desk_accounts:
        return desk_invalid_field("accountId")
    now = desk_ts(state.now())
    contact: Record = {k: data.get(k, "") for k in ("firstName", "lastName", "email", "phone", "mobile", "title")}
    contact.update({"id": state.new_id("desk"), "accountId": str(data.get("accountId") or "") or None,
                    "zohoCRMContact": _crm_ref(data.get("zohoCRMContact")), "createdTime": now,
                    "modifiedTime": now})
    contact["webUrl"] = f"https://desk.zoho.com/support/throughline/ShowHomePage.do#Contacts/dv/{contact['id']}"
    state.add_desk_contact(contact)
    return JSONResponse(contact)

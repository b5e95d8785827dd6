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
from bot.zoho.sandbox.ordering import ordered
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
            return _tickets(ctx, "tickets", list(state.desk_tickets.values()))
        if rest == ["search"]:
            return ticket_search(ctx)
        if len(rest) == 1:
            return _one(state.desk_tickets.get(rest[0]))
    if head == "accounts":
        if not rest and method == "GET":
            return listing(ctx, "accounts", state.desk_accounts, list(state.desk_accounts.values()),
                           _ACCOUNT_SORTS, ACCOUNT_LIST_KEYS, None, "accountName")
        if not rest and method == "POST":
            return await create_account(ctx)
        if rest == ["search"] and method == "GET":
            return account_search(ctx)
        if len(rest) == 1 and method == "GET":
            return _one(state.desk_accounts.get(rest[0]))
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
            return _contacts(ctx, [c for c in state.desk_contacts.values()
                                   if not account or c.get("accountId") == account])
        if not rest and method == "POST":
            return await create_contact(ctx)
        if len(rest) == 1 and method == "GET":
            return _one(state.desk_contacts.get(rest[0]))
    return desk_error(404)


def _tickets(ctx: Ctx, scope: str, rows: list[Record]) -> Response:
    return listing(ctx, scope, ctx.state.desk_tickets, rows, _TICKET_SORTS, TICKET_LIST_KEYS, _ticket_filter(ctx),
                   "-createdTime")


def _contacts(ctx: Ctx, rows: list[Record]) -> Response:
    return listing(ctx, "contacts", ctx.state.desk_contacts, rows, _CONTACT_SORTS, CONTACT_LIST_KEYS, None, "lastName")


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


def _sort(ctx: Ctx, store: dict[str, Record], rows: list[Record], sorts: dict[str, str],
          default: str) -> list[Record] | Response:
    raw = ctx.query.get("sortBy", default)
    desc = raw.startswith("-")
    field = sorts.get(raw.lstrip("-"))
    if field is None:
        return desk_invalid_field("sortBy")

    def key(r: Record) -> Any:
        value = r.get(field)
        if field.endswith("Time") or field == "dueDate":
            return ts_key(value)
        if field == "ticketNumber":
            return int(value or 0)
        return str(value or "").lower()

    return ordered(ctx.state, f"desk:{id(store)}:{field}:{desc}", store, key, desc, rows)


def listing(
    ctx: Ctx,
    scope: str,
    store: dict[str, Record],
    rows: list[Record],
    sorts: dict[str, str],
    keys: tuple[str, ...],
    keep: Callable[[Record], bool] | None,
    default_sort: str,
) -> Response:
    window = _window(ctx, scope)
    if isinstance(window, Response):
        return window
    start, limit = window
    if keep is not None:
        rows = [r for r in rows if keep(r)]
    result = _sort(ctx, store, rows, sorts, default_sort)
    if isinstance(result, Response):
        return result
    chunk = result[start : start + limit]
    if not chunk:
        return no_content()
    return JSONResponse({"data": [{k: r.get(k) for k in keys} for r in chunk]})


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


def _search_answer(ctx: Ctx, scope: str, store: dict[str, Record], rows: list[Record], sorts: dict[str, str],
                   keys: tuple[str, ...], default_sort: str) -> Response:
    window = _window(ctx, scope)
    if isinstance(window, Response):
        return window
    start, limit = window
    sort_param = ctx.query.get("sortBy", default_sort)
    result = rows if sort_param.lstrip("-") == "relevance" else _sort(ctx, store, rows, sorts, default_sort)
    if isinstance(result, Response):
        return result
    chunk = result[start : start + limit]
    if not chunk:
        return no_content()
    return JSONResponse({"data": [{k: r.get(k) for k in keys} for r in chunk], "count": len(result)})


def ticket_search(ctx: Ctx) -> Response:
    q = ctx.query
    rows = list(ctx.state.desk_tickets.values())
    keep = _ticket_filter(ctx)
    if keep is not None:
        rows = [r for r in rows if keep(r)]
    for key, field in (("modifiedTimeRange", "modifiedTime"), ("createdTimeRange", "createdTime")):
        if q.get(key):
            window = _range(q[key])
            if window is None:
                return desk_invalid_field(key)
            rows = [r for r in rows if window[0] <= ts_key(r.get(field)) <= window[1]]
    if q.get("subject"):
        rows = [r for r in rows if _wild(q["subject"], r.get("subject"))]
    if q.get("ticketNumber"):
        rows = [r for r in rows if str(r.get("ticketNumber")) == q["ticketNumber"]]
    return _search_answer(ctx, "tickets/search", ctx.state.desk_tickets, rows, _TICKET_SORTS, TICKET_LIST_KEYS,
                          "-modifiedTime")


def account_search(ctx: Ctx) -> Response:
    q = ctx.query
    rows = list(ctx.state.desk_accounts.values())
    if q.get("id"):
        rows = [r for r in rows if r["id"] == q["id"]]
    if q.get("accountName"):
        rows = [r for r in rows if _wild(q["accountName"], r.get("accountName"))]
    for key in ("email", "website", "phone"):
        if q.get(key):
            rows = [r for r in rows if _wild(q[key], r.get(key))]
    if q.get("_all"):
        rows = [r for r in rows if any(_wild(q["_all"], r.get(k)) for k in ("accountName", "email", "website"))]
    if q.get("modifiedTimeRange"):
        window = _range(q["modifiedTimeRange"])
        if window is None:
            return desk_invalid_field("modifiedTimeRange")
        rows = [r for r in rows if window[0] <= ts_key(r.get("modifiedTime")) <= window[1]]
    return _search_answer(ctx, "accounts/search", ctx.state.desk_accounts, rows, _ACCOUNT_SORTS, ACCOUNT_LIST_KEYS,
                          "accountName")


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

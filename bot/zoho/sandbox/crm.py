"""CRM v8 (``/crm/v{N}``): records, related lists, search, COQL, writes. Watch lives in ``crm_watch.py``."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from starlette.responses import JSONResponse, Response

from bot.zoho.sandbox import crm_watch
from bot.zoho.sandbox.context import Ctx
from bot.zoho.sandbox.crm_coql import parse_coql, run_coql
from bot.zoho.sandbox.crm_query import QueryError, parse_criteria
from bot.zoho.sandbox.crm_schema import RELATED, SORTABLE, module_name, project, time_key
from bot.zoho.sandbox.crm_write import write_records
from bot.zoho.sandbox.errors import crm_error, no_content
from bot.zoho.sandbox.ordering import ordered_page
from bot.zoho.sandbox.state import Record
from bot.zoho.sandbox.timefmt import crm_ts, parse_ts

MAX_PER_PAGE = 200
DISCRETE_LIMIT = 2000
MAX_FIELDS = 50

# Query parameters each read accepts (crm-oas v8.0: records getRecords / getRecord, related_records
# getRelatedRecords, search searchRecords). Anything else is refused: GUESSED (the stricter reading; CRM's docs do
# not say what an unknown parameter does), so a client leaning on an undocumented one fails here first.
LIST_PARAMS = frozenset(
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
)
RECORD_PARAMS = frozenset({"fields"})
RELATED_PARAMS = frozenset({"fields", "ids", "page", "per_page", "page_token"})
SEARCH_PARAMS = frozenset(
    {"criteria", "email", "phone", "word", "converted", "approved", "page", "per_page", "fields", "type"}
)


def undocumented_param(ctx: Ctx, allowed: frozenset[str]) -> Response | None:
    extra = sorted(k for k in ctx.query if k not in allowed)
    if not extra:
        return None
    return crm_error(400, "INVALID_DATA", "the given parameter is not supported", param_name=extra[0])


async def dispatch(ctx: Ctx) -> Response:
    parts, method = ctx.parts, ctx.method
    if not parts:
        return crm_error(404)
    if parts == ["coql"]:
        return await coql(ctx) if method == "POST" else crm_error(405)
    if parts[0] == "actions" and parts[1:] == ["watch"]:
        return await crm_watch.handle(ctx)
    module = module_name(parts[0])
    if module is None:
        return crm_error(400, "INVALID_MODULE", "the module name given seems to be invalid", resource_path_index=0)
    if len(parts) == 1:
        if method == "GET":
            return list_records(ctx, module)
        if method in ("POST", "PUT"):
            return await write_records(ctx, module, create=method == "POST")
        return crm_error(405)
    if len(parts) == 2 and parts[1] == "search":
        return search(ctx, module) if method == "GET" else crm_error(405)
    if len(parts) == 2:
        if method == "GET":
            return get_record(ctx, module, parts[1])
        if method == "PUT":
            return await write_records(ctx, module, create=False, record_id=parts[1])
        return crm_error(405)
    if len(parts) == 3 and method == "GET":
        return related(ctx, module, parts[1], parts[2])
    return crm_error(404)


# ---- helpers ---------------------------------------------------------------------------------------------------
def _fields(ctx: Ctx, required: bool) -> list[str] | None | Response:
    raw = ctx.query.get("fields")
    if not raw:
        if required:
            return crm_error(
                400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", param_name="fields"
            )
        return None
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    if len(fields) > MAX_FIELDS:
        return crm_error(
            400,
            "LIMIT_EXCEEDED",
            "the number of fields exceeds the limit",
            param_name="fields",
            maximum_length=MAX_FIELDS,
        )
    return fields


def _paging(ctx: Ctx) -> tuple[int, int] | Response:
    page, per_page = ctx.int_param("page", 1), ctx.int_param("per_page", MAX_PER_PAGE)
    if page is None or page < 1:
        return crm_error(400, "INVALID_DATA", "invalid data", param_name="page")
    if per_page is None or per_page < 1 or per_page > MAX_PER_PAGE:
        return crm_error(400, "INVALID_DATA", "invalid data", param_name="per_page", maximum_length=MAX_PER_PAGE)
    return page, per_page


def _info(per_page: int, count: int, page: int, more: bool, **extra: Any) -> dict[str, Any]:
    return {"per_page": per_page, "count": count, "page": page, "more_records": more, **extra}


def _encode_token(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, Any] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# ---- records ---------------------------------------------------------------------------------------------------
def list_records(ctx: Ctx, module: str) -> Response:
    if (refused := undocumented_param(ctx, LIST_PARAMS)) is not None:
        return refused
    fields = _fields(ctx, required=True)
    if isinstance(fields, Response):
        return fields
    paging = _paging(ctx)
    if isinstance(paging, Response):
        return paging
    page, per_page = paging
    q = ctx.query
    sort_by, sort_order = q.get("sort_by", "id"), q.get("sort_order", "desc").lower()
    if sort_by not in SORTABLE:
        return crm_error(400, "INVALID_DATA", "invalid data", param_name="sort_by", supported_values=list(SORTABLE))
    if sort_order not in ("asc", "desc"):
        return crm_error(400, "INVALID_DATA", "invalid data", param_name="sort_order")

    store = ctx.state.crm[module]
    records: list[Record] | None = None  # None: the whole module
    if q.get("ids"):
        ids = [i.strip() for i in q["ids"].split(",") if i.strip()]
        if len(ids) > 100:
            return crm_error(400, "LIMIT_EXCEEDED", "the number of ids exceeds the limit", param_name="ids")
        records = [store[i] for i in ids if i in store]

    ims_header = ctx.request.headers.get("if-modified-since")
    if ims_header:
        since = parse_ts(ims_header)
        if since is None:
            return crm_error(400, "INVALID_DATA", "invalid data", header_name="If-Modified-Since")
        cutoff = crm_ts(since)
        records = [
            r for r in (records if records is not None else store.values()) if time_key(r.get("Modified_Time")) > cutoff
        ]
        if not records:
            return no_content(304)

    if sort_by == "id":

        def key(r: Record) -> Any:
            return (len(r["id"]), r["id"])
    else:

        def key(r: Record) -> Any:
            return time_key(r.get(sort_by))

    token_in = q.get("page_token")
    if token_in:
        decoded = _decode_token(token_in)
        if not decoded or decoded.get("m") != module:
            return crm_error(400, "INVALID_DATA", "invalid data", param_name="page_token")
        offset = int(decoded.get("o", 0))
    else:
        if page * per_page > DISCRETE_LIMIT:
            return crm_error(
                400,
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "You can only get the first 2000 records without using page_token param.",
                limit=DISCRETE_LIMIT,
            )
        offset = (page - 1) * per_page
    chunk, total = ordered_page(
        ctx.state, f"crm:{module}:{sort_by}:{sort_order}", store, key, sort_order == "desc", records, offset, per_page
    )
    if not chunk:
        return no_content()
    more = offset + per_page < total
    next_token = _encode_token({"m": module, "o": offset + per_page}) if more else None
    expiry = crm_ts(ctx.state.now() + timedelta(days=1)) if more else None
    info = _info(
        per_page,
        len(chunk),
        page if not token_in else offset // per_page + 1,
        more,
        sort_by=sort_by,
        sort_order=sort_order,
        next_page_token=next_token,
        previous_page_token=token_in if token_in else None,
        page_token_expiry=expiry,
    )
    return JSONResponse({"data": [project(r, module, fields) for r in chunk], "info": info})


def get_record(ctx: Ctx, module: str, record_id: str) -> Response:
    if (refused := undocumented_param(ctx, RECORD_PARAMS)) is not None:
        return refused
    fields = _fields(ctx, required=False)
    if isinstance(fields, Response):
        return fields
    record = ctx.state.crm[module].get(record_id)
    if record is None:
        return no_content()  # GUESSED: CRM answers 204 for an unknown record id
    return JSONResponse({"data": [project(record, module, fields)]})


def related(ctx: Ctx, module: str, record_id: str, related_name: str) -> Response:
    child = RELATED.get((module, related_name))
    if child is None:
        return crm_error(400, "INVALID_DATA", "the relation name given seems to be invalid", resource_path_index=2)
    if (refused := undocumented_param(ctx, RELATED_PARAMS)) is not None:
        return refused
    fields = _fields(ctx, required=True)
    if isinstance(fields, Response):
        return fields
    paging = _paging(ctx)
    if isinstance(paging, Response):
        return paging
    page, per_page = paging
    state = ctx.state
    if record_id not in state.crm[module]:
        return no_content()  # GUESSED
    rows: list[Record]
    if child == "Products":
        # A plain association: the product records, with no quantity and no deal price (those are quote lines).
        rows = [
            project(state.crm["Products"][line["product_id"]], "Products", fields)
            for line in state.deal_products.get(record_id, [])
            if line["product_id"] in state.crm["Products"]
        ]
    elif child == "Quotes":
        rows = [
            project(q, "Quotes", fields)
            for q in state.crm["Quotes"].values()
            if (q.get("Deal_Name") or {}).get("id") == record_id
        ]
    else:
        index = state.crm_deals_by_account if child == "Deals" else state.crm_contacts_by_account
        if module == "Contacts":  # Contacts -> Deals: deals whose Contact_Name is this contact
            ids = [d["id"] for d in state.crm["Deals"].values() if (d.get("Contact_Name") or {}).get("id") == record_id]
        else:
            ids = index.get(record_id, [])
        rows = [project(state.crm[child][i], child, fields) for i in ids if i in state.crm[child]]
    offset = (page - 1) * per_page
    chunk = rows[offset : offset + per_page]
    if not chunk:
        return no_content()
    return JSONResponse({"data": chunk, "info": _info(per_page, len(chunk), page, offset + per_page < len(rows))})


def search(ctx: Ctx, module: str) -> Response:
    if (refused := undocumented_param(ctx, SEARCH_PARAMS)) is not None:
        return refused
    q = ctx.query
    fields = _fields(ctx, required=False)
    if isinstance(fields, Response):
        return fields
    paging = _paging(ctx)
    if isinstance(paging, Response):
        return paging
    page, per_page = paging
    records = ctx.state.crm[module].values()
    try:
        if q.get("criteria"):
            pred = parse_criteria(module, q["criteria"])
            matches = [r for r in records if pred(r)]
        elif q.get("email"):
            needle = q["email"].lower()
            matches = [r for r in records if str(r.get("Email") or "").lower() == needle]
        elif q.get("phone"):
            digits = "".join(ch for ch in q["phone"] if ch.isdigit())
            matches = [
                r
                for r in records
                if digits
                and any(digits in "".join(c for c in str(r.get(f) or "") if c.isdigit()) for f in ("Phone", "Mobile"))
            ]
        elif q.get("word"):
            word = q["word"].lower()
            matches = [r for r in records if any(word in str(v).lower() for v in r.values() if isinstance(v, str))]
        else:
            return crm_error(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                param_name="criteria/email/phone/word",
            )
    except QueryError as exc:
        return crm_error(400, exc.code, exc.message, **exc.details)
    matches = matches[:DISCRETE_LIMIT]
    offset = (page - 1) * per_page
    chunk = matches[offset : offset + per_page]
    if not chunk:
        return no_content()
    return JSONResponse(
        {
            "data": [project(r, module, fields) for r in chunk],
            "info": _info(per_page, len(chunk), page, offset + per_page < len(matches)),
        }
    )


async def coql(ctx: Ctx) -> Response:
    body = await ctx.json_body()
    query = body.get("select_query") if isinstance(body, dict) else None
    if not query or not isinstance(query, str):
        return crm_error(400, "MANDATORY_NOT_FOUND", "required field not found", api_name="select_query")
    try:
        parsed = parse_coql(ctx.state, query)
    except QueryError as exc:
        return crm_error(400, exc.code, exc.message, **exc.details)
    rows, more = run_coql(ctx.state, parsed)
    if not rows:
        return no_content()
    return JSONResponse({"data": rows, "info": {"count": len(rows), "more_records": more}})

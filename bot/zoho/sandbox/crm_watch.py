"""CRM notifications: ``/actions/watch`` subscribe (POST), update (PATCH: a live channel's details, e.g. its
expiry; PUT: replace), list (GET), unsubscribe (DELETE). Keys per crm-oas v8.0 notifications (createNotifications,
updateNotificationInfo); anything else in a channel is refused.

The sandbox does not call ``notify_url`` itself: each API write to a watched module appends
``(notify_url, payload)`` to ``state.notifications`` in Zoho's notification shape, for a test or the demo
to deliver.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.responses import JSONResponse, Response

from bot.zoho.sandbox.context import Ctx
from bot.zoho.sandbox.crm_schema import module_name
from bot.zoho.sandbox.errors import crm_body, crm_error, no_content
from bot.zoho.sandbox.state import Record
from bot.zoho.sandbox.timefmt import crm_ts, parse_ts

_OPERATIONS = ("create", "edit", "delete", "all")
_MODULE_IDS = {
    "Accounts": "5725767000000002177",
    "Contacts": "5725767000000002179",
    "Deals": "5725767000000002181",
    "Products": "5725767000000002185",
    "Quotes": "5725767000000002187",
}
MAX_EXPIRY = timedelta(days=7)
DEFAULT_EXPIRY = timedelta(hours=1)


CHANNEL_KEYS = frozenset(
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


async def handle(ctx: Ctx) -> Response:
    if ctx.method in ("POST", "PUT", "PATCH"):
        return await subscribe(ctx)
    if ctx.method == "GET":
        return listing(ctx)
    if ctx.method == "DELETE":
        return unsubscribe(ctx)
    return crm_error(405)


def _event(ctx: Ctx, module: str, channel: Record) -> Record:
    return {
        "channel_expiry": channel["channel_expiry"],
        "resource_uri": f"{ctx.base_url}/crm/v8/{module}",
        "resource_id": _MODULE_IDS[module],
        "resource_name": module,
        "channel_id": channel["channel_id"],
    }


async def subscribe(ctx: Ctx) -> Response:
    body = await ctx.json_body()
    items = body.get("watch") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return crm_error(400, "MANDATORY_NOT_FOUND", "required field not found", api_name="watch")
    now = ctx.state.now()
    results: list[Record] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            results.append(crm_body("INVALID_DATA", "invalid data", {"api_name": "watch", "index": i}))
            continue
        extra = sorted(set(item) - CHANNEL_KEYS)
        if extra:  # GUESSED: the stricter reading; the spec lists only these keys
            results.append(crm_body("INVALID_DATA", "invalid data", {"api_name": extra[0]}))
            continue
        missing = [k for k in ("channel_id", "events", "notify_url") if not item.get(k)]
        if missing:
            results.append(crm_body("MANDATORY_NOT_FOUND", "required field not found", {"api_name": missing[0]}))
            continue
        modules: list[str] = []
        bad = ""
        for event in item["events"]:
            mod, _, op = str(event).partition(".")
            name = module_name(mod)
            if not name or op not in _OPERATIONS:
                bad = str(event)
                break
            modules.append(name)
        if bad:
            results.append(crm_body("INVALID_DATA", "invalid data", {"api_name": "events", "value": bad}))
            continue
        existing = ctx.state.watch_channels.get(str(item["channel_id"]))
        live = existing is not None and existing["channel_expiry"] > crm_ts(now)
        if ctx.method == "PATCH" and not live:
            results.append(
                crm_body(
                    "INVALID_DATA",
                    "the given channel_id is not subscribed",
                    {"api_name": "channel_id", "value": str(item["channel_id"])},
                )
            )
            continue
        if ctx.method == "POST" and live:  # GUESSED: a second subscribe of a live channel id is refused
            results.append(
                crm_body(
                    "DUPLICATE_DATA",
                    "the channel_id is already subscribed",
                    {"api_name": "channel_id", "value": str(item["channel_id"])},
                )
            )
            continue
        token = item.get("token")
        if token is not None and len(str(token)) > 50:
            results.append(crm_body("INVALID_DATA", "invalid data", {"api_name": "token", "maximum_length": 50}))
            continue
        expiry = parse_ts(item.get("channel_expiry")) if item.get("channel_expiry") else now + DEFAULT_EXPIRY
        if expiry is None or expiry > now + MAX_EXPIRY or expiry <= now:
            results.append(crm_body("INVALID_DATA", "invalid data", {"api_name": "channel_expiry"}))
            continue
        channel: Record = {
            "channel_id": str(item["channel_id"]),
            "events": [str(e) for e in item["events"]],
            "notify_url": str(item["notify_url"]),
            "token": token,
            "channel_expiry": crm_ts(expiry),
            "return_affected_field_values": bool(item.get("return_affected_field_values", False)),
            "notify_on_related_action": bool(item.get("notify_on_related_action", False)),
        }
        if ctx.method == "PATCH" and existing is not None:  # a partial update: unsent keys keep their values
            channel = {**existing, **{k: channel[k] for k in channel if k in item or k == "channel_expiry"}}
            if "channel_expiry" not in item:
                channel["channel_expiry"] = existing["channel_expiry"]
        ctx.state.watch_channels[channel["channel_id"]] = channel
        results.append(
            {
                "code": "SUCCESS",
                "details": {"events": [_event(ctx, m, channel) for m in dict.fromkeys(modules)]},
                "message": (
                    "Successfully updated the subscribe details"
                    if ctx.method == "PATCH"
                    else "Successfully subscribed for actions-watch of the given module"
                ),
                "status": "success",
            }
        )
    ok = sum(1 for r in results if r["status"] == "success")
    return JSONResponse({"watch": results}, status_code=200 if ok == len(results) else (400 if not ok else 207))


def listing(ctx: Ctx) -> Response:
    """getNotifications: one row per live channel, filtered by `channel_id` / `module` (crm-oas v8.0)."""
    extra = sorted(k for k in ctx.query if k not in ("channel_id", "module", "page", "per_page"))
    if extra:
        return crm_error(400, "INVALID_DATA", "the given parameter is not supported", param_name=extra[0])
    channels = _live(ctx)
    if ctx.query.get("channel_id"):
        channels = [ch for ch in channels if ch["channel_id"] == ctx.query["channel_id"]]
    if ctx.query.get("module"):
        wanted = module_name(ctx.query["module"])
        channels = [ch for ch in channels if any(module_name(e.split(".")[0]) == wanted for e in ch["events"])]
    if not channels:
        return no_content()
    out = []
    for ch in channels:
        module = next((m for m in (module_name(e.split(".")[0]) for e in ch["events"]) if m), "Deals")
        out.append(
            {
                "channel_id": ch["channel_id"],
                "events": list(ch["events"]),
                "channel_expiry": ch["channel_expiry"],
                "notify_url": ch["notify_url"],
                "token": ch["token"],
                "return_affected_field_values": ch["return_affected_field_values"],
                "notify_on_related_action": ch["notify_on_related_action"],
                "resource_uri": f"{ctx.base_url}/crm/v8/{module}",
                "resource_id": _MODULE_IDS[module],
                "resource_name": module,
            }
        )
    info = {"per_page": 200, "count": len(out), "page": 1, "more_records": False}
    return JSONResponse({"watch": out, "info": info})


def unsubscribe(ctx: Ctx) -> Response:
    raw = ctx.query.get("channel_ids")
    if not raw:
        return crm_error(
            400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", param_name="channel_ids"
        )
    results = []
    for cid in [c.strip() for c in raw.split(",") if c.strip()]:
        channel = ctx.state.watch_channels.pop(cid, None)
        if channel is None:
            results.append(crm_body("INVALID_DATA", "invalid data", {"api_name": "channel_id", "value": cid}))
            continue
        modules = dict.fromkeys(module_name(e.split(".")[0]) or "" for e in channel["events"])
        results.append(
            {
                "code": "SUCCESS",
                "details": {"events": [_event(ctx, m, channel) for m in modules if m]},
                "message": "Successfully unsubscribed from actions-watch",
                "status": "success",
            }
        )
    return JSONResponse({"watch": results})


def _live(ctx: Ctx) -> list[Record]:
    now = crm_ts(ctx.state.now())
    return [ch for ch in ctx.state.watch_channels.values() if ch["channel_expiry"] > now]


def notify(ctx: Ctx, module: str, operation: str, changed: list[tuple[str, list[str]]]) -> None:
    """Queue a notification for every live channel watching `module` for this operation."""
    op_name = {"insert": "create", "update": "edit", "delete": "delete"}[operation]
    for ch in _live(ctx):
        wanted = {e for e in ch["events"] if module_name(e.split(".")[0]) == module}
        if not any(e.endswith("." + op_name) or e.endswith(".all") for e in wanted):
            continue
        payload: dict[str, Any] = {
            "server_time": int(ctx.state.now().timestamp() * 1000),
            "query_params": {},
            "module": module,
            "resource_uri": f"{ctx.base_url}/crm/v8/{module}",
            "ids": [rid for rid, _ in changed],
            "affected_fields": [{rid: fields} for rid, fields in changed] if ch["return_affected_field_values"] else [],
            "operation": operation,
            "channel_id": ch["channel_id"],
            "token": ch["token"],
        }
        ctx.state.notifications.append((ch["notify_url"], payload))

"""CRM writes: ``POST /{Module}`` (insert) and ``PUT /{Module}`` / ``PUT /{Module}/{id}`` (update)."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.responses import JSONResponse, Response

from bot.zoho.sandbox import crm_watch
from bot.zoho.sandbox.context import Ctx
from bot.zoho.sandbox.crm_schema import DATES, FIELDS, LOOKUPS, MANDATORY, NAME_FIELD, NUMERIC, READ_ONLY
from bot.zoho.sandbox.errors import crm_body, crm_error
from bot.zoho.sandbox.state import Record
from bot.zoho.sandbox.timefmt import crm_ts

MAX_RECORDS = 100


def _fail(code: str, message: str, index: int, api_name: str, **extra: Any) -> Record:
    return crm_body(code, message, {"api_name": api_name, "json_path": f"$.data[{index}].{api_name}", **extra})


def _clean(ctx: Ctx, module: str, item: Record, index: int) -> Record:
    """The writable fields of one input record, normalised; raises ValueError(result) on bad data."""
    state = ctx.state
    out: Record = {}
    for name, value in item.items():
        if name in READ_ONLY:
            continue  # Zoho ignores read-only keys
        if name not in FIELDS[module]:  # GUESSED: the stricter reading; a misspelt field fails loudly
            raise ValueError(_fail("INVALID_DATA", "the field name given seems to be invalid", index, name))
        if value is None:
            out[name] = None
        elif name in NUMERIC:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(_fail("INVALID_DATA", "invalid data", index, name, expected_data_type="double"))
            out[name] = value
        elif name in DATES:
            try:
                date.fromisoformat(str(value))
            except ValueError:
                raise ValueError(
                    _fail("INVALID_DATA", "invalid data", index, name, expected_data_type="date")
                ) from None
            out[name] = str(value)
        elif name in LOOKUPS[module]:
            target = LOOKUPS[module][name]
            ref = str(value.get("id") if isinstance(value, dict) else value)
            other = state.crm[target].get(ref)
            if other is None:
                raise ValueError(_fail("INVALID_DATA", "the id given seems to be invalid", index, name))
            out[name] = {"id": ref, "name": other.get(NAME_FIELD[target])}
        elif name == "Owner":
            ref = str(value.get("id") if isinstance(value, dict) else value)
            user = next((u for u in state.crm_users if u["id"] == ref), None)
            if user is None:
                raise ValueError(_fail("INVALID_DATA", "the id given seems to be invalid", index, name))
            out[name] = dict(user)
        else:
            out[name] = value
    return out


async def write_records(ctx: Ctx, module: str, *, create: bool, record_id: str | None = None) -> Response:
    body = await ctx.json_body()
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return crm_error(400, "MANDATORY_NOT_FOUND", "required field not found", api_name="data")
    if len(items) > MAX_RECORDS:
        return crm_error(400, "LIMIT_EXCEEDED", "the number of records exceeds the limit", limit=MAX_RECORDS)
    state = ctx.state
    results: list[Record] = []
    changed: list[tuple[str, list[str]]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            results.append(_fail("INVALID_DATA", "invalid data", index, "data"))
            continue
        rid = record_id or str(item.get("id") or "")
        if not create:
            if not rid:
                results.append(_fail("MANDATORY_NOT_FOUND", "required field not found", index, "id"))
                continue
            if rid not in state.crm[module]:
                results.append(_fail("INVALID_DATA", "the id given seems to be invalid", index, "id"))
                continue
        else:
            missing = [f for f in MANDATORY[module] if item.get(f) in (None, "")]
            if missing:
                results.append(_fail("MANDATORY_NOT_FOUND", "required field not found", index, missing[0]))
                continue
        try:
            clean = _clean(ctx, module, item, index)
        except ValueError as exc:
            results.append(exc.args[0])
            continue
        now = crm_ts(state.now())
        user = {k: state.api_user[k] for k in ("id", "name", "email")}
        clean.update({"Modified_Time": now, "Modified_By": user})
        if create:
            clean.update({"Created_Time": now, "Created_By": user})
            clean.setdefault("Owner", dict(user))
            for name in FIELDS[module]:
                clean.setdefault(name, None)
            clean.pop("id", None)
            record = state.add_crm(module, clean)
        else:
            record = state.update_crm(module, rid, clean)
        if module == "Contacts":
            record["Full_Name"] = " ".join(p for p in (record.get("First_Name"), record.get("Last_Name")) if p)
        if module == "Accounts" and "Account_Name" in clean:
            _rename_account(ctx, record["id"], str(record["Account_Name"]))
        changed.append((record["id"], [k for k in item if k != "id"]))
        results.append(
            {
                "code": "SUCCESS",
                "details": {
                    "Modified_Time": record["Modified_Time"],
                    "Modified_By": record["Modified_By"],
                    "Created_Time": record.get("Created_Time"),
                    "id": record["id"],
                    "Created_By": record.get("Created_By"),
                },
                "message": "record added" if create else "record updated",
                "status": "success",
            }
        )
    if changed:
        crm_watch.notify(ctx, module, "insert" if create else "update", changed)
    ok = sum(1 for r in results if r.get("status") == "success")
    status = (201 if create else 200) if ok == len(results) else (400 if ok == 0 else 207)
    return JSONResponse({"data": results}, status_code=status)


def _rename_account(ctx: Ctx, account_id: str, name: str) -> None:
    """Lookups carry the account's name: keep them in step, as Zoho does."""
    state = ctx.state
    for module, index in (("Contacts", state.crm_contacts_by_account), ("Deals", state.crm_deals_by_account)):
        for rid in index.get(account_id, []):
            lookup = state.crm[module][rid].get("Account_Name")
            if isinstance(lookup, dict):
                lookup["name"] = name

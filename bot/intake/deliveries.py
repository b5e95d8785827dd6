"""Zoho webhook bodies → inbox items (pure). Each item is one unit of work with an identity, so a replayed
delivery is stored once and a Desk delivery carrying several events becomes several items.

Item bodies keep only what processing needs (record ids, the event type, Zoho's times) plus the raw event;
processing re-reads every record by id through the API and never trusts the body's field values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.errors import DeliveryError

CRM_MODULES = {"Deals": "Deals", "Potentials": "Deals", "Accounts": "Accounts"}
DESK_TICKET_EVENTS = frozenset(
    {
        "Ticket_Add",
        "Ticket_Update",
        "Ticket_Thread_Add",
        "Ticket_Comment_Add",
        "Ticket_Comment_Update",
        "Ticket_Approval_Add",
        "Ticket_Approval_Update",
        "Ticket_Attachment_Add",
        "Ticket_Attachment_Update",
    }
)
DESK_ACCOUNT_EVENTS = frozenset({"Account_Add", "Account_Update"})
DESK_IGNORED_EVENTS = frozenset(
    {  # known Desk events the feed has no use for: stored as done, never an error
        "Ticket_Delete",
        "Ticket_Thread_Delete",
        "Ticket_Comment_Delete",
        "Ticket_Attachment_Delete",
        "Contact_Add",
        "Contact_Update",
        "Contact_Delete",
        "Account_Delete",
        "Agent_Add",
        "Agent_Update",
        "Agent_Delete",
        "Department_Add",
        "Department_Update",
        "Task_Add",
        "Task_Update",
        "Task_Delete",
        "Call_Add",
        "Call_Update",
        "Call_Delete",
        "Event_Add",
        "Event_Update",
        "Event_Delete",
        "TimeEntry_Add",
        "TimeEntry_Update",
        "TimeEntry_Delete",
        "IM_Message_Add",
    }
)
DESK_EVENTS = DESK_TICKET_EVENTS | DESK_ACCOUNT_EVENTS | DESK_IGNORED_EVENTS
ID_KEYS = ("deal_id", "dealId", "Deal_Id", "potential_id", "id", "record_id", "recordId")


@dataclass
class Parsed:
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (identity, body) to process
    rejected: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (raw event, reason), never run


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _id(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("id")
    text = str(value).strip() if value is not None else ""
    return text if text and len(text) <= 40 and text.replace("_", "").replace("-", "").isalnum() else ""


# ---- CRM ----------------------------------------------------------------------------------------------------


def crm_items(body: Any) -> Parsed:
    """A CRM notification (`ids`, `module`, `operation`, `channel_id`, `server_time`) or a workflow-rule webhook
    (a deal id as `deal_id`, `id`, …; module Deals unless `module` says Accounts)."""
    if not isinstance(body, Mapping):
        raise DeliveryError("a CRM delivery must be a JSON object or a form")
    if "ids" in body:
        return _crm_notification(body)
    module = CRM_MODULES.get(str(body.get("module") or "Deals"))
    if module is None:
        raise DeliveryError(f"unknown CRM module {str(body.get('module'))[:40]!r}: only Deals and Accounts", 422)
    record_id = next((_id(body[k]) for k in ID_KEYS if k in body and _id(body[k])), "")
    if not record_id:
        raise DeliveryError(f"no record id in the CRM webhook: send one of {', '.join(ID_KEYS[:4])}", 422)
    clean = {k: v for k, v in body.items() if k not in ("secret", "token")}
    return Parsed(
        [
            (
                f"workflow:{module}:{record_id}:{_digest(clean)}",
                {"kind": "record", "module": module, "id": record_id, "operation": "update"},
            )
        ]
    )


def _crm_notification(body: Mapping[str, Any]) -> Parsed:
    module = CRM_MODULES.get(str(body.get("module") or ""))
    if module is None:
        raise DeliveryError(f"unknown CRM module {str(body.get('module'))[:40]!r}: only Deals and Accounts", 422)
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids:
        raise DeliveryError("a CRM notification needs a non-empty `ids` list")
    operation = str(body.get("operation") or "update").lower()
    stamp = str(body.get("server_time") or _digest({k: v for k, v in body.items() if k != "token"}))
    parsed = Parsed()
    for raw in ids:
        record_id = _id(raw)
        if not record_id:
            parsed.rejected.append(({"id": str(raw)[:60]}, "not a record id"))
            continue
        parsed.items.append(
            (
                f"notify:{module}:{record_id}:{operation}:{stamp}",
                {
                    "kind": "record",
                    "module": module,
                    "id": record_id,
                    "operation": operation,
                    "channel_id": str(body.get("channel_id") or ""),
                },
            )
        )
    if not parsed.items:
        raise DeliveryError("the CRM notification carries no usable record id")
    return parsed


# ---- Books --------------------------------------------------------------------------------------------------


def books_items(body: Any) -> Parsed:
    """A Books workflow webhook: `{"invoice": {...}}`, `{"payment": {...}}` (or `customerpayment`), or the record
    itself. Identity: the record id with its status and `last_modified_time`."""
    if not isinstance(body, Mapping):
        raise DeliveryError("a Books delivery must be a JSON object or a form")
    if isinstance(body.get("JSONString"), str):  # Books' form-encoded default body
        try:
            body = json.loads(body["JSONString"])
        except ValueError as exc:
            raise DeliveryError("JSONString is not valid JSON") from exc
        if not isinstance(body, Mapping):
            raise DeliveryError("JSONString must hold a JSON object")
    for key in ("invoice", "payment", "customerpayment", "customer_payment"):
        if isinstance(body.get(key), Mapping):
            return _books_record("invoice" if key == "invoice" else "payment", body[key])
    if body.get("invoice_id") and not body.get("payment_id"):
        return _books_record("invoice", body)
    if body.get("payment_id"):
        return _books_record("payment", body)
    raise DeliveryError(
        "unknown Books event: expected an invoice or a customer payment (with invoice_id or payment_id)", 422
    )


def _books_record(kind: str, record: Mapping[str, Any]) -> Parsed:
    key = "invoice_id" if kind == "invoice" else "payment_id"
    record_id = _id(record.get(key))
    if not record_id:
        raise DeliveryError(f"the Books {kind} has no usable {key}", 422)
    status = str(record.get("status") or "")[:30]
    stamp = str(record.get("last_modified_time") or record.get("updated_time") or "")[:40] or _digest(record)
    item: dict[str, Any] = {"kind": kind, "id": record_id, "status": status}
    if kind == "payment":
        invoices: list[Any] = record["invoices"] if isinstance(record.get("invoices"), list) else []
        item["invoice_ids"] = [i for i in (_id(x.get("invoice_id")) for x in invoices if isinstance(x, Mapping)) if i]
        item["customer_id"] = _id(record.get("customer_id"))
    return Parsed([(f"{kind}:{record_id}:{status}:{stamp}", item)])


# ---- Desk ---------------------------------------------------------------------------------------------------


def desk_items(body: Any, org_id: str = "") -> Parsed:
    """Desk's JSON array of events (a single object is taken as an array of one). Unknown event types, other
    organisations and events without an id are rejected one by one, never the whole delivery."""
    events: Any = [body] if isinstance(body, Mapping) else body
    if not isinstance(events, list) or not events:
        raise DeliveryError("a Desk delivery must be a non-empty JSON array of events")
    parsed = Parsed()
    for event in events:
        if not isinstance(event, Mapping):
            parsed.rejected.append(({"event": str(event)[:200]}, "not an event object"))
            continue
        raw = event if type(event) is dict else dict(event)  # parsed JSON is a dict already: no copy
        kind = str(event.get("eventType") or "")
        if org_id and event.get("orgId") not in (None, "") and str(event.get("orgId")) != org_id:
            parsed.rejected.append((raw, f"event for Desk organisation {str(event.get('orgId'))[:20]}, not ours"))
            continue
        if kind not in DESK_EVENTS:
            parsed.rejected.append((raw, f"unknown Desk event type {kind[:60]!r}"))
            continue
        payload: Mapping[str, Any] = event["payload"] if isinstance(event.get("payload"), Mapping) else {}
        record_id = _id(payload.get("id"))
        if kind in DESK_TICKET_EVENTS:
            record_id = _id(payload.get("ticketId")) or record_id  # thread and comment events name their ticket
        if not record_id and kind not in DESK_IGNORED_EVENTS:
            parsed.rejected.append((raw, f"{kind} without a record id"))
            continue
        stamp = str(event.get("eventTime") or payload.get("modifiedTime") or _digest(raw))[:40]
        what = "ticket" if kind in DESK_TICKET_EVENTS else "desk_account" if kind in DESK_ACCOUNT_EVENTS else "ignored"
        parsed.items.append(
            (
                f"{kind}:{record_id or _digest(raw)}:{stamp}",
                {"kind": what, "event_type": kind, "id": record_id, "prev_state": _prev_state(event)},
            )
        )
    return parsed


def _prev_state(event: Mapping[str, Any]) -> dict[str, Any]:
    prev = event.get("prevState")
    if not isinstance(prev, Mapping):
        return {}
    return {k: prev[k] for k in ("status", "statusType", "isEscalated", "isOverDue", "dueDate") if k in prev}

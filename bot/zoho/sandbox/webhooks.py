"""Changes to sandbox records and the webhook bodies Zoho would send for them (Zoho's shapes, see
shared/zoho-api.md): Desk event arrays, Books workflow-webhook bodies, CRM notifications. Used by the demo,
the tests and the intake benchmark; the sandbox itself never calls out."""

from __future__ import annotations

import copy
from typing import Any

from bot.zoho.sandbox.state import Credentials, Record, SandboxState
from bot.zoho.sandbox.timefmt import books_ts, crm_ts, desk_ts


def _ms(state: SandboxState) -> str:
    return str(int(state.now().timestamp() * 1000))


# ---- changes ------------------------------------------------------------------------------------------------


def open_ticket(
    state: SandboxState, desk_account_id: str, subject: str, *, priority: str = "High", escalated: bool = False
) -> Record:
    """A new open ticket on a Desk account, created now."""
    tid = state.new_id("desk")
    now = state.now()
    number = max((int(t.get("ticketNumber") or 0) for t in state.desk_tickets.values()), default=100) + 1
    return state.add_ticket(
        {
            "id": tid,
            "ticketNumber": str(number),
            "subject": subject,
            "description": None,
            "status": "Escalated" if escalated else "Open",
            "statusType": "Open",
            "priority": priority,
            "channel": "Email",
            "departmentId": state.desk_department_id,
            "contactId": None,
            "accountId": desk_account_id,
            "assigneeId": None,
            "email": None,
            "phone": None,
            "createdTime": desk_ts(now),
            "modifiedTime": desk_ts(now),
            "closedTime": None,
            "dueDate": None,
            "isOverDue": False,
            "isEscalated": escalated,
            "webUrl": f"https://desk.zoho.com/support/throughline/ShowHomePage.do#Cases/dv/{tid}",
            "cf": {},
        }
    )


def update_ticket(state: SandboxState, ticket_id: str, **changes: Any) -> tuple[Record, dict[str, Any]]:
    """Change a ticket now; answers (ticket, prevState) as Desk's Ticket_Update carries it."""
    ticket = state.desk_tickets[ticket_id]
    prev = {k: ticket.get(k) for k in changes}
    ticket.update(changes, modifiedTime=desk_ts(state.now()))
    state.touch()
    return ticket, prev


def update_invoice(state: SandboxState, invoice_id: str, **changes: Any) -> Record:
    invoice = state.books_invoices[invoice_id]
    invoice.update(changes, last_modified_time=books_ts(state.now()))
    state.touch()
    return invoice


def pay_invoice(state: SandboxState, invoice_id: str) -> tuple[Record, Record]:
    """Record a payment of the whole balance; answers (invoice, payment)."""
    invoice = state.books_invoices[invoice_id]
    amount = float(invoice.get("balance") or invoice.get("total") or 0)
    now = state.now()
    payment = state.add_payment(
        {
            "payment_number": str(len(state.books_payments) + 1),
            "customer_id": invoice["customer_id"],
            "customer_name": invoice.get("customer_name", ""),
            "amount": amount,
            "date": now.date().isoformat(),
            "currency_code": invoice.get("currency_code", ""),
            "payment_mode": "Bank Transfer",
            "invoices": [
                {"invoice_id": invoice_id, "invoice_number": invoice.get("invoice_number"), "amount_applied": amount}
            ],
            "created_time": books_ts(now),
            "last_modified_time": books_ts(now),
        }
    )
    update_invoice(state, invoice_id, status="paid", balance=0.0, last_payment_date=now.date().isoformat())
    return invoice, payment


def update_deal(state: SandboxState, deal_id: str, **changes: Any) -> Record:
    return state.update_crm("Deals", deal_id, {**changes, "Modified_Time": crm_ts(state.now())})


# ---- bodies -------------------------------------------------------------------------------------------------


def desk_event(
    state: SandboxState,
    event_type: str,
    ticket: Record,
    prev_state: dict[str, Any] | None = None,
    *,
    org_id: str = Credentials().desk_org_id,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": event_type,
        "orgId": org_id,
        "eventTime": _ms(state),
        "payload": copy.deepcopy(ticket),
    }
    if prev_state is not None:
        event["prevState"] = prev_state
    return event


def books_invoice_body(state: SandboxState, invoice_id: str) -> dict[str, Any]:
    return {"invoice": copy.deepcopy(state.books_invoices[invoice_id])}


def books_payment_body(payment: Record) -> dict[str, Any]:
    return {"payment": copy.deepcopy(payment)}


def crm_notification(
    state: SandboxState,
    module: str,
    ids: list[str],
    *,
    operation: str = "update",
    channel_id: str = "1000000068001",
    token: str = "",
) -> dict[str, Any]:
    return {
        "server_time": int(state.now().timestamp() * 1000),
        "query_params": {},
        "module": module,
        "resource_uri": f"https://www.zohoapis.com/crm/v8/{module}",
        "ids": list(ids),
        "affected_fields": [],
        "operation": operation,
        "channel_id": channel_id,
        "token": token,
    }

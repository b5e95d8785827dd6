"""The handoff part of `throughline demo`: a deal closes in the sandbox, CRM notifies /zoho/crm, #finance gets the
review, an approver clicks Create, the invoice exists in Books and #support gets the handover."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, TextIO

import httpx

from bot.slack_requests import block_action_body, signed_headers
from bot.slack_stub import SlackStub
from bot.textrender import write_message
from bot.zoho.sandbox import Sandbox

FINANCE, SUPPORT, SALES, APPROVER = "C0FINANCE1", "C0SUPPORT1", "C0SALES001", "U0FINANCE1"
DEMO_DEAL = "5725767000000100037"  # Northwind Logistics - Cold Chain Pilot, open in the seed


def demo_structure_toml(tz: str) -> str:
    return (
        f'timezone = "{tz}"\n[channels]\nfinance = "{FINANCE}"\nsupport = "{SUPPORT}"\nsales = "{SALES}"\n'
        f'[approvers]\ninvoice = ["{APPROVER}"]\n[handoff]\ndefault_payment_terms = 30\n'
    )


async def _wait_for(stub: SlackStub, method: str, channel: str, seen: int) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        calls = [c.args for c in stub.calls if c.method == method and c.args.get("channel") == channel]
        if len(calls) > seen:
            return calls[-1]
        await asyncio.sleep(0.01)
    raise RuntimeError(f"no {method} to {channel} within 15 s")


async def show_handoff(
    http: httpx.AsyncClient,
    app_url: str,
    sandbox: Sandbox,
    stub: SlackStub,
    slack_url: str,
    signing_secret: str,
    webhook_secret: str,
    out: TextIO,
    json_out: bool,
) -> None:
    deal = sandbox.state.crm["Deals"][DEMO_DEAL]
    out.write(
        f"\n--- Closed won → finance → support ---\n\nIn Zoho CRM, {deal['Deal_Name']!r} moves to Closed Won; "
        "CRM notifies POST /zoho/crm (only the id arrives; Throughline re-reads the deal).\n"
    )
    sandbox.state.update_crm("Deals", DEMO_DEAL, {"Stage": "Closed Won"})
    started = time.perf_counter()
    delivery = {
        "server_time": int(time.time() * 1000),
        "module": "Deals",
        "ids": [DEMO_DEAL],
        "operation": "update",
        "channel_id": "1000000068001",
        "token": webhook_secret,
        "resource_uri": "https://www.zohoapis.com/crm/v8/Deals",
    }
    answer = await http.post(f"{app_url}/zoho/crm", json=delivery)
    answer.raise_for_status()
    posted = await _wait_for(stub, "chat.postMessage", FINANCE, 0)
    elapsed = (time.perf_counter() - started) * 1000
    out.write(f"  stored and answered {answer.status_code}; #finance message {elapsed:.0f} ms after the delivery\n\n")
    write_message(out, posted, json_out=json_out)

    out.write(f"\nA finance approver (<@{APPROVER}>) clicks Create invoice and confirms.\n")
    updates = len([c for c in stub.calls if c.method == "chat.update"])
    body = block_action_body(
        "handoff_create",
        DEMO_DEAL,
        response_url=f"{slack_url}/response/demo-handoff",
        user_id=APPROVER,
        channel_id=FINANCE,
        container={"type": "message", "channel_id": FINANCE, "is_ephemeral": False},
    )
    started = time.perf_counter()
    click = await http.post(f"{app_url}/slack/events", content=body, headers=signed_headers(body, signing_secret))
    click.raise_for_status()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        done = [c.args for c in stub.calls if c.method == "chat.update"][updates:]
        if done and "created (draft)" in json.dumps(done[-1]):
            break
        await asyncio.sleep(0.01)
    else:
        raise RuntimeError("the #finance message was not updated")
    out.write(f"  the message is updated in place {(time.perf_counter() - started) * 1000:.0f} ms after the click\n\n")
    write_message(out, done[-1], json_out=json_out)
    invoices = [i for i in sandbox.state.books_invoices.values() if i.get("reference_number") == DEMO_DEAL]
    out.write(
        f"\nZoho Books now holds {len(invoices)} invoice for the deal: "
        + ", ".join(f"{i['invoice_number']} ({i['status']}, {i['total']})" for i in invoices)
        + "\n"
    )
    support = await _wait_for(stub, "chat.postMessage", SUPPORT, 0)
    out.write("\n#support gets the handover:\n\n")
    write_message(out, support, json_out=json_out)

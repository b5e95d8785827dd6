"""The event-feed part of `throughline demo`: Zoho webhooks for a new ticket and an overdue invoice go into the
real app over HTTP, and the demo prints who hears about them in Slack."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any, TextIO

import httpx

from bot.config import Channels
from bot.slack_stub import SlackStub
from bot.textrender import write_message
from bot.zoho.sandbox import Sandbox
from bot.zoho.sandbox import webhooks as zw


async def _posts_after(stub: SlackStub, before: int, count: int, wait: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + wait
    while True:
        posts = [c.args for c in stub.calls[before:] if c.method == "chat.postMessage"]
        if len(posts) >= count or time.monotonic() > deadline:
            return posts
        await asyncio.sleep(0.02)


async def run_feed_demo(
    out: TextIO,
    http: httpx.AsyncClient,
    app_url: str,
    sandbox: Sandbox,
    stub: SlackStub,
    channels: Channels,
    webhook_secret: str,
    owner_dm: str,
    *,
    json_out: bool,
) -> None:
    st = sandbox.state
    account = st.demo_account_id
    owner_name = st.crm["Accounts"][account]["Owner"]["name"]
    where = {
        channels.sales: "#sales",
        channels.finance: "#finance",
        channels.support: "#support",
        owner_dm: f"DM to {owner_name} (owner)",
    }

    async def deliver(app: str, body: Any, what: str, expect: int) -> None:
        before = len(stub.calls)
        started = time.perf_counter()
        reply = await http.post(
            f"{app_url}/zoho/{app}?secret={webhook_secret}",
            content=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        ack_ms = (time.perf_counter() - started) * 1000
        answer = reply.json()
        out.write(
            f"\n$ POST /zoho/{app}  ({what})\n  {reply.status_code} in {ack_ms:.0f} ms: stored "
            f"{answer.get('stored', 0)}, duplicates {answer.get('duplicates', 0)}\n"
        )
        posts = await _posts_after(stub, before, expect, wait=10.0 if expect else 1.0)
        if not posts:
            out.write("  nothing posted\n")
        for post in posts:
            out.write(
                f"\n  → {where.get(post.get('channel', ''), post.get('channel'))}"
                f"{' (in thread)' if post.get('thread_ts') else ''}\n"
            )
            write_message(out, post, json_out=json_out, indent="    ")

    out.write(
        "\n--- Zoho → Slack: the event feed ---\n\nDesk and Books send webhooks; each delivery is stored in the "
        "inbox before the 200, then re-read through the API and routed (see [routing]).\n"
    )
    desk_account = st.desk_account_by_crm[account]
    ticket = zw.open_ticket(st, desk_account, "Tracking portal shows no trucks since 6am")
    desk_body = [zw.desk_event(st, "Ticket_Add", ticket)]
    await deliver("desk", desk_body, "Desk: a new ticket on an account with an open deal", 1)
    customer = st.books_contact_by_crm_account[account]
    invoice_id = next(
        (i for i in st.books_invoices_by_customer[customer] if st.books_invoices[i]["status"] in ("sent", "viewed")),
        None,
    )
    if invoice_id:
        due = (st.now().date() - timedelta(days=12)).isoformat()
        zw.update_invoice(st, invoice_id, status="overdue", due_date=due)
        await deliver("books", zw.books_invoice_body(st, invoice_id), "Books: an invoice went overdue", 2)
    await deliver("desk", desk_body, "Desk delivers the same event again", 0)

"""Reconciliation: a change that came with no webhook is found by sync and posted once; the same change
arriving by webhook as well is not posted again."""

from __future__ import annotations

from datetime import date

import pytest

from bot.intake.inbox import Inbox
from bot.sync import MirrorSync
from bot.zoho.sandbox import webhooks as zw
from tests.feed_helpers import FINANCE, SALES, deliver, feed_structure, posts, settle

OWNER_DM = "D0MARIA001"


@pytest.fixture
def structure():
    return feed_structure()


async def _sync(deps) -> int:
    report = await MirrorSync(deps.store, deps.zoho, deps.clock, tz=deps.structure.tz).run()
    await settle(deps)
    return report.events


async def test_changes_without_webhooks_are_posted_once(deps, sandbox, slack, app_client):
    st = sandbox.state
    slack.stub.users_by_email["maria.lopez@example.com"] = "U0MARIA001"
    assert await _sync(deps) == 0  # the first sync is a baseline: nothing is news
    assert posts(slack.stub) == []

    desk_account = st.desk_account_by_crm[st.demo_account_id]
    ticket = zw.open_ticket(st, desk_account, "Scanner firmware crash")
    customer = st.books_contact_by_crm_account[st.demo_account_id]
    invoice_id = next(i for i in st.books_invoices_by_customer[customer] if st.books_invoices[i]["status"] == "sent")
    zw.update_invoice(st, invoice_id, status="overdue", due_date="2020-01-01")
    deal_id = next(
        d for d in st.crm_deals_by_account[st.demo_account_id] if st.crm["Deals"][d]["Stage"] == "Proposal/Price Quote"
    )
    zw.update_deal(st, deal_id, Stage="Closed Lost")

    assert await _sync(deps) >= 3
    texts = sorted(p["text"] for p in posts(slack.stub))
    name = "Northwind Logistics Inc."
    assert texts == sorted(
        [
            f"New ticket for {name}",
            f"Invoice overdue for {name}",
            f"Invoice overdue for {name}",
            f"Deal lost for {name}",
        ]
    )
    assert [p["channel"] for p in posts(slack.stub) if p["text"].startswith("Deal lost")] == [SALES]
    assert {p["channel"] for p in posts(slack.stub) if p["text"].startswith("Invoice")} == {FINANCE, OWNER_DM}
    assert all(b["elements"][0]["text"] == "_found by sync_" for p in posts(slack.stub) for b in p["blocks"][1:])

    # the next sync re-reads its overlap; and the webhook for the ticket arrives late: nothing new
    await _sync(deps)
    late = await deliver(app_client, "desk", [zw.desk_event(st, "Ticket_Add", ticket)])
    assert late.json()["stored"] == 1
    await settle(deps)
    assert len(posts(slack.stub)) == 4
    assert Inbox(deps.store, deps.clock).counts()["failed"] == 0


async def test_an_invoice_that_falls_overdue_by_the_calendar_is_found(deps, sandbox, slack, clock):
    st = sandbox.state
    await _sync(deps)
    customer = st.books_contact_by_crm_account[st.demo_account_id]
    invoice = next(
        st.books_invoices[i]
        for i in st.books_invoices_by_customer[customer]
        if st.books_invoices[i]["status"] == "sent"
    )
    days = (date.fromisoformat(invoice["due_date"]) - clock.now.date()).days + 2
    clock.advance(days=days)  # nothing changed in Books; the due date simply passed
    await _sync(deps)
    overdue = [p for p in posts(slack.stub) if p["text"].startswith("Invoice overdue")]
    assert {p["channel"] for p in overdue} >= {FINANCE}
    assert any(invoice["invoice_number"] in p["blocks"][0]["text"]["text"] for p in overdue)
    count = len(posts(slack.stub))
    await _sync(deps)
    assert len(posts(slack.stub)) == count

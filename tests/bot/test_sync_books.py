"""The Books part of the mirror sync through real SQLite and the sandbox over HTTP: after a baseline, only what
changed is read, by documented parameters only, and payments get their applied invoices without a detail read
per payment."""

from __future__ import annotations

import json

from bot.sync import MirrorSync
from bot.zoho.sandbox import webhooks as zw


def _books_calls(sandbox) -> list[tuple[str, str]]:
    return [(method, path) for app, method, path in sandbox.calls if app == "books"]


def _mirrored_invoice(deps, invoice_id: str) -> dict:
    with deps.store.transaction() as db:
        row = db.execute("SELECT data FROM invoices WHERE id = ?", [invoice_id]).fetchone()
    return json.loads(row[0])


async def test_incremental_books_sync_reads_only_what_changed(deps, sandbox, clock):
    st = sandbox.state
    deps.zoho.books.per_page = 10  # several pages, as a real org has
    sync = MirrorSync(deps.store, deps.zoho, deps.clock, raise_events=False)
    await sync.run()
    full = _books_calls(sandbox)
    assert not [p for _, p in full if p.startswith("/books/v3/customerpayments/")]  # numbers resolved by the mirror
    with deps.store.transaction() as db:
        applied = [json.loads(r[0])["invoice_ids"] for r in db.execute("SELECT data FROM payments").fetchall()]
    assert applied and all(applied)

    clock.advance(minutes=20)
    customer = st.books_contact_by_crm_account[st.demo_account_id]
    sent = next(i for i in st.books_invoices_by_customer[customer] if st.books_invoices[i]["status"] == "sent")
    invoice, payment = zw.pay_invoice(st, sent)  # leaves the open lists
    sandbox.calls.clear()
    report = await sync.run()

    assert _mirrored_invoice(deps, sent)["status"] == "paid"
    calls = _books_calls(sandbox)
    assert ("GET", f"/books/v3/invoices/{sent}") in calls  # the mirror's open invoice, read again
    assert len(calls) < len(full)  # the open lists are read whole (Books cannot sort invoices by change)
    assert report.counts["books_invoices"] < len(st.books_invoices) / 10
    with deps.store.transaction() as db:
        row = db.execute("SELECT data FROM payments WHERE id = ?", [payment["payment_id"]]).fetchone()
    assert json.loads(row[0])["invoice_ids"] == [sent]


async def test_large_org_sweeps_open_invoices_every_six_hours(deps, sandbox, clock, monkeypatch):
    """Reading every open invoice each time would spend a large org's daily Books calls: between sweeps only new
    invoices and the invoices that new payments were applied to are read."""
    import bot.sync

    monkeypatch.setattr(bot.sync, "SWEEP_ALWAYS_UNDER", 0)  # as if the org had thousands of open invoices
    st = sandbox.state
    sync = MirrorSync(deps.store, deps.zoho, deps.clock, raise_events=False)
    await sync.run()
    customer = st.books_contact_by_crm_account[st.demo_account_id]
    sent = [i for i in st.books_invoices_by_customer[customer] if st.books_invoices[i]["status"] == "sent"]
    paid, voided = sent[0], next(i for i in st.books_invoices if st.books_invoices[i]["status"] == "draft")
    clock.advance(minutes=10)
    zw.pay_invoice(st, paid)
    zw.update_invoice(st, voided, status="void")
    sandbox.calls.clear()
    await sync.run()
    assert ("GET", "/books/v3/invoices") in _books_calls(sandbox)  # the created-since page
    assert _mirrored_invoice(deps, paid)["status"] == "paid"  # through its new payment
    assert _mirrored_invoice(deps, voided)["status"] == "draft"  # not swept yet
    listed = [c for c in _books_calls(sandbox) if c == ("GET", "/books/v3/invoices")]
    assert len(listed) == 1

    clock.advance(hours=6)
    await sync.run()
    assert _mirrored_invoice(deps, voided)["status"] == "void"

"""Sync stores what it reads in batches of several pages: every record arrives, progress counts each batch, and
the next sync still raises the events a change calls for."""

from __future__ import annotations

from bot import sync as sync_module
from bot.models import Ticket
from bot.sync import MirrorSync
from bot.zoho.sandbox import webhooks as zw


async def test_small_batches_store_every_record_once(deps, sandbox, monkeypatch):
    monkeypatch.setattr(sync_module, "STORE_BATCH", 7)
    st = sandbox.state
    seen: dict[str, list[int]] = {}
    report = await MirrorSync(deps.store, deps.zoho, deps.clock).run(
        lambda name, n: seen.setdefault(name, []).append(n)
    )

    counts = deps.store.counts()
    assert counts["accounts"] == report.counts["crm_accounts"] == len(st.crm["Accounts"])
    assert counts["deals"] == report.counts["crm_deals"] == len(st.crm["Deals"])
    assert counts["invoices"] == report.counts["books_invoices"] == len(st.books_invoices)
    assert counts["tickets"] == report.counts["desk_tickets"] == len(st.desk_tickets)
    for name, totals in seen.items():
        assert totals == sorted(totals) and totals[-1] == report.counts[name]
        assert all(b - a >= 7 for a, b in zip(totals, totals[1:], strict=False))  # a batch holds ≥ 7 records
    assert len(seen["desk_tickets"]) > 1  # several batches really were stored
    assert set(report.seconds) == set(report.counts)
    assert all(
        t.account_id
        for t in deps.store.records_by_id(Ticket, list(st.desk_tickets)).values()
        if t.desk_account_id in st.desk_account_by_crm.values()
    )

    desk_account = st.desk_account_by_crm[st.demo_account_id]
    ticket = zw.open_ticket(st, desk_account, "Scanner firmware crash")
    again = await MirrorSync(deps.store, deps.zoho, deps.clock).run()
    assert again.events >= 1 and again.counts["desk_tickets"] >= 1
    assert deps.store.get_record(Ticket, ticket["id"]) is not None

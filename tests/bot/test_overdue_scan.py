"""The sync's overdue scan reads and records in chunks: every invoice and ticket that fell overdue by the calendar
is raised exactly once, the same set whatever the chunk size, and a first sync only marks them as seen."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.account.health import is_open_ticket, is_overdue
from bot.intake import changes
from bot.intake.changes import ChangeRecorder
from bot.intake.inbox import Inbox
from bot.sync import MirrorSync


def _expected(deps, days: int) -> tuple[set[str], set[str]]:
    """Whole-mirror oracle: (invoice ids, ticket ids) the scan must raise now."""
    now = deps.clock()
    today = now.astimezone(deps.structure.tz).date()
    mirror = deps.store.load(["invoices", "tickets"], resolve_links=False)
    invoices = {i.id for i in mirror.invoices if i.due_date and today - timedelta(days=days) <= i.due_date < today}
    invoices = {i.id for i in mirror.invoices if i.id in invoices and is_overdue(i, today)}
    tickets = {
        t.id
        for t in mirror.tickets
        if is_open_ticket(t) and t.due_date and now - timedelta(days=days) <= t.due_date < now
    }
    return invoices, tickets


def _events(deps) -> dict[str, int]:
    return Inbox(deps.store, deps.clock).counts()


@pytest.mark.parametrize("chunk", [1, 3, 500])
async def test_the_scan_raises_each_overdue_record_once_in_any_chunk_size(deps, sandbox, clock, monkeypatch, chunk):
    await MirrorSync(deps.store, deps.zoho, deps.clock, tz=deps.structure.tz).run()
    monkeypatch.setattr(changes, "SCAN_CHUNK", chunk)
    recorder = ChangeRecorder(deps.store, deps.clock, deps.structure.tz)
    days = recorder.rules.overdue_scan_days
    clock.advance(days=8)  # nothing changed in Zoho; due dates simply passed
    invoices, tickets = _expected(deps, days)
    assert invoices and len(tickets) > 3  # the seeded org has both, or this test proves nothing
    before = _events(deps)
    assert recorder.overdue_scan() == len(invoices) + len(tickets)
    after = _events(deps)
    assert after["pending"] - before.get("pending", 0) == len(invoices) + len(tickets)
    assert recorder.overdue_scan() == len(invoices) + len(tickets)  # raised again, recorded once (same identity)
    assert _events(deps)["pending"] == after["pending"]


async def test_a_first_sync_marks_what_is_overdue_as_seen(deps, sandbox, clock, monkeypatch):
    monkeypatch.setattr(changes, "SCAN_CHUNK", 2)
    clock.advance(days=8)
    report = await MirrorSync(deps.store, deps.zoho, deps.clock, tz=deps.structure.tz).run()
    assert report.events == 0
    invoices, tickets = _expected(deps, ChangeRecorder(deps.store, deps.clock).rules.overdue_scan_days)
    assert invoices or tickets
    assert _events(deps).get("pending", 0) == 0
    recorder = ChangeRecorder(deps.store, deps.clock, deps.structure.tz)
    recorder.overdue_scan()  # the same records again: seen already, nothing to publish
    assert _events(deps).get("pending", 0) == 0

"""Mirror sync: read what changed in CRM, Books and Desk since each watermark and store it.

The first run reads everything; later runs pass the watermark to Zoho (`If-Modified-Since`,
`last_modified_time`, Desk's newest-first ticket order) so they ask only for what changed. A watermark moves
only after its whole stream was stored, so an interrupted sync repeats work rather than losing it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.intake.changes import ChangeRecorder
from bot.store import Store
from bot.zoho.clients import ZohoClients

# Zoho's clocks and ours disagree a little, and records saved during a read may carry an earlier time:
# re-read a small overlap rather than miss them. Upserts make the overlap harmless.
OVERLAP = timedelta(minutes=2)
COMPLETED = "sync:completed"
# Streams whose changes raise events (bot.intake.changes), exactly as a webhook for the same change would.
EVENT_STREAMS = frozenset({"crm_accounts", "crm_deals", "books_invoices", "desk_tickets"})

Progress = Callable[[str, int], None]


@dataclass
class SyncReport:
    counts: dict[str, int] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    events: int = 0  # events raised (queued in the inbox for the feed and the handoff)


class MirrorSync:
    def __init__(self, store: Store, zoho: ZohoClients, clock: Callable[[], datetime], *, tz: Any = None,
                 raise_events: bool = True) -> None:
        self.store = store
        self.zoho = zoho
        self.clock = clock
        # After storing a page, compare with the previous mirror rows and queue the events a webhook would
        # have raised; the first sync of a stream is a baseline and raises none.
        self.changes = ChangeRecorder(store, clock, tz) if raise_events else None

    def _since(self, name: str) -> datetime | None:
        value = self.store.get_watermark(f"sync:{name}")
        return datetime.fromisoformat(value) - OVERLAP if value else None

    async def run(self, progress: Progress | None = None) -> SyncReport:
        report = SyncReport(started_at=self.clock())
        first_ever = self.store.get_watermark(COMPLETED) is None
        crm, books, desk = self.zoho.crm, self.zoho.books, self.zoho.desk
        streams: list[tuple[str, Callable[[datetime | None], AsyncIterator[list[Any]]], Callable[[list[Any]], None]]]
        streams = [
            ("crm_accounts", lambda s: crm.iter_accounts(modified_since=s), self.store.upsert_accounts),
            ("crm_contacts", lambda s: crm.iter_contacts(modified_since=s), self.store.upsert_contacts),
            ("crm_deals", lambda s: crm.iter_deals(modified_since=s), self.store.upsert_deals),
            ("books_customers", lambda s: books.iter_customers(modified_since=s), self.store.upsert_books_customers),
            ("books_invoices", lambda s: books.iter_invoices(modified_since=s), self.store.upsert_invoices),
            ("books_payments", lambda s: books.iter_payments(modified_since=s), self.store.upsert_payments),
            ("desk_accounts", lambda s: desk.iter_accounts(modified_since=s), self.store.upsert_desk_accounts),
            ("desk_tickets", lambda s: desk.iter_tickets(stop_before=s), self.store.upsert_tickets),
        ]
        for name, read, save in streams:
            started = self.clock()
            total = 0
            baseline = self._since(name) is None
            async for page in read(self._since(name)):
                # Each page is stored on the store's threads: a sync never holds the event loop.
                if self.changes is not None and name in EVENT_STREAMS:
                    events = await self.store.run(self.changes.apply, page, save, "sync", raise_events=not baseline)
                    report.events += len(events)
                else:
                    await self.store.run(save, page)
                total += len(page)
                if progress:
                    progress(name, total)
            self.store.set_watermark(f"sync:{name}", started.isoformat())
            report.counts[name] = total
        if self.changes is not None:  # what fell overdue by the calendar alone (the first sync: a baseline)
            report.events += len(await self.store.run(self.changes.overdue_scan, publish=not first_ever))
        report.finished_at = self.clock()
        self.store.set_watermark(COMPLETED, report.started_at.isoformat() if report.started_at else "")
        return report


def summarise(report: SyncReport) -> Iterable[str]:
    for name, count in report.counts.items():
        yield f"{name.replace('_', ' ')}: {count}"
